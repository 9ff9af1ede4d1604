"""Checking properties: choose the engines for each one, run them, and say what was shown.

A property (``checker.propfile``) is bound to its system (``checker.propbind``) and sorted by
kind, which decides the engines (docs/property-language.md, Engines):

* invariant ``AG p`` / ``G p`` and reachability ``EF p``: Z3 on the property's cone of
  influence (``checker.cone``): bounded model checking for the shortest counterexample (or
  example), and Spacer (IC3/PDR) for an unbounded proof whose inductive invariant is
  reported. The explicit engine decides the same question on the whole system as a
  cross-check when the system is small enough, and the two must agree (exit code 4 if not).
* other CTL, and LTL: fixed points over the explicit reachable state graph, with weak
  fairness (``checker.propexplicit``); counterexamples are lassos for liveness.

Fairness never changes an invariant or a reachability verdict: weak fairness can always be
met from any state (take the completion that has waited longest), so every finite path
extends to a fair one.

Every counterexample or example is replayed on the executable ``transitions`` machines
before it is reported.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import z3

from . import proplang as p
from .analysis import WitnessStep, witness_steps
from .catalog import load_models
from .cone import closed_cone, lift_labels, restrict
from .errors import InputError, InternalError, Problem, SolverUnknown
from .executable import replay
from .explicit import CROSS_CHECK_STATE_LIMIT, Exploration, explore
from .propbind import CanTake, LocalIn, NextBy, bind, classify, describe, nodes, normalise
from .propexplicit import STUTTER, Lasso, StateGraph, check_ctl, check_ltl, satisfying
from .propfile import PropertySpec
from .symbolic import SymbolicSystem, _prove_unreachable, trace_labels
from .system import System, build_system

__all__ = ["ENGINES", "PropertyResult", "check_property", "check_properties"]

log = logging.getLogger(__name__)

ENGINES = ("both", "z3", "explicit")
STATUSES = ("holds", "violated", "no-violation-up-to", "unknown")
STUTTER_EVENT = "(no step is possible: the state repeats)"


@dataclass
class PropertyResult:
    """What was shown about one property."""

    name: str
    file: str
    line: int
    system: str
    kind: str  # invariant | reachability | ctl | ltl
    formula: str  # as written
    expanded: str  # with quantifiers expanded
    fairness: tuple[str, ...]
    status: str  # holds | violated | no-violation-up-to | unknown
    engine: str  # the engine whose answer is the verdict
    evidence: str  # the invariant, the fixed point, the bound or the solver's reason
    witness: list[WitnessStep] | None = None  # counterexample (violated) or example (reachability holds)
    witness_role: str | None = None  # counterexample | example
    loop_start: int | None = None  # the lasso's loop starts at this witness step
    depth: int | None = None
    cross_checks: dict[str, str] = field(default_factory=dict)  # engine -> its own status, and what it explored
    # CTL: each temporal subformula (innermost first, the formula itself last) with the number
    # of reachable states satisfying it, out of ``states``.
    fixed_points: list[tuple[str, int]] | None = None
    states: int | None = None  # reachable states of the graph a CTL or LTL verdict rests on
    summary: str = ""  # the evidence in one line, for the terminal; the evidence itself otherwise
    description: str = ""
    seconds: float = 0.0  # not reported in files: output stays byte-identical

    @property
    def identity(self) -> str:
        return f"property/{self.file}/{self.name}"


# -- helpers ----------------------------------------------------------------------------------


def _system_for(spec: PropertySpec, cache: dict) -> System:
    key = (str(spec.system_path), spec.parameters)
    if key not in cache:
        (model,) = load_models([spec.system_path])
        cache[key] = build_system(model, dict(spec.parameters))
    return cache[key]


def _instances_named(bound) -> set[int]:
    """The instances a bound formula names."""
    return {node.instance for node in nodes(bound) if isinstance(node, (LocalIn, CanTake, NextBy))}


def _mentions_deadlock(bound) -> bool:
    return any(isinstance(node, p.Deadlock) for node in nodes(bound))


def _z3_expression(symbolic: SymbolicSystem, bound, position: list[int]) -> z3.BoolRef:
    """A propositional bound formula over the symbolic system's current variables;
    ``position[i]`` is where instance i of the whole system sits in ``symbolic``."""
    ctx = symbolic.context
    if isinstance(bound, p.Bool):
        return z3.BoolVal(bound.value, ctx)
    if isinstance(bound, p.Deadlock):
        return symbolic.deadlock()
    if isinstance(bound, LocalIn):
        return symbolic.in_configs(position[bound.instance], bound.configs)
    if isinstance(bound, CanTake):
        return symbolic.trigger_enabled(position[bound.instance], bound.trigger)
    if isinstance(bound, p.Not):
        return z3.Not(_z3_expression(symbolic, bound.operand, position))
    if isinstance(bound, p.And):
        return z3.And([_z3_expression(symbolic, o, position) for o in bound.operands])
    if isinstance(bound, p.Or):
        return z3.Or([_z3_expression(symbolic, o, position) for o in bound.operands])
    if isinstance(bound, p.Implies):
        return z3.Implies(_z3_expression(symbolic, bound.premise, position),
                          _z3_expression(symbolic, bound.conclusion, position))
    if isinstance(bound, p.Iff):
        return _z3_expression(symbolic, bound.left, position) == _z3_expression(symbolic, bound.right, position)
    raise TypeError(f"not propositional: {bound!r}")


def _witness(system: System, trace: list[tuple[int, ...]], labels: list[int], loop: int | None = None,
             stutter_at_end: bool = False) -> list[WitnessStep]:
    steps = witness_steps(system, trace, labels)
    replay(system, steps)  # a witness that does not replay is an internal error, never a finding
    if stutter_at_end:
        steps.append(WitnessStep(event=STUTTER_EVENT, followers=(), state=steps[-1].state, changed=()))
    return steps


def _lasso_witness(system: System, graph: StateGraph, lasso: Lasso) -> tuple[list[WitnessStep] | None, int | None]:
    """The path of ``lasso`` as replayed witness steps, and where its loop starts; (None,
    None) for a single state with no loop, which is no path at all."""
    if len(lasso.steps) == 1 and lasso.loop is None:
        return None, None
    states = [graph.states[index] for _, index in lasso.steps]
    labels = [label for label, _ in lasso.steps[1:]]
    if STUTTER in labels:
        # Only a state with no step stutters, so the stutter is the lasso's loop at its end.
        cut = labels.index(STUTTER)
        steps = _witness(system, states[:cut + 1], labels[:cut], stutter_at_end=True)
        return steps, cut if lasso.loop is not None else None
    return _witness(system, states, labels), lasso.loop


# -- the engines ------------------------------------------------------------------------------


def _flatten(bound, kind) -> list:
    """The operands of a top-level And (or Or), nested ones flattened."""
    if isinstance(bound, kind):
        return [part for operand in bound.operands for part in _flatten(operand, kind)]
    return [bound]


def _rename(bound, image: list[int]):
    """``bound`` with instance i replaced by ``image[i]`` throughout."""
    import dataclasses

    if isinstance(bound, (LocalIn, CanTake)):
        return dataclasses.replace(bound, instance=image[bound.instance])
    if not dataclasses.is_dataclass(bound):
        return bound
    changes = {}
    for f in dataclasses.fields(bound):
        value = getattr(bound, f.name)
        if dataclasses.is_dataclass(value):
            changes[f.name] = _rename(value, image)
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            changes[f.name] = tuple(_rename(item, image) for item in value)
    return dataclasses.replace(bound, **changes) if changes else bound


def _canonical(system: System, part):
    """A symmetric image of ``part`` naming the first siblings (``System.representative``),
    and the permutation taking it back (``System.permute``): siblings are interchangeable, so
    both hold or fail together, at the same depth. The deepest instance named is moved onto
    its representative, its ancestors with it."""
    identity = list(range(len(system.instances)))
    named = sorted(_instances_named(part))
    if not named or any(system.instances[i].component == system.instances[j].component and i != j
                        for i in named for j in named):
        return part, identity  # two siblings named together: no single swap canonicalises both
    def depth(i):
        d = 0
        while system.instances[i].parent is not None:
            i = system.instances[i].parent
            d += 1
        return d
    deepest = max(named, key=depth)
    _, image = system.representative(deepest)
    inverse = [0] * len(image)
    for i, j in enumerate(image):
        inverse[j] = i
    return _rename(part, inverse), image


class _Bmc:
    """Bounded model checking of one target, depth after depth, resumable: the first depth at
    which the target holds is the length of a shortest path to it."""

    def __init__(self, symbolic: SymbolicSystem, predicate):
        self.symbolic = symbolic
        self.predicate = predicate
        self.solver = z3.SolverFor("QF_FD", ctx=symbolic.context)
        self.solver.set("random_seed", symbolic.seed)
        self.solver.add(symbolic.at(symbolic.initial, 0))
        self.depth = 0  # the next depth to ask about

    def search(self, up_to: int | None, deadline: float):
        """(depth, labels) of the first hit at a depth up to ``up_to`` (None: no limit), or None."""
        symbolic = self.symbolic
        while up_to is None or self.depth <= up_to:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise SolverUnknown(f"bounded search in {symbolic.system.name}", f"timeout at depth {self.depth}")
            self.solver.set("timeout", max(1, int(left * 1000)))
            answer = self.solver.check(self.predicate(symbolic.step_variables(self.depth)))
            if answer == z3.unknown:
                raise SolverUnknown(f"bounded search in {symbolic.system.name} at depth {self.depth}",
                                    self.solver.reason_unknown())
            if answer == z3.sat:
                model = self.solver.model()
                trace = [tuple(model.eval(v, model_completion=True).as_long() for v in symbolic.step_variables(t))
                         for t in range(self.depth + 1)]
                return self.depth, trace_labels(symbolic.system, trace)
            self.solver.add(symbolic.transition_at(self.depth))
            self.depth += 1
        return None


# Depths searched by BMC before Spacer is asked for a proof: Spacer is slow to answer
# "reachable", so a counterexample should be found before it is asked; but every depth costs
# more than the one before, and for a property that holds the whole prelude is spent in vain
# (depths 9 to 12 took 0.75 s of 1.1 s on an invariant of tr069-device). The shipped
# properties' shortest counterexamples and examples have at most 6 steps. A deeper one is
# still found, and still a shortest one: when Spacer answers "reachable", BMC resumes at
# the next depth. The prelude is also k-induction's base case, so it is at least
# INDUCTION_DEPTH.
BMC_PRELUDE = 8


# k-induction is tried for k = 1 .. INDUCTION_DEPTH before Spacer: cheaper when it works.
INDUCTION_DEPTH = 4


def _k_inductive(symbolic: SymbolicSystem, predicate, deadline: float) -> int | None:
    """The least k <= INDUCTION_DEPTH such that "not target" is k-inductive: no path of k
    steps avoiding the target, through distinct states, ends in the target. With no target
    state within BMC_PRELUDE >= k steps of the initial state (the base case), the target is
    then unreachable."""
    context = symbolic.context
    widths = symbolic.widths
    states = [[z3.BitVec(f"{instance.name}#{t}", width, context) for instance, width in
               zip(symbolic.system.instances, widths)] for t in range(INDUCTION_DEPTH + 1)]
    solver = z3.SolverFor("QF_FD", ctx=context)
    solver.set("random_seed", symbolic.seed)
    for k in range(1, INDUCTION_DEPTH + 1):
        left = deadline - time.perf_counter()
        if left <= 0:
            return None
        solver.set("timeout", max(1, int(left * 1000)))
        # Path s_0 .. s_k: s_{k-1} -> s_k added now; s_{k-1} avoids the target; all distinct.
        solver.add(z3.substitute(symbolic.transition, *zip(symbolic.current, states[k - 1]),
                                 *zip(symbolic.next, states[k])))
        solver.add(z3.Not(predicate(states[k - 1])))
        for earlier in range(k):
            solver.add(z3.Or([a != b for a, b in zip(states[earlier], states[k])]))
        answer = solver.check(predicate(states[k]))
        if answer == z3.unsat:
            return k
        if answer == z3.unknown:
            return None
    return None


def _decide_target(symbolic: SymbolicSystem, predicate, timeout: float):
    """Reachable (with a shortest path) or proved unreachable (with the proof): BMC to
    ``BMC_PRELUDE`` steps, then k-induction, then Spacer; when Spacer finds the target
    reachable, BMC resumes until it meets it. Returns (depth, labels, proof), the proof being
    ("structure", None), ("k-induction", k) or ("spacer", inductive invariant)."""
    deadline = time.perf_counter() + timeout
    if z3.is_false(z3.simplify(predicate(symbolic.current))):
        return None, None, ("structure", None)  # no configuration shows it, even with every step free
    bmc = _Bmc(symbolic, predicate)
    found = bmc.search(BMC_PRELUDE, deadline)
    if found is not None:
        return found[0], found[1], None
    k = _k_inductive(symbolic, predicate, deadline)
    if k is not None:
        return None, None, ("k-induction", k)
    invariant = _prove_unreachable(symbolic, {"target": predicate}, max(0.001, deadline - time.perf_counter()), final=True)
    if invariant is not None:
        return None, None, ("spacer", " ".join(invariant.split()))
    found = bmc.search(None, deadline)
    return found[0], found[1], None


@dataclass
class _Part:
    """One part of a target to decide: a representative of its class of symmetric parts,
    on its cone of influence."""

    canonical: object  # the part, moved onto the first siblings (``_canonical``)
    image: list[int]  # the permutation taking it back onto the first part it stands for
    kept: list[int]  # the cone: indices, in the whole system, of the instances it keeps
    restricted: System  # the cone as a system of its own

    def within(self) -> object:
        """The part over the restricted system's instance indices."""
        position = [-1] * (max(self.kept) + 1 if self.kept else 0)
        for new, old in enumerate(self.kept):
            position[old] = new
        return _rename(self.canonical, position)


def _plan(system: System, bound_target, split) -> tuple[int, list[_Part]]:
    """The parts of ``bound_target`` (its ``split`` operands, or itself), one per class of
    symmetric parts, each with its cone of influence; and how many parts there were. Z3 and
    the explicit cross-check both decide these same parts."""
    parts = _flatten(bound_target, split) if split is not None else [bound_target]
    classes: dict = {}  # canonical part -> the permutation back to the first part it stands for
    for part in parts:
        canonical, image = _canonical(system, part)
        classes.setdefault(canonical, image)
    plan = []
    for canonical, image in classes.items():
        seeds = _instances_named(canonical)
        if _mentions_deadlock(canonical) or not seeds:
            seeds = set(range(len(system.instances)))  # a deadlock is a property of every instance
        restricted, kept = restrict(system, closed_cone(system, seeds))
        plan.append(_Part(canonical, image, kept, restricted))
    return len(parts), plan


def _cones_note(system: System, count: int, plan: list[_Part]) -> str:
    sizes = "/".join(str(size) for size in sorted({len(part.kept) for part in plan}))
    return (f"{count} part{'s' if count != 1 else ''}, {len(plan)} up to symmetry, each on its cone of influence "
            f"({sizes} of {len(system.instances)} instances)")


def _cone_names(system: System, part: _Part) -> str:
    return "{" + ", ".join(system.instances[i].name for i in part.kept) + "}"


def _lift(system: System, part: _Part, labels: list[int]) -> list[int]:
    """A path found for a canonical part in its restriction, as a path of the whole system
    for the part it stands for: lifted, then permuted back."""
    trace = [System.permute(state, part.image) for state in lift_labels(system, labels)]
    return trace_labels(system, trace)


def _z3_decide(system: System, bound_target, seed: int, timeout: float, split, depth_bound: int | None = None):
    """Is a state satisfying the propositional ``bound_target`` reachable? Decided by Z3.

    ``split`` is ``p.Or`` for a target that is a disjunction (the negation of an invariant's
    conjunction, or a reachability question): each disjunct is decided on its own cone of
    influence, once per class of symmetric disjuncts. Returns (reachable, depth, labels,
    engine, evidence, summary): the evidence in full (an inductive invariant can be long), the
    summary in one line."""
    count, plan = _plan(system, bound_target, split)
    started = time.perf_counter()
    best = None
    proofs = []
    for part in plan:
        left = timeout - (time.perf_counter() - started)
        if left <= 0:
            raise SolverUnknown(f"proof of {describe(bound_target)}", f"timeout after {timeout:g} s")
        symbolic = SymbolicSystem(part.restricted, seed=seed)
        position = [-1] * len(system.instances)
        for new, old in enumerate(part.kept):
            position[old] = new
        predicate = symbolic.global_predicate(_z3_expression(symbolic, part.canonical, position))
        if depth_bound is not None:
            found = _Bmc(symbolic, predicate).search(depth_bound, time.perf_counter() + left)
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], part, found[1])
            continue
        depth, labels, proof = _decide_target(symbolic, predicate, left)
        if depth is not None:
            if best is None or depth < best[0]:
                best = (depth, part, labels)
        else:
            proofs.append((part, proof))
    note = _cones_note(system, count, plan)
    if best is None and depth_bound is not None:
        evidence = f"no path of at most {depth_bound} steps reaches it"
        return None, None, None, f"z3 bmc, bounded ({note})", evidence, evidence
    if best is not None:
        depth, part, labels = best
        return True, depth, _lift(system, part, labels), f"z3 bmc ({note})", None, None
    methods = sorted({method for _, (method, _) in proofs} - {"structure"})
    several = len(plan) > 1
    evidence = "; ".join(_proof_text(system, part, method, detail, several) for part, (method, detail) in proofs)
    summary = "; ".join(_proof_summary(system, part, method, detail) for part, (method, detail) in proofs)
    return False, None, None, f"z3 {' and '.join(methods) or 'structure'} ({note})", evidence, summary


def _proof_text(system: System, part: _Part, method: str, detail, several: bool) -> str:
    """What a proof that ``part`` is unreachable consists of, in words."""
    part_text = f"{describe(part.canonical)} is unreachable: " if several else ""
    cone = f"the cone of influence {_cone_names(system, part)}"
    if method == "structure":
        return f"{part_text}no configuration of the instances of {cone} can show it, even with every step free"
    if method == "k-induction":
        return (f"{part_text}k-induction with k = {detail} on {cone}: no violation within {BMC_PRELUDE} steps of the "
                f"initial state (the base case), and the property is {detail}-inductive for the cone's transition "
                f"relation: no path of {detail} step{'s' if detail != 1 else ''} through distinct states that satisfy "
                f"it, from any assignment of the cone's variables, ends in a state that violates it")
    return f"{part_text}inductive invariant from Spacer on {cone}: {detail}"


def _proof_summary(system: System, part: _Part, method: str, detail) -> str:
    cone = f"on the cone {_cone_names(system, part)}"
    if method == "structure":
        return f"no configuration can show it ({cone})"
    if method == "k-induction":
        return f"{detail}-inductive {cone} (k-induction, base case {BMC_PRELUDE} steps)"
    return f"inductive invariant from Spacer {cone} (in the reports)"


def _explicit_decide(graph: StateGraph, bound_target):
    """The same question by the explicit engine: (reachable, depth, labels). The states are
    numbered in breadth-first order, so the first one satisfying the target is at the least
    depth, and its breadth-first parents give a shortest path."""
    found = satisfying(graph, bound_target)
    if not found:
        return False, None, None
    path = graph.exploration.path_to(min(found))
    return True, len(path) - 1, [label for label, _ in path[1:]]


def _explicit_on_cones(system: System, bound_target, explorations: "_Explorations", state_limit: int):
    """The question of ``_z3_decide`` answered by the explicit engine on the same parts and
    cones: each part's cone is explored breadth first. Returns (reachable, depth, labels,
    scope) with ``scope`` saying what was explored, or None when a cone is above the limit
    (with the reason as the second item)."""
    count, plan = _plan(system, bound_target, p.Or)
    best = None
    states = []
    for part in plan:
        whole = part.restricted is system
        graph = explorations.graph(part.restricted, state_limit, (), key=None if whole else (id(system), tuple(part.kept)))
        if graph is None:
            return None, (f"not run: {'the system' if whole else 'the cone ' + _cone_names(system, part)} has more "
                          f"than {state_limit} reachable states")
        states.append(graph.size)
        reachable, depth, labels = _explicit_decide(graph, part.within())
        if reachable and (best is None or depth < best[0]):
            best = (depth, part, labels)
    if all(part.restricted is system for part in plan):
        scope = f"breadth-first search over all {states[0]} reachable states of the whole system"
    elif len(plan) == 1:
        (part,) = plan
        scope = (f"breadth-first search over all {states[0]} reachable states of the cone of influence "
                 f"{_cone_names(system, part)} ({len(part.kept)} of {len(system.instances)} instances)")
    else:
        sizes = "/".join(str(len(part.kept)) for part in plan)
        scope = (f"breadth-first search over every reachable state of each part's cone of influence ({sizes} of "
                 f"{len(system.instances)} instances; {'/'.join(str(n) for n in states)} states)")
    if best is None:
        return (False, None, None, scope), None
    depth, part, labels = best
    return (True, depth, _lift(system, part, labels), scope), None


def _check_safety(spec: PropertySpec, system: System, bound, kind: str, engine: str, seed: int, timeout: float,
                  state_limit: int, explorations: "_Explorations", depth_bound: int | None = None,
                  z3_supplier=None) -> PropertyResult:
    # invariant AG p: is "not p" reachable?  reachability EF p: is "p" reachable?
    target = p.Not(0, 0, bound.operand) if kind == "invariant" else bound.operand
    result = _result(spec, system, bound, kind)
    if depth_bound is not None:
        return _check_bounded(result, system, target, kind, seed, timeout, depth_bound)
    z3_answer = explicit_answer = None
    question = _push_not(target)

    # The explicit engine goes first: Z3's answer may be on its way from a worker meanwhile.
    # It decides the same parts on the same cones as Z3, so that a large system whose cones
    # are small is still confirmed, state by state.
    if engine in ("both", "explicit"):
        explicit_answer, refusal = _explicit_on_cones(system, question, explorations, state_limit)
        if refusal is not None:
            result.cross_checks["explicit"] = refusal
    if engine in ("both", "z3"):
        try:
            z3_answer = z3_supplier() if z3_supplier is not None else _z3_decide(system, question, seed, timeout, p.Or)
        except SolverUnknown as error:
            if engine == "z3":
                result.status, result.engine, result.evidence = "unknown", "z3", error.reason
                return result
            result.cross_checks["z3"] = f"unknown: {error.reason}"
    if z3_answer is None and explicit_answer is None:
        result.status, result.engine = "unknown", "none"
        result.evidence = "; ".join(f"{name}: {text}" for name, text in sorted(result.cross_checks.items()))
        return result

    if z3_answer is not None and explicit_answer is not None:
        reachable, depth = z3_answer[0], z3_answer[1]
        if reachable != explicit_answer[0] or (reachable and depth != explicit_answer[1]):
            raise InternalError(
                f"engines disagree on property {spec.name} ({spec.file}:{spec.line}): Z3 says "
                f"{'reachable at depth %s' % depth if reachable else 'unreachable'}, the explicit engine "
                f"{'reachable at depth %s' % explicit_answer[1] if explicit_answer[0] else 'unreachable'}")
    if z3_answer is not None:
        reachable, depth, labels, engine_name, proof, summary = z3_answer
        result.engine = engine_name
        if explicit_answer is not None:
            result.cross_checks["explicit"] = f"{_safety_status(kind, explicit_answer[0])} ({explicit_answer[3]})"
    else:
        reachable, depth, labels, scope = explicit_answer
        proof = summary = None
        result.engine = f"explicit ({scope})"

    result.status = _safety_status(kind, reachable)
    if reachable:
        trace = lift_labels(system, labels)
        result.witness = _witness(system, trace, labels)
        result.witness_role = "counterexample" if kind == "invariant" else "example"
        result.depth = depth
        result.evidence = _path_evidence(depth, target)
    elif proof is not None:
        result.evidence, result.summary = proof, summary
    else:
        result.evidence = f"no reachable state shows {describe(target)} ({explicit_answer[3]})"
    if kind == "reachability" and not reachable:
        result.summary = f"no reachable state satisfies it: {result.summary or result.evidence}"
    return result


def _path_evidence(depth: int, target) -> str:
    if depth == 0:
        return f"the initial state itself is one where {describe(target)}"
    return f"a shortest path of {depth} step{'s' if depth != 1 else ''} to a state where {describe(target)}"


def _check_bounded(result: PropertyResult, system: System, target, kind: str, seed: int, timeout: float,
                   depth_bound: int) -> PropertyResult:
    """Bounded model checking alone, as asked with --bound: a violation is shown with its
    shortest path; no violation means only that none exists up to ``depth_bound`` steps."""
    try:
        reachable, depth, labels, engine_name, evidence, _ = _z3_decide(system, _push_not(target), seed, timeout, p.Or,
                                                                     depth_bound=depth_bound)
    except SolverUnknown as error:
        result.status, result.engine, result.evidence = "unknown", "z3 bmc, bounded", error.reason
        return result
    result.engine = engine_name
    if reachable:
        result.status = _safety_status(kind, True)
        result.witness = _witness(system, lift_labels(system, labels), labels)
        result.witness_role = "counterexample" if kind == "invariant" else "example"
        result.depth = depth
        result.evidence = _path_evidence(depth, target)
    else:
        # Up to the bound nothing was found: for an invariant that is no violation so far; a
        # reachability question stays open (its target may lie deeper).
        result.status = "no-violation-up-to" if kind == "invariant" else "unknown"
        result.depth = depth_bound
        result.evidence = evidence + " (bounded search only: not a proof)"
    return result


def _push_not(bound):
    """Negations moved inward over And and Or, so that a negated conjunction splits."""
    if isinstance(bound, p.Not):
        inner = bound.operand
        if isinstance(inner, p.And):
            return p.Or(inner.line, inner.column, tuple(_push_not(p.Not(0, 0, o)) for o in inner.operands))
        if isinstance(inner, p.Or):
            return p.And(inner.line, inner.column, tuple(_push_not(p.Not(0, 0, o)) for o in inner.operands))
        if isinstance(inner, p.Not):
            return _push_not(inner.operand)
    return bound


def _safety_status(kind: str, reachable: bool) -> str:
    if kind == "invariant":
        return "violated" if reachable else "holds"
    return "holds" if reachable else "violated"


def _check_temporal(spec: PropertySpec, system: System, bound, kind: str, state_limit: int,
                    explorations: "_Explorations") -> PropertyResult:
    result = _result(spec, system, bound, kind)
    graph = explorations.graph(system, state_limit, spec.fairness)
    if graph is None:
        result.status, result.engine = "unknown", "explicit"
        result.evidence = f"more than {state_limit} reachable states: too many for the explicit fixed point"
        return result
    fair = " on fair paths" if graph.fair_labels else ""
    if kind == "ctl":
        holds, lasso, fixed_points = check_ctl(graph, bound, example=_is_existential(bound))
        result.engine = "explicit CTL fixed point"
        result.fixed_points = fixed_points
        result.states = graph.size
        _, satisfied = fixed_points[-1]
        result.evidence = (f"labelling by fixed points over all {graph.size} reachable states{fair}: the formula "
                           f"holds in {satisfied} of them, {'the initial state included' if holds else 'not in the initial state'}"
                           f" ({_count(len(fixed_points), 'fixed point')}, each listed with its number of states)")
        result.summary = (f"fixed points over {graph.size} reachable states{fair}: the formula holds in {satisfied}, "
                          f"{'the initial state included' if holds else 'not in the initial state'} "
                          f"({len(fixed_points)} listed in the reports)")
        if holds and lasso is not None and len(lasso.steps) > 1:
            result.witness, result.loop_start = _lasso_witness(system, graph, lasso)
            result.witness_role = "example"
    else:
        holds, lasso, size = check_ltl(graph, bound)
        result.engine = "explicit LTL (tableau product, fair SCC search)"
        result.states = graph.size
        result.evidence = (f"product of the {graph.size} reachable states with the negated formula's tableau: "
                           f"{size} pairs, {'no' if holds else 'a'} {'fair ' if fair else ''}accepting cycle")
    if graph.fair_labels and 0 not in graph.fair:
        result.evidence += "; no fair path starts in the initial state, so universal claims hold vacuously"
    result.status = "holds" if holds else "violated"
    if not holds and lasso is not None:
        result.witness, result.loop_start = _lasso_witness(system, graph, lasso)
        if result.witness is None:
            # Nothing happens before the claim that refutes the formula: no path to show.
            shown = f"violated in the initial state: {_claim_text(lasso.claim, 'it')}"
        else:
            result.witness_role = "counterexample"
            result.depth = len(result.witness) - 1
            if result.loop_start is not None:
                shown = (f"the lasso below is a{' fair' if fair else 'n infinite'} path on which the formula fails: "
                         f"{_steps(result.depth)}, repeating from step {result.loop_start}")
            else:
                shown = f"after the {_steps(result.depth)} below, {_claim_text(lasso.claim, 'the last state')}"
        result.evidence = f"{shown}; {result.evidence}"
        result.summary = shown
    return result


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


def _steps(count: int) -> str:
    return _count(count, "step")


def _claim_text(claim, where: str) -> str:
    """What holds in the state ``where`` names, for a claim (formula, negated) about every
    path from it, which is where a counterexample's path ends."""
    if claim is None:
        return f"the formula fails in {where}"
    f, negated = claim
    if isinstance(f, p.Temporal):
        operand = describe(f.operand)
        if (f.operator, negated) in (("EF", True), ("AG", False)):
            inner = operand if f.operator == "EF" else f"!({operand})"
            return f"no state reachable from {where} satisfies {inner}"
        if (f.operator, negated) in (("EX", True), ("AX", False)):
            return f"after every step from {where}, {operand if f.operator == 'AX' else '!(' + operand + ')'} holds"
    if isinstance(f, NextBy) and f.universal != negated:
        operand = describe(f.operand)
        return f"after every {f.text} step from {where}, {operand if f.universal else '!(' + operand + ')'} holds"
    text = describe(f)
    return f"{text} {'fails' if negated else 'holds'} in {where}"


def _is_existential(bound) -> bool:
    return (isinstance(bound, p.Temporal) and bound.operator.startswith("E")) or \
           (isinstance(bound, p.Until) and bound.quantifier == "E")


def _result(spec: PropertySpec, system: System, bound, kind: str) -> PropertyResult:
    return PropertyResult(name=spec.name, file=spec.file, line=spec.line, system=system.name, kind=kind,
                          formula=spec.formula_text, expanded=describe(bound), fairness=spec.fairness,
                          status="unknown", engine="", evidence="", description=spec.description)


class _Explorations:
    """Explorations and state graphs shared by the properties of one run, built on demand:
    each system (and each cone of influence) is explored once, and its state graph built once
    whatever the fairness assumptions of the properties asking for it."""

    def __init__(self):
        self._explorations: dict[object, Exploration | None] = {}
        self._graphs: dict[object, StateGraph] = {}
        self._views: dict[tuple[object, tuple[str, ...]], StateGraph] = {}

    def get(self, system: System, state_limit: int, key=None) -> Exploration | None:
        """The exploration of ``system``; ``key`` names a restriction built afresh each time."""
        key = id(system) if key is None else key
        if key not in self._explorations:
            try:
                self._explorations[key] = explore(system, keep_edges=True, state_limit=state_limit)
            except InputError:  # over the state limit
                self._explorations[key] = None
        return self._explorations[key]

    def graph(self, system: System, state_limit: int, fairness: tuple[str, ...], key=None) -> StateGraph | None:
        key = id(system) if key is None else key
        exploration = self.get(system, state_limit, key)
        if exploration is None:
            return None
        if key not in self._graphs:
            self._graphs[key] = StateGraph(exploration)
        view = (key, tuple(sorted(fairness)))
        if view not in self._views:
            self._views[view] = self._graphs[key].with_fairness(view[1])
        return self._views[view]


def _prepare(spec: PropertySpec, systems: dict):
    """(system, bound formula as the engines take it, kind)."""
    system = _system_for(spec, systems)
    bound = normalise(bind(spec.formula, system, spec.file))
    return system, bound, classify(bound)


def check_property(spec: PropertySpec, engine: str = "both", seed: int = 0, timeout: float = 60.0,
                   state_limit: int = CROSS_CHECK_STATE_LIMIT, systems: dict | None = None,
                   explorations: _Explorations | None = None, depth_bound: int | None = None,
                   z3_supplier=None, prepared=None) -> PropertyResult:
    """Decide one property (see the module docstring for the engines)."""
    started = time.perf_counter()
    system, bound, kind = prepared or _prepare(spec, systems if systems is not None else {})
    explorations = explorations if explorations is not None else _Explorations()
    if kind in ("invariant", "reachability"):
        result = _check_safety(spec, system, bound, kind, engine, seed, timeout, state_limit, explorations,
                               depth_bound, z3_supplier)
    else:
        result = _check_temporal(spec, system, bound, kind, state_limit, explorations)
    result.seconds = time.perf_counter() - started
    log.info("property %s: %s by %s (%.3f s)", spec.name, result.status, result.engine, result.seconds)
    return result


def check_properties(specs: list[PropertySpec], engine: str = "both", seed: int = 0, timeout: float = 60.0,
                     state_limit: int = CROSS_CHECK_STATE_LIMIT, depth_bound: int | None = None) -> list[PropertyResult]:
    """Bind every property first, so that all name errors are reported at once, then check.

    Properties that say the same thing of the same system (the requirements table asks some
    questions on behalf of several requirements) are decided once: the others get a copy of
    that verdict under their own name and place."""
    systems = validate(specs)
    prepared = [_prepare(spec, systems) for spec in specs]
    first: dict[tuple, int] = {}  # what is asked -> the first property asking it
    for index, (spec, (system, bound, kind)) in enumerate(zip(specs, prepared)):
        first.setdefault((id(system), kind, describe(bound), tuple(sorted(spec.fairness))), index)
    distinct = sorted(first.values())
    explorations = _Explorations()
    suppliers = {}
    pool = None
    if engine == "both" and depth_bound is None:
        jobs = []
        for index in distinct:
            system, bound, kind = prepared[index]
            if kind in ("invariant", "reachability"):
                target = p.Not(0, 0, bound.operand) if kind == "invariant" else bound.operand
                jobs.append((index, system, _push_not(target)))
        pool = _Z3Pool(jobs, seed, timeout)
        suppliers = {index: pool.supplier(index) for index, _, _ in jobs}
    try:
        # Properties decided by Z3 last, so that the explicit work of the others overlaps it,
        # and from the last one back, while the worker answers from the first one on.
        order = [index for index in distinct if index not in suppliers] + sorted(suppliers, reverse=True)
        decided = {index: check_property(specs[index], engine, seed, timeout, state_limit, systems, explorations,
                                         depth_bound, suppliers.get(index), prepared[index]) for index in order}
    finally:
        if pool is not None:
            pool.close()
    results = []
    for index, (spec, (system, bound, kind)) in enumerate(zip(specs, prepared)):
        result = decided[first[(id(system), kind, describe(bound), tuple(sorted(spec.fairness)))]]
        if result.name != spec.name or result.file != spec.file:
            result = dataclasses.replace(result, name=spec.name, file=spec.file, line=spec.line,
                                         formula=spec.formula_text, description=spec.description,
                                         fairness=spec.fairness, seconds=0.0)
        results.append(result)
    return results


_Z3_JOBS: list = []  # (spec index, system, target), set before forking; read by the worker


def _z3_job(position: int, seed: int, timeout: float):
    _, system, target = _Z3_JOBS[position]
    try:
        return "answer", _z3_decide(system, target, seed, timeout, p.Or)
    except SolverUnknown as error:
        return "unknown", (error.query, error.reason)


class _Z3Pool:
    """Z3's questions in one forked worker process while this process runs the explicit
    engine (two cores: one each), then both answer the questions left. The worker inherits the
    compiled systems; only answers are pickled. Without fork, or on one core, the questions
    are asked here, one after another. Every Z3 run is seeded, so the answers do not depend on
    the scheduling or on which process asks."""

    def __init__(self, jobs: list, seed: int, timeout: float):
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        global _Z3_JOBS
        self.futures: dict[int, object] = {}
        self.executor = None
        self.jobs = {index: (position, system, target) for position, (index, system, target) in enumerate(jobs)}
        self.seed, self.timeout = seed, timeout
        if len(jobs) < 1 or (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return
        _Z3_JOBS = jobs
        try:
            self.executor = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
            for index, (position, _, _) in self.jobs.items():
                self.futures[index] = self.executor.submit(_z3_job, position, seed, timeout)
        finally:
            _Z3_JOBS = []

    def supplier(self, index: int):
        def answer():
            future = self.futures.get(index)
            # A question the worker has not started yet is asked here instead (the caller
            # takes them from the last, the worker from the first), so that neither process
            # waits idle for the other at the end.
            if future is None or future.cancel():
                _, system, target = self.jobs[index]
                return _z3_decide(system, target, self.seed, self.timeout, p.Or)
            kind, value = future.result()
            if kind == "unknown":
                raise SolverUnknown(*value)
            return value
        return answer

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)


def validate(specs: list[PropertySpec]) -> dict:
    """Bind every property to its system; ``InputError`` lists every problem of all of them.
    Returns the systems built, to be passed on to ``check_property``."""
    systems: dict = {}
    problems: list[Problem] = []
    for spec in specs:
        if spec.system_path is None:
            continue
        try:
            bind(spec.formula, _system_for(spec, systems), spec.file)
        except InputError as error:
            problems.extend(error.problems)
    if problems:
        raise InputError(problems)
    return systems


def select(specs: list[PropertySpec], names: list[str]) -> list[PropertySpec]:
    """The properties named (all when none is); an unknown name is an input error."""
    if not names:
        return specs
    known = {spec.name for spec in specs}
    from .loader import closest

    problems = [Problem(file="<command line>", line=0, rule="property", message=f"no property named {name!r}",
                        name=name, suggestion=closest(name, known)) for name in names if name not in known]
    if problems:
        raise InputError(problems)
    return [spec for spec in specs if spec.name in names]


def paths_or_default(paths: list[Path]) -> list[Path]:
    from .propfile import builtin_property_paths, resolve_property_path

    return [resolve_property_path(path) for path in paths] or builtin_property_paths()
