"""The explicit engine: breadth-first search over the compiled composition.

Breadth-first order makes the first visit of every state a shortest one, so the parent
pointers give shortest witnesses for free. The reachable graph also yields the deadlocks
(states with no way out that are not terminal) and the transient states from which a
component can never settle again.

A global state is stored as one integer, its configurations written in mixed radix (the
i-th instance's configuration times the product of the sizes before it). A step of one
instance from configuration c to c' then adds the constant (c' - c) * weight, precomputed
per edge, and hashing an integer is far cheaper than hashing a tuple.
"""

from __future__ import annotations

import logging
import time
from array import array
from dataclasses import dataclass, field
from functools import cached_property

from .errors import InputError, Problem
from .model import SETTLED_KINDS
from .system import System

__all__ = ["Exploration", "explore", "LocalTarget", "local_targets"]

log = logging.getLogger(__name__)

DEFAULT_STATE_LIMIT = 5_000_000
# Above this many reachable states a property's explicit cross-check is not run: its invariant
# and reachability verdicts then rest on Z3 alone (and say so), CTL and LTL are unknown.
CROSS_CHECK_STATE_LIMIT = 500_000


@dataclass(frozen=True, order=True)
class LocalTarget:
    """Something one instance can show: a control state or one value of an observable."""

    instance: int
    kind: str  # "state" or "value"
    name: str  # state name, or observable name
    value: object = None

    def holds_in(self, system: System, config: int) -> bool:
        local = system.instances[self.instance].local
        if self.kind == "state":
            return local.state_of(config) == self.name
        return local.values_of(config)[self.name] == self.value

    def configs(self, system: System) -> list[int]:
        local = system.instances[self.instance].local
        return [config for config in range(len(local.configs)) if self.holds_in(system, config)]


def local_targets(system: System) -> list[LocalTarget]:
    """Every control state and every observable value of every instance, in a stable order."""
    targets = []
    for instance_index, instance in enumerate(system.instances):
        machine = instance.local.machine
        for state in machine.states:
            targets.append(LocalTarget(instance_index, "state", state.name))
        for observable in machine.observables:
            for value in observable.domain:
                targets.append(LocalTarget(instance_index, "value", observable.name, value))
    return targets


class StateCoding:
    """Mixed-radix coding of global states as integers, and the precomputed step deltas."""

    def __init__(self, system: System):
        self.system = system
        self.sizes = [len(instance.local.configs) for instance in system.instances]
        self.weights = []
        weight = 1
        for size in self.sizes:
            self.weights.append(weight)
            weight *= size
        # simple[i][c]: (label, delta) of steps needing nothing from other instances;
        # complex[i][c]: the Move objects with guards or followers, handled in full.
        self.simple: list[list[list[tuple[int, int]]]] = []
        self.complex: list[list[list]] = []
        for instance_index, per_config in enumerate(system.moves):
            weight = self.weights[instance_index]
            simple_rows, complex_rows = [], []
            for config, moves in enumerate(per_config):
                simple_rows.append([(move.label, (move.target - config) * weight)
                                    for move in moves if not move.requires and not move.followers])
                complex_rows.append([move for move in moves if move.requires or move.followers])
            self.simple.append(simple_rows)
            self.complex.append(complex_rows)

    def encode(self, state: tuple[int, ...]) -> int:
        return sum(config * weight for config, weight in zip(state, self.weights))

    def decode(self, code: int) -> tuple[int, ...]:
        configs = []
        for size in self.sizes:
            code, config = divmod(code, size)
            configs.append(config)
        return tuple(configs)


@dataclass
class Exploration:
    system: System
    coding: StateCoding
    codes: list[int]
    parent: array
    via: array  # label index of the step into each state; -1 for the initial state
    depth: array
    successors: list[list[tuple[int, int]]] | None
    seconds: float
    first_reached: dict[LocalTarget, int] = field(default_factory=dict)
    deadlocks: list[int] = field(default_factory=list)
    # first_config[i][c]: the first state, in breadth-first order, where instance i is in c
    first_config: list[list[int]] = field(default_factory=list)

    @cached_property
    def states(self) -> list[tuple[int, ...]]:
        """Every reachable state as a tuple of configurations, in breadth-first order."""
        decode = self.coding.decode
        return [decode(code) for code in self.codes]

    def state(self, index: int) -> tuple[int, ...]:
        return self.coding.decode(self.codes[index])

    def __len__(self) -> int:
        return len(self.codes)

    def first_state_in(self, instance: int, configs) -> int | None:
        """The first state (so one at the least depth) where ``instance`` is in ``configs``."""
        firsts = [self.first_config[instance][config] for config in configs if self.first_config[instance][config] >= 0]
        return min(firsts) if firsts else None

    def first_state_enabling(self, instance: int, configs, trigger: str) -> int | None:
        """The first state where ``instance`` is in ``configs`` and can take ``trigger``
        (its guards hold and every follower of mode "all" can follow)."""
        configs = set(configs)
        machine = self.system.instances[instance].local.machine
        for index in range(len(self.codes)):
            state = self.state(index)
            if state[instance] not in configs:
                continue
            for move in self.system.moves[instance][state[instance]]:
                if machine.transitions[move.transition].trigger != trigger:
                    continue
                if move.requires and not all(state[j] in allowed for j, allowed in move.requires):
                    continue
                if all(step.mode != "all" or state[step.instance] in step.table for step in move.followers):
                    return index
        return None

    def path_to(self, state_index: int) -> list[tuple[int, int]]:
        """[(label, state)] from the initial state (label -1) to ``state_index``."""
        path = []
        while state_index != -1:
            path.append((self.via[state_index], state_index))
            state_index = self.parent[state_index]
        return list(reversed(path))


    def stuck_transients(self) -> dict[int, list[int]]:
        """For each instance, the reachable states from which it can never settle again.

        A state where the instance is transient counts when no path leads from it to a state
        where that instance is stable, terminal or absent.
        """
        if self.successors is None:
            raise ValueError("stuck-state analysis needs the exploration's edges")
        states = self.states
        predecessors: list[list[int]] = [[] for _ in states]
        for source, outgoing in enumerate(self.successors):
            for _, target in outgoing:
                predecessors[target].append(source)
        stuck: dict[int, list[int]] = {}
        for instance_index, instance in enumerate(self.system.instances):
            local = instance.local
            settled_configs = {
                config for config, (state_index, _) in enumerate(local.configs)
                if local.machine.states[state_index].kind in SETTLED_KINDS
            }
            if len(settled_configs) == len(local.configs):
                continue
            can_settle = bytearray(len(states))
            frontier = [i for i, state in enumerate(states) if state[instance_index] in settled_configs]
            for i in frontier:
                can_settle[i] = 1
            while frontier:
                target = frontier.pop()
                for source in predecessors[target]:
                    if not can_settle[source]:
                        can_settle[source] = 1
                        frontier.append(source)
            trapped = [i for i in range(len(states)) if not can_settle[i]]
            if trapped:
                stuck[instance_index] = trapped
        return stuck

    def trap_cycle(self, trapped: list[int]) -> list[int]:
        """A bottom strongly connected component among ``trapped``: where the run circles forever."""
        import networkx as nx  # only needed when something is trapped; costs 0.3 s to import

        graph = nx.DiGraph()
        members = set(trapped)
        graph.add_nodes_from(trapped)
        for source in trapped:
            for _, target in self.successors[source]:
                if target in members:
                    graph.add_edge(source, target)
        condensed = nx.condensation(graph)
        bottoms = [node for node in condensed.nodes if condensed.out_degree(node) == 0]
        components = [sorted(condensed.nodes[node]["members"]) for node in bottoms]
        return min(components)


def explore(system: System, keep_edges: bool = True, state_limit: int = DEFAULT_STATE_LIMIT) -> Exploration:
    """Breadth-first search of every reachable state of ``system``."""
    started = time.perf_counter()
    coding = StateCoding(system)
    sizes, simple, complex_ = coding.sizes, coding.simple, coding.complex
    instance_range = range(len(sizes))
    terminal_configs = [
        {config for config, (state_index, _) in enumerate(instance.local.configs)
         if instance.local.machine.states[state_index].kind == "terminal"}
        for instance in system.instances
    ]
    any_terminal = any(terminal_configs)
    # first_config[i][c]: the first state (in breadth-first order) where instance i is in c.
    first_config = [[-1] * size for size in sizes]

    initial = coding.encode(system.initial)
    index = {initial: 0}
    codes = [initial]
    parent = array("l", [-1])
    via = array("l", [-1])
    depth = array("l", [0])
    edges: list[list[tuple[int, int]]] | None = [] if keep_edges else None
    deadlocks = []
    current = 0
    while current < len(codes):
        code = codes[current]
        # decode inline: this loop is the engine's hot path
        configs = []
        rest = code
        for size in sizes:
            rest, config = divmod(rest, size)
            configs.append(config)
        next_depth = depth[current] + 1
        outgoing = []
        for i in instance_range:
            config = configs[i]
            if first_config[i][config] < 0:
                first_config[i][config] = current
            # The "record a new state" block below appears twice on purpose: this is the
            # engine's hot loop, and it stays free of a function call per successor.
            for label, delta in simple[i][config]:
                successor = code + delta
                target = index.get(successor)
                if target is None:
                    target = len(codes)
                    index[successor] = target
                    codes.append(successor)
                    parent.append(current)
                    via.append(label)
                    depth.append(next_depth)
                outgoing.append((label, target))
            for move in complex_[i][config]:
                if move.requires and not all(configs[j] in allowed for j, allowed in move.requires):
                    continue
                successor = code + (move.target - config) * coding.weights[i]
                if move.followers:
                    moved = configs.copy()
                    moved[i] = move.target
                    blocked = False
                    for step in move.followers:
                        follower_config = moved[step.instance]
                        follower_target = step.table.get(follower_config)
                        if follower_target is not None:
                            moved[step.instance] = follower_target
                            successor += (follower_target - follower_config) * coding.weights[step.instance]
                        elif step.mode == "all":
                            blocked = True
                            break
                    if blocked:
                        continue
                target = index.get(successor)
                if target is None:
                    target = len(codes)
                    index[successor] = target
                    codes.append(successor)
                    parent.append(current)
                    via.append(move.label)
                    depth.append(next_depth)
                outgoing.append((move.label, target))
        if not outgoing and not (any_terminal and all(configs[i] in terminal_configs[i] for i in instance_range)):
            deadlocks.append(current)
        if edges is not None:
            edges.append(outgoing)
        current += 1
        if len(codes) > state_limit:
            raise InputError(Problem(file=system.composition.file, line=0, rule="state-limit",
                                     message=f"{system.name} has more than {state_limit} reachable states; "
                                             "lower its parameters or use the Z3 engine alone"))
    seconds = time.perf_counter() - started

    exploration = Exploration(system=system, coding=coding, codes=codes, parent=parent, via=via, depth=depth,
                              successors=edges, seconds=seconds, deadlocks=deadlocks, first_config=first_config)
    for target in local_targets(system):
        firsts = [first_config[target.instance][config] for config in target.configs(system)
                  if first_config[target.instance][config] >= 0]
        if firsts:
            exploration.first_reached[target] = min(firsts)
    log.info("explicit: %s has %d reachable states (%.3f s, %.0f states/s)",
             system.name, len(codes), seconds, len(codes) / seconds if seconds else float("inf"))
    return exploration
