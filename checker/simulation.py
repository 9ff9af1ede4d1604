"""Behavioural correspondence between the SCOMO and the TR-069 system under a mapping.

A mapping (``checker.mapping``) pairs components, states and operations of the two sides. This
module asks whether the two compiled systems behave alike under it: whether every run of the
SCOMO system can be followed by the TR-069 system through corresponding states, each SCOMO
operation replayed as one of its mapped TR-069 sequences (``scomo-by-tr069``), and the other
way round (``tr069-by-scomo``). Both are weak simulations: steps that are not operations
(completions, autonomous and lifecycle steps) are silent, and the following side may take any
number of silent steps of its own. The definitions are in docs/correspondence.md.

Each relation is computed explicitly as a greatest fixed point: a breadth-first search builds
the game graph from the initial pair (pairs of corresponding states, linked by a step of the
simulated side and each of its candidate matches), then pairs having a step with no match left
in the relation are deleted until none remains. A step with no candidate at all does not end
the game: the following side is moved to the nearest state corresponding to the step's target
(``RESYNCHRONISED``), so that what comes after a mismatch is compared too. The game's pairs,
its resynchronisations and the order in which pairs were deleted are kept (``Correspondence``)
for ``checker.simulation_z3``, which derives the game again and checks that the order
justifies every deletion, so that the relation is the largest simulation. At each deleted
pair, the steps with no candidate at all (or, failing those, the first step whose candidates
were all deleted) are its offending steps; the report keeps one mismatch, with a shortest
witness, per component and trigger and per component state without correspondent, root
causes first. ``follow`` shows a witness of one side with the other side's answers.

Each side is its whole reachable state graph (the explicit engine's exploration), its states
numbered; silent closures, operation sequences and the states corresponding to a target are
bit sets over those numbers, computed on demand and memoised; paths for witnesses are
searched again only for what is reported.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field

from .analysis import WitnessStep, witness_steps
from .explicit import Exploration, explore
from .mapping import Mapping
from .system import System, build_system

__all__ = [
    "DIRECTIONS",
    "NO_STEP",
    "REASONS",
    "SCOMO_BY_TR069",
    "TR069_BY_SCOMO",
    "Correspondence",
    "Disagreement",
    "FollowedWitness",
    "Mismatch",
    "Pairing",
    "Step",
    "build_pairing",
    "build_systems",
    "correspondences",
    "coverage",
    "follow",
    "is_bisimulation",
    "pair_instances",
    "simulation",
]

log = logging.getLogger(__name__)

SCOMO_BY_TR069 = "scomo-by-tr069"
TR069_BY_SCOMO = "tr069-by-scomo"
DIRECTIONS = (SCOMO_BY_TR069, TR069_BY_SCOMO)

# Why a step of a deleted pair has no match, in the order they are tested.
REASONS = (
    "initial",             # the initial pair itself is not in R0
    "unmapped-operation",  # a visible step whose operation has no counterpart sequence at all
    "no-correspondent",    # the step's target has an instance whose local state has no image
    "cannot-follow",       # no path of the other side reaches a corresponding state
    "leads-to-mismatch",   # such paths exist, but every pair they reach was deleted
)

# The event of a merged witness entry in which the simulating side takes no step.
NO_STEP = "(no step)"

# In place of an operation sequence: the game move in which the following side, unable to
# answer the simulated side's step, is moved by the shortest path of any steps to the nearest
# state corresponding to where the simulated side went (docs/correspondence.md, "After a
# mismatch").
RESYNCHRONISED = "resynchronised"

Configuration = tuple[int, ...]
Sequence = tuple[tuple[int, str], ...]  # (instance index, trigger) operations, in order


@dataclass(frozen=True)
class Step:
    """One step of a system: its label, leader instance and trigger, whether it is visible
    (the leader's transition is of kind ``operation``), and the state it leads to (also as
    its number in the side's index)."""

    label: int
    instance: int
    trigger: str
    visible: bool
    target: Configuration
    target_number: int = -1


def _members(bits: int):
    """The numbers of the states in a bit set (bit i: state number i), lowest first."""
    if bits.bit_length() <= 4096:
        while bits:
            lowest = bits & -bits
            yield lowest.bit_length() - 1
            bits ^= lowest
        return
    # On a large set, clearing bits one by one copies the whole integer each time; its
    # binary text is made once and searched instead.
    text = format(bits, "b")
    top = len(text) - 1
    position = text.rfind("1")
    while position != -1:
        yield top - position
        position = text.rfind("1", 0, position)


class _Side:
    """One system's reachable states, numbered in breadth-first order, with its steps, silent
    closures, operation sequences and the states corresponding to a target, as bit sets.

    The whole reachable graph is built once (the following side of a game needs all of it to
    tell where a corresponding state can be reached); a silent closure is shared by every
    member of a strongly connected component of the silent steps.
    """

    def __init__(self, system: System, exploration: Exploration | None = None):
        self.system = system
        self._exploration = exploration  # the explicit engine's, when the caller has one
        self.states: list[Configuration] = []
        self.index: dict[Configuration, int] = {}
        self._steps: list[tuple[Step, ...] | None] = []  # built on demand, see ``steps_at``
        self._silent: list[tuple[int, ...]] = []
        self._closures: list[int] = []
        self._sequences: dict[tuple[int, Sequence], int] = {}
        self._satisfying: dict[tuple, int] = {}
        self._nearest: dict[tuple[int, tuple], int | None] = {}
        self._paths: dict[tuple, tuple[tuple[Configuration, ...], tuple[int, ...]]] = {}
        self._build()

    # -- the reachable graph -----------------------------------------------------------------

    def _build(self) -> None:
        system = self.system
        exploration = self._exploration
        if exploration is None or exploration.successors is None:
            exploration = explore(system, keep_edges=True)
        self._exploration = None  # the graph below replaces it
        # A label names an instance and a transition label; it is visible when the
        # transitions behind it are operations. A label whose transitions differ in kind (a
        # trigger that is an operation from one state and a completion from another) is read
        # from the moves of each state instead.
        kinds: dict[int, set[str]] = {}
        meaning: dict[int, tuple[int, str]] = {}
        for i, per_config in enumerate(system.moves):
            transitions = system.instances[i].local.machine.transitions
            for moves in per_config:
                for move in moves:
                    transition = transitions[move.transition]
                    kinds.setdefault(move.label, set()).add(transition.kind == "operation")
                    meaning[move.label] = (i, transition.trigger)
        mixed = {label for label, seen in kinds.items() if len(seen) > 1}
        states = exploration.states
        self.states = states
        self.index = {state: number for number, state in enumerate(states)}
        self._meaning = {label: (*meaning[label], True in seen) for label, seen in kinds.items()}
        self._successors = exploration.successors
        self._steps = [None] * len(states)
        # (instance, trigger) -> the labels of its operation steps
        self._operation_labels: dict[tuple[int, str], frozenset[int]] = {}
        for label, (instance, trigger, visible) in self._meaning.items():
            if visible:
                self._operation_labels[instance, trigger] = self._operation_labels.get(
                    (instance, trigger), frozenset()) | {label}
        size = len(states) // 8 + 1
        # (instance, trigger) -> a byte map of the states where that operation can be taken
        requested: dict[tuple[int, str], bytearray] = {}
        for source, outgoing in enumerate(exploration.successors):
            if mixed and any(label in mixed for label, _ in outgoing):
                self._steps[source] = self._steps_from_moves(source)
                silent = [step.target_number for step in self._steps[source] if not step.visible]
                operations = {(step.instance, step.trigger) for step in self._steps[source] if step.visible}
            else:
                silent = [target for label, target in outgoing if not self._meaning[label][2]]
                operations = {self._meaning[label][:2] for label, _ in outgoing if self._meaning[label][2]}
            self._silent.append(tuple(dict.fromkeys(silent)))
            byte, bit = divmod(source, 8)
            for operation in operations:
                found = requested.get(operation)
                if found is None:
                    found = requested[operation] = bytearray(size)
                found[byte] |= 1 << bit
        self._requested = {operation: int.from_bytes(found, "little") for operation, found in requested.items()}
        self._closures = [0] * len(states)
        # with_config[j][c]: the states in which instance j is in configuration c, each built
        # once from a byte map (setting bits one by one in a growing integer is quadratic)
        maps = [[None] * len(instance.local.configs) for instance in system.instances]
        for number, state in enumerate(states):
            byte, bit = divmod(number, 8)
            for j, config in enumerate(state):
                found = maps[j][config]
                if found is None:
                    found = maps[j][config] = bytearray(size)
                found[byte] |= 1 << bit
        self._with_config = [[0 if found is None else int.from_bytes(found, "little") for found in per_instance]
                             for per_instance in maps]
        log.debug("%s: %d reachable states indexed for the simulation", system.name, len(states))

    def number(self, state: Configuration) -> int:
        """The number of a reachable state."""
        return self.index[state]

    def _steps_from_moves(self, number: int) -> tuple[Step, ...]:
        """The steps of state ``number`` read from the moves, each with its own kind."""
        system = self.system
        found = []
        for move, target in system.enabled_moves(self.states[number]):
            transition = system.instances[move.instance].local.machine.transitions[move.transition]
            found.append(Step(label=move.label, instance=move.instance, trigger=transition.trigger,
                              visible=transition.kind == "operation", target=target,
                              target_number=self.index[target]))
        return tuple(found)

    def steps_at(self, number: int) -> tuple[Step, ...]:
        """Every step enabled in state ``number``, in the order of ``System.successors``."""
        found = self._steps[number]
        if found is None:
            states = self.states
            found = tuple(Step(label=label, instance=self._meaning[label][0], trigger=self._meaning[label][1],
                               visible=self._meaning[label][2], target=states[target], target_number=target)
                          for label, target in self._successors[number])
            self._steps[number] = found
        return found

    def steps(self, state: Configuration) -> tuple[Step, ...]:
        """Every step enabled in ``state``, in the order of ``System.successors``."""
        return self.steps_at(self.index[state])

    # -- silent closures and operation sequences ---------------------------------------------

    def closure(self, number: int) -> int:
        """The states reachable from state ``number`` by zero or more silent steps."""
        if self._closures[number]:
            return self._closures[number]
        # Tarjan's algorithm, iteratively, over the silent steps not yet closed: a component
        # is closed when it is complete, after every component it reaches.
        order: dict[int, int] = {}
        low: dict[int, int] = {}
        stack: list[int] = []
        on_stack: set[int] = set()
        work = [(number, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                order[node] = low[node] = len(order)
                stack.append(node)
                on_stack.add(node)
            successors = self._silent[node]
            while position < len(successors):
                successor = successors[position]
                position += 1
                if self._closures[successor]:
                    continue
                if successor not in order:
                    work.append((node, position))
                    work.append((successor, 0))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], order[successor])
            else:
                if low[node] == order[node]:
                    members = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        members.append(member)
                        if member == node:
                            break
                    bits = 0
                    for member in members:
                        bits |= 1 << member
                    for member in members:
                        for successor in self._silent[member]:
                            bits |= self._closures[successor]
                    for member in members:
                        self._closures[member] = bits
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
        return self._closures[number]

    def after_sequence(self, number: int, sequence: Sequence) -> int:
        """The states reachable by silent steps, then each operation of ``sequence`` (a visible
        step of that instance and trigger, any outcome) followed by silent steps."""
        key = (number, sequence)
        cached = self._sequences.get(key)
        if cached is not None:
            return cached
        current = self.closure(number)
        for instance_index, trigger in sequence:
            labels = self._operation_labels.get((instance_index, trigger), frozenset())
            reached = 0
            # Only the states of the closure where the operation can be taken at all.
            for source in _members(current & self._requested.get((instance_index, trigger), 0)):
                if self._steps[source] is not None:
                    targets = [step.target_number for step in self._steps[source]
                               if step.visible and step.instance == instance_index and step.trigger == trigger]
                else:
                    targets = [target for label, target in self._successors[source] if label in labels]
                for target in targets:
                    reached |= self.closure(target)
            current = reached
        self._sequences[key] = current
        return current

    def satisfying(self, key: tuple, checks: tuple[tuple[int, frozenset[int]], ...]) -> int:
        """The reachable states in which every instance j of ``checks`` is in one of its
        allowed configurations; ``key`` names ``checks`` for the memo."""
        cached = self._satisfying.get(key)
        if cached is not None:
            return cached
        bits = (1 << len(self.states)) - 1
        for j, allowed in checks:
            column = 0
            for config in allowed:
                column |= self._with_config[j][config]
            bits &= column
        self._satisfying[key] = bits
        return bits

    def nearest(self, number: int, key: tuple, checks) -> int | None:
        """The first state, breadth first over every step (operations included), from state
        ``number`` that satisfies ``checks``; None when no reachable state does."""
        memo = (number, key)
        if memo in self._nearest:
            return self._nearest[memo]
        wanted = self.satisfying(key, checks)
        found = None
        if wanted:
            seen = {number}
            frontier = [number]
            while frontier and found is None:
                for state in frontier:
                    if wanted >> state & 1:
                        found = state
                        break
                else:
                    following = []
                    for state in frontier:
                        for step in self.steps_at(state):
                            if step.target_number not in seen:
                                seen.add(step.target_number)
                                following.append(step.target_number)
                    frontier = following
        self._nearest[memo] = found
        return found

    # -- paths for witnesses -----------------------------------------------------------------

    def path(self, source: Configuration, sequence: Sequence | None,
             target: Configuration) -> tuple[list[Configuration], list[int]]:
        """A shortest path from ``source`` to ``target`` of the shape ``after_sequence``
        allows, or of any steps when ``sequence`` is ``RESYNCHRONISED``: (states, labels),
        the states including both ends."""
        memo = (source, sequence, target)
        if memo in self._paths:  # a resynchronisation is asked for again by every way through it
            states, labels = self._paths[memo]
            return list(states), list(labels)
        any_steps = sequence == RESYNCHRONISED
        sequence = () if any_steps else sequence
        goal = (target, len(sequence))
        start = (source, 0)
        parent: dict[tuple[Configuration, int], tuple[tuple[Configuration, int], int] | None] = {start: None}
        queue = deque([start])
        while queue and goal not in parent:
            node = queue.popleft()
            state, done = node
            for step in self.steps(state):
                if any_steps or not step.visible:
                    successor = (step.target, done)
                elif done < len(sequence) and (step.instance, step.trigger) == sequence[done]:
                    successor = (step.target, done + 1)
                else:
                    continue
                if successor not in parent:
                    parent[successor] = (node, step.label)
                    queue.append(successor)
        if goal not in parent:
            raise ValueError(f"no path of the expected shape in {self.system.name}")
        states, labels = [target], []
        node = goal
        while parent[node] is not None:
            node, label = parent[node]
            states.append(node[0])
            labels.append(label)
        self._paths[memo] = (tuple(reversed(states)), tuple(reversed(labels)))
        return list(reversed(states)), list(reversed(labels))


def build_systems(mapping: Mapping, k: int = 1, n: int = 1) -> tuple[System, System]:
    """The SCOMO system with parameters n and k, and the TR-069 system with n and m = k."""
    scomo = build_system(mapping.scomo, {"n": n, "k": k})
    tr069 = build_system(mapping.tr069, {"n": n, "m": k})
    return scomo, tr069


def pair_instances(mapping: Mapping, scomo: System, tr069: System) -> list[tuple[int, int]]:
    """(SCOMO instance, TR-069 instance) index pairs, in SCOMO instance order.

    For each paired component the i-th top-level instance is paired with the i-th; children
    of paired parents are paired by their position under those parents (dp1.dc2 with
    du1.eu2). Where the two components do not have that shape (one is a child and the other
    not, or their parents are not paired) the instances are paired by position among all the
    instances of the component. Instances without a partner at the same position stay
    unpaired, as do the instances of unpaired components.
    """
    def instances_of(system: System, component: str, parent: int | None = None,
                     any_parent: bool = False) -> list[int]:
        return [i for i, instance in enumerate(system.instances)
                if instance.component == component and (any_parent or instance.parent == parent)]

    pairs: dict[int, int] = {}
    component_pairs = {pair.scomo: pair.tr069 for pair in mapping.machines}
    # Parents first: a child pairing needs its parents' pairing.
    ordered = sorted(mapping.machines,
                     key=lambda pair: mapping.scomo.component(pair.scomo).parent is not None)
    for pair in ordered:
        scomo_parent = mapping.scomo.component(pair.scomo).parent
        tr069_parent = mapping.tr069.component(pair.tr069).parent
        if scomo_parent is None and tr069_parent is None:
            pairs.update(zip(instances_of(scomo, pair.scomo), instances_of(tr069, pair.tr069)))
        elif scomo_parent is not None and component_pairs.get(scomo_parent) == tr069_parent:
            for scomo_parent_instance in instances_of(scomo, scomo_parent):
                tr069_parent_instance = pairs.get(scomo_parent_instance)
                if tr069_parent_instance is None:
                    continue
                pairs.update(zip(instances_of(scomo, pair.scomo, scomo_parent_instance),
                                 instances_of(tr069, pair.tr069, tr069_parent_instance)))
        else:
            pairs.update(zip(instances_of(scomo, pair.scomo, any_parent=True),
                             instances_of(tr069, pair.tr069, any_parent=True)))
    return sorted(pairs.items())


@dataclass
class Pairing:
    """The two systems, their paired instances and the correspondence R0 between states.

    ``images[p][c]`` is, for the p-th instance pair (a, b), the set of configurations of b
    that correspond to configuration c of a; ``preimages[p][c']`` the converse.
    """

    mapping: Mapping
    scomo: System
    tr069: System
    instance_pairs: list[tuple[int, int]]
    images: list[list[frozenset[int]]]
    preimages: list[list[frozenset[int]]]

    # "scomo"/"tr069" -> the explicit engine's exploration of that system, when one was made
    explorations: dict[str, Exploration] = field(default_factory=dict, repr=False)
    _sides: dict[str, _Side] = field(default_factory=dict, repr=False)

    def related(self, scomo_state: Configuration, tr069_state: Configuration) -> bool:
        """R0: every paired instance's local state corresponds to its partner's."""
        return all(tr069_state[b] in self.images[p][scomo_state[a]]
                   for p, (a, b) in enumerate(self.instance_pairs))

    def side(self, name: str) -> _Side:
        """The memoised steps and closures of "scomo" or "tr069", shared by both directions."""
        if name not in self._sides:
            self._sides[name] = _Side(self.scomo if name == "scomo" else self.tr069, self.explorations.get(name))
        return self._sides[name]


def build_pairing(mapping: Mapping, k: int = 1, n: int = 1,
                  systems: tuple[System, System] | None = None,
                  explorations: tuple[Exploration | None, Exploration | None] = (None, None)) -> Pairing:
    """Build (or take) both systems and tabulate R0 for every instance pair. ``explorations``
    are the explicit engine's of the two given systems, if it has made them."""
    scomo, tr069 = systems if systems is not None else build_systems(mapping, k=k, n=n)
    instance_pairs = pair_instances(mapping, scomo, tr069)
    images, preimages = [], []
    for a, b in instance_pairs:
        scomo_local = scomo.instances[a].local
        tr069_local = tr069.instances[b].local
        component = scomo.instances[a].component
        table = []
        for config in range(len(scomo_local.configs)):
            entry = mapping.state_entry(component, scomo_local.state_of(config))
            allowed = set()
            for image in (entry.images if entry is not None else ()):
                for partner_config in range(len(tr069_local.configs)):
                    if tr069_local.state_of(partner_config) != image.state:
                        continue
                    values = tr069_local.values_of(partner_config)
                    if all(values[name] == value for name, value in image.when):
                        allowed.add(partner_config)
            table.append(frozenset(allowed))
        inverse: list[set[int]] = [set() for _ in tr069_local.configs]
        for config, allowed in enumerate(table):
            for partner_config in allowed:
                inverse[partner_config].add(config)
        images.append(table)
        preimages.append([frozenset(allowed) for allowed in inverse])
    known = {name: exploration for name, exploration in zip(("scomo", "tr069"), explorations)
             if exploration is not None}
    return Pairing(mapping=mapping, scomo=scomo, tr069=tr069, instance_pairs=instance_pairs,
                   images=images, preimages=preimages, explorations=known)


@dataclass(frozen=True)
class Mismatch:
    """A step of the simulated side, at a pair of the game outside the relation, that the
    simulating side cannot match inside the relation; or the initial pair outside R0.

    The two witnesses have one entry per game move plus the initial one: the simulated side's
    entries are its steps; each simulating entry merges the steps of that move (``NO_STEP``
    when it takes none). ``simulating_path`` is the simulating side's witness step by step.
    """

    id: str
    direction: str
    reason: str
    label: str | None  # the offending step as its system labels it ("dp1.Download"); None: initial
    instance: str | None  # the offending step's leader instance
    trigger: str | None
    simulated_state: dict[str, str]
    simulating_state: dict[str, str]
    simulated_witness: tuple[WitnessStep, ...]
    simulating_witness: tuple[WitnessStep, ...]
    simulating_path: tuple[WitnessStep, ...]
    offending_step: WitnessStep | None
    no_correspondent: tuple[str, ...] = ()  # "instance=State" of the target without any image
    candidates: int = 0  # corresponding pairs the step could reach, none left in the relation
    # the moves, numbered as the witness entries, in which the following side could not answer
    # the step and was resynchronised (see RESYNCHRONISED)
    resynchronised: tuple[int, ...] = ()
    # for a step with no candidate: "instance=State" of each paired instance whose own state
    # in the step's target no answer of the following side corresponds to (none, when each
    # alone could correspond but not all together)
    culprits: tuple[str, ...] = ()
    # for a silent step of an instance in a transient state: the operation it is carrying out
    # (the last it took in the witness), whose completion the step is
    in_progress: str | None = None

    @property
    def depth(self) -> int:
        """Game moves from the initial pair to the mismatched pair."""
        return len(self.simulated_witness) - 1


@dataclass(frozen=True)
class Disagreement:
    """A pair of states reachable together in the game that is not in the relation: there the
    two sides disagree. ``moves`` is a shortest way there, one entry per game move: the
    simulated side's step and the operations the following side requested to answer it (none
    for a silent step; the following side's own silent steps are left out)."""

    depth: int
    simulated_state: dict[str, str]
    following_state: dict[str, str]
    # per move: the simulated step, the operations the following side requested to answer it
    # (for a resynchronising move, the operations on its path), and whether it resynchronised
    moves: tuple[tuple[str, tuple[str, ...], bool], ...]
    offending: tuple[str, ...]  # the pair's offending steps with their reasons, "dp1.Remove (cannot-follow)"
    mismatch: str  # the id of the reported mismatch its offending step is filed under


@dataclass
class Correspondence:
    """The outcome of one direction.

    ``scomo_operations`` and ``scomo_states`` list every operation (component.trigger) and
    state (component.state) of the paired SCOMO components with the ids of the reported
    mismatches in which they appear; ``exercised_operations`` and ``exercised_states`` those
    the game reached at all, so that "in no mismatch" can be told from "never tried" (see
    docs/correspondence.md, Coverage).
    """

    direction: str
    holds: bool
    relation_size: int
    game_pairs: int
    mismatches: list[Mismatch]
    parameters: dict[str, int]
    seconds: float
    offending_steps: int = 0  # (deleted pair, offending step) occurrences before deduplication
    relation: frozenset[tuple[Configuration, Configuration]] = field(default_factory=frozenset, repr=False)
    # Every pair of the game graph (``game_pairs`` of them), and the pairs outside the relation
    # in the order the fixed point deleted them: each has a step whose candidates were all
    # deleted before it (or that has none). Z3 re-derives the one and checks the other
    # (``checker.simulation_z3``).
    game: frozenset[tuple[Configuration, Configuration]] = field(default_factory=frozenset, repr=False)
    deletion_order: tuple[tuple[Configuration, Configuration], ...] = field(default=(), repr=False)
    scomo_operations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    scomo_states: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exercised_operations: tuple[str, ...] = ()  # SCOMO operations the game tried to match or follow
    exercised_states: tuple[str, ...] = ()  # SCOMO states occurring in a pair of the game
    disagreements: tuple[Disagreement, ...] = ()  # every pair of the game outside the relation
    # (target of the step, following state, state resynchronised to): each resynchronising
    # move of the game, and the following side's path of it, state by state
    resynchronisations: tuple[tuple[Configuration, Configuration, Configuration], ...] = field(default=(), repr=False)
    resynchronisation_paths: tuple[tuple[Configuration, ...], ...] = field(default=(), repr=False)

    @property
    def operations_in_mismatches(self) -> dict[str, bool]:
        return {name: bool(ids) for name, ids in self.scomo_operations.items()}

    @property
    def states_in_mismatches(self) -> dict[str, bool]:
        return {name: bool(ids) for name, ids in self.scomo_states.items()}

    def mismatch(self, mismatch_id: str) -> Mismatch:
        for mismatch in self.mismatches:
            if mismatch.id == mismatch_id:
                return mismatch
        raise KeyError(mismatch_id)


@dataclass
class _StepRecord:
    step: Step
    sequences: tuple[Sequence, ...] | None  # None: a visible step with no counterpart
    candidates: tuple[int, ...]  # game pairs it can move to
    resynchronised: int | None = None  # the game pair it resynchronised to, having no candidate


class _Direction:
    """The data one direction needs: which side is simulated and how its steps are matched."""

    def __init__(self, direction: str, pairing: Pairing):
        self.direction = direction
        self.pairing = pairing
        mapping = pairing.mapping
        forward = direction == SCOMO_BY_TR069
        self.simulated = pairing.side("scomo" if forward else "tr069")
        self.simulating = pairing.side("tr069" if forward else "scomo")
        # (simulated instance, simulating instance, table: simulated config -> allowed configs)
        self.constraints = [
            (a, b, pairing.images[p]) if forward else (b, a, pairing.preimages[p])
            for p, (a, b) in enumerate(pairing.instance_pairs)
        ]
        self.partner = {own: other for own, other, _ in self.constraints}
        self._sequences: dict[tuple[int, str], tuple[Sequence, ...] | None] = {}
        self._forward = forward
        self._mapping = mapping

    def related(self, state: Configuration, partner: Configuration) -> bool:
        return all(partner[j] in table[state[i]] for i, j, table in self.constraints)

    def key(self, state: Configuration) -> tuple[int, ...]:
        """The configurations of the paired simulated instances: all that ``checks`` reads."""
        return tuple(state[i] for i, _, _ in self.constraints)

    def checks(self, state: Configuration) -> tuple[tuple[int, frozenset[int]], ...]:
        """(simulating instance, configurations allowed there) for every instance pair:
        a simulating state corresponds to ``state`` when it satisfies all of them."""
        return tuple((j, table[state[i]]) for i, j, table in self.constraints)

    def without_correspondent(self, state: Configuration) -> tuple[int, ...]:
        """Paired instances of the simulated side whose local state in ``state`` has no image."""
        return tuple(i for i, _, table in self.constraints if not table[state[i]])

    def sequences(self, step: Step) -> tuple[Sequence, ...] | None:
        """The simulating side's operation sequences that may match a visible step."""
        key = (step.instance, step.trigger)
        if key in self._sequences:
            return self._sequences[key]
        partner = self.partner.get(step.instance)
        result: tuple[Sequence, ...] | None = None
        if partner is not None:
            own = self.simulated.system.instances[step.instance].component
            if self._forward:
                entry = self._mapping.operation_entry(own, step.trigger)
                if entry is not None and not entry.maps_to_nothing:
                    result = tuple(tuple((partner, trigger) for _, trigger in alternative)
                                   for alternative in entry.alternatives)
            else:
                other = self.simulating.system.instances[partner].component
                single = ((own, step.trigger),)
                result = tuple(((partner, entry.scomo_trigger),) for entry in self._mapping.operations
                               if entry.scomo_component == other and single in entry.alternatives)
                result = result or None
        self._sequences[key] = result
        return result


def simulation(mapping: Mapping, direction: str = SCOMO_BY_TR069, k: int = 1, n: int = 1,
               pairing: Pairing | None = None) -> Correspondence:
    """Decide one direction of the correspondence (see docs/correspondence.md).

    ``pairing`` (from ``build_pairing``) replaces ``k`` and ``n``; passing the same one to
    both directions shares the systems and their memoised closures.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
    started = time.perf_counter()
    pairing = pairing if pairing is not None else build_pairing(mapping, k=k, n=n)
    game = _Direction(direction, pairing)
    simulated, simulating = game.simulated, game.simulating
    initial_state, initial_partner = simulated.system.initial, simulating.system.initial
    parameters = {**pairing.tr069.parameters, **pairing.scomo.parameters}

    if not game.related(initial_state, initial_partner):
        mismatch = _initial_mismatch(game, initial_state, initial_partner)
        result = Correspondence(direction=direction, holds=False, relation_size=0, game_pairs=0,
                                mismatches=[mismatch], parameters=parameters,
                                seconds=time.perf_counter() - started, offending_steps=1)
        _add_coverage(result, game, [(mismatch.id, None, initial_state, initial_partner)])
        return result

    # 1. The game graph, breadth first from the initial pair. A step that has no candidate
    #    is a root cause of mismatch; the game then goes on from the nearest state of the
    #    following side corresponding to the step's target (reached by any steps), so that
    #    what happens after a mismatch is explored too. Such a pair is no candidate: it never
    #    keeps the step's pair in the relation.
    pairs: list[tuple[Configuration, Configuration]] = [(initial_state, initial_partner)]
    index = {pairs[0]: 0}
    parent: list[tuple[int, Step, Sequence | None] | None] = [None]
    records: list[list[_StepRecord]] = []
    resynchronisations: dict[tuple[Configuration, Configuration, Configuration], None] = {}

    def add_pair(pair, origin) -> int:
        pair_index = index.get(pair)
        if pair_index is None:
            pair_index = len(pairs)
            index[pair] = pair_index
            pairs.append(pair)
            parent.append(origin)
        return pair_index

    current = 0
    while current < len(pairs):
        state, partner = pairs[current]
        partner_number = simulating.number(partner)
        own_records = []
        for step in simulated.steps(state):
            if step.visible:
                sequences = game.sequences(step)
                options = sequences or ()
            else:
                sequences = ((),)
                options = sequences
            key = game.key(step.target)
            checks = game.checks(step.target)
            allowed = simulating.satisfying(key, checks)
            candidates: dict[int, None] = {}
            for sequence in options:
                for reached in _members(simulating.after_sequence(partner_number, sequence) & allowed):
                    pair_index = add_pair((step.target, simulating.states[reached]), (current, step, sequence))
                    candidates.setdefault(pair_index)
            resynchronised = None
            if not candidates:
                reached = simulating.nearest(partner_number, key, checks)
                if reached is not None:
                    target = simulating.states[reached]
                    resynchronised = add_pair((step.target, target), (current, step, RESYNCHRONISED))
                    resynchronisations.setdefault((step.target, partner, target))
            own_records.append(_StepRecord(step=step, sequences=sequences, candidates=tuple(candidates),
                                           resynchronised=resynchronised))
        records.append(own_records)
        current += 1

    # 2. The greatest fixed point: delete pairs with a step whose candidates are all deleted.
    alive = bytearray([1]) * len(pairs)
    remaining = [[len(record.candidates) for record in own] for own in records]
    predecessors: list[list[tuple[int, int]]] = [[] for _ in pairs]
    for pair_index, own in enumerate(records):
        for step_index, record in enumerate(own):
            for candidate in record.candidates:
                predecessors[candidate].append((pair_index, step_index))
    doomed = deque(i for i, counts in enumerate(remaining) if 0 in counts)
    for i in doomed:
        alive[i] = 0
    # The order of deletion, the certificate that R is the largest simulation: a pair enters
    # ``doomed`` when one of its steps has no candidate at all, or when the last candidate of
    # one of its steps is taken out of it, so after every candidate of that step.
    order = list(doomed)
    while doomed:
        deleted = doomed.popleft()
        for pair_index, step_index in predecessors[deleted]:
            remaining[pair_index][step_index] -= 1
            if remaining[pair_index][step_index] == 0 and alive[pair_index]:
                alive[pair_index] = 0
                doomed.append(pair_index)
                order.append(pair_index)

    # 3. The offending steps of every deleted pair: its steps with no candidate at all (the
    #    root causes) or, when it has none, its first step whose candidates were all deleted.
    instances = simulated.system.instances
    occurrences = []  # (pair index, step index, record, reason, key, missing)
    for pair_index, own in enumerate(records):
        if alive[pair_index]:
            continue
        unmatched = [(step_index, record) for step_index, record in enumerate(own)
                     if not remaining[pair_index][step_index]]
        roots = [(step_index, record) for step_index, record in unmatched if not record.candidates]
        for step_index, record in roots or unmatched[:1]:
            step = record.step
            missing = game.without_correspondent(step.target)
            if step.visible and record.sequences is None:
                reason = "unmapped-operation"
            elif missing:
                reason = "no-correspondent"
            elif not record.candidates:
                reason = "cannot-follow"
            else:
                reason = "leads-to-mismatch"
            if reason == "no-correspondent":
                first = missing[0]
                local_state = instances[first].local.state_of(step.target[first])
                key = ("state", instances[first].component, local_state)
            else:
                key = ("step", instances[step.instance].component, step.trigger)
            occurrences.append((pair_index, step_index, record, reason, key, missing))

    # 4. One mismatch per key: its first root-cause occurrence, else its first occurrence.
    chosen: dict[tuple, tuple] = {}
    for occurrence in occurrences:
        key, reason = occurrence[4], occurrence[3]
        if key not in chosen or (chosen[key][3] == "leads-to-mismatch" and reason != "leads-to-mismatch"):
            chosen[key] = occurrence
    mismatches: list[Mismatch] = []
    identifiers: dict[tuple, str] = {}
    for pair_index, _step_index, record, reason, key, missing in sorted(chosen.values(), key=lambda o: o[:2]):
        step = record.step
        if key[0] == "state":
            identifiers[key] = f"{direction}/{instances[missing[0]].name}={key[2]}"
        else:
            identifiers[key] = f"{direction}/{instances[step.instance].name}.{step.trigger}"
        mismatches.append(_mismatch(game, identifiers[key], reason, pairs, parent, pair_index, record,
                                    missing))
    involved = [(identifiers[key], record.step, *pairs[pair_index])
                for pair_index, _, record, _, key, _ in occurrences]

    relation = frozenset(pair for pair, flag in zip(pairs, alive) if flag)
    result = Correspondence(direction=direction, holds=bool(alive[0]), relation_size=len(relation),
                            game_pairs=len(pairs), mismatches=mismatches, parameters=parameters,
                            seconds=time.perf_counter() - started, offending_steps=len(occurrences),
                            relation=relation, game=frozenset(pairs),
                            deletion_order=tuple(pairs[i] for i in order),
                            disagreements=_disagreements(game, pairs, parent, occurrences, identifiers),
                            resynchronisations=tuple(resynchronisations),
                            resynchronisation_paths=tuple(
                                tuple(simulating.path(partner, RESYNCHRONISED, target)[0])
                                for _, partner, target in resynchronisations))
    _add_coverage(result, game, involved, pairs, records)
    log.info("%s on %s: %s; relation %d of %d game pairs, %d mismatches (%d offending steps), %.3f s",
             direction, pairing.mapping.id, "holds" if result.holds else "does not hold",
             result.relation_size, result.game_pairs, len(mismatches), len(occurrences), result.seconds)
    return result


def _disagreements(game: _Direction, pairs, parent, occurrences, identifiers) -> tuple[Disagreement, ...]:
    """A shortest way to every deleted pair of the game, in breadth-first order."""
    simulated, following = game.simulated.system, game.simulating.system
    by_pair: dict[int, list] = {}
    for pair_index, _step_index, record, reason, key, _missing in occurrences:
        by_pair.setdefault(pair_index, []).append((record, reason, key))
    found = []
    move_of: dict[int, tuple[str, tuple[str, ...], bool]] = {}  # pair -> the move into it, shared by ways through it
    for pair_index in sorted(by_pair):
        moves = []
        at = pair_index
        while parent[at] is not None:
            previous, step, sequence = parent[at]
            if at not in move_of:
                resynchronised = sequence == RESYNCHRONISED
                if resynchronised:
                    states, labels = game.simulating.path(pairs[previous][1], sequence, pairs[at][1])
                    requested = tuple(following.labels[label] for label, before in zip(labels, states)
                                      if _is_operation(following, before, label))
                else:
                    requested = tuple(f"{following.instances[instance].name}.{trigger}"
                                      for instance, trigger in sequence)
                move_of[at] = (simulated.labels[step.label], requested, resynchronised)
            moves.append(move_of[at])
            at = previous
        state, partner = pairs[pair_index]
        entries = by_pair[pair_index]
        found.append(Disagreement(
            depth=len(moves), simulated_state=simulated.describe(state), following_state=following.describe(partner),
            moves=tuple(reversed(moves)),
            offending=tuple(f"{simulated.labels[record.step.label]} ({reason})" for record, reason, _ in entries),
            mismatch=identifiers[entries[0][2]]))
    return tuple(found)


def _is_operation(system: System, state: Configuration, label: int) -> bool:
    """Whether the step ``label`` from ``state`` is led by an operation."""
    parts = system.step_parts(state, label)
    return bool(parts) and parts[0][1].kind == "operation"


def _merge(steps: list[WitnessStep], before: dict[str, str]) -> WitnessStep:
    """One witness entry standing for ``steps`` (possibly none) of one game move."""
    if not steps:
        return WitnessStep(event=NO_STEP, followers=(), state=dict(before), changed=())
    return WitnessStep(
        event=", ".join(step.event for step in steps),
        followers=tuple(follower for step in steps for follower in step.followers),
        state=steps[-1].state,
        changed=tuple(dict.fromkeys(name for step in steps for name in step.changed)),
        reports=tuple(report for step in steps for report in step.reports),
        request=", ".join(step.request for step in steps if step.request),
    )


def _witnesses(game: _Direction, pairs, parent, pair_index: int):
    """(simulated witness, merged simulating witness, simulating witness step by step)."""
    chain = []
    while parent[pair_index] is not None:
        previous, step, sequence = parent[pair_index]
        chain.append((previous, pair_index, step, sequence))
        pair_index = previous
    chain.reverse()
    initial_state, initial_partner = pairs[0]
    own_states, own_labels = [initial_state], []
    other_states, other_labels, segments = [initial_partner], [], []
    resynchronised = []
    for move, (previous, reached, step, sequence) in enumerate(chain, start=1):
        if sequence == RESYNCHRONISED:
            resynchronised.append(move)
        own_states.append(pairs[reached][0])
        own_labels.append(step.label)
        states, labels = game.simulating.path(pairs[previous][1], sequence, pairs[reached][1])
        other_states.extend(states[1:])
        other_labels.extend(labels)
        segments.append(len(labels))
    simulated_witness = witness_steps(game.simulated.system, own_states, own_labels)
    path = witness_steps(game.simulating.system, other_states, other_labels)
    merged = [path[0]]
    position = 1
    for length in segments:
        merged.append(_merge(path[position:position + length], merged[-1].state))
        position += length
    return tuple(simulated_witness), tuple(merged), tuple(path), tuple(resynchronised), [c[2] for c in chain]


def _culprits(game: _Direction, state: Configuration, partner: Configuration, record: _StepRecord,
              missing: tuple[int, ...]) -> tuple[int, ...]:
    """The paired simulated instances to blame for a step that has no candidate (see
    ``Mismatch.culprits``): those without an image, else those no answer corresponds to (none
    when each alone could correspond, but not all together)."""
    if missing or record.candidates or (record.step.visible and record.sequences is None):
        return missing  # an unmapped operation is to blame itself, not a state
    following = game.simulating
    step = record.step
    number = following.number(partner)
    answers = 0
    for sequence in record.sequences or ():
        answers |= following.after_sequence(number, sequence)
    return tuple(i for i, j, table in game.constraints
                 if not answers & following.satisfying(("alone", j, table[step.target[i]]),
                                                       ((j, table[step.target[i]]),)))


def _in_progress(system: System, state: Configuration, step: Step, before: list[Step]) -> str | None:
    """For a silent step whose leader is in a transient state: the operation that instance is
    carrying out, the last one it took in the witness (``before``) that was not refused;
    otherwise None."""
    if step.visible:
        return None
    local = system.instances[step.instance].local
    if local.machine.state(local.state_of(state[step.instance])).kind != "transient":
        return None
    for earlier in reversed(before):
        # A refused request changes nothing: it is not what the instance is carrying out.
        if earlier.instance == step.instance and earlier.visible and \
                not system.labels[earlier.label].endswith("[refused]"):
            return earlier.trigger
    return None


def _mismatch(game: _Direction, mismatch_id: str, reason: str, pairs, parent, pair_index: int,
              record: _StepRecord, missing: tuple[int, ...]) -> Mismatch:
    simulated = game.simulated.system
    state, partner = pairs[pair_index]
    step = record.step
    own, merged, path, resynchronised, steps = _witnesses(game, pairs, parent, pair_index)
    return Mismatch(
        id=mismatch_id, direction=game.direction, reason=reason, label=simulated.labels[step.label],
        instance=simulated.instances[step.instance].name, trigger=step.trigger,
        simulated_state=simulated.describe(state), simulating_state=game.simulating.system.describe(partner),
        simulated_witness=own, simulating_witness=merged, simulating_path=path,
        offending_step=witness_steps(simulated, [state, step.target], [step.label])[1],
        no_correspondent=_state_names(simulated, step.target, missing),
        candidates=len(record.candidates), resynchronised=resynchronised,
        culprits=_state_names(simulated, step.target, _culprits(game, state, partner, record, missing)),
        in_progress=_in_progress(simulated, state, step, steps),
    )


def _state_names(system: System, state: Configuration, instances: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(f"{system.instances[i].name}={system.instances[i].local.state_of(state[i])}"
                 for i in instances)


def _initial_mismatch(game: _Direction, state: Configuration, partner: Configuration) -> Mismatch:
    simulated, simulating = game.simulated.system, game.simulating.system
    missing = _state_names(simulated, state, game.without_correspondent(state))
    mismatch_id = f"{game.direction}/{missing[0]}" if missing else f"{game.direction}/initial"
    own = tuple(witness_steps(simulated, [state], []))
    other = tuple(witness_steps(simulating, [partner], []))
    return Mismatch(id=mismatch_id, direction=game.direction, reason="initial", label=None, instance=None,
                    trigger=None, simulated_state=simulated.describe(state),
                    simulating_state=simulating.describe(partner), simulated_witness=own,
                    simulating_witness=other, simulating_path=other, offending_step=None,
                    no_correspondent=missing)


def _add_coverage(result: Correspondence, game: _Direction, involved, pairs=(), records=()) -> None:
    """Fill ``scomo_operations`` and ``scomo_states`` from every offending step, and the
    SCOMO operations and states the game exercised from its pairs and their steps."""
    mapping = game.pairing.mapping
    operations: dict[str, dict[str, None]] = {}
    states: dict[str, dict[str, None]] = {}
    for pair in mapping.machines:
        machine = mapping.scomo.component(pair.scomo).machine
        for transition in machine.transitions:
            if transition.kind == "operation":
                operations.setdefault(f"{pair.scomo}.{transition.trigger}", {})
        for state in machine.states:
            states.setdefault(f"{pair.scomo}.{state.name}", {})
    scomo = game.pairing.scomo

    def mark(table: dict[str, dict[str, None]], name: str, mismatch_id: str) -> None:
        if name in table:
            table[name].setdefault(mismatch_id)

    def state_name(state: Configuration, instance: int) -> str:
        local = scomo.instances[instance].local
        return f"{scomo.instances[instance].component}.{local.state_of(state[instance])}"

    for mismatch_id, step, state, partner in involved:
        if game.direction == SCOMO_BY_TR069:
            targets = game.without_correspondent(state if step is None else step.target)
            for instance in targets:
                mark(states, state_name(state if step is None else step.target, instance), mismatch_id)
            if step is None:
                continue
            component = scomo.instances[step.instance].component
            if step.visible:
                mark(operations, f"{component}.{step.trigger}", mismatch_id)
            mark(states, state_name(state, step.instance), mismatch_id)
            mark(states, state_name(step.target, step.instance), mismatch_id)
        else:
            if step is None:
                continue
            scomo_instance = game.partner.get(step.instance)
            if scomo_instance is None:
                continue
            mark(states, state_name(partner, scomo_instance), mismatch_id)
            for sequence in (game.sequences(step) or ()) if step.visible else ():
                for _, trigger in sequence:
                    mark(operations, f"{scomo.instances[scomo_instance].component}.{trigger}", mismatch_id)
    result.scomo_operations = {name: tuple(ids) for name, ids in operations.items()}
    result.scomo_states = {name: tuple(ids) for name, ids in states.items()}

    forward = game.direction == SCOMO_BY_TR069
    exercised_states: dict[str, None] = {}
    exercised_operations: dict[str, None] = {}
    scomo_instances = range(len(scomo.instances))
    for pair, own in zip(pairs, records):
        scomo_state = pair[0] if forward else pair[1]
        for instance in scomo_instances:
            exercised_states.setdefault(state_name(scomo_state, instance))
        for record in own:
            step = record.step
            if not step.visible:
                continue
            if forward:
                exercised_operations.setdefault(f"{scomo.instances[step.instance].component}.{step.trigger}")
            elif record.sequences:
                component = scomo.instances[game.partner[step.instance]].component
                for sequence in record.sequences:
                    for _, trigger in sequence:
                        exercised_operations.setdefault(f"{component}.{trigger}")
    result.exercised_states = tuple(name for name in states if name in exercised_states)
    result.exercised_operations = tuple(name for name in operations if name in exercised_operations)


def correspondences(mapping: Mapping, k: int = 1, n: int = 1, analyses=None) -> dict[str, Correspondence]:
    """Both directions, on systems of n units with k children each (k = m). ``analyses``, the
    (SCOMO, TR-069) ``SystemAnalysis`` of those systems, lends their explorations."""
    if analyses is not None:
        pairing = build_pairing(mapping, systems=tuple(analysis.system for analysis in analyses),
                                explorations=tuple(analysis.exploration for analysis in analyses))
    else:
        pairing = build_pairing(mapping, k=k, n=n)
    return {direction: simulation(mapping, direction, pairing=pairing) for direction in DIRECTIONS}


@dataclass(frozen=True)
class FollowedWitness:
    """A behaviour of one side with the other side's answer to each of its moves, as the game
    would answer it: a candidate if there is one (the first), else resynchronised, else none
    (the following side stays where it is: the move is *unanswered*).

    It shows, side by side, a witness that comes from one side alone (the shortest way to a
    state or an operation without counterpart). Its entries are shaped like a ``Mismatch``'s.
    """

    id: str
    direction: str
    reason: str  # what the witness shows, e.g. the verdict's category
    conclusion: str  # a sentence on its last state or step
    simulated_witness: tuple[WitnessStep, ...]
    simulating_witness: tuple[WitnessStep, ...]
    simulating_path: tuple[WitnessStep, ...]
    resynchronised: tuple[int, ...] = ()
    unanswered: tuple[int, ...] = ()
    # per move: the operations (labels) the following side took in it
    operations: tuple[tuple[str, ...], ...] = ()
    offending_step: WitnessStep | None = None
    no_correspondent: tuple[str, ...] = ()

    @property
    def depth(self) -> int:
        return len(self.simulated_witness) - 1


def follow(pairing: Pairing, direction: str, witness: list[WitnessStep], witness_id: str, reason: str,
           conclusion: str) -> FollowedWitness:
    """``witness``, a behaviour of the simulated side of ``direction`` from its initial state,
    with the following side's answer to each move (see ``FollowedWitness``)."""
    game = _Direction(direction, pairing)
    simulated, following = game.simulated, game.simulating
    states = [simulated.system.state_described(step.state) for step in witness]
    if states[0] != simulated.system.initial:
        raise ValueError(f"{witness_id}: a followed witness starts in the initial state")
    own_labels, other_states, other_labels, segments = [], [following.system.initial], [], []
    resynchronised, unanswered, operations = [], [], []
    for move, (before, after, step_entry) in enumerate(zip(states, states[1:], witness[1:]), start=1):
        label = simulated.system.labels.index(step_entry.event)
        step = next(step for step in simulated.steps(before) if step.label == label and step.target == after)
        own_labels.append(label)
        partner = other_states[-1]
        number = following.number(partner)
        options = (game.sequences(step) or ()) if step.visible else ((),)
        allowed = following.satisfying(game.key(after), game.checks(after))
        how = None
        for sequence in options:
            reached = following.after_sequence(number, sequence) & allowed
            if reached:
                how, target = sequence, following.states[next(_members(reached))]
                break
        if how is None:
            reached = following.nearest(number, game.key(after), game.checks(after))
            if reached is not None:
                how, target = RESYNCHRONISED, following.states[reached]
                resynchronised.append(move)
            else:
                unanswered.append(move)
        if how is None:
            path_states, path_labels = [partner], []
        else:
            path_states, path_labels = following.path(partner, how, target)
        other_states.extend(path_states[1:])
        other_labels.extend(path_labels)
        segments.append(len(path_labels))
        operations.append(tuple(following.system.labels[label] for label, before in zip(path_labels, path_states)
                                if _is_operation(following.system, before, label)))
    own = tuple(witness_steps(simulated.system, states, own_labels))
    path = witness_steps(following.system, other_states, other_labels)
    merged = [path[0]]
    position = 1
    for length in segments:
        merged.append(_merge(path[position:position + length], merged[-1].state))
        position += length
    return FollowedWitness(id=witness_id, direction=direction, reason=reason, conclusion=conclusion,
                           simulated_witness=own, simulating_witness=tuple(merged), simulating_path=tuple(path),
                           resynchronised=tuple(resynchronised), unanswered=tuple(unanswered),
                           operations=tuple(operations))


def is_bisimulation(results: dict[str, Correspondence]) -> bool:
    """Both directions hold and the relations agree: R_fwd equals the inverse of R_bwd."""
    forward, backward = results[SCOMO_BY_TR069], results[TR069_BY_SCOMO]
    if not (forward.holds and backward.holds):
        return False
    return forward.relation == frozenset((scomo, tr069) for tr069, scomo in backward.relation)


def coverage(results: dict[str, Correspondence]) -> tuple[dict[str, bool], dict[str, bool]]:
    """(SCOMO operation -> appears in a mismatch of either direction, SCOMO state -> likewise)."""
    operations: dict[str, bool] = {}
    states: dict[str, bool] = {}
    for result in results.values():
        for name, flag in result.operations_in_mismatches.items():
            operations[name] = operations.get(name, False) or flag
        for name, flag in result.states_in_mismatches.items():
            states[name] = states.get(name, False) or flag
    return operations, states
