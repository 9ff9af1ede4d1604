"""The Z3 engine: the composition as a symbolic transition system.

Each component instance is one bit-vector variable holding its configuration index. The
initial-state predicate fixes every variable; the transition relation is a disjunction with
one term per instance and kind of step (free steps, guarded steps, leader steps with their
followers), each with a frame condition for the instances it does not touch.

Reachability of a set of local targets is decided, never merely bounded:

1. bounded model checking, depth by depth, asks one disjunctive question per depth ("does
   some undecided target hold after exactly d steps?"); each answer yields a shortest
   witness for every target it satisfies, and the question is repeated until unsat;
2. once a depth brings nothing new, Spacer (Z3's CHC engine) is asked whether any undecided
   target is reachable at all, with Reach(x) <- Init(x) and Reach(y) <- Reach(x), T(x, y).
   Unsat proves every undecided target unreachable; sat sends the search back to step 1.

Global states are never enumerated with blocking clauses: one question per depth replaces
one question per state.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Hashable

import z3

from .errors import InternalError, SolverUnknown
from .system import System

__all__ = ["SymbolicSystem", "Decision", "Predicate", "decide_reachability", "trace_labels"]

# A target: builds its formula over any list of state variables (one step's, or Spacer's).
Predicate = Callable[[list], "z3.BoolRef"]

log = logging.getLogger(__name__)

MASK_WIDTH_LIMIT = 10  # up to 1024 configurations a set is tested with one mask


@dataclass
class Decision:
    """The Z3 engine's verdict on one target."""

    reachable: bool
    engine: str  # "bmc" (witness found) or "spacer" (unreachability proved)
    depth: int | None = None
    trace: list[tuple[int, ...]] | None = None
    labels: list[int] | None = None
    invariant: str | None = None
    symmetric_to: str | None = None  # decided on this symmetric instance, then carried over


class SymbolicSystem:
    """The transition relation of a System over bit-vector variables, built once."""

    def __init__(self, system: System, seed: int = 0):
        self.system = system
        self.seed = seed
        self.context = z3.Context()
        self.widths = [max(1, (len(instance.local.configs) - 1).bit_length()) for instance in system.instances]
        self.current = [z3.BitVec(instance.name, width, self.context) for instance, width in zip(system.instances, self.widths)]
        self.next = [z3.BitVec(instance.name + "'", width, self.context) for instance, width in zip(system.instances, self.widths)]
        self.initial = self._conjunction([variable == value for variable, value in zip(self.current, system.initial)])
        self.transition, self.enabled = self._build_relation()
        self._steps: list[list[z3.BitVecRef]] = []

    # -- building blocks -------------------------------------------------------------------

    def _value(self, instance: int, config: int) -> z3.BitVecRef:
        return z3.BitVecVal(config, self.widths[instance], self.context)

    def _conjunction(self, terms):
        terms = list(terms)
        if not terms:
            return z3.BoolVal(True, self.context)
        return terms[0] if len(terms) == 1 else z3.And(terms)

    def _disjunction(self, terms):
        terms = list(terms)
        if not terms:
            return z3.BoolVal(False, self.context)
        return terms[0] if len(terms) == 1 else z3.Or(terms)

    def in_configs(self, instance: int, configs, variables=None) -> z3.BoolRef:
        """The instance's variable holds one of ``configs``."""
        variable = (variables or self.current)[instance]
        configs = sorted(configs)
        width = self.widths[instance]
        if len(configs) <= 2 or width > MASK_WIDTH_LIMIT:
            return self._disjunction(variable == self._value(instance, config) for config in configs)
        # Set membership as one bit test: bit x of a constant mask. Four terms instead of
        # one equality per configuration, which matters when thousands are built.
        size = 1 << width
        mask = z3.BitVecVal(sum(1 << config for config in configs), size, self.context)
        shifted = z3.LShR(mask, z3.ZeroExt(size - width, variable))
        return z3.Extract(0, 0, shifted) == z3.BitVecVal(1, 1, self.context)

    def _pairs(self, instance: int, pairs) -> z3.BoolRef:
        # One equality on the concatenation (x, x') per step keeps the relation compact.
        both = z3.Concat(self.current[instance], self.next[instance])
        width = 2 * self.widths[instance]
        return self._disjunction(both == z3.BitVecVal((source << self.widths[instance]) | target, width, self.context)
                                 for source, target in sorted(set(pairs)))

    def _frame(self, changed: set[int]) -> z3.BoolRef:
        return self._conjunction(self.next[j] == self.current[j] for j in range(len(self.current)) if j not in changed)

    def _build_relation(self):
        system = self.system
        disjuncts = []
        enabled = []
        for instance_index, per_config in enumerate(system.moves):
            groups: dict[Hashable, list[tuple[int, int]]] = {}
            shapes: dict[Hashable, tuple] = {}
            for config, moves in enumerate(per_config):
                for move in moves:
                    key = (move.requires, tuple((step.instance, step.trigger, step.mode) for step in move.followers))
                    groups.setdefault(key, []).append((config, move.target))
                    shapes[key] = (move.requires, move.followers)
            for key in sorted(groups, key=repr):
                pairs = groups[key]
                requires, followers = shapes[key]
                guard = self._conjunction(self.in_configs(j, allowed) for j, allowed in requires)
                changed = {instance_index} | {step.instance for step in followers}
                follower_terms = []
                follower_enabled = []
                steps_of: dict[int, list] = {}
                for step in followers:
                    steps_of.setdefault(step.instance, []).append(step)
                for follower, steps in steps_of.items():
                    if len(steps) > 1:
                        # One instance follows more than once (two follower triggers of one
                        # component, or two synchronizations with the same leader). The steps
                        # happen one after the other, as in System.successors and the explicit
                        # engine; a constraint per step on the same (x, x') would demand every
                        # step from the same start at once, which no step but a shared
                        # self-loop satisfies. So the steps are composed into one table.
                        table = self.system.composed_follower_table(follower, steps)
                        follower_terms.append(self._pairs(follower, table.items()))
                        if len(table) < len(system.instances[follower].local.configs):
                            follower_enabled.append(self.in_configs(follower, table))
                        continue
                    step = steps[0]
                    step_pairs = self._follower_pairs(step)
                    sources = self.in_configs(step.instance, step.table)
                    if step.mode == "all":
                        follower_terms.append(step_pairs)
                        follower_enabled.append(sources)
                    else:
                        stays = z3.And(z3.Not(sources), self.next[step.instance] == self.current[step.instance])
                        follower_terms.append(z3.Or(step_pairs, stays))
                disjuncts.append(self._conjunction([self._pairs(instance_index, pairs), guard, *follower_terms, self._frame(changed)]))
                enabled.append(self._conjunction([self.in_configs(instance_index, {source for source, _ in pairs}), guard, *follower_enabled]))
        return self._disjunction(disjuncts), self._disjunction(enabled)

    def _follower_pairs(self, step) -> z3.BoolRef:
        both = z3.Concat(self.current[step.instance], self.next[step.instance])
        width = 2 * self.widths[step.instance]
        shift = self.widths[step.instance]
        return self._disjunction(both == z3.BitVecVal((source << shift) | target, width, self.context)
                                 for source, target in sorted(step.table.items()))

    def trigger_enabled(self, instance: int, trigger: str, configs=None) -> z3.BoolRef:
        """``instance`` (in one of ``configs``, if given) can take ``trigger``: its guards hold
        and every follower of mode "all" can follow."""
        machine = self.system.instances[instance].local.machine
        terms = []
        for config, moves in enumerate(self.system.moves[instance]):
            if configs is not None and config not in configs:
                continue
            for move in moves:
                if machine.transitions[move.transition].trigger != trigger:
                    continue
                terms.append(self._conjunction([
                    self.current[instance] == self._value(instance, config),
                    *(self.in_configs(j, allowed) for j, allowed in move.requires),
                    *(self.in_configs(step.instance, step.table) for step in move.followers if step.mode == "all"),
                ]))
        return self._disjunction(terms)

    def terminal(self) -> z3.BoolRef:
        terms = []
        for instance_index, instance in enumerate(self.system.instances):
            local = instance.local
            configs = [c for c, (s, _) in enumerate(local.configs) if local.machine.states[s].kind == "terminal"]
            terms.append(self.in_configs(instance_index, configs))
        return self._conjunction(terms)

    def deadlock(self) -> z3.BoolRef:
        """No step is enabled and not every instance rests in a terminal state."""
        return z3.And(z3.Not(self.enabled), z3.Not(self.terminal()))

    # -- unrolling ---------------------------------------------------------------------------

    def step_variables(self, step: int) -> list[z3.BitVecRef]:
        while len(self._steps) <= step:
            t = len(self._steps)
            self._steps.append([z3.BitVec(f"{instance.name}@{t}", width, self.context)
                                for instance, width in zip(self.system.instances, self.widths)])
        return self._steps[step]

    def at(self, expression: z3.ExprRef, step: int) -> z3.ExprRef:
        """``expression`` over the current variables, rewritten to the variables of ``step``."""
        return z3.substitute(expression, *zip(self.current, self.step_variables(step)))

    def local_predicate(self, instance: int, configs) -> Predicate:
        """A target that holds when ``instance`` is in one of ``configs``, for any variables.

        Building it directly over each step's variables is much cheaper than substituting.
        """
        configs = sorted(configs)
        return lambda variables: self.in_configs(instance, configs, variables)

    def global_predicate(self, expression: z3.BoolRef) -> Predicate:
        """A target given as an expression over the current variables."""
        def over(variables):
            if variables is self.current:
                return expression
            return z3.substitute(expression, *zip(self.current, variables))
        return over

    def transition_at(self, step: int) -> z3.ExprRef:
        return z3.substitute(self.transition, *zip(self.current, self.step_variables(step)),
                             *zip(self.next, self.step_variables(step + 1)))


def trace_labels(system: System, trace: list[tuple[int, ...]]) -> list[int]:
    """Name the step between each pair of states; a pair no step explains is an engine bug."""
    labels = []
    for before, after in zip(trace, trace[1:]):
        for label, successor in system.successors(before):
            if successor == after:
                labels.append(label)
                break
        else:
            raise InternalError(f"the Z3 trace of {system.name} takes a step the compiled system does not have: "
                                f"{system.state_name(before)} -> {system.state_name(after)}")
    return labels


def decide_reachability(symbolic: SymbolicSystem, targets: dict[Hashable, Predicate],
                        timeout_seconds: float = 60.0) -> dict[Hashable, Decision]:
    """Decide for every target whether some behaviour reaches it."""
    started = time.perf_counter()
    context = symbolic.context
    solver = z3.SolverFor("QF_FD", ctx=context)
    solver.set("random_seed", symbolic.seed)
    solver.add(symbolic.at(symbolic.initial, 0))
    remaining = dict(sorted(targets.items(), key=lambda item: repr(item[0])))
    decisions: dict[Hashable, Decision] = {}
    for key, predicate in list(remaining.items()):
        # A target no local configuration can show is false by construction: the
        # configurations are computed with every trigger free, an over-approximation.
        if z3.is_false(predicate(symbolic.current)):
            decisions[key] = Decision(reachable=False, engine="structure")
            del remaining[key]
    depth = 0
    proof_attempts = 0
    # A depth that brings no new target is common (targets often sit a few steps apart), and a
    # Spacer call that answers "something is still reachable" is wasted, so a proof is tried
    # only after a run of such depths, and the run required doubles after each failed try.
    stalled = 0
    stall_before_proof = 2
    query_count = 0

    def time_left() -> float:
        return timeout_seconds - (time.perf_counter() - started)

    while remaining:
        found_new = False
        variables = symbolic.step_variables(depth)
        depth_predicates = {key: predicate(variables) for key, predicate in remaining.items()}
        while remaining:
            if time_left() <= 0:
                raise SolverUnknown(f"reachability in {symbolic.system.name}", f"timeout after {timeout_seconds:g} s at depth {depth}")
            solver.set("timeout", max(1, int(time_left() * 1000)))
            at_depth = {key: depth_predicates[key] for key in remaining}
            # A fresh literal guards each query instead of push/pop: Z3 keeps what it
            # learnt, and a push costs more than the query on these encodings.
            query_count += 1
            guard = z3.Bool(f"query{query_count}", context)
            solver.add(z3.Implies(guard, z3.Or(list(at_depth.values()))))
            answer = solver.check(guard)
            if answer == z3.unknown:
                raise SolverUnknown(f"bounded model checking of {symbolic.system.name} at depth {depth}", solver.reason_unknown())
            if answer == z3.unsat:
                solver.add(z3.Not(guard))
                break
            model = solver.model()
            trace = [tuple(model.eval(variable, model_completion=True).as_long() for variable in symbolic.step_variables(t))
                     for t in range(depth + 1)]
            labels = trace_labels(symbolic.system, trace)
            hit = [key for key, predicate in at_depth.items() if z3.is_true(model.eval(predicate, model_completion=True))]
            solver.add(z3.Not(guard))
            if not hit:
                raise InternalError("the solver's model satisfies none of the targets it was asked for")
            for key in hit:
                decisions[key] = Decision(reachable=True, engine="bmc", depth=depth, trace=trace, labels=labels)
                del remaining[key]
            found_new = True
        if not remaining:
            break
        stalled = 0 if found_new else stalled + 1
        if stalled >= stall_before_proof:
            stalled = 0
            stall_before_proof *= 2
            proof_attempts += 1
            proved = _prove_unreachable(symbolic, remaining, min(time_left(), 2.0 * 2 ** proof_attempts), final=time_left() <= 2.0 * 2 ** proof_attempts)
            if proved is not None:
                for key in remaining:
                    decisions[key] = Decision(reachable=False, engine="spacer", invariant=proved)
                remaining = {}
                break
        solver.add(symbolic.transition_at(depth))
        depth += 1
    log.info("z3: %d targets of %s decided in %.3f s (bmc depth %d, %d proof attempts)",
             len(decisions), symbolic.system.name, time.perf_counter() - started, depth, proof_attempts)
    return decisions


def _prove_unreachable(symbolic: SymbolicSystem, remaining: dict, seconds: float, final: bool) -> str | None:
    """Ask Spacer whether any of ``remaining`` is reachable; the invariant text if none is.

    Returns None when some target is reachable (bounded model checking will find it) or when
    Spacer ran out of time on an attempt that is not the last one.
    """
    context = symbolic.context
    fixedpoint = z3.Fixedpoint(ctx=context)
    fixedpoint.set("engine", "spacer")
    fixedpoint.set("timeout", max(1, int(seconds * 1000)))
    fixedpoint.set("spacer.random_seed", symbolic.seed)
    sorts = [variable.sort() for variable in symbolic.current]
    reach = z3.Function("Reach", *sorts, z3.BoolSort(context))
    fixedpoint.register_relation(reach)
    fixedpoint.declare_var(*symbolic.current, *symbolic.next)
    fixedpoint.rule(reach(*symbolic.current), symbolic.initial)
    fixedpoint.rule(reach(*symbolic.next), [reach(*symbolic.current), symbolic.transition])
    try:
        answer = fixedpoint.query(z3.And(reach(*symbolic.current), z3.Or([predicate(symbolic.current) for predicate in remaining.values()])))
    except z3.Z3Exception as error:  # Spacer signals its time limit as "canceled"
        if final:
            raise SolverUnknown(f"unreachability proof in {symbolic.system.name}", str(error)) from None
        log.debug("spacer stopped (%s); bounded search goes on", error)
        return None
    if answer == z3.unsat:
        invariant = fixedpoint.get_answer()
        return str(invariant)
    if answer == z3.unknown:
        reason = fixedpoint.reason_unknown()
        if final:
            raise SolverUnknown(f"unreachability proof in {symbolic.system.name}", reason)
        log.debug("spacer gave up (%s); bounded search goes on", reason)
    return None
