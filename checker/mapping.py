"""Mapping files: a candidate correspondence between a SCOMO and a TR-069 composition.

A mapping pairs components of the two compositions (``machines``), gives each SCOMO state of
a paired component its images among the states of the paired TR-069 component (``states``,
each image optionally qualified by observable values), and gives each SCOMO operation the
sequences of TR-069 operations that stand for it (``operations``: one sequence, several
alternative sequences, or none at all). The format is described in docs/mapping-format.md.

Loading validates every rule of that document and reports every problem of the file in one
:class:`~checker.errors.InputError`, each with file:line, the rule, the offending name and the
closest valid name. Problems inside the two composition files propagate unchanged.

Two choices the format document leaves implicit are made here:

- states and operations may only be mapped for a SCOMO component that ``machines`` pairs
  (``unpaired-component``), and their TR-069 names must belong to the paired component;
- an alternative is a non-empty sequence, so that "mapped to nothing" is always
  ``alternatives == ()`` (written ``tr069: []``), never an empty alternative among others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import catalog
from .composition import Composition, _split_dotted, load_model, nested_display_name
from .errors import InputError, Problem
from .loader import IDENTIFIER, ProblemCollector, _check_values
from .model import Machine
from .yamlsource import LocatedList, line_of, load_yaml

__all__ = [
    "MAPPING_KEYS",
    "MACHINE_PAIR_KEYS",
    "STATE_ENTRY_KEYS",
    "STATE_IMAGE_KEYS",
    "OPERATION_ENTRY_KEYS",
    "StateImage",
    "StateEntry",
    "OperationEntry",
    "MachinePair",
    "Mapping",
    "load_mapping",
    "mapping_from_document",
]

log = logging.getLogger(__name__)

MAPPING_KEYS = ("mapping", "title", "description", "scomo", "tr069", "machines", "states", "operations")
MACHINE_PAIR_KEYS = ("scomo", "tr069", "rationale")
STATE_ENTRY_KEYS = ("scomo", "tr069", "rationale")
STATE_IMAGE_KEYS = ("state", "when")
OPERATION_ENTRY_KEYS = ("scomo", "tr069", "alternatives", "rationale")


@dataclass(frozen=True)
class StateImage:
    """A TR-069 state ``component.state``, counted only while its observables show ``when``."""

    component: str
    state: str
    when: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class StateEntry:
    """SCOMO ``scomo_component.scomo_state`` corresponds to any one of ``images``;
    no image at all means the state is mapped to nothing."""

    scomo_component: str
    scomo_state: str
    images: tuple[StateImage, ...]
    rationale: str
    line: int = 0

    @property
    def maps_to_nothing(self) -> bool:
        return not self.images


@dataclass(frozen=True)
class OperationEntry:
    """SCOMO ``scomo_component.scomo_trigger`` corresponds to any one of ``alternatives``,
    each a non-empty sequence of TR-069 ``(component, trigger)`` operations, in order.
    ``alternatives == ()`` means the operation is mapped to nothing (``tr069: []``)."""

    scomo_component: str
    scomo_trigger: str
    alternatives: tuple[tuple[tuple[str, str], ...], ...]
    rationale: str
    line: int = 0

    @property
    def maps_to_nothing(self) -> bool:
        return not self.alternatives


@dataclass(frozen=True)
class MachinePair:
    """The SCOMO component ``scomo`` corresponds to the TR-069 component ``tr069``."""

    scomo: str
    tr069: str
    rationale: str
    line: int = 0


@dataclass(frozen=True)
class Mapping:
    """A validated mapping file, with the two compositions it relates."""

    id: str
    title: str
    file: str
    scomo: Composition
    tr069: Composition
    machines: tuple[MachinePair, ...]
    states: tuple[StateEntry, ...] = ()
    operations: tuple[OperationEntry, ...] = ()
    description: str = ""

    def paired_tr069_component(self, scomo_component: str) -> str | None:
        """The TR-069 component paired with ``scomo_component``, if any."""
        for pair in self.machines:
            if pair.scomo == scomo_component:
                return pair.tr069
        return None

    def state_entry(self, component: str, state: str) -> StateEntry | None:
        for entry in self.states:
            if entry.scomo_component == component and entry.scomo_state == state:
                return entry
        return None

    def operation_entry(self, component: str, trigger: str) -> OperationEntry | None:
        for entry in self.operations:
            if entry.scomo_component == component and entry.scomo_trigger == trigger:
                return entry
        return None

    def _paired_scomo_components(self):
        paired = {pair.scomo for pair in self.machines}
        return [component for component in self.scomo.components if component.name in paired]

    def unmapped_states(self) -> list[tuple[str, str]]:
        """SCOMO states of paired components that have no entry, in model order."""
        mapped = {(entry.scomo_component, entry.scomo_state) for entry in self.states}
        return [
            (component.name, state.name)
            for component in self._paired_scomo_components()
            for state in component.machine.states
            if (component.name, state.name) not in mapped
        ]

    def unmapped_operations(self) -> list[tuple[str, str]]:
        """SCOMO operations (triggers of kind ``operation``) of paired components that have
        no entry, in model order."""
        mapped = {(entry.scomo_component, entry.scomo_trigger) for entry in self.operations}
        return [
            (component.name, trigger)
            for component in self._paired_scomo_components()
            for trigger in _operations(component.machine)
            if (component.name, trigger) not in mapped
        ]


def _operations(machine: Machine) -> list[str]:
    """Triggers with at least one transition of kind ``operation``, in order of appearance."""
    return list(dict.fromkeys(t.trigger for t in machine.transitions if t.kind == "operation"))


def _trigger_kinds(machine: Machine, trigger: str) -> list[str]:
    return list(dict.fromkeys(t.kind for t in machine.transitions if t.trigger == trigger))


def _is_builtin(path: Path) -> bool:
    try:
        path.resolve().relative_to(catalog.builtin_models_dir().resolve())
    except ValueError:
        return False
    return True


def load_mapping(path: Path, display_name: str | None = None) -> Mapping:
    """Read, validate and return the mapping in ``path`` with the two compositions it names."""
    path = Path(path)
    builtin = _is_builtin(path)
    name = display_name or (catalog.display_name(path) if builtin else str(path))
    document = load_yaml(path, name)
    return mapping_from_document(document, path, name)


class _Side:
    """One side of the mapping (SCOMO or TR-069): its composition, if it loaded."""

    def __init__(self, label: str, key: str, composition: Composition | None):
        self.label = label
        self.key = key
        self.composition = composition

    @property
    def component_names(self) -> list[str]:
        return [] if self.composition is None else [c.name for c in self.composition.components]

    def machine(self, component: str) -> Machine:
        assert self.composition is not None
        return self.composition.component(component).machine


def mapping_from_document(document: Any, path: Path, file: str) -> Mapping:
    """Validate a parsed mapping document; raise InputError with every problem found.

    ``path`` is the mapping file on disk (composition paths are relative to it), ``file`` the
    name it is reported under."""
    problems = ProblemCollector(file)
    if not isinstance(document, dict):
        problems.add(line_of(document), "mapping-shape", "a mapping file is a mapping with `scomo`, `tr069` and `machines`")
        problems.raise_if_any()
    problems.unknown_keys(document, MAPPING_KEYS, "a mapping file")

    mapping_id = _text(document.get("mapping")) or Path(path).stem.replace("-", "_")
    if not IDENTIFIER.match(mapping_id):
        problems.add(line_of(document, "mapping"), "identifier", f"mapping id {mapping_id!r} is not an identifier", name=mapping_id)

    nested: list[Problem] = []
    cache: dict[Path, Machine] = {}
    scomo = _Side("SCOMO", "scomo", _load_side(document, "scomo", path, file, problems, nested, cache))
    tr069 = _Side("TR-069", "tr069", _load_side(document, "tr069", path, file, problems, nested, cache))

    machines, pairing = _load_pairs(document, problems, scomo, tr069)
    states = _load_states(document, problems, scomo, tr069, pairing)
    operations = _load_operations(document, problems, scomo, tr069, pairing)

    problems.problems.extend(nested)
    problems.raise_if_any()
    assert scomo.composition is not None and tr069.composition is not None
    mapping = Mapping(
        id=mapping_id,
        title=_text(document.get("title")) or mapping_id,
        file=file,
        scomo=scomo.composition,
        tr069=tr069.composition,
        machines=tuple(machines),
        states=tuple(states),
        operations=tuple(operations),
        description=_text(document.get("description")),
    )
    log.debug("mapping %s: %d machine pairs, %d state entries, %d operation entries",
              mapping.id, len(machines), len(states), len(operations))
    return mapping


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _load_side(document: dict, key: str, path: Path, file: str, problems: ProblemCollector,
               nested: list[Problem], cache: dict[Path, Machine]) -> Composition | None:
    text = document.get(key)
    if not isinstance(text, str) or not text.strip():
        line = line_of(document, key) if key in document else line_of(document)
        label = "SCOMO" if key == "scomo" else "TR-069"
        problems.add(line, "missing-composition", f"`{key}` must name the {label} composition file, relative to this file", name=key)
        return None
    target = (path.parent / text).resolve()
    if not target.is_file():
        prefix = text.rsplit("/", 1)[0] + "/" if "/" in text else ""
        directory = target.parent
        candidates = [prefix + candidate.name for candidate in sorted(directory.glob("*.yaml"))] if directory.is_dir() else []
        problems.add(line_of(document, key), "unknown-file", f"`{key}`: composition file {text!r} does not exist", name=text, candidates=candidates)
        return None
    display = catalog.display_name(target) if _is_builtin(target) else nested_display_name(file, text)
    try:
        return load_model(target, display, machine_cache=cache)
    except InputError as error:
        nested.extend(error.problems)
        return None


def _rationale(item: dict, problems: ProblemCollector, line: int, what: str, name: Any) -> str:
    rationale = item.get("rationale")
    text = rationale.strip() if isinstance(rationale, str) else ""
    if not text:
        problems.add(line_of(item, "rationale") if "rationale" in item else line, "missing-rationale",
                     f"{what} needs a non-empty `rationale`", name=name)
    return text


def _section(document: dict, key: str, problems: ProblemCollector, required: bool) -> list:
    section = document.get(key)
    if section is None and not required:
        return []
    if not isinstance(section, list) or (required and not section):
        line = line_of(document, key) if key in document else line_of(document)
        expectation = "a non-empty list" if required else "a list"
        problems.add(line, f"{key}-shape", f"`{key}` is {expectation} of entries", name=key)
        return []
    return section


def _load_pairs(document: dict, problems: ProblemCollector, scomo: _Side,
                tr069: _Side) -> tuple[list[MachinePair], dict[str, str | None]]:
    """The valid pairs, and each SCOMO component ``machines`` names with its TR-069 component
    (None if its pair is invalid, so that entries about it raise no second problem)."""
    pairs: list[MachinePair] = []
    pairing: dict[str, str | None] = {}
    first_line: dict[tuple[str, str], int] = {}
    section = _section(document, "machines", problems, required=True)
    for index, item in enumerate(section):
        line = line_of(section, index)
        if not isinstance(item, dict) or not isinstance(item.get("scomo"), str) or not isinstance(item.get("tr069"), str):
            problems.add(line, "machine-pair-shape", "a machine pair has `scomo` and `tr069` component names and a `rationale`")
            continue
        problems.unknown_keys(item, MACHINE_PAIR_KEYS, "a machine pair")
        rationale = _rationale(item, problems, line, f"machine pair {item['scomo']}/{item['tr069']}", item["scomo"])
        known = True
        for side in (scomo, tr069):
            component = item[side.key]
            if side.composition is not None and component not in side.component_names:
                problems.add(line_of(item, side.key), "unknown-component",
                             f"the {side.label} composition {side.composition.id!r} has no component {component!r}",
                             name=component, candidates=side.component_names)
                known = False
        for side in (scomo, tr069):
            component = item[side.key]
            earlier = first_line.get((side.key, component))
            if earlier is not None:
                problems.add(line_of(item, side.key), "duplicate-pairing",
                             f"{side.label} component {component!r} is already paired (line {earlier})", name=component)
                known = False
            else:
                first_line[(side.key, component)] = line
        if known:
            pairs.append(MachinePair(scomo=item["scomo"], tr069=item["tr069"], rationale=rationale, line=line))
            pairing[item["scomo"]] = item["tr069"]
        else:
            pairing.setdefault(item["scomo"], None)
    return pairs, pairing


def _scomo_reference(item: dict, problems: ProblemCollector, scomo: _Side, pairing: dict[str, str | None],
                     what: str) -> tuple[str, str] | None:
    """Check the entry's ``scomo: component.name``; return it split, or None if unusable."""
    text = item.get("scomo")
    line = line_of(item, "scomo")
    split = _split_dotted(text)
    if split is None:
        problems.add(line, f"{what}-reference", f"`scomo` {text!r} must read component.{what}", name=text)
        return None
    component, _ = split
    if scomo.composition is None:
        return split
    if component not in scomo.component_names:
        problems.add(line, "unknown-component", f"{text!r}: the SCOMO composition {scomo.composition.id!r} has no component {component!r}",
                     name=component, candidates=scomo.component_names)
        return None
    if component not in pairing:
        problems.add(line, "unpaired-component", f"{text!r}: component {component!r} is not paired in `machines`",
                     name=component, candidates=list(pairing))
        return None
    if pairing[component] is None:  # its pair in `machines` is invalid and already reported
        return None
    return split


def _wrong_component(problems: ProblemCollector, line: int, text: str, component: str, paired: str,
                     scomo_component: str, what: str) -> None:
    # The only valid component is the paired one; name it even when it looks nothing like the
    # offending one (eu against du), which the closest-name search would not.
    problems.problems.append(Problem(
        file=problems.file, line=line, rule="unpaired-component",
        message=f"{text!r}: {scomo_component!r} is paired with {paired!r}, so its {what} may only map to {what} of {paired!r}",
        name=component, suggestion=paired,
    ))


def _check_duplicate(key: tuple[str, str], line: int, seen: dict[tuple[str, str], int],
                     problems: ProblemCollector, what: str) -> bool:
    earlier = seen.get(key)
    name = ".".join(key)
    if earlier is not None:
        problems.add(line, "duplicate-mapping", f"SCOMO {what} {name!r} is already mapped (line {earlier})", name=name)
        return True
    seen[key] = line
    return False


def _load_states(document: dict, problems: ProblemCollector, scomo: _Side, tr069: _Side,
                 pairing: dict[str, str | None]) -> list[StateEntry]:
    entries: list[StateEntry] = []
    seen: dict[tuple[str, str], int] = {}
    section = _section(document, "states", problems, required=False)
    for index, item in enumerate(section):
        line = line_of(section, index)
        if not isinstance(item, dict) or "scomo" not in item:
            problems.add(line, "state-entry-shape", "a state entry has `scomo: component.state`, `tr069` and a `rationale`")
            continue
        problems.unknown_keys(item, STATE_ENTRY_KEYS, "a state entry")
        rationale = _rationale(item, problems, line, f"state entry {item['scomo']!r}", item["scomo"])
        reference = _scomo_reference(item, problems, scomo, pairing, "state")
        valid = reference is not None
        if reference is not None and scomo.composition is not None:
            component, state = reference
            states = scomo.machine(component).state_names
            if state not in states:
                problems.add(line_of(item, "scomo"), "unknown-state",
                             f"{item['scomo']!r}: machine {scomo.machine(component).id!r} has no state {state!r}",
                             name=state, candidates=states)
                valid = False
            elif _check_duplicate(reference, line, seen, problems, "state"):
                valid = False
        images = _load_images(item, line, problems, tr069, pairing.get(reference[0]) if reference else None,
                              reference[0] if reference else None)
        if images is None:
            valid = False
        if valid:
            entries.append(StateEntry(scomo_component=reference[0], scomo_state=reference[1],
                                      images=tuple(images), rationale=rationale, line=line))
    return entries


def _load_images(item: dict, line: int, problems: ProblemCollector, tr069: _Side, paired: str | None,
                 scomo_component: str | None) -> list[StateImage] | None:
    """The images of one state entry, or None if any is invalid."""
    if "tr069" not in item:
        problems.add(line, "missing-tr069", f"state entry {item.get('scomo')!r} needs `tr069`: a list of TR-069 states ([] for none)",
                     name=item.get("scomo"))
        return None
    section = item["tr069"]
    if not isinstance(section, list):
        problems.add(line_of(item, "tr069"), "images-shape", "`tr069` of a state entry is a list of component.state names or {state, when} mappings ([] for none)")
        return None
    images: list[StateImage] = []
    valid = True
    for position, image in enumerate(section):
        image_line = line_of(section, position) if isinstance(section, LocatedList) else line_of(item, "tr069")
        when_map: Any = None
        if isinstance(image, dict):
            problems.unknown_keys(image, STATE_IMAGE_KEYS, "a state image")
            when_map = image.get("when")
            image = image.get("state")
        resolved = _tr069_reference(image, image_line, problems, tr069, paired, scomo_component, "state")
        if resolved is False:
            valid = False
            continue
        if resolved is None:
            continue
        component, state, machine = resolved
        if state not in machine.state_names:
            problems.add(image_line, "unknown-state", f"{image!r}: machine {machine.id!r} has no state {state!r}",
                         name=state, candidates=machine.state_names)
            valid = False
            continue
        observables = {observable.name: observable for observable in machine.observables}
        count = len(problems.problems)
        when = _check_values(when_map, image_line, f"{image} when", observables, problems, allow_null=True)
        if len(problems.problems) != count:
            valid = False
            continue
        image = StateImage(component=component, state=state, when=when)
        if image in images:
            problems.add(image_line, "duplicate-image", f"state entry {item.get('scomo')!r} lists the image "
                         f"{component}.{state}{' when ' + str(dict(when)) if when else ''} twice", name=item.get("scomo"))
            valid = False
            continue
        images.append(image)
    return images if valid else None


def _load_operations(document: dict, problems: ProblemCollector, scomo: _Side, tr069: _Side,
                     pairing: dict[str, str | None]) -> list[OperationEntry]:
    entries: list[OperationEntry] = []
    seen: dict[tuple[str, str], int] = {}
    section = _section(document, "operations", problems, required=False)
    for index, item in enumerate(section):
        line = line_of(section, index)
        if not isinstance(item, dict) or "scomo" not in item:
            problems.add(line, "operation-entry-shape", "an operation entry has `scomo: component.trigger`, `tr069` or `alternatives`, and a `rationale`")
            continue
        problems.unknown_keys(item, OPERATION_ENTRY_KEYS, "an operation entry")
        rationale = _rationale(item, problems, line, f"operation entry {item['scomo']!r}", item["scomo"])
        reference = _scomo_reference(item, problems, scomo, pairing, "trigger")
        valid = reference is not None
        if reference is not None and scomo.composition is not None:
            component, trigger = reference
            machine = scomo.machine(component)
            if trigger not in machine.triggers:
                problems.add(line_of(item, "scomo"), "unknown-trigger", f"{item['scomo']!r}: machine {machine.id!r} has no trigger {trigger!r}",
                             name=trigger, candidates=machine.triggers)
                valid = False
            elif "operation" not in _trigger_kinds(machine, trigger):
                problems.add(line_of(item, "scomo"), "not-an-operation",
                             f"{item['scomo']!r} is a {'/'.join(_trigger_kinds(machine, trigger))} trigger, not an operation",
                             name=trigger, candidates=_operations(machine))
                valid = False
            elif _check_duplicate(reference, line, seen, problems, "operation"):
                valid = False
        alternatives = _load_alternatives(item, line, problems, tr069, pairing.get(reference[0]) if reference else None,
                                          reference[0] if reference else None)
        if alternatives is None:
            valid = False
        if valid:
            entries.append(OperationEntry(scomo_component=reference[0], scomo_trigger=reference[1],
                                          alternatives=alternatives, rationale=rationale, line=line))
    return entries


def _load_alternatives(item: dict, line: int, problems: ProblemCollector, tr069: _Side, paired: str | None,
                       scomo_component: str | None) -> tuple[tuple[tuple[str, str], ...], ...] | None:
    """The alternatives of one operation entry (``()`` for ``tr069: []``), or None if invalid."""
    if "tr069" in item and "alternatives" in item:
        problems.add(line_of(item, "alternatives"), "tr069-and-alternatives",
                     f"operation entry {item.get('scomo')!r} has both `tr069` and `alternatives`; give one", name=item.get("scomo"))
        return None
    if "tr069" in item:
        sequence = item["tr069"]
        if not isinstance(sequence, list):
            problems.add(line_of(item, "tr069"), "sequence-shape", "`tr069` of an operation entry is a list of component.trigger names ([] for none)")
            return None
        if not sequence:
            return ()
        checked = _check_sequence(sequence, line_of(item, "tr069"), problems, tr069, paired, scomo_component)
        return None if checked is None else (checked,)
    if "alternatives" in item:
        section = item["alternatives"]
        if not isinstance(section, list) or not section:
            problems.add(line_of(item, "alternatives"), "sequence-shape", "`alternatives` is a non-empty list of non-empty component.trigger lists")
            return None
        alternatives = []
        valid = True
        for position, sequence in enumerate(section):
            sequence_line = line_of(section, position)
            if not isinstance(sequence, list) or not sequence:
                problems.add(sequence_line, "sequence-shape", "an alternative is a non-empty list of component.trigger names (write `tr069: []` for no counterpart)")
                valid = False
                continue
            checked = _check_sequence(sequence, sequence_line, problems, tr069, paired, scomo_component)
            if checked is None:
                valid = False
            elif checked in alternatives:
                problems.add(sequence_line, "duplicate-alternative",
                             f"operation entry {item.get('scomo')!r} lists the alternative "
                             f"{', '.join(f'{component}.{trigger}' for component, trigger in checked)} twice",
                             name=item.get("scomo"))
                valid = False
            else:
                alternatives.append(checked)
        return tuple(alternatives) if valid else None
    problems.add(line, "missing-tr069", f"operation entry {item.get('scomo')!r} needs `tr069` (a list, [] for none) or `alternatives`",
                 name=item.get("scomo"))
    return None


def _tr069_reference(text: Any, line: int, problems: ProblemCollector, tr069: _Side, paired: str | None,
                     scomo_component: str | None, what: str):
    """Resolve ``component.name`` on the TR-069 side: (component, name, machine); None when
    the TR-069 composition itself did not load (its problems are reported already); False
    after reporting a problem."""
    split = _split_dotted(text)
    if split is None:
        rule, form = ("state-reference", "component.state") if what == "state" else ("trigger-reference", "component.trigger")
        problems.add(line, rule, f"TR-069 {what} {text!r} must read {form}", name=text)
        return False
    component, name = split
    if tr069.composition is None:
        return None
    if component not in tr069.component_names:
        problems.add(line, "unknown-component", f"{text!r}: the TR-069 composition {tr069.composition.id!r} has no component {component!r}",
                     name=component, candidates=tr069.component_names)
        return False
    if paired is not None and component != paired:
        _wrong_component(problems, line, text, component, paired, scomo_component, f"{what}s")
        return False
    return component, name, tr069.machine(component)


def _check_sequence(sequence: list, line: int, problems: ProblemCollector, tr069: _Side, paired: str | None,
                    scomo_component: str | None) -> tuple[tuple[str, str], ...] | None:
    checked = []
    valid = True
    for position, text in enumerate(sequence):
        step_line = line_of(sequence, position) or line
        resolved = _tr069_reference(text, step_line, problems, tr069, paired, scomo_component, "operation")
        if resolved is False:
            valid = False
            continue
        if resolved is None:
            continue
        component, trigger, machine = resolved
        if trigger not in machine.triggers:
            problems.add(step_line, "unknown-trigger", f"{text!r}: machine {machine.id!r} has no trigger {trigger!r}",
                         name=trigger, candidates=machine.triggers)
            valid = False
            continue
        kinds = _trigger_kinds(machine, trigger)
        if "operation" not in kinds:
            problems.add(step_line, "not-an-operation", f"{text!r} is a {'/'.join(kinds)} trigger, not an operation the server can request",
                         name=trigger, candidates=_operations(machine))
            valid = False
            continue
        checked.append((component, trigger))
    return tuple(checked) if valid else None
