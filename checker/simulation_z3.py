"""Z3 cross-check of the behavioural correspondence computed by ``checker.simulation``.

The explicit engine decides each direction as a greatest fixed point over a game graph and
reports the final relation R (``Correspondence.relation``) and its mismatches. This module
re-establishes those facts with Z3, from the compiled System tables and the mapping only: it
uses neither the explicit engine's game graph nor its silent closures, and reads R and the
mismatches only as the claims being checked (docs/correspondence.md has the definitions).

Encoding: a Datalog program for Z3's ``datalog`` engine (``z3.Fixedpoint``), with stratified
negation. Every global state is a tuple of bit-vector columns, one per instance, holding its
configuration index (as in ``checker.symbolic``). Facts are the pairs of R, the pairs under
test ("probes": the reported mismatches' pairs), the move tables of both systems (one
relation per group of moves sharing guards and followers) and the R0 image tables. Rules:

    SrcA(s) <- R(s, t)          Step_c(s, s2) <- SrcA(s), Move_g(s[i], s2[i]), guards, followers
    Root(t) <- R(s, t)          (c: the silent class, or one visible class (instance, trigger))
    W_()(r, r) <- Root(r)                      W_p.o(r, w) <- W_p(r, v), Op_o(v, w)
    W_p(r, u) <- W_p(r, v), Tau(v, u)          for every prefix p of a matching sequence
    Weak_c(t, u) <- W_seq(t, u)                for every operation sequence seq matching c
    Matched_c(s2, t) <- Weak_c(t, u), R(s2, u)
    Offending(s, t, s2, c) <- R(s, t), Step_c(s, s2), not Matched_c(s2, t)

so that the tuples of Offending are exactly the steps of the simulated side at a pair of R
that the simulating side cannot match inside R: R is a weak simulation iff Offending is empty
(Z3 answers unsat). The silent closures are Z3's own least fixed points, so
no unrolling bound is needed. The same rules over the probes, with R0 in place of R for the
root causes, confirm each reported mismatch (see ``check_simulation_with_z3``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import z3

from .errors import InternalError, SolverUnknown
from .mapping import Mapping
from .simulation import DIRECTIONS, SCOMO_BY_TR069, Correspondence, Mismatch, build_pairing
from .system import System

__all__ = ["ENGINE", "Z3SimulationCheck", "check_simulation_with_z3"]

log = logging.getLogger(__name__)

ENGINE = "z3 datalog"

# Reasons whose offending step has no candidate at all: no match even into R0.
ROOT_REASONS = ("unmapped-operation", "no-correspondent", "cannot-follow")

TAU = "tau"  # the class of silent steps


@dataclass
class Z3SimulationCheck:
    """What Z3 established for one direction.

    ``relation_is_simulation``: no step at a pair of R is unmatched inside R (and R ⊆ R0).
    ``confirmed_mismatches``: ids of reported mismatches whose offending step Z3 confirms;
    ``unconfirmed_mismatches`` the others. ``holds_agrees``: Z3 finds the initial pair in R
    exactly when the explicit engine says the direction holds. ``offending`` lists a few
    offending steps Z3 found in R, when it is not a simulation.
    """

    direction: str
    engine: str
    relation_is_simulation: bool
    confirmed_mismatches: list[str]
    unconfirmed_mismatches: list[str]
    seconds: float
    holds_agrees: bool = True
    relation_in_r0: bool = True
    offending: list[str] = field(default_factory=list)
    queries: int = 0
    reason: str | None = None  # set when Z3 answered unknown (then SolverUnknown is raised)

    @property
    def agrees(self) -> bool:
        """Z3 confirms everything the explicit engine reported for this direction."""
        return (self.relation_is_simulation and self.relation_in_r0 and self.holds_agrees
                and not self.unconfirmed_mismatches)


class _Side:
    """One system's columns in the Datalog program."""

    def __init__(self, system: System, context: z3.Context):
        self.system = system
        self.sorts = [z3.BitVecSort(max(1, (len(instance.local.configs) - 1).bit_length()), context)
                      for instance in system.instances]
        self.names = [instance.name for instance in system.instances]

    def values(self, state) -> list[z3.BitVecRef]:
        return [z3.BitVecVal(config, sort) for config, sort in zip(state, self.sorts)]

    def decode(self, described: dict[str, str]) -> tuple[int, ...]:
        """The state tuple whose ``System.describe`` is ``described``."""
        state = []
        for instance in self.system.instances:
            text = described[instance.name]
            matches = [c for c in range(len(instance.local.configs)) if instance.local.describe(c) == text]
            if len(matches) != 1:
                raise InternalError(f"cannot read {instance.name}={text!r} as one configuration")
            state.append(matches[0])
        return tuple(state)


class _Program:
    """The Datalog program of one direction, built once and queried several times."""

    def __init__(self, mapping: Mapping, direction: str, k: int, n: int, timeout: float):
        self.context = z3.Context()
        self.fp = z3.Fixedpoint(ctx=self.context)
        self.fp.set(engine="datalog")
        self.timeout = timeout
        self.deadline = time.perf_counter() + timeout
        pairing = build_pairing(mapping, k=k, n=n)
        forward = direction == SCOMO_BY_TR069
        self.forward = forward
        self.mapping = mapping
        self.A = _Side(pairing.scomo if forward else pairing.tr069, self.context)  # simulated
        self.B = _Side(pairing.tr069 if forward else pairing.scomo, self.context)  # simulating
        # (simulated instance, simulating instance, pair index); images oriented simulated -> simulating
        self.pairs = [((a, b) if forward else (b, a)) for a, b in pairing.instance_pairs]
        self.images = []
        for p, _pair in enumerate(pairing.instance_pairs):
            table = pairing.images[p]
            facts = {(ca, cb) for ca, allowed in enumerate(table) for cb in allowed}
            self.images.append(facts if forward else {(cb, ca) for ca, cb in facts})
        self.partner = dict(self.pairs)
        self._count = 0
        self._vars: dict[str, list] = {}
        self.queries = 0

    # -- declarations ------------------------------------------------------------------------

    def relation(self, name: str, *sorts) -> z3.FuncDeclRef:
        self._count += 1
        decl = z3.Function(f"{name}#{self._count}", *sorts, z3.BoolSort(self.context))
        self.fp.register_relation(decl)
        return decl

    def variables(self, prefix: str, side: _Side) -> list:
        if prefix not in self._vars:
            names = [f"{prefix}_{i}" for i in range(len(side.sorts))]
            variables = [z3.Const(name, sort) for name, sort in zip(names, side.sorts)]
            self.fp.declare_var(*variables)
            self._vars[prefix] = variables
        return self._vars[prefix]

    # -- steps -------------------------------------------------------------------------------

    def step_relations(self, side: _Side, source: z3.FuncDeclRef, prefix: str,
                       wanted=None) -> dict:
        """Class -> relation Step(x, y) of the steps of ``side`` from states in ``source``.
        The class is TAU for silent steps, (instance, trigger) for operations; ``wanted``
        limits the visible classes built (None: all)."""
        system = side.system
        x = self.variables(prefix + "x", side)
        y = self.variables(prefix + "y", side)
        groups: dict[tuple, list] = {}
        for i, per_config in enumerate(system.moves):
            transitions = system.instances[i].local.machine.transitions
            for config, moves in enumerate(per_config):
                for move in moves:
                    transition = transitions[move.transition]
                    cls = (i, transition.trigger) if transition.kind == "operation" else TAU
                    if cls != TAU and wanted is not None and cls not in wanted:
                        continue
                    signature = tuple((f.instance, f.trigger, f.mode) for f in move.followers)
                    key = (cls, i, move.requires, signature)
                    groups.setdefault(key, []).append((config, move))
        relations: dict = {}
        sorts = side.sorts
        for (cls, i, requires, _signature), entries in groups.items():
            if cls not in relations:
                relations[cls] = self.relation(f"{prefix}step", *sorts, *sorts)
            move_rel = self.relation(f"{prefix}move", sorts[i], sorts[i])
            for config, move in entries:
                _ground_fact(self.fp, move_rel(z3.BitVecVal(config, sorts[i]), z3.BitVecVal(move.target, sorts[i])))
            body = [source(*x), move_rel(x[i], y[i])]
            for j, allowed in requires:
                guard = self.relation(f"{prefix}guard", sorts[j])
                for config in sorted(allowed):
                    _ground_fact(self.fp, guard(z3.BitVecVal(config, sorts[j])))
                body.append(guard(x[j]))
            changed = {i}
            followers: dict[int, list] = {}
            for follower in entries[0][1].followers:
                followers.setdefault(follower.instance, []).append(follower)
            for f, steps in followers.items():
                if f == i:
                    raise InternalError(f"{system.name}: an instance follows its own step")
                table = system.composed_follower_table(f, steps)
                follow = self.relation(f"{prefix}follow", sorts[f], sorts[f])
                for start, end in sorted(table.items()):
                    _ground_fact(self.fp, follow(z3.BitVecVal(start, sorts[f]), z3.BitVecVal(end, sorts[f])))
                body.append(follow(x[f], y[f]))
                changed.add(f)
            target = [y[j] if j in changed else x[j] for j in range(len(sorts))]
            self.fp.rule(relations[cls](*x, *target), body)
        return relations

    def sequences(self, cls) -> list[tuple[tuple[int, str], ...]] | None:
        """The simulating side's operation sequences that may match a step of class ``cls``
        (docs/correspondence.md, "The two directions"); None when none may."""
        if cls == TAU:
            return [()]
        instance, trigger = cls
        partner = self.partner.get(instance)
        if partner is None:
            return None
        own = self.A.system.instances[instance].component
        if self.forward:
            entry = self.mapping.operation_entry(own, trigger)
            if entry is None or not entry.alternatives:
                return None
            return [tuple((partner, t) for _, t in alternative) for alternative in entry.alternatives]
        other = self.B.system.instances[partner].component
        single = ((own, trigger),)
        found = [((partner, entry.scomo_trigger),) for entry in self.mapping.operations
                 if entry.scomo_component == other and single in entry.alternatives]
        return found or None

    # -- the program -------------------------------------------------------------------------

    def build(self, relation, probes) -> None:
        A, B = self.A, self.B
        fp = self.fp
        s, s2 = self.variables("s", A), self.variables("s2", A)
        t, u = self.variables("t", B), self.variables("u", B)
        v, w, r = self.variables("v", B), self.variables("w", B), self.variables("r", B)

        self.R = self.relation("R", *A.sorts, *B.sorts)
        self.Probe = self.relation("Probe", *A.sorts, *B.sorts)
        for state, partner in sorted(relation):
            _ground_fact(fp, self.R(*A.values(state), *B.values(partner)))
        for state, partner in sorted(probes):
            _ground_fact(fp, self.Probe(*A.values(state), *B.values(partner)))

        src_a = self.relation("SrcA", *A.sorts)
        fp.rule(src_a(*s), [self.R(*s, *t)])
        fp.rule(src_a(*s), [self.Probe(*s, *t)])
        steps_a = self.step_relations(A, src_a, "A")
        self.classes = sorted(steps_a, key=lambda c: (c != TAU, repr(c)))
        cls_sort = z3.BitVecSort(max(1, (len(self.classes) - 1).bit_length()), self.context)
        self.cls_sort = cls_sort

        sequences = {cls: self.sequences(cls) for cls in self.classes}
        wanted = {op for seqs in sequences.values() if seqs for seq in seqs for op in seq}
        src_b = self.relation("SrcB", *B.sorts)
        steps_b = self.step_relations(B, src_b, "B", wanted=wanted)
        tau_b = steps_b.get(TAU)

        root = self.relation("Root", *B.sorts)
        fp.rule(root(*t), [self.R(*s, *t)])
        fp.rule(root(*t), [self.Probe(*s, *t)])
        prefixes: dict[tuple, z3.FuncDeclRef] = {}

        def walk(sequence: tuple) -> z3.FuncDeclRef:
            """Walk_sequence(r, u): r ⇒ o1 ⇒ ... ⇒ on ⇒ u, from a root r. Each walk closes
            itself under silent steps, so closures are only ever taken from roots."""
            if sequence in prefixes:
                return prefixes[sequence]
            rel = self.relation("Walk", *B.sorts, *B.sorts)
            if not sequence:
                fp.rule(rel(*r, *r), [root(*r)])
            else:
                before = walk(sequence[:-1])
                op = steps_b.get(sequence[-1])
                if op is not None:  # no move of that instance and trigger: the walk is empty
                    fp.rule(rel(*r, *w), [before(*r, *v), op(*v, *w)])
            if tau_b is not None:
                fp.rule(rel(*r, *u), [rel(*r, *v), tau_b(*v, *u)])
            fp.rule(src_b(*u), [rel(*r, *u)])
            prefixes[sequence] = rel
            return rel

        self.Offending = self.relation("Offending", *A.sorts, *B.sorts, *A.sorts, cls_sort)
        self.OffendingProbe = self.relation("OffendingProbe", *A.sorts, *B.sorts, *A.sorts, cls_sort)
        self.OffendingProbe0 = self.relation("OffendingProbe0", *A.sorts, *B.sorts, *A.sorts, cls_sort)
        for number, cls in enumerate(self.classes):
            step = steps_a[cls]
            c = z3.BitVecVal(number, cls_sort)
            weak = self.relation("Weak", *B.sorts, *B.sorts)
            for sequence in sequences[cls] or ():
                fp.rule(weak(*t, *u), [walk(sequence)(*t, *u)])
            matched = self.relation("Matched", *A.sorts, *B.sorts)
            fp.rule(matched(*s2, *t), [weak(*t, *u), self.R(*s2, *u)])
            fp.rule(self.Offending(*s, *t, *s2, c), [self.R(*s, *t), step(*s, *s2), z3.Not(matched(*s2, *t))])
            fp.rule(self.OffendingProbe(*s, *t, *s2, c),
                    [self.Probe(*s, *t), step(*s, *s2), z3.Not(matched(*s2, *t))])
            # The same against R0: is there any corresponding state to go to at all?
            target = self.relation("ProbeTarget", *A.sorts)
            fp.rule(target(*s2), [self.Probe(*s, *t), step(*s, *s2)])
            matched0 = self.relation("Matched0", *A.sorts, *B.sorts)
            fp.rule(matched0(*s2, *t), [target(*s2), *self.r0_atoms(s2, u), weak(*t, *u)])
            fp.rule(self.OffendingProbe0(*s, *t, *s2, c),
                    [self.Probe(*s, *t), step(*s, *s2), z3.Not(matched0(*s2, *t))])

        # The initial pair, in R and in R0. Queries name relations rather than constant
        # tuples: one query answers for every tuple, and a constant-tuple query was once
        # answered unknown (reason "ok") by the datalog engine during development.
        initial = self.relation("Initial", *A.sorts, *B.sorts)
        _ground_fact(fp, initial(*A.values(A.system.initial), *B.values(B.system.initial)))
        self.InitialInR = self.relation("InitialInR", *A.sorts, *B.sorts)
        fp.rule(self.InitialInR(*s, *t), [initial(*s, *t), self.R(*s, *t)])
        self.InitialInR0 = self.relation("InitialInR0", *A.sorts, *B.sorts)
        fp.rule(self.InitialInR0(*s, *t), [initial(*s, *t), *self.r0_atoms(s, t)])

        self.ProbeInR = self.relation("ProbeInR", *A.sorts, *B.sorts)
        fp.rule(self.ProbeInR(*s, *t), [self.Probe(*s, *t), self.R(*s, *t)])

        # R ⊆ R0: a pair of R in which some instance pair's local states do not correspond.
        self.NotR0 = self.relation("NotR0", *A.sorts, *B.sorts)
        for atom in self.r0_atoms(s, t):
            fp.rule(self.NotR0(*s, *t), [self.R(*s, *t), z3.Not(atom)])

    def r0_atoms(self, state, partner) -> list:
        if not hasattr(self, "_images"):
            self._images = []
            for (a, b), facts in zip(self.pairs, self.images):
                rel = self.relation("Image", self.A.sorts[a], self.B.sorts[b])
                for ca, cb in sorted(facts):
                    _ground_fact(self.fp, rel(z3.BitVecVal(ca, self.A.sorts[a]), z3.BitVecVal(cb, self.B.sorts[b])))
                self._images.append(rel)
        return [rel(state[a], partner[b]) for rel, (a, b) in zip(self._images, self.pairs)]

    # -- queries -----------------------------------------------------------------------------

    def ask(self, query, what: str) -> bool:
        """One query, within what is left of the time budget: sat (True) or unsat (False);
        ``SolverUnknown`` when Z3 cannot answer, or is stopped by the timeout."""
        self.queries += 1
        left = self.deadline - time.perf_counter()
        if left <= 0:
            raise SolverUnknown(what, f"timeout after {self.timeout:g} s")
        self.fp.set(timeout=max(1, int(left * 1000)))
        try:
            answer = self.fp.query(query)
        except z3.Z3Exception as error:  # a timeout cancels the query with an exception
            message = error.value.decode() if isinstance(error.value, bytes) else str(error.value)
            reason = f"timeout after {self.timeout:g} s" if message == "canceled" else message
            raise SolverUnknown(what, reason) from None
        if answer == z3.unknown:
            reason = self.fp.reason_unknown()
            if time.perf_counter() >= self.deadline - 0.05:
                # The datalog engine stops at its timeout with unknown and the reason "ok".
                reason = f"timeout after {self.timeout:g} s ({reason})"
            raise SolverUnknown(what, reason)
        return answer == z3.sat

    def answer_rows(self, arity: int) -> list[dict[int, int]]:
        """The tuples of the last sat query's relation: column -> value (a column Z3 leaves
        out may take any value)."""
        answer = self.fp.get_answer()
        rows = answer.children() if z3.is_or(answer) else [answer]
        result = []
        for row in rows:
            values: dict[int, int] = {}
            for conjunct in (row.children() if z3.is_and(row) else [row]):
                if z3.is_true(conjunct):
                    continue
                if not (z3.is_eq(conjunct) and z3.is_var(conjunct.arg(0)) and z3.is_bv_value(conjunct.arg(1))):
                    raise InternalError(f"unexpected Datalog answer row {row}")
                values[z3.get_var_index(conjunct.arg(0))] = conjunct.arg(1).as_long()
            if any(column >= arity for column in values):
                raise InternalError(f"unexpected Datalog answer row {row}")
            result.append(values)
        return result

    def tuples(self, relation: z3.FuncDeclRef, what: str) -> list[dict[int, int]]:
        """Every tuple of ``relation`` (one query)."""
        if not self.ask(relation, what):
            return []
        return self.answer_rows(relation.arity())

    def describe_offending(self, row: dict[int, int]) -> str:
        A, B = self.A, self.B
        na, nb = len(A.sorts), len(B.sorts)
        if len(row) != 2 * na + nb + 1:
            return repr(row)
        s = tuple(row[i] for i in range(na))
        t = tuple(row[na + i] for i in range(nb))
        s2 = tuple(row[na + nb + i] for i in range(na))
        cls = self.classes[row[2 * na + nb]]
        label = "silent step" if cls == TAU else f"{A.names[cls[0]]}.{cls[1]}"
        return (f"{label} from ({A.system.state_name(s)} | {B.system.state_name(t)}) "
                f"to {A.system.state_name(s2)}")

    def step_class(self, state, mismatch: Mismatch):
        """The class of the mismatch's offending step, read from the System tables."""
        system = self.A.system
        label = system.labels.index(mismatch.label)
        for i, config in enumerate(state):
            for move in system.moves[i][config]:
                if move.label == label:
                    transition = system.instances[i].local.machine.transitions[move.transition]
                    return (i, transition.trigger) if transition.kind == "operation" else TAU
        return None


def _ground_fact(fixedpoint: z3.Fixedpoint, atom: z3.BoolRef) -> None:
    """Add a fact without variables. ``Fixedpoint.fact`` wraps every fact in a quantifier over
    all declared variables, which z3py builds slowly; a ground fact needs none."""
    context = fixedpoint.ctx
    z3.Z3_fixedpoint_add_rule(context.ref(), fixedpoint.fixedpoint, atom.as_ast(), z3.to_symbol("", context))


def check_simulation_with_z3(mapping: Mapping, direction: str, result: Correspondence, k: int = 1,
                             n: int = 1, seed: int = 0, timeout: float = 30) -> Z3SimulationCheck:
    """Check with Z3 what the explicit engine reported for ``direction`` (``result``).

    1. The final relation R is a weak simulation: Z3 finds no offending step (a step at a
       pair of R that the simulating side cannot match inside R), and R ⊆ R0.
    2. Every reported mismatch is confirmed: its pair is not in R, its offending step is a
       step of the simulated system from the pair's state, and Z3 finds no match for it into
       R. For root causes (``unmapped-operation``, ``no-correspondent``, ``cannot-follow``)
       Z3 also finds no match into R0 at all; for ``leads-to-mismatch`` it finds one (the
       step had candidates). A mismatch of reason ``initial`` is confirmed when the initial
       pair is not in R0.
    3. The initial pair is in R exactly when the direction holds.

    ``seed`` is accepted for symmetry with the other Z3 checks; the Datalog engine is
    deterministic and does not use it. ``timeout`` bounds each query, in seconds. Raises
    ``SolverUnknown`` when Z3 cannot answer.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
    started = time.perf_counter()
    program = _Program(mapping, direction, k, n, timeout)
    A, B = program.A, program.B

    # The pairs to probe: each mismatch's pair, with its offending step.
    probes = {}
    for mismatch in result.mismatches:
        if mismatch.offending_step is None:
            continue
        state = A.decode(mismatch.simulated_state)
        partner = B.decode(mismatch.simulating_state)
        probes[mismatch.id] = (state, partner, A.decode(mismatch.offending_step.state))
    program.build(result.relation, {(state, partner) for state, partner, _ in probes.values()})
    what = f"{direction} on {mapping.id}"

    offending_rows = program.tuples(program.Offending, f"offending steps of R ({what})")
    is_simulation = not offending_rows
    offending = [program.describe_offending(row) for row in offending_rows[:5]]
    in_r0 = not program.ask(program.NotR0, f"R within R0 ({what})")
    initial_in_r = program.ask(program.InitialInR, f"initial pair in R ({what})")

    # One query per relation over all probes: each recomputes the fixed point.
    in_r = offending_probe = offending_probe0 = []
    if probes:
        in_r = program.tuples(program.ProbeInR, f"mismatch pairs in R ({what})")
        offending_probe = program.tuples(program.OffendingProbe, f"offending steps of the mismatches ({what})")
        offending_probe0 = program.tuples(program.OffendingProbe0, f"candidates of the mismatches ({what})")

    def contains(rows: list[dict[int, int]], values: tuple[int, ...]) -> bool:
        return any(all(values[column] == value for column, value in row.items()) for row in rows)

    confirmed, unconfirmed = [], []
    for mismatch in result.mismatches:
        if mismatch.offending_step is None:
            ok = (mismatch.reason == "initial"
                  and not program.ask(program.InitialInR0, f"initial pair in R0 ({what})"))
        else:
            state, partner, target = probes[mismatch.id]
            cls = program.step_class(state, mismatch)
            ok = cls is not None and not contains(in_r, (*state, *partner))
            if ok:
                row = (*state, *partner, *target, program.classes.index(cls))
                no_candidate = contains(offending_probe0, row)
                ok = contains(offending_probe, row) and no_candidate == (mismatch.reason in ROOT_REASONS)
        (confirmed if ok else unconfirmed).append(mismatch.id)

    check = Z3SimulationCheck(
        direction=direction, engine=ENGINE, relation_is_simulation=is_simulation,
        confirmed_mismatches=confirmed, unconfirmed_mismatches=unconfirmed,
        seconds=time.perf_counter() - started, holds_agrees=initial_in_r == result.holds,
        relation_in_r0=in_r0, offending=offending, queries=program.queries)
    log.info("%s: %s; R %s a simulation, %d of %d mismatches confirmed, %d queries, %.3f s",
             what, ENGINE, "is" if is_simulation else "is not", len(confirmed), len(result.mismatches),
             program.queries, check.seconds)
    return check
