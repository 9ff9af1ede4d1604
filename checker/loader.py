"""Load and validate machine files.

Validation collects every problem of a file before raising, so that a spec editor sees them
all in one run; each problem names the file, the line, the rule broken, the offending name
and, where a name is unknown, the closest valid one.
"""

from __future__ import annotations

import difflib
import logging
import re
from pathlib import Path
from typing import Any, Iterable

from .errors import InputError, Problem
from .model import (
    OUTCOMES,
    STATE_KINDS,
    TRIGGER_KINDS,
    Assumption,
    Machine,
    Observable,
    State,
    Transition,
)
from .yamlsource import LocatedDict, LocatedList, line_of, load_yaml

__all__ = ["load_machine", "machine_from_document", "closest", "ProblemCollector"]

log = logging.getLogger(__name__)

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
MACHINE_KEYS = (
    "machine", "title", "standard", "instance", "description", "observables", "reports", "assumptions",
    "initial", "states", "transitions", "requests",
)
STATE_KEYS = ("name", "kind", "observe", "description")
TRANSITION_KEYS = (
    "trigger", "source", "dest", "kind", "outcome", "when", "set", "reports", "spec", "assumptions",
    "description",
)
OBSERVABLE_KEYS = ("values", "initial", "source", "description")
ASSUMPTION_KEYS = ("id", "statement", "source")


def closest(name: Any, candidates: Iterable[Any]) -> str | None:
    """The valid name most like ``name``, if any is close enough to be a likely typo."""
    texts = [str(candidate) for candidate in candidates]
    matches = difflib.get_close_matches(str(name), texts, n=1, cutoff=0.6)
    return matches[0] if matches else None


class ProblemCollector:
    """Gathers the problems of one file; ``raise_if_any`` ends validation with all of them."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def add(self, line: int, rule: str, message: str, name: Any = None,
            candidates: Iterable[Any] | None = None) -> None:
        suggestion = closest(name, candidates) if candidates is not None and name is not None else None
        self.problems.append(
            Problem(
                file=self.file,
                line=line,
                rule=rule,
                message=message,
                name=None if name is None else str(name),
                suggestion=suggestion,
            )
        )

    def unknown_keys(self, mapping: dict, allowed: tuple[str, ...], where: str) -> None:
        for key in mapping:
            if key not in allowed:
                # line_of() rather than mapping.line_of(): documents built in code are plain
                # dicts without line numbers, and an unknown key must be a Problem, not a crash.
                self.add(
                    line_of(mapping, key), "unknown-key", f"{where} has no key {key!r}",
                    name=key, candidates=allowed,
                )

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(self.problems)


def load_machine(path: Path, display_name: str | None = None) -> Machine:
    """Read, validate and return the machine in ``path``."""
    name = display_name or str(path)
    document = load_yaml(path, name)
    return machine_from_document(document, name, default_id=path.stem.replace("-", "_"))


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _value_matches(value: Any, allowed: tuple[Any, ...]) -> bool:
    # YAML reads `true` as a bool and `10` as an int; compare type and value so that
    # True does not match 1.
    return any(type(value) is type(candidate) and value == candidate for candidate in allowed)


def machine_from_document(document: Any, file: str, default_id: str = "machine") -> Machine:
    """Validate a parsed machine document; raise InputError with every problem found."""
    problems = ProblemCollector(file)
    if not isinstance(document, dict):
        problems.add(line_of(document), "machine-shape", "a machine file is a mapping with `states` and `transitions`")
        problems.raise_if_any()
    problems.unknown_keys(document, MACHINE_KEYS, "a machine file")

    machine_id = _text(document.get("machine")) or default_id
    if not IDENTIFIER.match(machine_id):
        problems.add(line_of(document, "machine"), "identifier", f"machine id {machine_id!r} is not an identifier", name=machine_id)

    observables = _load_observables(document.get("observables"), document, problems, "observables")
    by_name = {observable.name: observable for observable in observables}
    reports = _load_observables(document.get("reports"), document, problems, "reports")
    for report in reports:
        if report.name in by_name:
            problems.add(report.line, "duplicate-name", f"{report.name!r} is both an observable and a report", name=report.name)
    reports_by_name = {report.name: report for report in reports}
    assumptions = _load_assumptions(document.get("assumptions"), document, problems)
    states = _load_states(document.get("states"), document, problems, by_name)
    state_names = [state.name for state in states]

    initial = document.get("initial")
    if initial is None:
        initial = state_names[0] if state_names else ""
    elif str(initial) not in state_names:
        problems.add(line_of(document, "initial"), "unknown-state", f"initial state {initial!r} is not a state", name=initial, candidates=state_names)
    initial = str(initial)

    transitions = _load_transitions(document.get("transitions"), document, problems, states, by_name, reports_by_name, assumptions)

    _check_determinism(transitions, problems)
    requests = _load_requests(document.get("requests"), document, problems, transitions)
    states_by_name = {state.name: state for state in states}
    for transition in transitions:
        source_state = states_by_name.get(transition.source)
        if source_state is not None and source_state.kind == "terminal":
            problems.add(transition.line, "terminal-state", f"terminal state {transition.source!r} has an outgoing transition {transition.trigger!r}", name=transition.source)
        if transition.kind == "completion" and source_state is not None and source_state.kind != "transient":
            problems.add(transition.line, "completion-source", f"completion {transition.trigger!r} leaves {transition.source!r}, which is not transient", name=transition.trigger)

    problems.raise_if_any()
    machine = Machine(
        id=machine_id,
        title=_text(document.get("title")) or machine_id,
        file=file,
        states=tuple(states),
        initial=initial,
        transitions=tuple(transitions),
        observables=tuple(observables),
        reports=tuple(reports),
        assumptions=tuple(assumptions),
        standard=_text(document.get("standard")),
        instance=_text(document.get("instance")),
        requests=tuple(requests),
    )
    log.debug("machine %s: %d states, %d transitions", machine.id, len(states), len(transitions))
    return machine


def _load_requests(section: Any, document: LocatedDict, problems: ProblemCollector,
                   transitions: list[Transition]) -> list[tuple[str, str]]:
    """``requests``: operation trigger -> the protocol request behind it, in trigger order."""
    if section is None:
        return []
    if not isinstance(section, dict):
        problems.add(line_of(document, "requests"), "requests-shape",
                     "`requests` maps operation triggers to the protocol request behind each")
        return []
    operations = list(dict.fromkeys(t.trigger for t in transitions if t.kind == "operation"))
    kinds = {t.trigger: t.kind for t in transitions}
    found = {}
    for trigger, text in section.items():
        line = line_of(section, trigger)
        if str(trigger) in kinds and str(trigger) not in operations:
            # the device's own steps (completions, autonomous events) have no server request behind them
            problems.add(line, "request-for-non-operation", f"`requests` names {trigger!r}, a {kinds[str(trigger)]} "
                         "trigger; only operations are requested by the server", name=trigger)
        elif str(trigger) not in operations:
            problems.add(line, "unknown-trigger", f"`requests` names {trigger!r}, which is not an operation trigger of "
                         "this machine", name=trigger, candidates=operations)
        elif not isinstance(text, str) or not text.strip():
            problems.add(line, "requests-shape", f"the request for {trigger!r} is not a non-empty text", name=trigger)
        else:
            found[str(trigger)] = text.strip()
    return [(trigger, found[trigger]) for trigger in operations if trigger in found]


def _load_observables(section: Any, document: LocatedDict, problems: ProblemCollector, key: str) -> list[Observable]:
    if section is None:
        return []
    if not isinstance(section, dict):
        problems.add(line_of(document, key), f"{key}-shape", f"`{key}` maps each name to its `values`")
        return []
    observables = []
    for name, spec in section.items():
        line = line_of(section, name)
        if not isinstance(name, str) or not IDENTIFIER.match(name):
            problems.add(line, "identifier", f"observable name {name!r} is not an identifier", name=name)
            continue
        if isinstance(spec, list):
            spec = LocatedDict(values=spec)
            spec.line = line
        if not isinstance(spec, dict) or not isinstance(spec.get("values"), list) or not spec.get("values"):
            problems.add(line, "observable-values", f"observable {name!r} needs a non-empty list `values`", name=name)
            continue
        problems.unknown_keys(spec, OBSERVABLE_KEYS, f"observable {name!r}")
        values = tuple(spec["values"])
        for index, value in enumerate(values):
            if value is None or isinstance(value, (dict, list)):
                problems.add(line_of(spec["values"], index), "observable-values", f"observable {name!r}: value {value!r} must be a plain, non-null value", name=name)
            elif _value_matches(value, values[:index]):
                problems.add(line_of(spec["values"], index), "duplicate-value", f"observable {name!r} lists {value!r} twice", name=value)
        initial = spec.get("initial")
        if initial is not None and not _value_matches(initial, values):
            problems.add(line_of(spec, "initial"), "unknown-value", f"initial value {initial!r} of {name!r} is not among its values", name=initial, candidates=values)
        observables.append(Observable(name=name, values=values, initial=initial, source=_text(spec.get("source")), line=line))
    return observables


def _load_assumptions(section: Any, document: LocatedDict, problems: ProblemCollector) -> list[Assumption]:
    assumptions: list[Assumption] = []
    if section is None:
        return assumptions
    if not isinstance(section, list):
        problems.add(line_of(document, "assumptions"), "assumptions-shape", "`assumptions` is a list of {id, statement, source}")
        return assumptions
    seen = set()
    for index, item in enumerate(section):
        line = line_of(section, index)
        if not isinstance(item, dict) or not item.get("id") or not item.get("statement"):
            problems.add(line, "assumption-shape", "an assumption needs an `id` and a `statement`")
            continue
        problems.unknown_keys(item, ASSUMPTION_KEYS, "an assumption")
        assumption_id = str(item["id"])
        if assumption_id in seen:
            problems.add(line, "duplicate-name", f"assumption {assumption_id!r} is declared twice", name=assumption_id)
        seen.add(assumption_id)
        assumptions.append(Assumption(id=assumption_id, statement=_text(item["statement"]), source=_text(item.get("source")), line=line))
    return assumptions


def _check_values(mapping: Any, line: int, what: str, observables: dict[str, Observable],
                  problems: ProblemCollector, allow_null: bool) -> tuple[tuple[str, Any], ...]:
    if mapping is None:
        return ()
    if not isinstance(mapping, dict):
        problems.add(line, "values-shape", f"{what} maps observable names to values")
        return ()
    checked = []
    for name, value in mapping.items():
        key_line = line_of(mapping, name)
        observable = observables.get(name)
        if observable is None:
            problems.add(key_line, "unknown-observable", f"{what} names observable {name!r}, which is not declared", name=name, candidates=observables)
            continue
        if value is None and allow_null:
            checked.append((name, None))
            continue
        if not _value_matches(value, observable.values):
            problems.add(key_line, "unknown-value", f"{what}: {value!r} is not a value of {name!r}", name=value, candidates=observable.values)
            continue
        checked.append((name, value))
    return tuple(checked)


def _load_states(section: Any, document: LocatedDict, problems: ProblemCollector,
                 observables: dict[str, Observable]) -> list[State]:
    states: list[State] = []
    if not isinstance(section, list) or not section:
        problems.add(line_of(document, "states") if "states" in document else line_of(document), "states-shape", "`states` is a non-empty list of state names or mappings")
        return states
    seen: set[str] = set()
    for index, item in enumerate(section):
        line = line_of(section, index)
        if isinstance(item, str):
            item = LocatedDict(name=item)
            item.line = line
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            problems.add(line, "state-shape", "a state is a name or a mapping with `name`")
            continue
        problems.unknown_keys(item, STATE_KEYS, f"state {item['name']!r}")
        name = item["name"]
        if not IDENTIFIER.match(name):
            problems.add(line, "identifier", f"state name {name!r} is not an identifier", name=name)
        if name in seen:
            problems.add(line, "duplicate-name", f"state {name!r} is declared twice", name=name)
        seen.add(name)
        kind = item.get("kind", "stable")
        if kind not in STATE_KINDS:
            problems.add(line_of(item, "kind"), "state-kind", f"state {name!r} has kind {kind!r}; expected one of {', '.join(STATE_KINDS)}", name=kind, candidates=STATE_KINDS)
            kind = "stable"
        observe = _check_values(item.get("observe"), line_of(item, "observe"), f"state {name!r} observe", observables, problems, allow_null=True)
        states.append(State(name=name, kind=kind, observe=observe, description=_text(item.get("description")), line=line))
    return states


def _load_transitions(section: Any, document: LocatedDict, problems: ProblemCollector,
                      states: list[State], observables: dict[str, Observable],
                      reports: dict[str, Observable], assumptions: list[Assumption]) -> list[Transition]:
    transitions: list[Transition] = []
    if section is None:
        return transitions
    if not isinstance(section, list):
        problems.add(line_of(document, "transitions"), "transitions-shape", "`transitions` is a list of mappings with trigger, source and dest")
        return transitions
    state_names = [state.name for state in states]
    states_by_name = {state.name: state for state in states}
    assumption_ids = [assumption.id for assumption in assumptions]
    for index, item in enumerate(section):
        line = line_of(section, index)
        if isinstance(item, list) and len(item) == 3:
            # transitions also accepts [trigger, source, dest] lists
            item = LocatedDict(trigger=item[0], source=item[1], dest=item[2])
            item.line = line
        if not isinstance(item, dict):
            problems.add(line, "transition-shape", "a transition is a mapping with trigger, source and dest")
            continue
        problems.unknown_keys(item, TRANSITION_KEYS, "a transition")
        trigger = item.get("trigger")
        if not isinstance(trigger, str) or not IDENTIFIER.match(trigger):
            problems.add(line_of(item, "trigger"), "identifier", f"trigger {trigger!r} is missing or not an identifier", name=trigger)
            continue
        kind = item.get("kind", "operation")
        if kind not in TRIGGER_KINDS:
            problems.add(line_of(item, "kind"), "trigger-kind", f"transition {trigger!r} has kind {kind!r}; expected one of {', '.join(TRIGGER_KINDS)}", name=kind, candidates=TRIGGER_KINDS)
            kind = "operation"
        outcome = item.get("outcome", "success")
        if outcome not in OUTCOMES:
            problems.add(line_of(item, "outcome"), "outcome", f"transition {trigger!r} has outcome {outcome!r}; expected one of {', '.join(OUTCOMES)}", name=outcome, candidates=OUTCOMES)
            outcome = "success"

        sources_value = item.get("source")
        if sources_value == "*":
            sources = list(state_names)
        else:
            sources = _as_list(sources_value)
        if not sources:
            problems.add(line_of(item, "source") if "source" in item else line, "missing-source", f"transition {trigger!r} has no source", name=trigger)
        dest = item.get("dest")
        if dest is None:
            problems.add(line_of(item, "dest") if "dest" in item else line, "missing-dest", f"transition {trigger!r} has no dest (use '=' to stay)", name=trigger)
            continue
        dest = str(dest)
        if dest != "=" and dest not in states_by_name:
            problems.add(line_of(item, "dest"), "unknown-state", f"transition {trigger!r} goes to unknown state {dest!r}", name=dest, candidates=state_names)
            continue
        if outcome == "refused" and dest != "=":
            problems.add(line_of(item, "dest"), "refused-moves", f"refused transition {trigger!r} must stay where it is (dest '=')", name=trigger)

        when = _check_values(item.get("when"), line_of(item, "when"), f"transition {trigger!r} when", observables, problems, allow_null=True)
        assignments = _check_values(item.get("set"), line_of(item, "set"), f"transition {trigger!r} set", observables, problems, allow_null=True)
        reported = _check_values(item.get("reports"), line_of(item, "reports"), f"transition {trigger!r} reports", reports, problems, allow_null=False)
        used = []
        for position, assumption_id in enumerate(_as_list(item.get("assumptions"))):
            if str(assumption_id) not in assumption_ids:
                problems.add(line_of(item["assumptions"], position) if isinstance(item["assumptions"], LocatedList) else line_of(item, "assumptions"),
                             "unknown-assumption", f"transition {trigger!r} relies on undeclared assumption {assumption_id!r}",
                             name=assumption_id, candidates=assumption_ids)
            else:
                used.append(str(assumption_id))

        for source in sources:
            source = str(source)
            if source not in states_by_name:
                problems.add(line_of(item, "source"), "unknown-state", f"transition {trigger!r} leaves unknown state {source!r}", name=source, candidates=state_names)
                continue
            target = source if dest == "=" else dest
            fixed = states_by_name[target].fixed
            for name, value in assignments:
                if name in fixed and fixed[name] != value:
                    problems.add(line_of(item, "set"), "set-conflict", f"transition {trigger!r} sets {name}={value!r} but {target!r} fixes {name}={fixed[name]!r}", name=name)
            transitions.append(Transition(
                trigger=trigger, source=source, dest=target, kind=kind, outcome=outcome,
                when=when, set=assignments, reports=reported, spec=_text(item.get("spec")),
                assumptions=tuple(used), line=line,
            ))
    return transitions


def _guards_exclusive(first: Transition, second: Transition) -> bool:
    """Two guards exclude each other when they require different values of one observable."""
    second_when = dict(second.when)
    return any(name in second_when and second_when[name] != value for name, value in first.when)


def _check_determinism(transitions: list[Transition], problems: ProblemCollector) -> None:
    by_key: dict[tuple[str, str], list[Transition]] = {}
    for transition in transitions:
        by_key.setdefault((transition.trigger, transition.source), []).append(transition)
    for (trigger, source), group in by_key.items():
        for i, first in enumerate(group):
            for second in group[i + 1:]:
                if not _guards_exclusive(first, second):
                    problems.add(second.line, "ambiguous-trigger",
                                 f"trigger {trigger!r} from {source!r} has two transitions whose guards can both hold (lines {first.line} and {second.line})",
                                 name=trigger)
