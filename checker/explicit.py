"""The explicit engine: breadth-first search over the compiled composition.

Breadth-first order makes the first visit of every state a shortest one, so the parent
pointers give shortest witnesses for free. The reachable graph also yields the deadlocks
(states with no way out that are not terminal) and the transient states from which a
component can never settle again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from .errors import InputError, Problem
from .model import SETTLED_KINDS
from .system import System

__all__ = ["Exploration", "explore", "LocalTarget", "local_targets"]

log = logging.getLogger(__name__)

DEFAULT_STATE_LIMIT = 5_000_000


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


@dataclass
class Exploration:
    system: System
    states: list[tuple[int, ...]]
    parent: list[int]
    via: list[int]  # label index of the step into each state; -1 for the initial state
    depth: list[int]
    successors: list[list[tuple[int, int]]] | None
    seconds: float
    first_reached: dict[LocalTarget, int] = field(default_factory=dict)
    deadlocks: list[int] = field(default_factory=list)

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
        predecessors: list[list[int]] = [[] for _ in self.states]
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
            can_settle = bytearray(len(self.states))
            frontier = [i for i, state in enumerate(self.states) if state[instance_index] in settled_configs]
            for i in frontier:
                can_settle[i] = 1
            while frontier:
                target = frontier.pop()
                for source in predecessors[target]:
                    if not can_settle[source]:
                        can_settle[source] = 1
                        frontier.append(source)
            trapped = [i for i in range(len(self.states)) if not can_settle[i]]
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
    successors_of = system.successors
    is_terminal = system.is_terminal
    initial = system.initial
    index = {initial: 0}
    states = [initial]
    parent = [-1]
    via = [-1]
    depth = [0]
    edges: list[list[tuple[int, int]]] | None = [] if keep_edges else None
    deadlocks = []
    current = 0
    while current < len(states):
        state = states[current]
        outgoing = []
        next_depth = depth[current] + 1
        for label, successor in successors_of(state):
            target = index.get(successor)
            if target is None:
                target = len(states)
                index[successor] = target
                states.append(successor)
                parent.append(current)
                via.append(label)
                depth.append(next_depth)
            outgoing.append((label, target))
        if not outgoing and not is_terminal(state):
            deadlocks.append(current)
        if edges is not None:
            edges.append(outgoing)
        current += 1
        if len(states) > state_limit:
            raise InputError(Problem(file=system.composition.file, line=0, rule="state-limit",
                                     message=f"{system.name} has more than {state_limit} reachable states; "
                                             "lower its parameters or use the Z3 engine alone"))
    seconds = time.perf_counter() - started

    exploration = Exploration(system=system, states=states, parent=parent, via=via, depth=depth,
                              successors=edges, seconds=seconds, deadlocks=deadlocks)
    targets = local_targets(system)
    holds = {target: set(target.configs(system)) for target in targets}
    remaining = set(targets)
    for state_index, state in enumerate(states):
        if not remaining:
            break
        for target in list(remaining):
            if state[target.instance] in holds[target]:
                exploration.first_reached[target] = state_index
                remaining.discard(target)
    log.info("explicit: %s has %d reachable states (%.3f s, %.0f states/s)",
             system.name, len(states), seconds, len(states) / seconds if seconds else float("inf"))
    return exploration
