"""The models as executable ``transitions`` machines: simulation and witness replay.

The engines read the compiled tables of ``system``. This module builds the same models a
second, independent way, as `transitions <https://github.com/pytransitions/transitions>`_
machines whose conditions and callbacks read and write the observable values, and executes
a composition's synchronizations and guards straight from the ``Composition`` data. That
gives a user a way to try a sequence of events (``swmc simulate``), and it lets every witness
an engine reports be replayed on machines that share no code with the tables it came from:
a witness that does not replay is a bug in swmc, reported as an ``InternalError``.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Any, Callable, TextIO

import transitions

from . import model
from .composition import Guard, Synchronization
from .errors import ExitCode, InputError, InternalError, Problem
from .system import System

__all__ = [
    "MachineModel",
    "build_machine",
    "EventRefused",
    "ExecutableComposition",
    "replay",
    "simulate",
]

log = logging.getLogger(__name__)


class MachineModel:
    """The object a ``transitions.Machine`` drives: its ``state`` and its observable ``values``.

    ``last_transition`` is the model transition the latest trigger took, so that callers can
    tell a success from a failure or a refusal, which the state alone does not always show.
    """

    def __init__(self, machine: model.Machine):
        self.definition = machine
        values: dict[str, Any] = {observable.name: observable.initial for observable in machine.observables}
        values.update(machine.state(machine.initial).observe)
        self.values = values
        self.last_transition: model.Transition | None = None

    def describe(self) -> str:
        """The same text ``System.describe`` gives: "State (Observable=value, ...)"."""
        return describe_state(self.definition, self.state, self.values)

    def __repr__(self) -> str:
        return f"MachineModel({self.definition.id}: {self.describe()})"


def describe_state(machine: model.Machine, state: str, values: dict[str, Any]) -> str:
    shown = ", ".join(f"{observable.name}={model.format_value(values[observable.name])}"
                      for observable in machine.observables)
    return f"{state} ({shown})" if shown else state


def _guard_condition(transition: model.Transition) -> Callable[[Any], bool]:
    required = tuple(transition.when)

    def condition(event_data) -> bool:
        values = event_data.model.values
        return all(values[name] == value for name, value in required)

    return condition


def _apply_set(transition: model.Transition) -> Callable[[Any], None]:
    assignments = tuple(transition.set)

    def before(event_data) -> None:
        event_data.model.values.update(assignments)

    return before


def _enter_destination(transition: model.Transition, destination: model.State) -> Callable[[Any], None]:
    # The destination's observe values win over the step's `set`; the loader guarantees they
    # never disagree, so applying them second only fills in what `set` left out.
    fixed = tuple(destination.observe)

    def after(event_data) -> None:
        event_data.model.values.update(fixed)
        event_data.model.last_transition = transition

    return after


def build_machine(machine: model.Machine) -> tuple[transitions.Machine, MachineModel]:
    """A ``transitions.Machine`` driving a fresh ``MachineModel`` of ``machine``."""
    driven = MachineModel(machine)
    specifications = []
    for transition in machine.transitions:
        specifications.append({
            "trigger": transition.trigger,
            "source": transition.source,
            # The loader has already turned "=" into the source name: a self-loop is an
            # external transition (exit and re-enter), which is still a step that fires.
            "dest": transition.dest,
            "conditions": [_guard_condition(transition)],
            "before": [_apply_set(transition)],
            "after": [_enter_destination(transition, machine.state(transition.dest))],
        })
    executable = transitions.Machine(
        model=driven,
        states=machine.state_names,
        initial=machine.initial,
        transitions=specifications,
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
        name=machine.id,
    )
    return executable, driven


class EventRefused(InputError):
    """An event the executable composition does not allow in its current state."""

    def __init__(self, event: str, state_text: str, allowed: list[str], reason: str = ""):
        self.event = event
        self.state_text = state_text
        self.allowed = list(allowed)
        self.reason = reason
        message = f"event {event!r} is not allowed in {state_text}"
        if reason:
            message += f" ({reason})"
        message += "; allowed: " + (", ".join(self.allowed) if self.allowed else "none")
        super().__init__(Problem(file="<events>", line=0, rule="event-refused", message=message, name=event))
        # The message alone reads better than the file:line:rule form of an input problem.
        self.args = (message,)


class _Refusal(Exception):
    """Why one attempt at an event failed; turned into EventRefused with the allowed events."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Component:
    """One component instance: its transitions machine and the model object it drives."""

    name: str
    component: str
    parent: int | None
    machine: transitions.Machine
    driven: MachineModel


class ExecutableComposition:
    """A composition run on one ``transitions`` machine per component instance.

    The synchronizations and guards are executed from ``system.composition``; only the
    instance names and the parent relation are taken from ``system.instances``. The compiled
    moves are never read, so that replay checks them rather than repeats them.
    """

    def __init__(self, system: System):
        self.system = system
        composition = system.composition
        self.components: list[_Component] = []
        self.index: dict[str, int] = {}
        for position, instance in enumerate(system.instances):
            machine, driven = build_machine(instance.local.machine)
            self.components.append(_Component(name=instance.name, component=instance.component,
                                              parent=instance.parent, machine=machine, driven=driven))
            self.index[instance.name] = position
        # The latest event fired, with its outcome: "du1.Install" or "du1.Update [refused]".
        self.last_event: str | None = None
        self.last_reports: list[str] = []
        # A lone machine is never driven by another: the format gives it no synchronizations.
        self.followed: dict[tuple[str, str], list[Synchronization]] = {}
        if not composition.is_single_machine:
            for synchronization in composition.synchronizations:
                for follower in synchronization.followers:
                    self.followed.setdefault(follower, []).append(synchronization)
        self.leading: dict[tuple[str, str], list[Synchronization]] = {}
        for synchronization in composition.synchronizations:
            key = (synchronization.leader, synchronization.leader_trigger)
            self.leading.setdefault(key, []).append(synchronization)
        self.guards: dict[tuple[str, str], list[Guard]] = {}
        for guard in composition.guards:
            self.guards.setdefault((guard.component, guard.trigger), []).append(guard)

    def reset(self) -> None:
        """Every instance back in its initial state with its initial values."""
        for component in self.components:
            definition = component.driven.definition
            component.machine.set_state(definition.initial, model=component.driven)
            fresh = MachineModel(definition)
            component.driven.values = fresh.values
            component.driven.last_transition = None
        self.last_event = None
        self.last_reports = []

    # --- reading the state ------------------------------------------------------------

    def state(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Instance name -> (state name, observable values)."""
        return {component.name: (component.driven.state, dict(component.driven.values))
                for component in self.components}

    def describe(self) -> dict[str, str]:
        """Instance name -> "State (Observable=value, ...)", as ``System.describe`` writes it."""
        return {component.name: component.driven.describe() for component in self.components}

    def state_text(self) -> str:
        return ", ".join(f"{component.name}={component.driven.state}" for component in self.components)

    def allowed_events(self) -> list[str]:
        """Every event that would succeed now, sorted."""
        allowed = []
        for component in self.components:
            for trigger in component.driven.definition.triggers:
                event = f"{component.name}.{trigger}"
                try:
                    self._attempt(self.index[component.name], trigger, commit=False)
                except _Refusal:
                    continue
                allowed.append(event)
        return sorted(allowed)

    # --- executing events -------------------------------------------------------------

    def fire(self, event: str) -> list[str]:
        """Execute ``event`` (INSTANCE.TRIGGER) with its followers as one step.

        Returns the follower events fired along with it. Raises ``EventRefused`` and changes
        nothing when the event is not allowed.
        """
        try:
            position, trigger = self._resolve(event)
            followers = self._attempt(position, trigger, commit=True)
        except _Refusal as refusal:
            raise EventRefused(event, self.state_text(), self.allowed_events(), refusal.reason) from None
        component = self.components[position]
        self.last_event = f"{component.name}.{component.driven.last_transition.label}"
        # What the step reported (a DUStateChangeComplete's CurrentState, say), per instance.
        involved = [component] + [self.components[self.index[name.rsplit(".", 1)[0]]] for name in followers]
        self.last_reports = [f"{item.name}: {item.driven.last_transition.report_text}" for item in involved
                             if item.driven.last_transition is not None and item.driven.last_transition.reports]
        log.debug("fired %s%s", event, f" with {', '.join(followers)}" if followers else "")
        return followers

    def _resolve(self, event: str) -> tuple[int, str]:
        name, separator, trigger = event.rpartition(".")
        if not separator:
            # A lone machine may be driven by bare trigger names, as the transitions library does.
            if len(self.components) != 1:
                raise _Refusal("write events as INSTANCE.TRIGGER")
            name, trigger = self.components[0].name, event
        if name not in self.index:
            raise _Refusal(f"there is no instance {name!r}")
        position = self.index[name]
        if trigger not in self.components[position].driven.definition.triggers:
            raise _Refusal(f"{name} has no trigger {trigger!r}")
        return position, trigger

    def _required_instance(self, position: int, required_component: str) -> int | None:
        component = self.components[position]
        own = self.system.composition.component(component.component)
        if required_component == own.parent:
            return component.parent
        # The loader only accepts a component declared with count 1 here. Should that component
        # be a child (one instance per parent), the first instance is asked, as ``system`` does.
        for candidate, other in enumerate(self.components):
            if other.component == required_component:
                return candidate
        return None

    def _guard_blocks(self, position: int, trigger: str) -> str | None:
        component = self.components[position]
        for guard in self.guards.get((component.component, trigger), []):
            required = self._required_instance(position, guard.requires)
            if required is None:
                continue  # the parameters left no instance to ask: nothing to require
            other = self.components[required].driven
            if guard.states and other.state not in guard.states:
                return (f"{component.name}.{trigger} requires {self.components[required].name} "
                        f"in {' or '.join(guard.states)}")
            for name, value in guard.observe:
                if other.values[name] != value:
                    return (f"{component.name}.{trigger} requires {self.components[required].name} "
                            f"with {name}={model.format_value(value)}")
        return None

    def _follower_instances(self, position: int, follower_component: str) -> list[int]:
        leader = self.components[position]
        if self.system.composition.component(follower_component).parent == leader.component:
            return [i for i, other in enumerate(self.components)
                    if other.component == follower_component and other.parent == position]
        return [i for i, other in enumerate(self.components) if other.component == follower_component]

    def _attempt(self, position: int, trigger: str, commit: bool) -> list[str]:
        """Fire ``trigger`` on instance ``position`` and its followers, or raise _Refusal.

        Nothing changes on a refusal; with ``commit`` false nothing changes at all, which is
        how ``allowed_events`` asks whether an event would succeed.
        """
        component = self.components[position]
        key = (component.component, trigger)
        if key in self.followed:
            leaders = sorted({f"{sync.leader}.{sync.leader_trigger}" for sync in self.followed[key]})
            raise _Refusal(f"{component.name}.{trigger} is driven by {', '.join(leaders)}")
        blocked = self._guard_blocks(position, trigger)
        if blocked:
            raise _Refusal(blocked)
        if not component.driven.may_trigger(trigger):
            raise _Refusal(f"{component.name} cannot take {trigger} in {component.driven.state}")

        steps = [(position, trigger, "all")]
        for synchronization in self.leading.get(key, []):
            for follower_component, follower_trigger in synchronization.followers:
                for follower in self._follower_instances(position, follower_component):
                    steps.append((follower, follower_trigger, synchronization.mode))
        touched = sorted({step[0] for step in steps})
        saved = {i: (self.components[i].driven.state, dict(self.components[i].driven.values),
                     self.components[i].driven.last_transition) for i in touched}

        fired: list[str] = []
        try:
            for step_number, (instance, step_trigger, mode) in enumerate(steps):
                driven = self.components[instance].driven
                # Followers act in order, each on the state the previous ones left, as one step.
                if not driven.may_trigger(step_trigger):
                    if mode == "all":
                        raise _Refusal(f"follower {self.components[instance].name} cannot take "
                                       f"{step_trigger} in {driven.state}")
                    continue
                if not driven.trigger(step_trigger):
                    raise InternalError(f"{self.components[instance].name}.{step_trigger} "
                                        "was allowed but did not fire")
                if step_number:
                    fired.append(f"{self.components[instance].name}.{step_trigger}")
                elif driven.last_transition is not None and driven.last_transition.outcome == "refused":
                    break  # a refused operation changes nothing, so it drags no follower along
        except BaseException:
            self._restore(saved)
            raise
        if not commit:
            self._restore(saved)
        return fired

    def _restore(self, saved: dict[int, tuple[str, dict[str, Any], Any]]) -> None:
        for instance, (state, values, last) in saved.items():
            component = self.components[instance]
            component.machine.set_state(state, model=component.driven)
            component.driven.values = values
            component.driven.last_transition = last


def _differences(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    lines = []
    for name in sorted(set(expected) | set(actual), key=lambda n: (n not in actual, n)):
        want, got = expected.get(name), actual.get(name)
        if want != got:
            lines.append(f"{name}: the witness says {want!r}, the transitions machines give {got!r}")
    return lines


def _executable(system: System) -> ExecutableComposition:
    """The system's executable composition, reset to its initial state. Building the
    ``transitions`` machines costs far more than a replay, and a check replays hundreds of
    witnesses of a few systems, so each system keeps its own (in an attribute of its own)."""
    executable = system.__dict__.get("_executable")
    if executable is None:
        executable = ExecutableComposition(system)
        system.__dict__["_executable"] = executable
    else:
        executable.reset()
    return executable


def replay(system: System, steps: list) -> None:
    """Replay a witness (a list of ``analysis.WitnessStep``) on the transitions machines, from
    their initial state.

    Raises ``InternalError`` naming the first step whose state or outcome differs: the
    engines and the executable machines then disagree about the model.
    """
    if not steps:
        raise InternalError(f"empty witness in {system.name}")
    executable = _executable(system)
    differences = _differences(steps[0].state, executable.describe())
    if differences:
        raise InternalError(f"witness in {system.name} does not replay: step 0 (initial state): "
                            + "; ".join(differences))
    for number, step in enumerate(steps[1:], start=1):
        # The outcome suffix is not part of the trigger; which transition fires is up to the
        # guards, so the outcome the machines report is compared afterwards.
        event = (step.event or "").partition(" [")[0]
        try:
            executable.fire(event)
        except EventRefused as refusal:
            raise InternalError(f"witness in {system.name} does not replay: "
                                f"step {number}: {refusal}") from None
        if executable.last_event != step.event:
            raise InternalError(f"witness in {system.name} does not replay: step {number} ({step.event}): "
                                f"the transitions machines took {executable.last_event!r}")
        differences = _differences(step.state, executable.describe())
        if differences:
            raise InternalError(f"witness in {system.name} does not replay: step {number} ({step.event}): "
                                + "; ".join(differences))
    log.debug("witness of %d steps replayed on %s", len(steps) - 1, system.name)


def _state_lines(executable: ExecutableComposition) -> list[str]:
    names = [component.name for component in executable.components]
    name_width = max(len(name) for name in names)
    # Pad to the longest state name any instance could show, so columns stay put step to step.
    state_width = max(len(state.name) for component in executable.components
                      for state in component.driven.definition.states)
    lines = []
    for component in executable.components:
        driven = component.driven
        values = " ".join(f"{observable.name}={model.format_value(driven.values[observable.name])}"
                          for observable in driven.definition.observables)
        lines.append(f"  {component.name:<{name_width}}  {driven.state:<{state_width}}  {values}".rstrip())
    return lines


def simulate(system: System, events: list[str], stream: TextIO) -> int:
    """Run ``events`` in order, writing each resulting state to ``stream``.

    A refused event is reported on stderr with the current state and the allowed events,
    and ends the run with exit code 2; the states up to it have been written already.
    """
    executable = ExecutableComposition(system)
    stream.write(f"{system.name}: initial state\n")
    stream.write("\n".join(_state_lines(executable)) + "\n")
    for number, event in enumerate(events, start=1):
        try:
            followers = executable.fire(event)
        except EventRefused as refusal:
            stream.flush()
            sys.stderr.write(f"swmc: error: step {number}: {refusal}\n")
            return int(ExitCode.INVALID_INPUT)
        along = f" (with {', '.join(followers)})" if followers else ""
        reported = f"; reports {'; '.join(executable.last_reports)}" if executable.last_reports else ""
        stream.write(f"{number}. {executable.last_event}{along}{reported}\n")
        stream.write("\n".join(_state_lines(executable)) + "\n")
    allowed = executable.allowed_events()
    stream.write("allowed next: " + (", ".join(allowed) if allowed else "none") + "\n")
    return int(ExitCode.OK)
