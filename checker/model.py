"""The in-memory form of a machine: states, observables, transitions, assumptions.

These classes are plain, validated data. Loading and validation live in ``loader``; the
compiled, executable forms live in ``system`` (for the engines) and ``executable`` (for the
transitions library).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "STATE_KINDS",
    "SETTLED_KINDS",
    "TRIGGER_KINDS",
    "OUTCOMES",
    "Assumption",
    "Observable",
    "State",
    "Transition",
    "Machine",
    "format_value",
]

STATE_KINDS = ("stable", "transient", "terminal", "absent")
# A transient state is expected to end in one of these kinds.
SETTLED_KINDS = frozenset({"stable", "terminal", "absent"})
TRIGGER_KINDS = ("operation", "completion", "autonomous", "lifecycle")
OUTCOMES = ("success", "failure", "refused")


def format_value(value: Any) -> str:
    """How an observable value reads in reports: null is "—", booleans are lower case."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Assumption:
    """A fact the model relies on that no specification we could read confirms."""

    id: str
    statement: str
    source: str
    line: int = 0


@dataclass(frozen=True)
class Observable:
    """A value a manager can read, with its finite domain (null means "not present")."""

    name: str
    values: tuple[Any, ...]
    initial: Any = None
    source: str = ""
    line: int = 0

    @property
    def domain(self) -> tuple[Any, ...]:
        """Every value the observable can take, null first."""
        return (None, *self.values)


@dataclass(frozen=True)
class State:
    name: str
    kind: str = "stable"
    observe: tuple[tuple[str, Any], ...] = ()
    description: str = ""
    line: int = 0

    @property
    def fixed(self) -> dict[str, Any]:
        return dict(self.observe)


@dataclass(frozen=True)
class Transition:
    trigger: str
    source: str
    dest: str
    kind: str = "operation"
    outcome: str = "success"
    when: tuple[tuple[str, Any], ...] = ()
    set: tuple[tuple[str, Any], ...] = ()
    reports: tuple[tuple[str, Any], ...] = ()
    spec: str = ""
    assumptions: tuple[str, ...] = ()
    line: int = 0

    @property
    def report_text(self) -> str:
        """The values the step reports, e.g. "CurrentState=Failed FaultCode=9017"."""
        return " ".join(f"{name}={format_value(value)}" for name, value in self.reports)

    @property
    def label(self) -> str:
        """Trigger and, where it is not plain success, the outcome: for diagrams and traces."""
        if self.outcome == "success":
            return self.trigger
        return f"{self.trigger} [{self.outcome}]"


@dataclass(frozen=True)
class Machine:
    """One state machine, as loaded from a machine file."""

    id: str
    title: str
    file: str
    states: tuple[State, ...]
    initial: str
    transitions: tuple[Transition, ...]
    observables: tuple[Observable, ...] = ()
    reports: tuple[Observable, ...] = ()
    assumptions: tuple[Assumption, ...] = ()
    standard: str = ""
    instance: str = ""
    # operation trigger -> how the management server asks for it, in the protocol's own terms
    # ("ChangeDUState (InstallOpStruct)"): witnesses show it beside the trigger
    requests: tuple[tuple[str, str], ...] = ()
    _state_index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        self._state_index.update({state.name: i for i, state in enumerate(self.states)})

    def state(self, name: str) -> State:
        return self.states[self._state_index[name]]

    def state_index(self, name: str) -> int:
        return self._state_index[name]

    @property
    def state_names(self) -> list[str]:
        return [state.name for state in self.states]

    @property
    def triggers(self) -> list[str]:
        """Trigger names in order of first appearance."""
        return list(dict.fromkeys(transition.trigger for transition in self.transitions))

    def request(self, trigger: str) -> str:
        """The protocol request behind an operation trigger, or "" when the file gives none."""
        return dict(self.requests).get(trigger, "")

    def observable(self, name: str) -> Observable:
        for observable in self.observables:
            if observable.name == name:
                return observable
        raise KeyError(name)

    def assumption_ids_used(self) -> list[str]:
        used = dict.fromkeys(a for t in self.transitions for a in t.assumptions)
        return list(used)
