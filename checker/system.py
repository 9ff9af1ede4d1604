"""Compile a composition into a transition system over compact state tuples.

Each machine is compiled once into its *local configurations*: a control state together with
the values of its observables (a SCOMO Deployment Component that is Inactive after a failed
activation differs from one that is Inactive and idle only by its Status value). A global
state is a tuple holding one configuration index per component instance. The tables built
here are what both engines read: the explicit engine walks them directly, the Z3 engine
encodes them as a transition relation. Neither drives `transitions` objects, which is about
thirty times slower; the executable machines of ``executable`` are used to replay witnesses.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterator

from .composition import Composition
from .errors import InputError, Problem
from .model import Machine, Transition, format_value

__all__ = ["LocalMachine", "Instance", "Move", "FollowerStep", "System", "build_system"]

log = logging.getLogger(__name__)

MAX_INSTANCES = 512  # a guard against parameters that would exhaust memory before any search


@dataclass
class LocalMachine:
    """A machine compiled to its configurations and the steps between them."""

    machine: Machine
    configs: list[tuple[int, tuple[Any, ...]]]
    index: dict[tuple[int, tuple[Any, ...]], int]
    # edges[config] = [(transition index, next config), ...]
    edges: list[list[tuple[int, int]]]

    @property
    def initial(self) -> int:
        return 0

    def state_of(self, config: int) -> str:
        return self.machine.states[self.configs[config][0]].name

    def values_of(self, config: int) -> dict[str, Any]:
        names = [observable.name for observable in self.machine.observables]
        return dict(zip(names, self.configs[config][1]))

    def describe(self, config: int) -> str:
        values = ", ".join(f"{name}={format_value(value)}" for name, value in self.values_of(config).items())
        return f"{self.state_of(config)}" + (f" ({values})" if values else "")

    def transition_for(self, config: int, trigger: str) -> Transition | None:
        for transition_index, _ in self.edges[config]:
            if self.machine.transitions[transition_index].trigger == trigger:
                return self.machine.transitions[transition_index]
        return None

    def next_config(self, config: int, trigger: str) -> int | None:
        for transition_index, target in self.edges[config]:
            if self.machine.transitions[transition_index].trigger == trigger:
                return target
        return None


def compile_machine(machine: Machine) -> LocalMachine:
    """Enumerate the configurations a machine can reach on its own, every trigger free."""
    observables = machine.observables
    position = {observable.name: i for i, observable in enumerate(observables)}

    def enter(state_index: int, values: list[Any]) -> tuple[int, tuple[Any, ...]]:
        for name, value in machine.states[state_index].observe:
            values[position[name]] = value
        return state_index, tuple(values)

    initial_state = machine.state_index(machine.initial)
    initial = enter(initial_state, [observable.initial for observable in observables])
    by_source: dict[int, list[tuple[int, Transition]]] = {}
    for transition_index, transition in enumerate(machine.transitions):
        by_source.setdefault(machine.state_index(transition.source), []).append((transition_index, transition))

    configs = [initial]
    index = {initial: 0}
    edges: list[list[tuple[int, int]]] = [[]]
    queue = deque([0])
    while queue:
        current = queue.popleft()
        state_index, values = configs[current]
        for transition_index, transition in by_source.get(state_index, ()):
            if any(values[position[name]] != value for name, value in transition.when):
                continue
            new_values = list(values)
            for name, value in transition.set:
                new_values[position[name]] = value
            target = enter(machine.state_index(transition.dest), new_values)
            target_index = index.get(target)
            if target_index is None:
                target_index = len(configs)
                index[target] = target_index
                configs.append(target)
                edges.append([])
                queue.append(target_index)
            edges[current].append((transition_index, target_index))
    log.debug("machine %s: %d local configurations", machine.id, len(configs))
    return LocalMachine(machine=machine, configs=configs, index=index, edges=edges)


@dataclass(frozen=True)
class Instance:
    name: str
    component: str
    local: LocalMachine
    parent: int | None = None


@dataclass(frozen=True)
class FollowerStep:
    """The steps one follower instance takes when its leader fires."""

    instance: int
    table: dict[int, int]  # follower config -> next config
    trigger: str
    mode: str


@dataclass(frozen=True)
class Move:
    """One step an instance can take from one configuration, with what it needs and drags."""

    instance: int
    transition: int
    target: int
    label: int  # index into System.labels
    requires: tuple[tuple[int, frozenset[int]], ...] = ()
    followers: tuple[FollowerStep, ...] = ()


@dataclass
class System:
    """A composition with its parameters fixed, compiled for the engines."""

    composition: Composition
    parameters: dict[str, int]
    instances: list[Instance]
    moves: list[list[list[Move]]]  # moves[instance][config]
    labels: list[str]
    initial: tuple[int, ...]
    _locals: dict[str, LocalMachine] = field(default_factory=dict)

    @property
    def name(self) -> str:
        if not self.parameters:
            return self.composition.id
        values = ",".join(f"{key}={value}" for key, value in sorted(self.parameters.items()))
        return f"{self.composition.id}[{values}]"

    def enabled_moves(self, state: tuple[int, ...]) -> Iterator[tuple[Move, tuple[int, ...]]]:
        """(move, next state) for every step enabled in ``state``: guards hold, and every
        follower of mode "all" can follow (followers move one after the other)."""
        for instance_index, config in enumerate(state):
            for move in self.moves[instance_index][config]:
                if move.requires and not all(state[j] in allowed for j, allowed in move.requires):
                    continue
                if not move.followers:
                    yield move, state[:instance_index] + (move.target,) + state[instance_index + 1:]
                    continue
                new = list(state)
                new[instance_index] = move.target
                blocked = False
                for step in move.followers:
                    target = step.table.get(new[step.instance])
                    if target is not None:
                        new[step.instance] = target
                    elif step.mode == "all":
                        blocked = True
                        break
                if not blocked:
                    yield move, tuple(new)

    def successors(self, state: tuple[int, ...]) -> Iterator[tuple[int, tuple[int, ...]]]:
        """(label, next state) for every step enabled in ``state``."""
        for move, successor in self.enabled_moves(state):
            yield move.label, successor

    def composed_follower_table(self, instance: int, steps) -> dict[int, int]:
        """Start -> end configuration of several follower ``steps`` that one instance takes in
        order; a start from which an "all" step cannot be taken is left out (the leader is
        blocked), an "enabled" step that cannot be taken leaves the instance where it is."""
        table = {}
        for start in range(len(self.instances[instance].local.configs)):
            config = start
            for step in steps:
                target = step.table.get(config)
                if target is not None:
                    config = target
                elif step.mode == "all":
                    break
            else:
                table[start] = config
        return table

    def step_parts(self, state: tuple[int, ...], label: int) -> list[tuple[str, Transition]]:
        """The transitions one step with ``label`` takes from ``state``: the leader's first,
        then those of the followers it drags along."""
        for instance_index, config in enumerate(state):
            for move in self.moves[instance_index][config]:
                if move.label != label:
                    continue
                instance = self.instances[instance_index]
                parts = [(instance.name, instance.local.machine.transitions[move.transition])]
                # Followers move one after the other, as in ``successors``: a second follower
                # step of the same instance starts from where the first one left it.
                current = list(state)
                current[instance_index] = move.target
                for step in move.followers:
                    follower = self.instances[step.instance]
                    transition = follower.local.transition_for(current[step.instance], step.trigger)
                    if transition is not None:
                        parts.append((follower.name, transition))
                        current[step.instance] = step.table[current[step.instance]]
                return parts
        return []

    def follower_steps(self, state: tuple[int, ...], label: int) -> list[str]:
        """The follower steps a leader step with ``label`` drags along from ``state``."""
        return [f"{name}.{transition.trigger}" for name, transition in self.step_parts(state, label)[1:]]

    # -- symmetry -------------------------------------------------------------------------
    #
    # Instances of one component under the same parent (the Execution Units of one Deployment
    # Unit, or the top-level Deployment Units of the device) are interchangeable: they start
    # in the same configuration, and no synchronization or guard names a particular one
    # (followers are "all children" or "all instances", guards name the parent or a single
    # instance). Permuting such siblings, each with its whole subtree, therefore maps the
    # transition system onto itself, so a sibling's local target is reachable exactly when
    # the first sibling's is, at the same depth, with the permuted witness.

    def _siblings(self, instance_index: int) -> list[int]:
        instance = self.instances[instance_index]
        return [i for i, other in enumerate(self.instances)
                if other.component == instance.component and other.parent == instance.parent]

    def _children(self, instance_index: int, component: str | None = None) -> list[int]:
        return [i for i, other in enumerate(self.instances)
                if other.parent == instance_index and (component is None or other.component == component)]

    def _swap_subtrees(self, first: int, second: int) -> list[int]:
        """The permutation exchanging two sibling instances together with their children."""
        mapping = list(range(len(self.instances)))
        pending = [(first, second)]
        while pending:
            a, b = pending.pop()
            if a != b:
                mapping[a], mapping[b] = b, a
                pending.extend(zip(self._children(a), self._children(b)))
        return mapping

    def representative(self, instance_index: int) -> tuple[int, list[int]]:
        """The symmetric instance checked in place of ``instance_index``, and the permutation
        ``image`` (instance i of the representative's world is instance image[i] here)."""
        instance = self.instances[instance_index]
        if instance.parent is None:
            first = self._siblings(instance_index)[0]
            return first, self._swap_subtrees(first, instance_index)
        parent_first = self._siblings(instance.parent)[0]
        to_parent = self._swap_subtrees(parent_first, instance.parent)
        position = self._children(instance.parent, instance.component).index(instance_index)
        counterparts = self._children(parent_first, instance.component)
        within = self._swap_subtrees(counterparts[0], counterparts[position])
        return counterparts[0], [to_parent[within[i]] for i in range(len(self.instances))]

    @staticmethod
    def permute(state: tuple[int, ...], image: list[int]) -> tuple[int, ...]:
        """The state in which instance image[i] holds what instance i holds in ``state``."""
        permuted = list(state)
        for i, config in enumerate(state):
            permuted[image[i]] = config
        return tuple(permuted)

    def is_terminal(self, state: tuple[int, ...]) -> bool:
        """Every instance rests in a terminal state: having no way out is then no deadlock."""
        return all(
            instance.local.machine.states[instance.local.configs[config][0]].kind == "terminal"
            for instance, config in zip(self.instances, state)
        )

    def instance_named(self, name: str) -> Instance | None:
        for instance in self.instances:
            if instance.name == name:
                return instance
        return None

    def describe(self, state: tuple[int, ...]) -> dict[str, str]:
        return {instance.name: instance.local.describe(config) for instance, config in zip(self.instances, state)}

    def state_described(self, described: dict[str, str]) -> tuple[int, ...]:
        """The state whose ``describe`` is ``described`` (a witness step's state)."""
        tables = self.__dict__.get("_configs_by_text")
        if tables is None:  # per instance: description -> the configurations that have it
            tables = []
            for instance in self.instances:
                by_text: dict[str, list[int]] = {}
                for config in range(len(instance.local.configs)):
                    by_text.setdefault(instance.local.describe(config), []).append(config)
                tables.append(by_text)
            self.__dict__["_configs_by_text"] = tables
        state = []
        for instance, by_text in zip(self.instances, tables):
            matches = by_text.get(described[instance.name], [])
            if len(matches) != 1:
                raise ValueError(f"{instance.name}={described[instance.name]!r} is not one configuration of {self.name}")
            state.append(matches[0])
        return tuple(state)

    def state_name(self, state: tuple[int, ...]) -> str:
        return ", ".join(f"{instance.name}={instance.local.state_of(config)}" for instance, config in zip(self.instances, state))


def _instantiate(composition: Composition, parameters: dict[str, int], locals_: dict[str, LocalMachine]) -> list[Instance]:
    def count_of(component) -> int:
        return parameters[component.count] if isinstance(component.count, str) else component.count

    instances: list[Instance] = []
    by_component: dict[str, list[int]] = {}
    for component in composition.components:
        if component.parent is not None:
            continue
        count = count_of(component)
        for number in range(1, count + 1):
            name = component.name if component.count == 1 else f"{component.name}{number}"
            by_component.setdefault(component.name, []).append(len(instances))
            instances.append(Instance(name=name, component=component.name, local=locals_[component.machine.id]))
    for component in composition.components:
        if component.parent is None:
            continue
        count = count_of(component)
        for parent_index in by_component.get(component.parent, []):
            for number in range(1, count + 1):
                name = f"{instances[parent_index].name}.{component.name}{number}"
                by_component.setdefault(component.name, []).append(len(instances))
                instances.append(Instance(name=name, component=component.name, local=locals_[component.machine.id], parent=parent_index))
    return instances


def build_system(composition: Composition, parameters: dict[str, int] | None = None) -> System:
    """Fix the parameters of ``composition`` and compile it."""
    values = composition.parameter_defaults()
    for key, value in (parameters or {}).items():
        if key in values:
            values[key] = value
    locals_ = {machine.id: compile_machine(machine) for machine in composition.machines}
    instances = _instantiate(composition, values, locals_)
    if len(instances) > MAX_INSTANCES:
        raise InputError(Problem(file=composition.file, line=0, rule="too-large",
                                 message=f"{len(instances)} component instances exceed the limit of {MAX_INSTANCES}"))
    if not instances:
        raise InputError(Problem(file=composition.file, line=0, rule="empty-composition",
                                 message="the parameters leave no component instance"))

    def instances_of(component: str) -> list[int]:
        return [i for i, instance in enumerate(instances) if instance.component == component]

    followed = {(c, t) for sync in composition.synchronizations for c, t in sync.followers}
    leading = {}
    for sync in composition.synchronizations:
        leading.setdefault((sync.leader, sync.leader_trigger), []).append(sync)
    guards = {}
    for guard in composition.guards:
        guards.setdefault((guard.component, guard.trigger), []).append(guard)

    def allowed_configs(local: LocalMachine, guard) -> frozenset[int]:
        allowed = set()
        for config, (state_index, _) in enumerate(local.configs):
            if guard.states and local.machine.states[state_index].name not in guard.states:
                continue
            observed = local.values_of(config)
            if any(observed[name] != value for name, value in guard.observe):
                continue
            allowed.add(config)
        return frozenset(allowed)

    labels: list[str] = []
    label_index: dict[str, int] = {}
    moves: list[list[list[Move]]] = []
    for instance_index, instance in enumerate(instances):
        local = instance.local
        per_config: list[list[Move]] = []
        for config in range(len(local.configs)):
            config_moves = []
            for transition_index, target in local.edges[config]:
                trigger = local.machine.transitions[transition_index].trigger
                key = (instance.component, trigger)
                if key in followed and not composition.is_single_machine:
                    continue
                requires = []
                for guard in guards.get(key, []):
                    if guard.requires == composition.component(instance.component).parent:
                        required_instance = instance.parent
                    else:
                        required_instance = instances_of(guard.requires)[0] if instances_of(guard.requires) else None
                    if required_instance is None:
                        continue
                    requires.append((required_instance, allowed_configs(instances[required_instance].local, guard)))
                followers = []
                refused = local.machine.transitions[transition_index].outcome == "refused"
                # A refused operation changes nothing, so it drags no follower along.
                for sync in ([] if refused else leading.get(key, [])):
                    for component_name, follower_trigger in sync.followers:
                        children = [i for i in instances_of(component_name) if instances[i].parent == instance_index]
                        targets = children if children or composition.component(component_name).parent == instance.component else instances_of(component_name)
                        for follower_index in targets:
                            follower_local = instances[follower_index].local
                            table = {}
                            for follower_config in range(len(follower_local.configs)):
                                nxt = follower_local.next_config(follower_config, follower_trigger)
                                if nxt is not None:
                                    table[follower_config] = nxt
                            followers.append(FollowerStep(instance=follower_index, table=table, trigger=follower_trigger, mode=sync.mode))
                text = f"{instance.name}.{local.machine.transitions[transition_index].label}"
                if text not in label_index:
                    label_index[text] = len(labels)
                    labels.append(text)
                config_moves.append(Move(instance=instance_index, transition=transition_index, target=target,
                                         label=label_index[text], requires=tuple(requires), followers=tuple(followers)))
            per_config.append(config_moves)
        moves.append(per_config)
    initial = tuple(instance.local.initial for instance in instances)
    system = System(composition=composition, parameters=values if not composition.is_single_machine else {},
                    instances=instances, moves=moves, labels=labels, initial=initial, _locals=locals_)
    log.info("compiled %s: %d instances, %d labels", system.name, len(instances), len(labels))
    return system
