"""Gating a proposed change: does it add findings compared with a baseline?

The gate checks the files of the working tree (the proposal) and the same files at a git
revision or in a saved findings file (the baseline), reduces each side to a
:class:`ResultSet`, and compares the two by the stable identity of each result, never by its
message. A result only the proposal has is *new* and fails the gate, unless an
acknowledgement in the accepted-findings file names it (*accepted*); one both sides have is
*existing*; one only the baseline has is *fixed*. An acknowledgement that names no result of
the proposal is *stale*: listed, so that the file can be tidied, but not a failure.

Identities (docs/gate.md):

- a model finding keeps the ``id`` of the check report, ``system/instance/kind/subject``
  (``scomo_device[k=2,n=1]/dp1.dc1/unreachable-state/Orphan``); a deadlock is
  ``system/-/deadlock/<signature>``, one per :func:`deadlock_signature` among the deadlocked
  states the explicit engine found (with Z3 alone, which shows one deadlocked state, one per
  system: ``system/-/deadlock/reachable``, as in the check report);
- a property that does not hold is ``property/<file>/<name>/<verdict>``;
- a mapping verdict that cannot be mapped is
  ``mapping/<mapping id>/<side>/<state|operation>/<component>.<name>/<category>``
  (``mapping/gap_analysis_2012/scomo/state/dp.Delivered/no-image``): the same element failing
  for another reason is another result.

Every result also names the *check* it belongs to: a model's finding category in one system,
one state or operation of a mapping, one property. The checks are what JUnit reports
as test cases, passed or failed.

Adding a source of results (the extension point). Each source is a function from a finished
:class:`~checker.pipeline.CheckRun` to a :class:`ResultSet`, listed in ``RESULT_SOURCES``.
Property verdicts (``swmc prove``) are meant to join as one more source: its run carries the
verdicts, and :func:`property_results` turns objects with a stable ``name``, a ``file``, a
``line`` and a ``status`` (``checker.prove.PropertyResult`` has them) into checks and
results, with no change to the comparison or to any output format.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from typing import Any, Protocol

from .analysis import SystemAnalysis, WitnessStep, witness_steps
from .catalog import builtin_models_dir, load_mappings, load_models
from .errors import InputError, Problem
from .gitrepo import extract_files, locate_repository, resolve_revision
from .loader import ProblemCollector
from .pipeline import CheckRun, Inputs, Settings, run_checks
from .yamlsource import line_of, load_yaml

__all__ = [
    "ACCEPTED_FILE",
    "MODEL_CATEGORIES",
    "RESULT_SOURCES",
    "STATUSES",
    "Acknowledgement",
    "Check",
    "GateOutcome",
    "GateRequest",
    "GatedResult",
    "Location",
    "Result",
    "ResultSet",
    "collect_results",
    "compare",
    "is_findings_document",
    "load_accepted",
    "mapping_results",
    "model_results",
    "property_results",
    "read_findings",
    "run_gate",
]

log = logging.getLogger(__name__)

ACCEPTED_FILE = ".swmc-accepted.yaml"
ACKNOWLEDGEMENT_KEYS = ("id", "reason")
MODEL_CATEGORIES = ("unreachable-state", "unreachable-value", "deadlock", "stuck-transient")
STATUSES = ("new", "existing", "accepted", "fixed")
FINDINGS_FORMAT = "swmc-findings/1"
WITNESS_LINES = 12  # a witness is summarised; the check report has it in full


@dataclass(frozen=True, order=True)
class Location:
    """A line of an input file, named as the reports name it (repository-relative in a gate);
    line 0 when only the file is known."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line}

    @classmethod
    def from_json(cls, value: Any) -> Location | None:
        return None if not value else cls(file=str(value["file"]), line=int(value.get("line") or 0))


@dataclass(frozen=True)
class Check:
    """One thing that was checked, whether it failed or not (a JUnit test case)."""

    id: str
    suite: str  # "model scomo_device[k=2,n=1]", "mapping gap_analysis_2012", later "properties"
    name: str
    location: Location | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "suite": self.suite, "name": self.name,
                "location": self.location.as_json() if self.location else None}

    @classmethod
    def from_json(cls, value: dict) -> Check:
        return cls(id=value["id"], suite=value["suite"], name=value["name"], location=Location.from_json(value.get("location")))


@dataclass(frozen=True)
class Result:
    """A finding or a failed verdict, by its stable identity, with where it points."""

    id: str
    kind: str  # model-finding | mapping-verdict | property (to come)
    category: str  # unreachable-state, no-image, ... : a SARIF rule
    check: str  # the id of the Check it fails
    subject: str
    message: str
    location: Location | None = None  # the entry behind the result
    related: Location | None = None  # where its subject is defined, when that is elsewhere
    witness: tuple[str, ...] = ()  # the first steps of a shortest behaviour showing it, as text

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "category": self.category, "check": self.check,
                "subject": self.subject, "message": self.message,
                "location": self.location.as_json() if self.location else None,
                "related": self.related.as_json() if self.related else None,
                "witness": list(self.witness)}

    @classmethod
    def from_json(cls, value: dict) -> Result:
        return cls(id=value["id"], kind=value["kind"], category=value["category"], check=value["check"],
                   subject=value.get("subject", ""), message=value.get("message", ""),
                   location=Location.from_json(value.get("location")), related=Location.from_json(value.get("related")),
                   witness=tuple(value.get("witness") or ()))


@dataclass
class ResultSet:
    """The checks made and the results found on one side, each keyed by its identity."""

    checks: dict[str, Check] = field(default_factory=dict)
    results: dict[str, Result] = field(default_factory=dict)

    def add_check(self, check: Check) -> None:
        self.checks.setdefault(check.id, check)

    def add_result(self, result: Result) -> None:
        if result.id in self.results:
            # Two inputs with one id (two models both called `device`): the first one counts.
            log.warning("two results have the identity %s; only the first is compared", result.id)
            return
        self.results[result.id] = result

    def merge(self, other: ResultSet) -> ResultSet:
        for check in other.checks.values():
            self.add_check(check)
        for result in other.results.values():
            self.add_result(result)
        return self

    def as_json(self) -> dict[str, Any]:
        return {"checks": [check.as_json() for check in self.checks.values()],
                "results": [self.results[identity].as_json() for identity in sorted(self.results)]}


# --- the sources of results ---------------------------------------------------------------

def witness_lines(steps: Iterable[WitnessStep] | None) -> tuple[str, ...]:
    """A witness as short lines: the initial state, then each event and what it changed."""
    lines = []
    for number, step in enumerate(steps or ()):
        if number == 0:
            lines.append("0. initial: " + "; ".join(f"{name}: {text}" for name, text in step.state.items()))
            continue
        event = step.event + (f" with {', '.join(step.followers)}" if step.followers else "")
        changed = "; ".join(f"{name}: {step.state[name]}" for name in step.changed) or "no change"
        lines.append(f"{number}. {event} -> {changed}")
    return tuple(lines[:WITNESS_LINES])


def _file(name: str) -> str:
    return PurePath(name).as_posix()


def _state_location(machine, state: str) -> Location | None:
    try:
        return Location(_file(machine.file), machine.state(state).line)
    except KeyError:
        return None


def _trigger_location(machine, trigger: str) -> Location | None:
    for transition in machine.transitions:
        if transition.trigger == trigger:
            return Location(_file(machine.file), transition.line)
    return None


def _at_rest(instance, config: int) -> bool:
    local = instance.local
    return local.machine.state(local.state_of(config)).kind == "terminal"


def _deadlock_location(system, state: tuple[int, ...]) -> Location:
    """The state, in its machine file, of the first instance not at rest in a terminal state."""
    for instance, config in zip(system.instances, state):
        if not _at_rest(instance, config):
            return _state_location(instance.local.machine, instance.local.state_of(config)) or Location(
                _file(system.composition.file))
    return Location(_file(system.composition.file))


def _finding_location(analysis: SystemAnalysis, finding) -> Location:
    """The state (or observable) entry of the machine file behind a model finding."""
    system = analysis.system
    fallback = Location(_file(system.composition.file))
    if finding.kind == "deadlock":
        # The first instance of the deadlocked state that is not at rest in a terminal state.
        final = finding.witness[-1].state if finding.witness else {}
        for instance in system.instances:
            state = final.get(instance.name, "").split(" ")[0]
            machine = instance.local.machine
            if state and machine.state(state).kind != "terminal":
                return _state_location(machine, state) or fallback
        return fallback
    instance = system.instance_named(finding.instance) if finding.instance else None
    if instance is None:
        return fallback
    machine = instance.local.machine
    if finding.kind == "unreachable-value":
        name = finding.subject.split("=", 1)[0]
        for observable in machine.observables:
            if observable.name == name:
                return Location(_file(machine.file), observable.line)
        return fallback
    return _state_location(machine, finding.subject) or fallback


def model_check_id(system: str, category: str) -> str:
    return f"model/{system}/{category}"


def deadlock_signature(system, state: tuple[int, ...]) -> str:
    """What tells one deadlock from another: the set of local states its instances that are
    not at rest in a terminal state are in, each as ``component=State``, sorted and joined
    by ``+`` (``dc=Activating+dp=Installed``). Sibling instances count as one component, so
    the deadlocks that symmetry maps onto each other have one signature, and a deadlock is
    not a new one because the engines showed another of its symmetric copies first."""
    parts = {f"{instance.component}={instance.local.state_of(config)}"
             for instance, config in zip(system.instances, state) if not _at_rest(instance, config)}
    return "+".join(sorted(parts))


def deadlock_id(system_name: str, signature: str) -> str:
    return f"{system_name}/-/deadlock/{signature}"


def _deadlock_results(analysis: SystemAnalysis, finding) -> list[Result]:
    """One result per deadlock signature among every deadlocked state the explicit engine
    found, each with a shortest witness to its first deadlocked state (in breadth-first order)
    and replayed like every reported witness. Without the explicit engine (``--engine z3``) Z3
    shows one deadlocked state, not all of them: the system then has one deadlock result with
    the check report's identity, ``system/-/deadlock/reachable`` (docs/gate.md)."""
    system, exploration = analysis.system, analysis.exploration
    check = model_check_id(system.name, "deadlock")
    if exploration is None or not exploration.deadlocks:
        return [Result(id=finding.id, kind="model-finding", category="deadlock", check=check, subject=finding.subject,
                       message=finding.message, location=_finding_location(analysis, finding),
                       witness=witness_lines(finding.witness))]
    from .executable import replay  # imports transitions, which only a witness needs

    classes: dict[str, list[int]] = {}
    for index in exploration.deadlocks:  # breadth-first order: the first of each is a shallowest one
        classes.setdefault(deadlock_signature(system, exploration.state(index)), []).append(index)
    results = []
    for signature, members in sorted(classes.items()):
        first = members[0]
        path = exploration.path_to(first)
        steps = witness_steps(system, [exploration.state(index) for _, index in path], [label for label, _ in path[1:]])
        replay(system, steps)
        state = exploration.state(first)
        stuck_at = ", ".join(f"{instance.name}={instance.local.state_of(config)}"
                             for instance, config in zip(system.instances, state))
        depth = exploration.depth[first]
        results.append(Result(
            id=deadlock_id(system.name, signature), kind="model-finding", category="deadlock", check=check,
            subject=signature,
            message=f"deadlock after {depth} step{'s' if depth != 1 else ''}: no step is possible in {stuck_at} "
                    f"(the first of {len(members)} deadlocked state{'s' if len(members) != 1 else ''} with this "
                    f"signature)",
            location=_deadlock_location(system, state), witness=witness_lines(steps)))
    return results


def model_results(run: CheckRun) -> ResultSet:
    """One check per system and finding category; one result per finding (per deadlock
    signature for deadlocks)."""
    results = ResultSet()
    for analysis in run.analyses:
        system = analysis.system
        suite = f"model {system.name}"
        for category in MODEL_CATEGORIES:
            results.add_check(Check(id=model_check_id(system.name, category), suite=suite, name=category,
                                    location=Location(_file(system.composition.file))))
        for finding in analysis.findings:
            if finding.kind == "deadlock":
                for result in _deadlock_results(analysis, finding):
                    results.add_result(result)
                continue
            results.add_result(Result(
                id=finding.id, kind="model-finding", category=finding.kind,
                check=model_check_id(system.name, finding.kind), subject=finding.subject, message=finding.message,
                location=_finding_location(analysis, finding), witness=witness_lines(finding.witness)))
    return results


def mapping_check_id(mapping: str, side: str, what: str, component: str, name: str) -> str:
    return f"mapping/{mapping}/{side}/{what}/{component}.{name}"


def _verdict_locations(mapping, verdict) -> tuple[Location, Location | None]:
    """The mapping entry behind a verdict (or, without one, the pairing of its component, or,
    for an unpaired component, the element's own line), and where the element itself is
    defined in its machine file."""
    file = _file(mapping.file)
    if verdict.side == "scomo":
        pair = next((pair for pair in mapping.machines if pair.scomo == verdict.component), None)
        machine = mapping.scomo.component(verdict.component).machine
        entry = (mapping.state_entry(verdict.component, verdict.name) if verdict.what == "state"
                 else mapping.operation_entry(verdict.component, verdict.name))
    else:
        pair = next((pair for pair in mapping.machines if pair.tr069 == verdict.component), None)
        machine = mapping.tr069.component(verdict.component).machine
        entry = None  # a mapping has entries for SCOMO elements only
    defined = _state_location(machine, verdict.name) if verdict.what == "state" else _trigger_location(machine, verdict.name)
    if entry is not None:
        location = Location(file, entry.line)
    elif pair is not None:
        location = Location(file, pair.line)
    else:
        # A component the mapping pairs with nothing has no line in it: the element's own
        # line in its machine file is where the result is.
        location = defined if defined is not None else Location(file, 1)
    return location, defined


def mapping_results(run: CheckRun) -> ResultSet:
    """One check per state and operation of each mapping; one result per unmappable one."""
    results = ResultSet()
    for coverage in run.coverages:
        mapping = coverage.mapping
        for verdict in coverage.verdicts:
            check_id = mapping_check_id(mapping.id, verdict.side, verdict.what, verdict.component, verdict.name)
            location, defined = _verdict_locations(mapping, verdict)
            results.add_check(Check(id=check_id, suite=f"mapping {mapping.id}",
                                    name=f"{verdict.side} {verdict.what} {verdict.component}.{verdict.name}",
                                    location=location))
            if verdict.mappable:
                continue
            results.add_result(Result(
                id=f"{check_id}/{verdict.category}", kind="mapping-verdict", category=verdict.category, check=check_id,
                subject=f"{verdict.component}.{verdict.name}",
                message=f"{verdict.side} {verdict.what} {verdict.component}.{verdict.name}: {verdict.category} ({verdict.rule})",
                location=location, related=defined if defined != location else None,
                witness=witness_lines(verdict.witness)))
    return results


class NamedVerdict(Protocol):
    """What a property checker exposes per property (``swmc prove``'s ``PropertyResult``): a
    stable name, the file and line the property is written at, and its verdict as ``status``
    (or ``verdict``); optionally an ``identity``, a ``witness`` and an ``evidence`` text."""

    name: str
    file: str
    line: int


PASSING_VERDICTS = ("holds",)


def property_results(verdicts: Iterable[NamedVerdict]) -> ResultSet:
    """One check per property (its ``identity``, else ``property/<name>``); one result per
    property whose verdict is not ``holds``, identified as ``<check>/<verdict>`` so that
    "violated", "unknown" and a bounded "no-violation-up-to" are different results."""
    results = ResultSet()
    for verdict in verdicts:
        check_id = getattr(verdict, "identity", None) or f"property/{verdict.name}"
        status = getattr(verdict, "status", None) or verdict.verdict
        location = Location(_file(verdict.file), verdict.line)
        results.add_check(Check(id=check_id, suite="properties", name=verdict.name, location=location))
        if status in PASSING_VERDICTS:
            continue
        evidence = getattr(verdict, "evidence", "")
        results.add_result(Result(
            id=f"{check_id}/{status}", kind="property", category=f"property-{status}", check=check_id,
            subject=verdict.name, message=f"property {verdict.name}: {status}" + (f" ({evidence})" if evidence else ""),
            location=location, witness=witness_lines(getattr(verdict, "witness", None))))
    return results


# The sources of a check run the gate compares, in order; property verdicts are added by
# run_gate from the property files it is given (they need no check run).
RESULT_SOURCES: list[Callable[[CheckRun], ResultSet]] = [model_results, mapping_results]


def collect_results(run: CheckRun) -> ResultSet:
    results = ResultSet()
    for source in RESULT_SOURCES:
        results.merge(source(run))
    return results


# --- saved findings -------------------------------------------------------------------------

def findings_document(results: ResultSet, settings: dict[str, Any]) -> dict[str, Any]:
    """What ``swmc gate --save`` writes: the proposal's checks and results."""
    from . import __version__

    return {"format": FINDINGS_FORMAT, "tool": {"name": "swmc", "version": __version__}, "settings": settings,
            **results.as_json()}


def is_findings_document(text: str) -> bool:
    """Whether ``text`` is a findings file as ``--save`` writes them, of this format version or
    of another one: the only kind of existing file ``--save`` may replace, since every other
    file may be one the user wrote."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return False
    kind = document.get("format") if isinstance(document, dict) else None
    return isinstance(kind, str) and kind.startswith(FINDINGS_FORMAT.split("/")[0] + "/")


def _json_witness_lines(steps: list[dict] | None) -> tuple[str, ...]:
    lines = []
    for step in steps or ():
        states = "; ".join(f"{name}: {text}" for name, text in (step.get("state") or {}).items()) or "no change"
        if step.get("event") is None:
            lines.append(f"{step.get('step', 0)}. initial: {states}")
        else:
            followers = step.get("with") or []
            event = step["event"] + (f" with {', '.join(followers)}" if followers else "")
            lines.append(f"{step.get('step')}. {event} -> {states}")
    return tuple(lines[:WITNESS_LINES])


def _results_of_check_report(document: dict) -> ResultSet:
    """The results of a ``report.json`` of ``swmc check`` (which has no line numbers)."""
    results = ResultSet()
    for system in document.get("systems", []):
        for category in MODEL_CATEGORIES:
            results.add_check(Check(id=model_check_id(system["id"], category), suite=f"model {system['id']}", name=category,
                                    location=Location(_file(system["file"]))))
        for finding in system.get("findings", []):
            identity = finding["id"]
            if finding["kind"] == "deadlock":  # reports before the identity named no state
                identity = f"{system['id']}/-/deadlock/reachable"
            results.add_result(Result(
                id=identity, kind="model-finding", category=finding["kind"],
                check=model_check_id(system["id"], finding["kind"]), subject=finding.get("subject", ""),
                message=finding.get("message", ""), location=Location(_file(system["file"])),
                witness=_json_witness_lines(finding.get("witness"))))
    for mapping in document.get("mappings", []):
        for verdict in mapping.get("verdicts", []):
            check_id = mapping_check_id(mapping["id"], verdict["side"], verdict["what"], verdict["component"], verdict["name"])
            results.add_check(Check(id=check_id, suite=f"mapping {mapping['id']}",
                                    name=f"{verdict['side']} {verdict['what']} {verdict['component']}.{verdict['name']}",
                                    location=Location(_file(mapping["file"]))))
            if verdict["mappable"]:
                continue
            results.add_result(Result(
                id=f"{check_id}/{verdict['category']}", kind="mapping-verdict", category=verdict["category"], check=check_id,
                subject=f"{verdict['component']}.{verdict['name']}",
                message=f"{verdict['side']} {verdict['what']} {verdict['component']}.{verdict['name']}: "
                        f"{verdict['category']} ({verdict['rule']})",
                location=Location(_file(mapping["file"])), witness=_json_witness_lines(verdict.get("witness"))))
    return results


def read_findings(path: Path, name: str) -> tuple[ResultSet, dict[str, Any]]:
    """The results and settings of a saved findings file, a gate report or a check report."""
    def problem(message: str, line: int = 0) -> InputError:
        return InputError(Problem(file=name, line=line, rule="baseline-file", message=message))

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise problem(f"cannot read: {error}") from None
    except json.JSONDecodeError as error:
        raise problem(f"not JSON: {error.msg}", error.lineno) from None
    kind = document.get("format") if isinstance(document, dict) else None
    try:
        if kind == FINDINGS_FORMAT:
            results = ResultSet()
            for check in document["checks"]:
                results.add_check(Check.from_json(check))
            for result in document["results"]:
                results.add_result(Result.from_json(result))
        elif kind == "swmc-gate-report/1":
            # The proposal of that gate: every result but those it reported fixed.
            results = ResultSet()
            for check in document["checks"]:
                results.add_check(Check.from_json(check))
            for result in document["results"]:
                if result["status"] != "fixed":
                    results.add_result(Result.from_json(result))
        elif kind == "swmc-check-report/1":
            results = _results_of_check_report(document)
        else:
            raise problem(f"format {kind!r} is not a findings file ({FINDINGS_FORMAT}), a gate report or a check report")
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, InputError):
            raise
        raise problem(f"malformed {kind} document: {type(error).__name__} {error}") from None
    return results, document.get("settings") or {}


# --- acknowledgements -----------------------------------------------------------------------

@dataclass(frozen=True)
class Acknowledgement:
    """A known finding that should no longer block, and why."""

    id: str
    reason: str
    location: Location


def _null_document_line(path: Path) -> int | None:
    """The line of the document of a YAML file that load_yaml read as nothing, if it has one
    (an explicit null); None when the file holds only comments and blank space."""
    import yaml

    node = yaml.compose(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return None if node is None else node.start_mark.line + 1


def load_accepted(path: Path, name: str) -> list[Acknowledgement]:
    """Read an accepted-findings file: a YAML list of {id, reason}, both non-empty text."""
    try:
        document = load_yaml(path, name)
    except InputError as error:
        if [problem.message for problem in error.problems] != ["empty file"]:
            raise
        # A file with nothing acknowledged yet (or only comments) is valid; one that holds a
        # null (`~`, `null`), which the loader cannot tell from nothing, is not a list.
        line = _null_document_line(path)
        if line is None:
            return []
        raise InputError(Problem(file=name, line=line, rule="accepted-shape",
                                 message="an accepted-findings file is a list of {id, reason} (got null)"))
    problems = ProblemCollector(name)
    if not isinstance(document, list):
        problems.add(line_of(document) or 1, "accepted-shape", "an accepted-findings file is a list of {id, reason}")
        problems.raise_if_any()
    acknowledgements: list[Acknowledgement] = []
    first_line: dict[str, int] = {}
    for index, item in enumerate(document):
        line = line_of(document, index)
        if not isinstance(item, dict):
            problems.add(line, "accepted-shape", "an acknowledgement is a mapping with `id` and `reason`")
            continue
        problems.unknown_keys(item, ACKNOWLEDGEMENT_KEYS, "an acknowledgement")
        values = {}
        for key in ACKNOWLEDGEMENT_KEYS:
            value = item.get(key)
            if not isinstance(value, str) or not value.strip():
                problems.add(line_of(item, key) if key in item else line, f"missing-{key}",
                             f"an acknowledgement needs a non-empty `{key}`" + (" saying why the finding is accepted" if key == "reason" else ""))
            else:
                values[key] = value.strip()
        if len(values) != len(ACKNOWLEDGEMENT_KEYS):
            continue
        identity = values["id"]
        if identity in first_line:
            problems.add(line_of(item, "id"), "duplicate-id", f"{identity!r} is already acknowledged (line {first_line[identity]})",
                         name=identity)
            continue
        first_line[identity] = line
        acknowledgements.append(Acknowledgement(id=identity, reason=values["reason"], location=Location(_file(name), line)))
    problems.raise_if_any()
    return acknowledgements


# --- the comparison -------------------------------------------------------------------------

@dataclass(frozen=True)
class GatedResult:
    result: Result
    status: str  # new | existing | accepted | fixed
    baseline_state: str  # SARIF's: new | unchanged | absent
    reason: str | None = None  # the acknowledgement's, when accepted
    acknowledged_at: Location | None = None


@dataclass
class GateOutcome:
    settings: dict[str, Any]
    baseline: dict[str, Any]  # how the baseline was obtained: see docs/gate.md
    accepted_file: str | None
    results: list[GatedResult]  # by identity
    stale: list[Acknowledgement]
    checks: list[Check]
    proposal: ResultSet
    # Files named by locations that are not files of the repository (a built-in model of an
    # installed swmc, a model given from elsewhere): SARIF can point at no line of them.
    outside_repository: frozenset[str] = frozenset()

    def with_status(self, status: str) -> list[GatedResult]:
        return [gated for gated in self.results if gated.status == status]

    @property
    def passed(self) -> bool:
        return not self.with_status("new")

    def check_failures(self) -> dict[str, list[GatedResult]]:
        failures: dict[str, list[GatedResult]] = {}
        for gated in self.with_status("new"):
            failures.setdefault(gated.result.check, []).append(gated)
        return failures


def compare(proposal: ResultSet, baseline: ResultSet,
            acknowledgements: list[Acknowledgement]) -> tuple[list[GatedResult], list[Acknowledgement], list[Check]]:
    """Classify every result of both sides by identity; return them, the stale
    acknowledgements and the checks (the proposal's, then those only fixed results name)."""
    proposal, baseline = same_deadlock_granularity(proposal, baseline)
    acknowledged = {acknowledgement.id: acknowledgement for acknowledgement in acknowledgements}
    gated = []
    for identity, result in proposal.results.items():
        state = "unchanged" if identity in baseline.results else "new"
        acknowledgement = acknowledged.get(identity)
        if acknowledgement is not None:
            gated.append(GatedResult(result, "accepted", state, acknowledgement.reason, acknowledgement.location))
        else:
            gated.append(GatedResult(result, "existing" if state == "unchanged" else "new", state))
    for identity, result in baseline.results.items():
        if identity not in proposal.results:
            gated.append(GatedResult(result, "fixed", "absent"))
    gated.sort(key=lambda item: item.result.id)
    stale = [acknowledgement for acknowledgement in acknowledgements if acknowledgement.id not in proposal.results]
    checks = dict(proposal.checks)
    for item in gated:
        if item.status == "fixed" and item.result.check not in checks:
            # A check that no longer exists (its state was removed): kept, passing, to show the fix.
            checks[item.result.check] = baseline.checks.get(item.result.check) or Check(
                id=item.result.check, suite=_suite_of(item.result.check), name=item.result.check,
                location=item.result.location)
    return gated, stale, list(checks.values())


def _suite_of(check_id: str) -> str:
    """The suite a check belongs to, from its identity alone (for a check only a baseline
    without its checks names): ``model <system>``, ``mapping <id>``, ``properties``."""
    source, _, rest = check_id.partition("/")
    if source == "property":
        return "properties"
    return f"{source} {rest.split('/')[0]}" if rest else source


COARSE_DEADLOCK = "reachable"  # the one deadlock identity per system of a check report and of --engine z3


def _deadlock_system(result: Result) -> str | None:
    if result.category != "deadlock" or not result.check.startswith("model/"):
        return None
    return result.check.removeprefix("model/").removesuffix("/deadlock")


def _coarse(result: Result) -> bool:
    return result.id.endswith(f"/-/deadlock/{COARSE_DEADLOCK}")


def same_deadlock_granularity(proposal: ResultSet, baseline: ResultSet) -> tuple[ResultSet, ResultSet]:
    """Both sides with deadlocks compared at the finest level both carry. A side that knows one
    deadlock per system (a check report, a gate run with ``--engine z3``) cannot say which of
    the other side's deadlocks are new: for such a system, the other side's deadlock results
    are folded into the one coarse identity, so that "has a deadlock" is compared with "has a
    deadlock" rather than every deadlock being new and the coarse one fixed."""
    def granularity(results: ResultSet) -> dict[str, bool]:
        found: dict[str, bool] = {}
        for result in results.results.values():
            system = _deadlock_system(result)
            if system is not None:
                found[system] = found.get(system, False) or _coarse(result)
        return found

    ours, theirs = granularity(proposal), granularity(baseline)
    mixed = {system for system in ours.keys() & theirs.keys() if ours[system] != theirs[system]}
    if not mixed:
        return proposal, baseline
    log.info("deadlocks of %s are compared as one per system: one side names no deadlocked state",
             ", ".join(sorted(mixed)))

    def folded(results: ResultSet) -> ResultSet:
        kept = ResultSet(checks=dict(results.checks))
        for identity in sorted(results.results):
            result = results.results[identity]
            system = _deadlock_system(result)
            if system in mixed and not _coarse(result):
                result = replace(result, id=f"{system}/-/deadlock/{COARSE_DEADLOCK}")
                if result.id in kept.results:
                    continue  # the first deadlock (by identity) stands for all of them
            kept.results[result.id] = result
        return kept

    return folded(proposal), folded(baseline)


# --- running a gate -------------------------------------------------------------------------

@dataclass
class GateRequest:
    models: list[Path]
    mappings: list[Path]
    parameters: dict[str, int]
    settings: Settings
    baseline: str  # a git revision, or the path of a saved findings file
    accepted: Path | None = None  # default: ACCEPTED_FILE at the repository root, if present
    directory: Path = field(default_factory=Path.cwd)  # where the command runs
    properties: list[Path] = field(default_factory=list)  # property files checked on both sides


def _relative_name(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return None


def _outside_name(path: Path) -> str:
    """How a file outside the repository is named in every output: a built-in model of swmc as
    ``models/NAME`` (as ``swmc check`` names it), a file named by a relative path as given,
    one named by an absolute path by its file name alone. Never an absolute path: it would
    differ between checkouts and machines, and the outputs must not."""
    try:
        return "models/" + path.resolve().relative_to(builtin_models_dir().resolve()).as_posix()
    except ValueError:
        pass
    return path.name if path.is_absolute() else PurePath(path).as_posix()


def _name(path: Path, root: Path) -> str:
    """Repository-relative for a file in the repository (the same on both sides and in every
    checkout), else :func:`_outside_name`."""
    return _relative_name(path, root) or _outside_name(path)


def _names(paths: list[Path], root: Path) -> list[str]:
    return [_name(path, root) for path in paths]


def _acknowledgements(request: GateRequest, root: Path) -> tuple[list[Acknowledgement], str | None]:
    if request.accepted is not None:
        path = request.accepted if request.accepted.is_absolute() else request.directory / request.accepted
        if not path.is_file():
            raise InputError(Problem(file=str(request.accepted), line=0, rule="file",
                                     message="no such accepted-findings file"))
        name = _name(path, root)
        return load_accepted(path, name), name
    default = root / ACCEPTED_FILE
    if default.is_file():
        name = ACCEPTED_FILE  # repository-relative, like every location
        return load_accepted(default, name), name
    return [], None


def _load_property_files(paths: list[Path], names: list[str], system_at: Callable[[Path], Path] | None = None):
    """The properties of every file, bound to their systems; InputError lists every problem.
    ``system_at`` gives the file to read for each system a property names (the baseline's)."""
    from .propfile import load_properties
    from .prove import validate

    specs, problems = [], []
    for path, name in zip(paths, names):
        if not path.is_file():
            problems.append(Problem(file=name, line=0, rule="file", message="no such property file"))
            continue
        try:
            specs.extend(load_properties(path, name))
        except InputError as error:
            problems.extend(error.problems)
    if problems:
        raise InputError(problems)
    if system_at is not None:
        specs = [replace(spec, system_path=system_at(spec.system_path)) if spec.system_path else spec for spec in specs]
    validate(specs)
    return specs


def _property_results(specs, settings: Settings) -> ResultSet:
    from .prove import check_properties

    if not specs:
        return ResultSet()
    return property_results(check_properties(specs, engine=settings.engine, seed=settings.seed,
                                             timeout=settings.timeout))


def _check_same_parameters(saved: dict[str, Any], settings: dict[str, Any], name: str) -> None:
    saved_parameters = saved.get("parameters")
    if saved_parameters is not None and saved_parameters != settings["parameters"]:
        raise InputError(Problem(
            file=name, line=0, rule="baseline-settings",
            message=f"the saved findings were made with parameters {saved_parameters}, this gate uses "
                    f"{settings['parameters']}: identities name the parameters, so compare like with like"))


def run_gate(request: GateRequest) -> GateOutcome:
    """Check the proposal and the baseline and compare them. Every problem with the input
    (files, the revision, the accepted-findings file) raises InputError before any analysis."""
    directory = request.directory.resolve()
    root, not_a_repository = locate_repository(directory)
    saved = Path(request.baseline)
    saved = saved if saved.is_absolute() else directory / saved
    from_file = saved.is_file()
    commit = None
    if not from_file:
        if root is None:
            raise InputError(Problem(file="<command line>", line=0, rule="baseline",
                                     message=f"--baseline {request.baseline!r} is no findings file, and {directory} is not "
                                             f"in a git repository to read a revision from (git: {not_a_repository})"))
        commit = resolve_revision(root, request.baseline)
    base = root or directory

    model_names, mapping_names = _names(request.models, base), _names(request.mappings, base)
    proposal = Inputs(load_models(request.models, model_names), load_mappings(request.mappings, mapping_names),
                      dict(request.parameters))
    acknowledgements, accepted_name = _acknowledgements(request, base)
    settings = request.settings.report(proposal.parameters)
    property_names = _names(request.properties, base)
    property_specs = _load_property_files(request.properties, property_names)

    if from_file:
        baseline_results, saved_settings = read_findings(saved, request.baseline)
        _check_same_parameters(saved_settings, settings, request.baseline)
        (run,) = run_checks([proposal], request.settings)
        proposal_results = collect_results(run).merge(_property_results(property_specs, request.settings))
        description = {"kind": "findings-file", "ref": _name(saved, base), "commit": None, "status": "read",
                       "missing_files": [], "problems": []}
    elif commit is None:
        # Before a repository's first commit HEAD names no commit: the baseline is empty, and
        # every result of the proposal is new (so a first commit passes when it adds no finding).
        log.info("%s names a branch with no commit yet; the baseline is empty", request.baseline)
        (run,) = run_checks([proposal], request.settings)
        proposal_results = collect_results(run).merge(_property_results(property_specs, request.settings))
        baseline_results = ResultSet()
        in_repository = [name for path, name in zip([*request.models, *request.mappings, *request.properties],
                                                    [*model_names, *mapping_names, *property_names])
                         if _relative_name(path, root) is not None]
        description = {"kind": "git", "ref": request.baseline, "commit": None, "status": "unborn",
                       "missing_files": in_repository, "problems": []}
    else:
        proposal_results, baseline_results, description = _against_revision(
            request, proposal, root, commit, model_names, mapping_names)
        proposal_results.merge(_property_results(property_specs, request.settings))
        baseline_results.merge(_baseline_properties(request, root, commit, property_names, description))

    results, stale, checks = compare(proposal_results, baseline_results, acknowledgements)
    outside = {name for path, name in zip([*request.models, *request.mappings, *request.properties],
                                          [*model_names, *mapping_names, *property_names])
               if _relative_name(path, base) is None}
    outcome = GateOutcome(settings=settings, baseline=description, accepted_file=accepted_name, results=results,
                          stale=stale, checks=checks, proposal=proposal_results,
                          outside_repository=_outside(base, results, acknowledgements, outside))
    log.info("gate against %s: %s", request.baseline,
             ", ".join(f"{len(outcome.with_status(status))} {status}" for status in STATUSES))
    return outcome


def _outside(root: Path, results: list[GatedResult], acknowledgements: list[Acknowledgement],
             outside: set[str]) -> frozenset[str]:
    """The names, among the locations the outputs give, that are no file of the repository:
    the input files outside it, and any other name with no file under the root (a machine file
    an outside composition names)."""
    named = {location.file for gated in results if gated.status != "fixed"
             for location in (gated.result.location, gated.result.related) if location is not None}
    named |= {acknowledgement.location.file for acknowledgement in acknowledgements}
    return frozenset(name for name in named
                     if name in outside or PurePath(name).is_absolute() or name.split("/")[0] == ".."
                     or not (root / name).is_file())


def _at_revision(paths: list[Path], names: list[str], root: Path, temporary: Path, written: set[str],
                 description: dict[str, Any]) -> tuple[list[Path], list[str]]:
    """The baseline's versions of ``paths``: a file of the repository as extracted from the
    revision into ``temporary`` (left out, and listed as missing, when the revision lacks it);
    a file outside the repository as it is, the same on both sides."""
    kept_paths, kept_names = [], []
    for path, name in zip(paths, names):
        if _relative_name(path, root) is not None:
            if name not in written:
                description["missing_files"].append(name)  # new in the proposal: all its results are new
                continue
            path = Path(temporary, *PurePath(name).parts)
        kept_paths.append(path)
        kept_names.append(name)
    return kept_paths, kept_names


def _baseline_properties(request: GateRequest, root: Path, commit: str, names: list[str],
                         description: dict[str, Any]) -> ResultSet:
    """The property verdicts at ``commit``: its versions of the property files (and of every
    model file they name), checked in a temporary directory. A property file new in the
    proposal has no baseline: its results are all new."""
    if not names:
        return ResultSet()
    in_repository = {name for path, name in zip(request.properties, names) if _relative_name(path, root) is not None}
    with tempfile.TemporaryDirectory(prefix="swmc-baseline-properties-") as temporary:
        written = extract_files(root, commit, Path(temporary), also=in_repository)
        paths, kept = _at_revision(request.properties, names, root, Path(temporary), written, description)

        def system_at(path: Path) -> Path:
            # A system named as a built-in model is swmc's own file. When that file is one of
            # this repository (swmc gating its own checkout), the baseline reads it at the
            # revision like every other file of the repository; a model the revision lacks
            # makes the baseline's properties fail to load.
            name = _relative_name(path, root)
            if name is None or _relative_name(path, Path(temporary).resolve()) is not None:
                return path
            if name not in written:
                raise InputError(Problem(file=name, line=0, rule="file",
                                         message=f"no such model file at {commit[:12]}"))
            return Path(temporary, *PurePath(name).parts)

        try:
            specs = _load_property_files(paths, kept, system_at)
        except InputError as error:
            log.warning("the property files at %s do not load; every property result of the proposal counts as new",
                        request.baseline)
            description["status"] = "invalid"
            description["problems"] = [*description["problems"], *(str(problem) for problem in error.problems)]
            return ResultSet()
        return _property_results(specs, request.settings)


def _against_revision(request: GateRequest, proposal: Inputs, root: Path, commit: str,
                      model_names: list[str], mapping_names: list[str]) -> tuple[ResultSet, ResultSet, dict[str, Any]]:
    """Check both sides, the baseline from the files of ``commit`` in a temporary directory."""
    paths = request.models + request.mappings
    in_repository = {name for path, name in zip(paths, model_names + mapping_names) if _relative_name(path, root) is not None}
    description = {"kind": "git", "ref": request.baseline, "commit": commit, "status": "checked",
                   "missing_files": [], "problems": []}
    with tempfile.TemporaryDirectory(prefix="swmc-baseline-") as temporary:
        written = extract_files(root, commit, Path(temporary), also=in_repository)
        baseline_models = _at_revision(request.models, model_names, root, Path(temporary), written, description)
        baseline_mappings = _at_revision(request.mappings, mapping_names, root, Path(temporary), written, description)
        sides = [proposal]
        try:
            sides.append(Inputs(load_models(*baseline_models), load_mappings(*baseline_mappings), dict(proposal.parameters)))
        except InputError as error:
            # A baseline that does not load has no findings to compare with: everything the
            # proposal has counts as new, so that the gate never passes what it could not compare.
            log.warning("the files at %s do not load; every result of the proposal counts as new", request.baseline)
            description["status"] = "invalid"
            description["problems"] = [str(problem) for problem in error.problems]
        runs = run_checks(sides, request.settings)
        results = [collect_results(run) for run in runs]  # while the temporary files exist
    baseline_results = results[1] if len(results) > 1 else ResultSet()
    return results[0], baseline_results, description
