"""Run both engines on a system, make sure they agree, and turn their answers into findings.

A finding is something a reader should look at: a state or observable value no behaviour
reaches, a reachable deadlock, a transient state from which a component can never settle.
Each finding carries a stable identifier (system, instance, kind, name) so that reports can
be compared across runs, and a shortest witness where one exists.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import InternalError
from .explicit import Exploration, LocalTarget, explore, local_targets
from .model import Assumption, format_value
from .symbolic import Decision, SymbolicSystem, decide_reachability, trace_labels
from .system import System

__all__ = ["TargetVerdict", "Finding", "WitnessStep", "SystemAnalysis", "analyse", "decide_with_z3", "ENGINES"]

log = logging.getLogger(__name__)

ENGINES = ("both", "explicit", "z3")
Z3_VERDICTS = {
    "bmc": "witness at depth {depth} by bounded model checking",
    "spacer": "unreachable, proved by Spacer (CHC)",
    "structure": "unreachable: the machine shows it in none of its configurations, even on its own",
}
DEADLOCK = "deadlock"


@dataclass(frozen=True)
class WitnessStep:
    event: str | None  # None for the initial state
    followers: tuple[str, ...]
    state: dict[str, str]  # instance -> "State (Observable=value, ...)"
    changed: tuple[str, ...]
    reports: tuple[str, ...] = ()  # "du1: CurrentState=Failed FaultCode=9017"
    # the protocol request behind an operation step, from the machine's `requests`
    # ("ChangeDUState (InstallOpStruct)"); "" for other steps or when the file gives none
    request: str = ""

    @property
    def event_text(self) -> str:
        """The event with its protocol request, as reports show it: "du1.Install (ChangeDUState ...)"."""
        return f"{self.event} ({self.request})" if self.request else str(self.event)


@dataclass
class TargetVerdict:
    target: LocalTarget
    instance: str
    reachable: bool
    depth: int | None
    engines: dict[str, str]  # engine -> what it established
    witness: list[WitnessStep] | None = None

    @property
    def label(self) -> str:
        if self.target.kind == "state":
            return self.target.name
        return f"{self.target.name}={format_value(self.target.value)}"


@dataclass(frozen=True)
class Finding:
    id: str
    kind: str  # unreachable-state | unreachable-value | deadlock | stuck-transient
    system: str
    instance: str | None
    subject: str
    message: str
    established_by: tuple[str, ...]
    witness: tuple[WitnessStep, ...] | None = None


@dataclass
class SystemAnalysis:
    system: System
    engine: str
    verdicts: list[TargetVerdict]
    findings: list[Finding]
    reachable_states: int | None
    deadlock_count: int | None
    timings: dict[str, float]
    assumptions: list[tuple[str, Assumption]]  # (machine id, assumption)
    exploration: Exploration | None = field(default=None, repr=False)

    def verdict(self, instance: str, kind: str, name: str, value: Any = None) -> TargetVerdict:
        for verdict in self.verdicts:
            target = verdict.target
            if verdict.instance == instance and target.kind == kind and target.name == name and (kind == "state" or target.value == value):
                return verdict
        raise KeyError((instance, kind, name, value))


def witness_steps(system: System, trace: list[tuple[int, ...]], labels: list[int]) -> list[WitnessStep]:
    steps = [WitnessStep(event=None, followers=(), state=system.describe(trace[0]), changed=())]
    machines = {instance.name: instance.local.machine for instance in system.instances}
    for before, after, label in zip(trace, trace[1:], labels):
        changed = tuple(instance.name for instance, a, b in zip(system.instances, before, after) if a != b)
        parts = system.step_parts(before, label)
        reports = tuple(f"{name}: {transition.report_text}" for name, transition in parts if transition.reports)
        request = ""
        if parts and parts[0][1].kind == "operation":
            leader, transition = parts[0]
            request = machines[leader].request(transition.trigger)
        steps.append(WitnessStep(event=system.labels[label], followers=tuple(f"{name}.{t.trigger}" for name, t in parts[1:]),
                                 state=system.describe(after), changed=changed, reports=reports, request=request))
    return steps


def _relabel(system: System, trace):
    return trace_labels(system, trace) if trace else None


def _explicit_trace(exploration: Exploration, state_index: int) -> tuple[list[tuple[int, ...]], list[int]]:
    path = exploration.path_to(state_index)
    return [exploration.state(i) for _, i in path], [label for label, _ in path[1:]]


def decide_with_z3(system: System, seed: int = 0, timeout: float = 60.0) -> dict[Any, Decision]:
    """The Z3 engine's decision on every local target of ``system`` and on deadlock.

    Only one instance of each group of symmetric siblings is asked about (see
    ``System.representative``); the others take its decision with the permuted witness.
    """
    targets = local_targets(system)
    symbolic = SymbolicSystem(system, seed=seed)
    representatives = {}
    for target in targets:
        representative, image = system.representative(target.instance)
        representatives[target] = (replace(target, instance=representative), image)
    predicates: dict[Any, Any] = {target: symbolic.local_predicate(target.instance, target.configs(system))
                                  for target in targets if representatives[target][0] == target}
    predicates[DEADLOCK] = symbolic.global_predicate(symbolic.deadlock())
    decisions = decide_reachability(symbolic, predicates, timeout_seconds=timeout)
    for target, (representative, image) in representatives.items():
        if representative == target:
            continue
        decision = decisions[representative]
        trace = [system.permute(state, image) for state in decision.trace] if decision.trace else None
        decisions[target] = replace(decision, trace=trace, labels=_relabel(system, trace),
                                    symmetric_to=system.instances[representative.instance].name)
    return decisions


def analyse(system: System, engine: str = "both", seed: int = 0, timeout: float = 60.0,
            stuck_analysis: bool = True, replay_witnesses: str = "findings",
            z3_decisions: dict[Any, Decision] | None = None,
            exploration: Exploration | None = None) -> SystemAnalysis:
    """Decide reachability of every local state and value, deadlocks and stuck transients.

    ``z3_decisions`` and ``exploration`` are the engines' answers when they were computed
    elsewhere (``parallel`` runs Z3 in worker processes while this process explores).
    ``replay_witnesses`` ("findings", "all" or "none") says which witnesses are replayed on
    the executable `transitions` machines before they are reported; a witness that does not
    replay is an internal error, never a finding.
    """
    targets = local_targets(system)
    timings: dict[str, float] = {}
    decisions = None

    if exploration is None and engine in ("both", "explicit"):
        started = time.perf_counter()
        exploration = explore(system, keep_edges=stuck_analysis)
        timings["explicit"] = time.perf_counter() - started
    if z3_decisions is not None:
        decisions = z3_decisions
    elif engine in ("both", "z3"):
        started = time.perf_counter()
        decisions = decide_with_z3(system, seed=seed, timeout=timeout)
        timings["z3"] = time.perf_counter() - started

    verdicts = []
    for target in targets:
        instance_name = system.instances[target.instance].name
        engines: dict[str, str] = {}
        reachable = depth = witness = None
        if exploration is not None:
            first = exploration.first_reached.get(target)
            reachable = first is not None
            depth = exploration.depth[first] if reachable else None
            engines["explicit"] = (f"reached at depth {depth} by breadth-first search" if reachable
                                   else f"not among the {len(exploration)} reachable states")
            if reachable:
                witness = witness_steps(system, *_explicit_trace(exploration, first))
        if decisions is not None:
            decision = decisions[target]
            engines["z3"] = Z3_VERDICTS[decision.engine].format(depth=decision.depth)
            if decision.symmetric_to:
                engines["z3"] += f", for the symmetric {decision.symmetric_to}"
            if reachable is None:
                reachable, depth = decision.reachable, decision.depth
                witness = witness_steps(system, decision.trace, decision.labels) if decision.reachable else None
            elif reachable != decision.reachable or depth != decision.depth:
                raise InternalError(
                    f"engines disagree on {instance_name} {target.kind} {target.name} in {system.name}: "
                    f"explicit says {engines['explicit']}, Z3 says {engines['z3']}")
        verdicts.append(TargetVerdict(target=target, instance=instance_name, reachable=reachable, depth=depth,
                                      engines=engines, witness=witness))

    findings: list[Finding] = []
    established = tuple(name for name, present in (("explicit", exploration is not None), ("z3", decisions is not None)) if present)
    for verdict in verdicts:
        if verdict.reachable:
            continue
        target = verdict.target
        if target.kind == "value" and target.value is None:
            continue  # "not present" that never occurs is not a defect
        kind = "unreachable-state" if target.kind == "state" else "unreachable-value"
        what = f"state {target.name}" if target.kind == "state" else f"value {verdict.label}"
        findings.append(Finding(
            id=f"{system.name}/{verdict.instance}/{kind}/{verdict.label}", kind=kind, system=system.name,
            instance=verdict.instance, subject=verdict.label,
            message=f"{verdict.instance}: {what} is unreachable", established_by=established))

    deadlock_count = None
    deadlock_witness = None
    deadlock_depth = None
    if exploration is not None:
        deadlock_count = len(exploration.deadlocks)
        if exploration.deadlocks:
            first = min(exploration.deadlocks, key=lambda i: (exploration.depth[i], i))
            deadlock_depth = exploration.depth[first]
            deadlock_witness = witness_steps(system, *_explicit_trace(exploration, first))
    if decisions is not None:
        decision = decisions[DEADLOCK]
        if exploration is not None:
            if decision.reachable != bool(exploration.deadlocks) or (decision.reachable and decision.depth != deadlock_depth):
                raise InternalError(f"engines disagree on deadlocks in {system.name}")
        elif decision.reachable:
            deadlock_depth = decision.depth
            deadlock_witness = witness_steps(system, decision.trace, decision.labels)
    if deadlock_witness is not None:
        final = deadlock_witness[-1].state
        stuck_at = ", ".join(f"{name}={text.split(' ')[0]}" for name, text in final.items())
        # One deadlock finding per system, and its identity names no state: which deadlocked
        # state is shown first depends on the engine that found it (BFS order or Z3's model).
        findings.append(Finding(
            id=f"{system.name}/-/deadlock/reachable", kind="deadlock", system=system.name, instance=None,
            subject=stuck_at,
            message=(f"deadlock after {deadlock_depth} steps: no step is possible in {stuck_at}"
                     + (f" ({deadlock_count} deadlocked states in all)" if deadlock_count else "")),
            established_by=established, witness=tuple(deadlock_witness)))

    if exploration is not None and stuck_analysis:
        for instance_index, trapped in sorted(exploration.stuck_transients().items()):
            instance = system.instances[instance_index]
            first = min(trapped, key=lambda i: (exploration.depth[i], i))
            local_state = instance.local.state_of(exploration.state(first)[instance_index])
            cycle = exploration.trap_cycle(trapped)
            findings.append(Finding(
                id=f"{system.name}/{instance.name}/stuck-transient/{local_state}", kind="stuck-transient",
                system=system.name, instance=instance.name, subject=local_state,
                message=(f"{instance.name} can be caught in {local_state} and never settle again "
                         f"({len(trapped)} such states; they end in a cycle of {len(cycle)})"),
                established_by=("explicit",), witness=tuple(witness_steps(system, *_explicit_trace(exploration, first)))))

    if replay_witnesses in ("findings", "all"):
        from .executable import replay  # imports transitions; not needed when nothing is replayed

        to_replay = [list(finding.witness) for finding in findings if finding.witness]
        if replay_witnesses == "all":
            to_replay += [verdict.witness for verdict in verdicts if verdict.witness]
        for witness in to_replay:
            replay(system, witness)

    assumptions = [(machine.id, assumption) for machine in system.composition.machines for assumption in machine.assumptions]
    return SystemAnalysis(
        system=system, engine=engine, verdicts=verdicts, findings=findings,
        reachable_states=len(exploration) if exploration is not None else None,
        deadlock_count=deadlock_count, timings=timings, assumptions=assumptions, exploration=exploration)
