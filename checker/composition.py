"""Compositions: several machines working together, as written in a composition file.

A composition names its components (each a machine, replicated ``count`` times, optionally
once per instance of a parent component), the synchronizations that make one component's
step drag other components along (a Deployment Unit's install creating its Execution Units),
and guards that make a step depend on another component's state. A single machine is the
composition of one component, so every engine and report handles both alike.
"""

from __future__ import annotations

import logging
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError, Problem
from .loader import IDENTIFIER, ProblemCollector, load_machine
from .model import Machine
from .yamlsource import line_of, load_yaml

__all__ = [
    "Component",
    "Synchronization",
    "Guard",
    "Composition",
    "load_composition",
    "load_model",
    "is_composition_document",
    "nested_display_name",
]

log = logging.getLogger(__name__)

COMPOSITION_KEYS = ("composition", "title", "description", "parameters", "components", "synchronizations", "guards")
COMPONENT_KEYS = ("name", "machine", "count", "parent", "description")
SYNC_KEYS = ("leader", "followers", "mode", "description", "spec")
GUARD_KEYS = ("trigger", "requires", "description", "spec")
REQUIRES_KEYS = ("component", "states", "observe")
PARAMETER_KEYS = ("default", "description")
SYNC_MODES = ("all", "enabled")


@dataclass(frozen=True)
class Component:
    name: str
    machine: Machine
    count: str | int = 1
    parent: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Synchronization:
    """When ``leader`` takes ``leader_trigger``, each follower takes its trigger in the same step."""

    leader: str
    leader_trigger: str
    followers: tuple[tuple[str, str], ...]
    mode: str = "all"
    spec: str = ""
    line: int = 0


@dataclass(frozen=True)
class Guard:
    """``component.trigger`` may fire only while ``requires`` is in one of ``states``
    and shows the ``observe`` values."""

    component: str
    trigger: str
    requires: str
    states: tuple[str, ...] = ()
    observe: tuple[tuple[str, Any], ...] = ()
    spec: str = ""
    line: int = 0


@dataclass(frozen=True)
class Composition:
    id: str
    title: str
    file: str
    components: tuple[Component, ...]
    parameters: tuple[tuple[str, int, str], ...] = ()
    synchronizations: tuple[Synchronization, ...] = ()
    guards: tuple[Guard, ...] = ()
    is_single_machine: bool = False

    @classmethod
    def of_machine(cls, machine: Machine) -> "Composition":
        """A machine on its own, as a composition of one component."""
        return cls(
            id=machine.id,
            title=machine.title,
            file=machine.file,
            components=(Component(name=machine.id, machine=machine),),
            is_single_machine=True,
        )

    def component(self, name: str) -> Component:
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(name)

    def parameter_defaults(self) -> dict[str, int]:
        return {name: default for name, default, _ in self.parameters}

    @property
    def machines(self) -> list[Machine]:
        unique: dict[str, Machine] = {}
        for component in self.components:
            unique.setdefault(component.machine.id, component.machine)
        return list(unique.values())


def is_composition_document(document: Any) -> bool:
    return isinstance(document, dict) and "composition" in document


def load_model(path: Path, display_name: str | None = None,
               machine_cache: dict[Path, Machine] | None = None) -> Composition:
    """Load a machine file or a composition file; either way return a Composition."""
    name = display_name or str(path)
    document = load_yaml(path, name)
    if is_composition_document(document):
        return composition_from_document(document, path, name, machine_cache)
    from .loader import machine_from_document

    machine = machine_from_document(document, name, default_id=path.stem.replace("-", "_"))
    if machine_cache is not None:
        machine_cache[path.resolve()] = machine
    return Composition.of_machine(machine)


def load_composition(path: Path, display_name: str | None = None) -> Composition:
    name = display_name or str(path)
    document = load_yaml(path, name)
    return composition_from_document(document, path, name)


def nested_display_name(referrer: str, reference: str) -> str:
    """How a file named inside another is reported: relative to the referring file's own name,
    without ``..`` detours (``maps/../host.yaml`` reads ``host.yaml``), so that the same file
    has one name however it is reached."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(Path(referrer).as_posix()), reference))


def _split_dotted(text: Any) -> tuple[str, str] | None:
    if not isinstance(text, str) or text.count(".") != 1:
        return None
    component, trigger = text.split(".")
    return component, trigger


def composition_from_document(document: Any, path: Path, file: str,
                              machine_cache: dict[Path, Machine] | None = None) -> Composition:
    problems = ProblemCollector(file)
    if not isinstance(document, dict):
        problems.add(line_of(document), "composition-shape", "a composition file is a mapping")
        problems.raise_if_any()
    problems.unknown_keys(document, COMPOSITION_KEYS, "a composition file")
    composition_id = str(document.get("composition") or path.stem.replace("-", "_"))
    if not IDENTIFIER.match(composition_id):
        problems.add(line_of(document, "composition"), "identifier", f"composition id {composition_id!r} is not an identifier", name=composition_id)

    parameters = []
    section = document.get("parameters") or {}
    if not isinstance(section, dict):
        problems.add(line_of(document, "parameters"), "parameters-shape", "`parameters` maps a name to {default, description}")
        section = {}
    for name, spec in section.items():
        line = line_of(section, name)
        default = spec.get("default") if isinstance(spec, dict) else spec
        if isinstance(spec, dict):
            problems.unknown_keys(spec, PARAMETER_KEYS, f"parameter {name!r}")
        if not isinstance(name, str) or not IDENTIFIER.match(name):
            problems.add(line, "identifier", f"parameter name {name!r} is not an identifier", name=name)
        elif type(default) is not int or default < 0:
            problems.add(line, "parameter-default", f"parameter {name!r} needs a non-negative integer default", name=name)
        else:
            description = str(spec.get("description", "")) if isinstance(spec, dict) else ""
            parameters.append((name, default, description))
    parameter_names = [name for name, _, _ in parameters]

    components: list[Component] = []
    section = document.get("components")
    if not isinstance(section, list) or not section:
        problems.add(line_of(document, "components") if "components" in document else line_of(document), "components-shape", "`components` is a non-empty list")
        section = []
    nested_problems: list[Problem] = []
    for index, item in enumerate(section):
        line = line_of(section, index)
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not isinstance(item.get("machine"), str):
            problems.add(line, "component-shape", "a component needs a `name` and a `machine` file")
            continue
        problems.unknown_keys(item, COMPONENT_KEYS, f"component {item['name']!r}")
        name = item["name"]
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            problems.add(line, "identifier", f"component name {name!r} must be letters, digits and _", name=name)
        if name in [component.name for component in components]:
            problems.add(line, "duplicate-name", f"component {name!r} is declared twice", name=name)
        machine_path = (path.parent / item["machine"]).resolve()
        machine = machine_cache.get(machine_path) if machine_cache is not None else None
        if machine is None:
            if not machine_path.is_file():
                problems.add(line_of(item, "machine"), "unknown-file", f"component {name!r}: machine file {item['machine']!r} does not exist", name=item["machine"],
                             candidates=[p.name for p in path.parent.glob("*.yaml")])
                continue
            try:
                machine = load_machine(machine_path, nested_display_name(file, item["machine"]))
            except InputError as error:
                nested_problems.extend(error.problems)
                continue
            if machine_cache is not None:
                machine_cache[machine_path] = machine
        count = item.get("count", 1)
        if isinstance(count, str):
            if count not in parameter_names:
                problems.add(line_of(item, "count"), "unknown-parameter", f"component {name!r} count {count!r} is not a parameter", name=count, candidates=parameter_names)
                count = 1
        elif type(count) is not int or count < 0:
            problems.add(line_of(item, "count"), "component-count", f"component {name!r} count must be a parameter name or a non-negative integer", name=name)
            count = 1
        parent = item.get("parent")
        if parent is not None and not isinstance(parent, str):
            problems.add(line_of(item, "parent"), "component-parent", f"component {name!r}: `parent` is a component name", name=name)
            parent = None
        components.append(Component(name=name, machine=machine, count=count, parent=parent, line=line))

    by_name = {component.name: component for component in components}
    for component in components:
        if component.parent is not None:
            if component.parent not in by_name:
                problems.add(component.line, "unknown-component", f"component {component.name!r} has unknown parent {component.parent!r}", name=component.parent, candidates=by_name)
            elif by_name[component.parent].parent is not None or component.parent == component.name:
                problems.add(component.line, "component-parent", f"component {component.name!r}: a parent must itself have no parent", name=component.parent)

    def check_trigger(text: Any, line: int, what: str) -> tuple[str, str] | None:
        split = _split_dotted(text)
        if split is None:
            problems.add(line, "trigger-reference", f"{what} {text!r} must read component.trigger", name=text)
            return None
        component_name, trigger = split
        if component_name not in by_name:
            problems.add(line, "unknown-component", f"{what} {text!r} names unknown component {component_name!r}", name=component_name, candidates=by_name)
            return None
        triggers = by_name[component_name].machine.triggers
        if trigger not in triggers:
            problems.add(line, "unknown-trigger", f"{what} {text!r}: machine {by_name[component_name].machine.id!r} has no trigger {trigger!r}", name=trigger, candidates=triggers)
            return None
        return split

    synchronizations = []
    section = document.get("synchronizations") or []
    if not isinstance(section, list):
        problems.add(line_of(document, "synchronizations"), "synchronization-shape", "`synchronizations` is a list of {leader, followers}")
        section = []
    for index, item in enumerate(section):
        line = line_of(section, index)
        if not isinstance(item, dict):
            problems.add(line, "synchronization-shape", "a synchronization has a `leader` and `followers`")
            continue
        problems.unknown_keys(item, SYNC_KEYS, "a synchronization")
        leader = check_trigger(item.get("leader"), line_of(item, "leader"), "leader")
        followers = []
        follower_list = item.get("followers")
        if isinstance(follower_list, str):
            follower_list = [follower_list]
        if not isinstance(follower_list, list) or not follower_list:
            problems.add(line, "synchronization-shape", "`followers` lists component.trigger names")
            follower_list = []
        for position, text in enumerate(follower_list):
            follower = check_trigger(text, line_of(follower_list, position) or line, "follower")
            if follower is not None:
                if leader is not None and follower[0] == leader[0]:
                    problems.add(line, "synchronization-self", f"follower {text!r} belongs to the leader's own component", name=text)
                else:
                    followers.append(follower)
        mode = item.get("mode", "all")
        if mode not in SYNC_MODES:
            problems.add(line_of(item, "mode"), "synchronization-mode", f"mode {mode!r} is not one of {', '.join(SYNC_MODES)}", name=mode, candidates=SYNC_MODES)
            mode = "all"
        if leader is not None and followers:
            synchronizations.append(Synchronization(leader=leader[0], leader_trigger=leader[1], followers=tuple(followers), mode=mode, spec=str(item.get("spec", "")), line=line))

    followed = {(c, t) for sync in synchronizations for c, t in sync.followers}
    for sync in synchronizations:
        if (sync.leader, sync.leader_trigger) in followed:
            problems.add(sync.line, "synchronization-chain", f"{sync.leader}.{sync.leader_trigger} is both a leader and a follower; chains are not supported", name=f"{sync.leader}.{sync.leader_trigger}")

    guards = []
    section = document.get("guards") or []
    if not isinstance(section, list):
        problems.add(line_of(document, "guards"), "guard-shape", "`guards` is a list of {trigger, requires}")
        section = []
    for index, item in enumerate(section):
        line = line_of(section, index)
        if not isinstance(item, dict) or not isinstance(item.get("requires"), dict):
            problems.add(line, "guard-shape", "a guard has a `trigger` and `requires: {component, states, observe}`")
            continue
        problems.unknown_keys(item, GUARD_KEYS, "a guard")
        requires = item["requires"]
        problems.unknown_keys(requires, REQUIRES_KEYS, "`requires`")
        target = check_trigger(item.get("trigger"), line_of(item, "trigger"), "guarded trigger")
        required_name = requires.get("component")
        if not isinstance(required_name, str) or required_name not in by_name:
            problems.add(line_of(requires, "component"), "unknown-component", f"guard requires unknown component {required_name!r}", name=required_name, candidates=by_name)
            continue
        required = by_name[required_name]
        states = requires.get("states") or []
        states = [states] if isinstance(states, str) else states
        if not isinstance(states, list):
            problems.add(line_of(requires, "states"), "guard-shape", "`states` lists state names")
            states = []
        for state in states:
            if state not in required.machine.state_names:
                problems.add(line_of(requires, "states"), "unknown-state", f"guard: {required.machine.id!r} has no state {state!r}", name=state, candidates=required.machine.state_names)
        observe = []
        observe_map = requires.get("observe") or {}
        if not isinstance(observe_map, dict):
            problems.add(line_of(requires, "observe"), "guard-shape", "`observe` maps observable names to values")
            observe_map = {}
        for obs_name, value in observe_map.items():
            names = [o.name for o in required.machine.observables]
            if obs_name not in names:
                problems.add(line_of(requires, "observe"), "unknown-observable", f"guard: {required.machine.id!r} has no observable {obs_name!r}", name=obs_name, candidates=names)
            elif value is not None and value not in required.machine.observable(obs_name).values:
                problems.add(line_of(requires, "observe"), "unknown-value", f"guard: {value!r} is not a value of {obs_name!r}", name=value, candidates=required.machine.observable(obs_name).values)
            else:
                observe.append((obs_name, value))
        if target is None:
            continue
        component = by_name[target[0]]
        if required.name != component.parent and (required.count != 1 or required.parent is not None):
            problems.add(line, "guard-ambiguous", f"guard on {target[0]}.{target[1]} requires {required.name!r}, which is neither its parent nor a single instance", name=required.name)
            continue
        if target in followed:
            problems.add(line, "guard-on-follower", f"{target[0]}.{target[1]} is a follower; guard its leader instead", name=f"{target[0]}.{target[1]}")
            continue
        guards.append(Guard(component=target[0], trigger=target[1], requires=required.name, states=tuple(states), observe=tuple(observe), spec=str(item.get("spec", "")), line=line))

    problems.problems.extend(nested_problems)
    problems.raise_if_any()
    return Composition(
        id=composition_id,
        title=str(document.get("title") or composition_id),
        file=file,
        components=tuple(components),
        parameters=tuple(parameters),
        synchronizations=tuple(synchronizations),
        guards=tuple(guards),
    )
