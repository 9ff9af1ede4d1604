"""Z3 cross-check of the behavioural correspondence computed by ``checker.simulation``.

The explicit engine decides each direction as a greatest fixed point over a game graph and
reports the game's pairs, the final relation R (``Correspondence.relation``), the order in
which it deleted the other pairs, its mismatches and its disagreements. This module
re-establishes those facts with Z3, from the compiled System tables and the mapping only: it
derives the game itself, uses none of the explicit engine's silent closures, and reads the
explicit engine's answers only as the claims being checked (docs/correspondence.md, "How Z3
checks the correspondence", has the definitions and the argument below in full).

Encoding: a Datalog program for Z3's ``datalog`` engine (``z3.Fixedpoint``), with stratified
negation. Every global state is a tuple of bit-vector columns, one per instance, holding its
configuration index (as in ``checker.symbolic``). Facts are the claims (the pairs of R, of
the explicit game and of the disagreements; Deleted(s, t, q), the pair deleted q-th; the
"probes": the reported mismatches' pairs), the move tables of both systems (one relation per
group of moves sharing guards and followers) and the R0 image tables. Rules, with Judged the
union of R, the probes, Game and the deleted pairs:

    SrcA(s) <- Judged(s, t)     Step_c(s, s2) <- SrcA(s), Move_g(s[i], s2[i]), guards, followers
    Root(t) <- Judged(s, t)     (c: the silent class, or one visible class (instance, trigger))
    W_()(r, r) <- Root(r)                      W_p.o(r, w) <- W_p(r, v), Op_o(v, w)
    W_p(r, u) <- W_p(r, v), Tau(v, u)          for every prefix p of a matching sequence
    Weak_c(t, u) <- W_seq(t, u)                for every operation sequence seq matching c
    Cand_c(s2, t, u) <- Judged(s, t), Step_c(s, s2), Weak_c(t, u), R0(s2, u)
    Game(s0, t0) <- R0(s0, t0)                 Game(s2, u) <- Game(s, t), Step_c(s, s2), Cand_c(s2, t, u)
    Matched_c(s2, t) <- Weak_c(t, u), R(s2, u)
    Offending(s, t, s2, c) <- R(s, t), Step_c(s, s2), not Matched_c(s2, t)
    Later_c(s2, t, q) <- Deleted(s, t, q), Step_c(s, s2), Cand_c(s2, t, u), not DeletedPair(s2, u)
    Later_c(s2, t, q) <- Deleted(s, t, q), Step_c(s, s2), Cand_c(s2, t, u), Deleted(s2, u, q2), q2 >= q
    Justified(s, t, q) <- Deleted(s, t, q), Step_c(s, s2), not Later_c(s2, t, q)
    Unjustified(s, t) <- Deleted(s, t, q), not Justified(s, t, q)

(each rule is split so that it joins two relations at a time; see ``_Program.build``).

* The tuples of Offending are exactly the steps of the simulated side at a pair of R that the
  simulating side cannot match inside R: R is a weak simulation iff Offending is empty (Z3
  answers unsat), and R ⊆ R0.
* Game is Z3's own least fixed point: the explicit game must equal it, pair for pair.
* R is the largest simulation: with R ⊆ Game, every pair of Game outside R deleted (and none
  in R), and Unjustified empty, no weak simulation S ⊆ R0 contains a deleted pair. Otherwise
  take one in S of least rank q; it is justified by a step s → s2 all of whose candidates are
  deleted at ranks below q, yet S matches that step with some (s2, u) ∈ S, a candidate: a pair
  of S of lower rank. So the pairs of the game that any simulation contains are all in R: R
  is the greatest fixed point, and the verdict (the initial pair in R) is certified.
* The reported disagreements are exactly Game ∖ R.

The silent closures are Z3's own least fixed points, so no unrolling bound is needed. The same
rules over the probes, with R0 in place of R for the root causes, confirm each reported
mismatch (see ``check_simulation_with_z3``). The claims about the game, the deletions and the
disagreements are nine kinds of fault (``FAULTS``). Everything that depends on the game is
gathered in one relation and asked in one query (``FINDINGS``): the datalog engine computes the
fixed point again for every query.
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

# The kinds of fault the game and deletion rules look for; each is a set of pairs (s, t) that
# must be empty. The first two compare Z3's game with the explicit one, the next five certify
# that R is the largest simulation, the last two compare the reported disagreements with the
# game pairs outside R.
FAULTS = (
    "game-not-explicit",         # in Z3's game, not in the explicit engine's
    "explicit-not-game",         # in the explicit engine's game, not in Z3's
    "relation-outside-game",     # a pair of R that is not a game pair
    "deleted-in-relation",       # a pair both deleted and in R
    "deleted-outside-game",      # a deleted pair that is not a game pair
    "outside-not-deleted",       # a game pair neither in R nor deleted
    "unjustified",               # a deletion that no step justifies (see the module text)
    "disagreement-not-outside",  # a reported disagreement in R or outside the game
    "outside-not-disagreement",  # a game pair outside R that is not a reported disagreement
    "resynchronised-outside-r0",  # a resynchronisation to a state that does not correspond
    "resynchronised-unreached",  # a resynchronisation to a state its path does not reach
)
# What the one query over the game's fixed point finds (``_Program.build``): the offending
# steps of R, those of the probes, into R and into R0, the probes in R, then the faults.
FINDINGS = ("offending", "offending-probe", "offending-probe0", "probe-in-r", *FAULTS)
GAME_FAULTS = FAULTS[:2]
LARGEST_FAULTS = FAULTS[2:7]
DISAGREEMENT_FAULTS = FAULTS[7:9]
RESYNCHRONISATION_FAULTS = FAULTS[9:]


@dataclass
class Z3SimulationCheck:
    """What Z3 established for one direction.

    ``relation_is_simulation``: no step at a pair of R is unmatched inside R (and R ⊆ R0).
    ``confirmed_mismatches``: ids of reported mismatches whose offending step Z3 confirms;
    ``unconfirmed_mismatches`` the others. ``holds_agrees``: Z3 finds the initial pair in R
    exactly when the explicit engine says the direction holds. ``offending`` lists a few
    offending steps Z3 found in R, when it is not a simulation.

    ``game_agrees``: the game Z3 derives from the initial pair is the explicit engine's, pair
    for pair; ``game_pairs`` is then its size. ``relation_is_largest``: R lies in the game and
    the explicit engine's order of deletion justifies every other game pair's deletion, so no
    simulation contains one (with ``relation_is_simulation``, R is the greatest fixed point).
    ``disagreements_agree``: the reported disagreements are exactly the game pairs outside R.
    ``discrepancies`` lists a few faulty pairs per failed claim, as "kind: (s | t)".
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
    game_agrees: bool = True
    game_pairs: int = 0
    relation_is_largest: bool = True
    disagreements_agree: bool = True
    resynchronisations_valid: bool = True
    discrepancies: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        """Z3 confirms everything the explicit engine reported for this direction."""
        return not self.failures()

    def failures(self) -> list[str]:
        """The claims of the explicit engine that Z3 does not confirm, in words."""
        failed = [text for ok, text in (
            (self.relation_is_simulation, f"R is not a simulation (offending: {self.offending})"),
            (self.relation_in_r0, "R is not within R0"),
            (self.holds_agrees, "the verdict differs"),
            (self.game_agrees, "the game differs"),
            (self.relation_is_largest, "R is not certified the largest simulation"),
            (self.disagreements_agree, "the disagreements are not the game pairs outside R"),
            (self.resynchronisations_valid, "a resynchronisation is not a path to a corresponding state"),
        ) if not ok]
        if self.unconfirmed_mismatches:
            failed.append(f"unconfirmed mismatches {self.unconfirmed_mismatches}")
        if self.discrepancies:
            failed.append(f"discrepancies: {self.discrepancies}")
        return failed


class _Side:
    """One system's columns in the Datalog program."""

    def __init__(self, system: System, context: z3.Context):
        self.system = system
        self.sorts = [z3.BitVecSort(max(1, (len(instance.local.configs) - 1).bit_length()), context)
                      for instance in system.instances]
        self.names = [instance.name for instance in system.instances]
        # Every configuration of every instance, as a Z3 value and as ``describe`` writes it.
        self._values = [[z3.BitVecVal(config, sort) for config in range(len(instance.local.configs))]
                        for instance, sort in zip(system.instances, self.sorts)]

    def value(self, instance: int, config: int) -> z3.BitVecRef:
        return self._values[instance][config]

    def values(self, state) -> list[z3.BitVecRef]:
        return [values[config] for values, config in zip(self._values, state)]

    def decode(self, described: dict[str, str]) -> tuple[int, ...]:
        """The state tuple whose ``System.describe`` is ``described``."""
        try:
            return self.system.state_described(described)
        except ValueError as error:
            raise InternalError(f"cannot read a reported state: {error}") from None


class _Program:
    """The Datalog program of one direction, built once and queried several times."""

    def __init__(self, mapping: Mapping, direction: str, k: int, n: int, timeout: float, pairing=None):
        self.context = z3.Context()
        self.fp = z3.Fixedpoint(ctx=self.context)
        self.fp.set(engine="datalog")
        # The eager inliner undoes the split of rules that ``build`` makes (the queries run
        # out of memory at k = n = 2 with it), and makes a query slower after some others
        # (the mismatches' candidates: 14 s instead of 0.3 s at k = n = 2).
        self.fp.set("xform.inline_eager", False)
        self.timeout = timeout
        self.deadline = time.perf_counter() + timeout
        # The compiled systems and R0's tables (the explicit engine's, when given: the same
        # compilation; the closures, candidates and game are derived here anew).
        pairing = pairing if pairing is not None else build_pairing(mapping, k=k, n=n)
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
                _ground_fact(self.fp, move_rel, side.value(i, config), side.value(i, move.target))
            body = [source(*x), move_rel(x[i], y[i])]
            for j, allowed in requires:
                guard = self.relation(f"{prefix}guard", sorts[j])
                for config in sorted(allowed):
                    _ground_fact(self.fp, guard, side.value(j, config))
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
                    _ground_fact(self.fp, follow, side.value(f, start), side.value(f, end))
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

    def build(self, relation, probes, game=(), deletion_order=(), reported=(), resynchronisations=(),
              resynchronisation_paths=()) -> None:
        """The program over the claims under test: the relation R, the probes (each mismatch's
        pair and the target of its offending step), the
        explicit engine's game, its order of deletion, its reported disagreements, and its
        resynchronisations with the following side's path of each."""
        A, B = self.A, self.B
        fp = self.fp
        s, s2 = self.variables("s", A), self.variables("s2", A)
        t, u = self.variables("t", B), self.variables("u", B)
        v, w, r = self.variables("v", B), self.variables("w", B), self.variables("r", B)
        # Ranks in the order of deletion; q is the rank of the pair judged, q2 a candidate's.
        rank = z3.BitVecSort(max(1, (len(deletion_order) - 1).bit_length()), self.context)
        q, q2 = z3.Const("q", rank), z3.Const("q2", rank)
        fp.declare_var(q, q2)

        self.R = self.relation("R", *A.sorts, *B.sorts)
        self.Probe = self.relation("Probe", *A.sorts, *B.sorts)
        explicit_game = self.relation("ExplicitGame", *A.sorts, *B.sorts)
        deleted = self.relation("Deleted", *A.sorts, *B.sorts, rank)
        reported_pair = self.relation("Disagreement", *A.sorts, *B.sorts)
        for state, partner in sorted(relation):
            _ground_fact(fp, self.R, *A.values(state), *B.values(partner))
        # The probed steps too: only their rows are wanted back, not those of every step of
        # a probed pair (a deleted pair's steps are mostly unmatched in R).
        probe_step = self.relation("ProbeStep", *A.sorts, *B.sorts, *A.sorts)
        for state, partner, target in sorted(probes):
            _ground_fact(fp, self.Probe, *A.values(state), *B.values(partner))
            _ground_fact(fp, probe_step, *A.values(state), *B.values(partner), *A.values(target))
        for state, partner in sorted(game):
            _ground_fact(fp, explicit_game, *A.values(state), *B.values(partner))
        for position, (state, partner) in enumerate(deletion_order):
            _ground_fact(fp, deleted, *A.values(state), *B.values(partner), z3.BitVecVal(position, rank))
        for state, partner in sorted(reported):
            _ground_fact(fp, reported_pair, *A.values(state), *B.values(partner))
        deleted_pair = self.relation("DeletedPair", *A.sorts, *B.sorts)
        fp.rule(deleted_pair(*s, *t), [deleted(*s, *t, q)])

        # Game(s, t): the pairs of the game graph, Z3's own least fixed point from the initial
        # pair (its rules are in the loop over step classes below).
        self.Game = self.relation("Game", *A.sorts, *B.sorts)

        # Judged(s, t): the pairs whose steps are looked at: those of R, the probes, the
        # explicit game and the deleted pairs (claims under test). Their simulated states are
        # the sources of steps, their simulating states the roots of walks. Game is derived
        # from the judged pairs' candidates, not judged itself: a pair of Z3's game that the
        # explicit one lacks is a fault at once (game-not-explicit), and whether a step has a
        # candidate at all, which a resynchronisation needs negated, stays below Game in the
        # strata.
        judged = self.relation("Judged", *A.sorts, *B.sorts)
        for source in (self.R(*s, *t), self.Probe(*s, *t), explicit_game(*s, *t), deleted_pair(*s, *t)):
            fp.rule(judged(*s, *t), [source])
        resynchronised = self.relation("Resynchronised", *A.sorts, *B.sorts, *B.sorts)
        for target, partner, reached in sorted(resynchronisations):
            _ground_fact(fp, resynchronised, *A.values(target), *B.values(partner), *B.values(reached))
        src_a = self.relation("SrcA", *A.sorts)
        fp.rule(src_a(*s), [judged(*s, *t)])
        steps_a = self.step_relations(A, src_a, "A")
        self.classes = sorted(steps_a, key=lambda c: (c != TAU, repr(c)))
        cls_sort = z3.BitVecSort(max(1, (len(self.classes) - 1).bit_length()), self.context)
        self.cls_sort = cls_sort

        sequences = {cls: self.sequences(cls) for cls in self.classes}
        wanted = {op for seqs in sequences.values() if seqs for seq in seqs for op in seq}
        src_b = self.relation("SrcB", *B.sorts)
        steps_b = self.step_relations(B, src_b, "B", wanted=wanted)
        tau_b = steps_b.get(TAU)

        prefixes: dict[tuple, z3.FuncDeclRef] = {}

        def walk(sequence: tuple, root: z3.FuncDeclRef, roots: str) -> z3.FuncDeclRef:
            """Walk_sequence(r, u): r ⇒ o1 ⇒ ... ⇒ on ⇒ u, from a root r in ``root`` (named
            ``roots``). Each walk closes itself under silent steps, so closures are only ever
            taken from roots; and each class of steps has its own roots (the pairs with a step
            of that class), so that an operation's walks start only where it can be asked."""
            if (sequence, roots) in prefixes:
                return prefixes[sequence, roots]
            rel = self.relation("Walk", *B.sorts, *B.sorts)
            if not sequence:
                fp.rule(rel(*r, *r), [root(*r)])
            else:
                before = walk(sequence[:-1], root, roots)
                op = steps_b.get(sequence[-1])
                if op is not None:  # no move of that instance and trigger: the walk is empty
                    fp.rule(rel(*r, *w), [before(*r, *v), op(*v, *w)])
            if tau_b is not None:
                fp.rule(rel(*r, *u), [rel(*r, *v), tau_b(*v, *u)])
            fp.rule(src_b(*u), [rel(*r, *u)])
            prefixes[sequence, roots] = rel
            return rel

        # Every rule body below joins two relations sharing variables, through relations of
        # its own where more are needed: the datalog engine plans rules of more atoms with
        # joins of atoms sharing no variable (a step with a weak match, two image tables),
        # which are cross products, out of memory at k = n = 2.
        #
        # Pending(s2, u): the weak matches of every judged step; Corresponding those in R0.
        pending = self.relation("Pending", *A.sorts, *B.sorts)
        corresponding = self.corresponding(pending)
        self.Offending = self.relation("Offending", *A.sorts, *B.sorts, *A.sorts, cls_sort)
        self.OffendingProbe = self.relation("OffendingProbe", *A.sorts, *B.sorts, *A.sorts, cls_sort)
        self.OffendingProbe0 = self.relation("OffendingProbe0", *A.sorts, *B.sorts, *A.sorts, cls_sort)
        justified = self.relation("Justified", *A.sorts, *B.sorts, rank)
        for number, cls in enumerate(self.classes):
            step = steps_a[cls]
            c = z3.BitVecVal(number, cls_sort)
            # moves(s, t, s2): a step of class c from a judged pair; candidate(s2, t, u): its
            # weak matches u from t into a state corresponding to its target s2.
            moves = self.relation("Moves", *A.sorts, *B.sorts, *A.sorts)
            fp.rule(moves(*s, *t, *s2), [judged(*s, *t), step(*s, *s2)])
            root = self.relation("Root", *B.sorts)
            fp.rule(root(*t), [moves(*s, *t, *s2)])
            weak = self.relation("Weak", *B.sorts, *B.sorts)
            for sequence in sequences[cls] or ():
                fp.rule(weak(*t, *u), [walk(sequence, root, repr(cls))(*t, *u)])
            reach = self.relation("Reach", *A.sorts, *B.sorts, *B.sorts)
            fp.rule(reach(*s2, *t, *u), [moves(*s, *t, *s2), weak(*t, *u)])
            fp.rule(pending(*s2, *u), [reach(*s2, *t, *u)])
            candidate = self.relation("Candidate", *A.sorts, *B.sorts, *B.sorts)
            fp.rule(candidate(*s2, *t, *u), [reach(*s2, *t, *u), corresponding(*s2, *u)])
            matched0 = self.relation("Matched0", *A.sorts, *B.sorts)
            fp.rule(matched0(*s2, *t), [candidate(*s2, *t, *u)])

            # A move of the game: from a game pair, a step of class c and any candidate; or,
            # for a step with no candidate at all, the claimed resynchronisation.
            game_moves = self.relation("GameMoves", *A.sorts, *B.sorts, *A.sorts)
            fp.rule(game_moves(*s, *t, *s2), [self.Game(*s, *t), moves(*s, *t, *s2)])
            fp.rule(self.Game(*s2, *u), [game_moves(*s, *t, *s2), candidate(*s2, *t, *u)])
            unanswered = self.relation("Unanswered", *A.sorts, *B.sorts)
            fp.rule(unanswered(*s2, *t), [game_moves(*s, *t, *s2), z3.Not(matched0(*s2, *t))])
            fp.rule(self.Game(*s2, *u), [unanswered(*s2, *t), resynchronised(*s2, *t, *u)])

            # The deletion of (s, t) at rank q is justified by a step of class c when none of
            # its candidates survives until rank q: every one is deleted, at a rank below q.
            deleted_moves = self.relation("DeletedMoves", *A.sorts, *B.sorts, rank, *A.sorts)
            fp.rule(deleted_moves(*s, *t, q, *s2), [deleted(*s, *t, q), moves(*s, *t, *s2)])
            deleted_candidate = self.relation("DeletedCandidate", *A.sorts, *B.sorts, rank, *B.sorts)
            fp.rule(deleted_candidate(*s2, *t, q, *u), [deleted_moves(*s, *t, q, *s2), candidate(*s2, *t, *u)])
            later = self.relation("MatchedLater", *A.sorts, *B.sorts, rank)
            fp.rule(later(*s2, *t, q), [deleted_candidate(*s2, *t, q, *u), z3.Not(deleted_pair(*s2, *u))])
            fp.rule(later(*s2, *t, q), [deleted_candidate(*s2, *t, q, *u), deleted(*s2, *u, q2), z3.UGE(q2, q)])
            fp.rule(justified(*s, *t, q), [deleted_moves(*s, *t, q, *s2), z3.Not(later(*s2, *t, q))])

            # Offending steps: at a pair of R (or a probe), no weak match into R.
            matched = self.relation("Matched", *A.sorts, *B.sorts)
            fp.rule(matched(*s2, *t), [weak(*t, *u), self.R(*s2, *u)])
            fp.rule(self.Offending(*s, *t, *s2, c), [self.R(*s, *t), step(*s, *s2), z3.Not(matched(*s2, *t))])
            probed = self.relation("Probed", *A.sorts, *B.sorts, *A.sorts)
            fp.rule(probed(*s, *t, *s2), [probe_step(*s, *t, *s2), step(*s, *s2)])
            fp.rule(self.OffendingProbe(*s, *t, *s2, c), [probed(*s, *t, *s2), z3.Not(matched(*s2, *t))])
            # The same against R0 (is there any candidate at all?), with Matched0 above.
            fp.rule(self.OffendingProbe0(*s, *t, *s2, c), [probed(*s, *t, *s2), z3.Not(matched0(*s2, *t))])

        # The initial pair, in R and in R0. Queries name relations rather than constant
        # tuples: one query answers for every tuple, and a constant-tuple query was once
        # answered unknown (reason "ok") by the datalog engine during development.
        initial = self.relation("Initial", *A.sorts, *B.sorts)
        _ground_fact(fp, initial, *A.values(A.system.initial), *B.values(B.system.initial))
        self.InitialInR = self.relation("InitialInR", *A.sorts, *B.sorts)
        fp.rule(self.InitialInR(*s, *t), [initial(*s, *t), self.R(*s, *t)])
        self.InitialInR0 = self.corresponding(initial)

        # R ⊆ R0: a pair of R in which some instance pair's local states do not correspond.
        self.NotR0 = self.relation("NotR0", *A.sorts, *B.sorts)
        for atom in self.r0_atoms(s, t):
            fp.rule(self.NotR0(*s, *t), [self.R(*s, *t), z3.Not(atom)])

        # The game starts at the initial pair, if it corresponds.
        fp.rule(self.Game(*s, *t), [self.InitialInR0(*s, *t)])

        # Each resynchronisation reaches a corresponding state: the state it names is in R0
        # with the step's target, and the following side's path, every edge of which must be
        # one of its steps (``PathNotAStep``, asked apart), leads there from where it was.
        resynchronised_pair = self.relation("ResynchronisedPair", *A.sorts, *B.sorts)
        fp.rule(resynchronised_pair(*s2, *u), [resynchronised(*s2, *t, *u)])
        resynchronised_in_r0 = self.corresponding(resynchronised_pair)
        path_edge = self.relation("PathEdge", *B.sorts, *B.sorts)
        for path in resynchronisation_paths:
            for before, after in zip(path, path[1:]):
                _ground_fact(fp, path_edge, *B.values(before), *B.values(after))
        path_source = self.relation("PathSource", *B.sorts)
        fp.rule(path_source(*v), [path_edge(*v, *w)])
        any_step = self.relation("AnyStep", *B.sorts, *B.sorts)
        for relation in self.step_relations(B, path_source, "P").values():
            fp.rule(any_step(*v, *w), [relation(*v, *w)])
        self.PathNotAStep = self.relation("PathNotAStep", *B.sorts, *B.sorts)
        fp.rule(self.PathNotAStep(*v, *w), [path_edge(*v, *w), z3.Not(any_step(*v, *w))])
        path_root = self.relation("PathRoot", *B.sorts)
        fp.rule(path_root(*t), [resynchronised(*s2, *t, *u)])
        path_reach = self.relation("PathReach", *B.sorts, *B.sorts)
        fp.rule(path_reach(*r, *r), [path_root(*r)])
        fp.rule(path_reach(*r, *w), [path_reach(*r, *v), path_edge(*v, *w)])
        unreached = self.relation("Unreached", *A.sorts, *B.sorts)
        fp.rule(unreached(*s2, *u), [resynchronised(*s2, *t, *u), z3.Not(path_reach(*t, *u))])

        # The faults (``FAULTS``): pairs that contradict a claim, one rule body or two each.
        game_pair, in_r = self.Game(*s, *t), self.R(*s, *t)
        bodies = {
            "game-not-explicit": [[game_pair, z3.Not(explicit_game(*s, *t))]],
            "explicit-not-game": [[explicit_game(*s, *t), z3.Not(game_pair)]],
            "relation-outside-game": [[in_r, z3.Not(game_pair)]],
            "deleted-in-relation": [[deleted_pair(*s, *t), in_r]],
            "deleted-outside-game": [[deleted_pair(*s, *t), z3.Not(game_pair)]],
            "outside-not-deleted": [[game_pair, z3.Not(in_r), z3.Not(deleted_pair(*s, *t))]],
            "unjustified": [[deleted(*s, *t, q), z3.Not(justified(*s, *t, q))]],
            "disagreement-not-outside": [[reported_pair(*s, *t), in_r],
                                         [reported_pair(*s, *t), z3.Not(game_pair)]],
            "outside-not-disagreement": [[game_pair, z3.Not(in_r), z3.Not(reported_pair(*s, *t))]],
            "resynchronised-outside-r0": [[resynchronised_pair(*s, *t), z3.Not(resynchronised_in_r0(*s, *t))]],
            "resynchronised-unreached": [[unreached(*s, *t)]],
        }
        assert tuple(bodies) == FAULTS

        # Finding(kind, s, t, s2, c): every relation above that depends on the game, one kind
        # each (``FINDINGS``), so that one query computes the game's fixed point once for all
        # of them; the datalog engine computes it again for every query. The pair relations
        # fill s2 and c with s and 0.
        kind = z3.BitVecSort(max(1, (len(FINDINGS) - 1).bit_length()), self.context)
        self.Finding = self.relation("Finding", kind, *A.sorts, *B.sorts, *A.sorts, cls_sort)
        zero = z3.BitVecVal(0, cls_sort)
        step_class = z3.Const("c", cls_sort)
        fp.declare_var(step_class)
        steps_found = {"offending": self.Offending, "offending-probe": self.OffendingProbe,
                       "offending-probe0": self.OffendingProbe0}
        pairs_found = {"probe-in-r": [[self.Probe(*s, *t), in_r]], **bodies}
        assert (*steps_found, *pairs_found) == FINDINGS
        for name, found in steps_found.items():
            number = z3.BitVecVal(FINDINGS.index(name), kind)
            fp.rule(self.Finding(number, *s, *t, *s2, step_class), [found(*s, *t, *s2, step_class)])
        for name, rules in pairs_found.items():
            number = z3.BitVecVal(FINDINGS.index(name), kind)
            for body in rules:
                fp.rule(self.Finding(number, *s, *t, *s, zero), body)

    def r0_atoms(self, state, partner) -> list:
        """R0(state, partner) as one atom per instance pair, over its image table."""
        if not hasattr(self, "_images"):
            self._images = []
            for (a, b), facts in zip(self.pairs, self.images):
                rel = self.relation("Image", self.A.sorts[a], self.B.sorts[b])
                for ca, cb in sorted(facts):
                    _ground_fact(self.fp, rel, self.A.value(a, ca), self.B.value(b, cb))
                self._images.append(rel)
        return [rel(state[a], partner[b]) for rel, (a, b) in zip(self._images, self.pairs)]

    def corresponding(self, source: z3.FuncDeclRef) -> z3.FuncDeclRef:
        """The pairs (s, t) of ``source`` in R0, filtered by one image table per rule (see
        ``build`` on why no rule joins two of them)."""
        s, t = self.variables("s", self.A), self.variables("t", self.B)
        current = source
        for atom in self.r0_atoms(s, t):
            filtered = self.relation("Corresponding", *self.A.sorts, *self.B.sorts)
            self.fp.rule(filtered(*s, *t), [current(*s, *t), atom])
            current = filtered
        return current

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

    def describe_pair(self, row: dict[int, int]) -> str:
        """The (simulated state | simulating state) in the first columns of ``row``."""
        na, nb = len(self.A.sorts), len(self.B.sorts)
        if any(column not in row for column in range(na + nb)):
            return repr(row)
        s = tuple(row[i] for i in range(na))
        t = tuple(row[na + i] for i in range(nb))
        return f"({self.A.system.state_name(s)} | {self.B.system.state_name(t)})"

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


def _ground_fact(fixedpoint: z3.Fixedpoint, relation: z3.FuncDeclRef, *values: z3.ExprRef) -> None:
    """Add the fact relation(values), values being Z3 constants of the relation's sorts.
    ``Fixedpoint.fact`` wraps every fact in a quantifier over all declared variables, and a z3py
    application checks every argument's sort, both slowly; a ground fact needs neither."""
    context = fixedpoint.ctx
    arguments = (z3.Ast * len(values))(*(value.as_ast() for value in values))
    atom = z3.Z3_mk_app(context.ref(), relation.ast, len(values), arguments)
    z3.Z3_fixedpoint_add_rule(context.ref(), fixedpoint.fixedpoint, atom, z3.to_symbol("", context))


def check_simulation_with_z3(mapping: Mapping, direction: str, result: Correspondence, k: int = 1,
                             n: int = 1, seed: int = 0, timeout: float = 30, pairing=None) -> Z3SimulationCheck:
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
    4. The game Z3 derives from the initial pair is the explicit engine's ``game``.
    5. R is the largest simulation: R lies in the game, the deleted pairs
       (``deletion_order``) are the rest of the game, and each deletion is justified by a
       step whose candidates were all deleted before it.
    6. The reported disagreements are the game's pairs outside R, one each.

    ``seed`` is accepted for symmetry with the other Z3 checks; the Datalog engine is
    deterministic and does not use it. ``timeout`` bounds each query, in seconds. ``pairing``
    (``simulation.build_pairing``) gives the compiled systems, instead of ``k`` and ``n``.
    Raises ``SolverUnknown`` when Z3 cannot answer.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
    started = time.perf_counter()
    program = _Program(mapping, direction, k, n, timeout, pairing=pairing)
    A, B = program.A, program.B

    # The pairs to probe: each mismatch's pair, with its offending step.
    probes = {}
    for mismatch in result.mismatches:
        if mismatch.offending_step is None:
            continue
        state = A.decode(mismatch.simulated_state)
        partner = B.decode(mismatch.simulating_state)
        probes[mismatch.id] = (state, partner, A.decode(mismatch.offending_step.state))
    reported = {(A.decode(item.simulated_state), B.decode(item.following_state)) for item in result.disagreements}
    program.build(result.relation, set(probes.values()),
                  game=result.game, deletion_order=result.deletion_order, reported=reported,
                  resynchronisations=result.resynchronisations,
                  resynchronisation_paths=result.resynchronisation_paths)
    what = f"{direction} on {mapping.id}"

    # Everything that depends on the game, in one query (see ``FINDINGS``); its rows by kind,
    # without the kind column. A row without it (any kind) counts for every kind.
    found: dict[str, list[dict[int, int]]] = {name: [] for name in FINDINGS}
    for row in program.tuples(program.Finding, f"game, relation, order of deletion and mismatches ({what})"):
        rest = {column - 1: value for column, value in row.items() if column}
        for name in (FINDINGS if 0 not in row else [FINDINGS[row[0]]]):
            found[name].append(rest)
    in_r0 = not program.ask(program.NotR0, f"R within R0 ({what})")
    paths_are_steps = not program.ask(program.PathNotAStep, f"resynchronisation paths ({what})")
    initial_in_r = program.ask(program.InitialInR, f"initial pair in R ({what})")

    is_simulation = not found["offending"]
    offending = [program.describe_offending(row) for row in found["offending"][:5]]

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
            ok = cls is not None and not contains(found["probe-in-r"], (*state, *partner, *state, 0))
            if ok:
                row = (*state, *partner, *target, program.classes.index(cls))
                no_candidate = contains(found["offending-probe0"], row)
                ok = contains(found["offending-probe"], row) and no_candidate == (mismatch.reason in ROOT_REASONS)
        (confirmed if ok else unconfirmed).append(mismatch.id)

    # The game, the order of deletion and the disagreements, with a few faulty pairs each.
    failed = [name for name in FAULTS if found[name]]
    discrepancies = [f"{name}: {program.describe_pair(row)}" for name in failed for row in found[name][:3]]
    # Counts the explicit engine states beside its sets: the game's size, and one
    # disagreement per pair (so that the set Z3 compares stands for the whole list).
    game_agrees = not set(failed) & set(GAME_FAULTS) and result.game_pairs == len(result.game)
    disagreements_agree = (not set(failed) & set(DISAGREEMENT_FAULTS)
                           and len(reported) == len(result.disagreements))

    check = Z3SimulationCheck(
        direction=direction, engine=ENGINE, relation_is_simulation=is_simulation,
        confirmed_mismatches=confirmed, unconfirmed_mismatches=unconfirmed,
        seconds=time.perf_counter() - started, holds_agrees=initial_in_r == result.holds,
        relation_in_r0=in_r0, offending=offending, queries=program.queries,
        game_agrees=game_agrees, game_pairs=len(result.game) if game_agrees else 0,
        relation_is_largest=not set(failed) & set(LARGEST_FAULTS),
        disagreements_agree=disagreements_agree,
        resynchronisations_valid=paths_are_steps and not set(failed) & set(RESYNCHRONISATION_FAULTS),
        discrepancies=discrepancies + ([] if paths_are_steps else ["a resynchronisation path takes a step "
                                                                   "the following side does not have"]))
    log.info("%s: %s; R %s a simulation%s, game %s (%d pairs), %d of %d mismatches confirmed, "
             "%d queries, %.3f s", what, ENGINE, "is" if is_simulation else "is not",
             ", the largest" if check.relation_is_largest else ", not certified the largest",
             "agrees" if game_agrees else "differs", len(result.game), len(confirmed),
             len(result.mismatches), program.queries, check.seconds)
    return check
