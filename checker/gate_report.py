"""The outputs of a gate, for the tools CI systems run: JSON, JUnit XML, SARIF 2.1.0, a
Markdown summary for a pull-request comment, and text for the terminal.

Every output is a pure function of the :class:`~checker.gate.GateOutcome`: results in
identity order, checks in model order, no timestamp, duration, host name or absolute path
(locations are repository-relative), so the same inputs give the same bytes. The JSON layout
is in docs/gate.md and schemas/gate-report.schema.json.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

from . import __version__
from .errors import Problem
from .gate import STATUSES, GatedResult, GateOutcome, Location, findings_document, is_findings_document
from .outputs import MARKER

__all__ = ["CATEGORY_DESCRIPTIONS", "FORMATS", "GATE_REPORT_FORMAT", "render", "save_findings", "save_problems"]

GATE_REPORT_FORMAT = "swmc-gate-report/1"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SOURCE_ROOT = "SRCROOT"

# Output format -> the file it is always written to in --out.
FORMATS = {
    "json": "gate.json",
    "markdown": "gate.md",
    "junit": "gate.junit.xml",
    "sarif": "gate.sarif",
    "text": "gate.txt",
}

# Each category is one SARIF rule; the order is the rules' order in every SARIF file.
CATEGORY_DESCRIPTIONS = {
    "unreachable-state": "A state of a machine that no behaviour of the system reaches.",
    "unreachable-value": "An observable value that no behaviour of the system shows.",
    "deadlock": "A reachable state in which no step is possible and some instance is not in a terminal state.",
    "stuck-transient": "A transient state from which an instance can never settle again.",
    "no-image": "A reachable SCOMO state that the mapping maps to nothing.",
    "image-unreachable": "A SCOMO state whose TR-069 images no behaviour of the TR-069 side shows.",
    "no-preimage": "A TR-069 state or operation that no SCOMO state or operation maps to.",
    "no-counterpart": "A SCOMO operation that the mapping maps to nothing.",
    "no-mapped-source": "A SCOMO operation that can only be requested in states that map to nothing.",
    "counterpart-not-enabled": "A SCOMO operation whose TR-069 counterpart can never be requested where it can.",
    "behaviour-mismatch": ("A state or operation whose counterpart exists but one of whose steps (or whose completion) "
                           "the other side cannot follow."),
    "unpaired": "A state or operation of a component that the mapping pairs with no component of the other side.",
}
STATUS_TITLES = {
    "new": "New: the change adds these, and they fail the gate",
    "fixed": "Fixed: the baseline has these, the change does not",
    "accepted": "Accepted: acknowledged in the accepted-findings file",
    "existing": "Existing: the baseline has these too",
}
MARKDOWN_WITNESS_LINES = 3
STALE_SUITE = "stale acknowledgements"  # JUnit: the suite of the skipped test cases they become
STALE_RULE = "stale-acknowledgement"  # SARIF: the rule of the note-level results they become
STALE_DESCRIPTION = "An acknowledgement in the accepted-findings file that names no result any more."


def _counts(outcome: GateOutcome) -> dict[str, int]:
    counts = {status: len(outcome.with_status(status)) for status in STATUSES}
    counts["stale"] = len(outcome.stale)
    return counts


def _baseline_words(outcome: GateOutcome) -> str:
    baseline = outcome.baseline
    if baseline["kind"] == "git" and baseline["commit"] is None:
        words = f"`{baseline['ref']}` (a branch with no commit yet: the baseline is empty, every result is new)"
    elif baseline["kind"] == "git":
        words = f"`{baseline['ref']}` (commit {baseline['commit'][:12]})"
    else:
        words = f"the findings file `{baseline['ref']}`"
    if baseline["status"] == "invalid":
        words += ", whose files do not load (every result counts as new)"
    return words


# --- JSON -----------------------------------------------------------------------------------

def _gated_json(gated: GatedResult) -> dict[str, Any]:
    entry = gated.result.as_json()
    return {"id": entry.pop("id"), "status": gated.status, "baseline_state": gated.baseline_state, **entry,
            "reason": gated.reason, "acknowledged_at": gated.acknowledged_at.as_json() if gated.acknowledged_at else None}


def gate_report(outcome: GateOutcome) -> dict[str, Any]:
    failures = outcome.check_failures()
    return {
        "format": GATE_REPORT_FORMAT,
        "tool": {"name": "swmc", "version": __version__},
        "settings": outcome.settings,
        "baseline": outcome.baseline,
        "accepted_file": outcome.accepted_file,
        "passed": outcome.passed,
        "summary": {**_counts(outcome), "checks": len(outcome.checks), "failed_checks": len(failures)},
        "checks": [{**check.as_json(), "passed": check.id not in failures} for check in outcome.checks],
        "results": [_gated_json(gated) for gated in outcome.results],
        "stale": [{"id": item.id, "reason": item.reason, "location": item.location.as_json()} for item in outcome.stale],
    }


def render_json(outcome: GateOutcome) -> str:
    return json.dumps(gate_report(outcome), indent=2, ensure_ascii=False) + "\n"


def save_findings(outcome: GateOutcome) -> str:
    """The proposal's results as a findings file, for a later ``--baseline FILE``."""
    return json.dumps(findings_document(outcome.proposal, outcome.settings), indent=2, ensure_ascii=False) + "\n"


def save_problems(path: Path, out: Path) -> list[Problem]:
    """Every reason why the findings file ``path`` (``--save``) could not be written, or must
    not be, given that the reports go to the directory ``out``. Asked before anything is
    analysed, so that a gate refuses a bad ``--save`` at once rather than after its analyses
    and its reports. Nothing a user wrote is replaced: an existing file may only be a findings
    file (which swmc wrote), and a report the gate writes into ``out`` is not one."""
    def problem(message: str) -> Problem:
        return Problem(file=str(path), line=0, rule="save-file", message=message)

    parent = path.parent
    in_out = parent.resolve() == out.resolve()
    if in_out and path.name in (*FORMATS.values(), MARKER):
        return [problem(f"the gate writes its own {path.name} into --out {out}; save the findings under another name")]
    if in_out and not out.is_dir():
        return []  # the gate creates the output directory; OutputDirectory.check says if it cannot
    existing = next((folder for folder in (parent, *parent.parents) if folder.exists()), None)
    if existing is not None and not existing.is_dir():
        return [problem(f"{existing} is not a directory, so no file can be written below it")]
    if existing != parent:
        return [problem(f"the directory {parent} does not exist; create it, or save the findings elsewhere")]
    if not os.access(parent, os.W_OK | os.X_OK):
        return [problem(f"the directory {parent} is not writable")]
    if path.is_symlink():
        # Replacing the link would drop what the user set up; following it would write elsewhere.
        return [problem("is a symbolic link; name the file it points to, or another file")]
    if not path.exists():
        return []
    if path.is_dir():
        return [problem("is a directory, not a file")]
    if not path.is_file():
        return [problem("exists and is not a regular file")]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        text = ""
    except OSError as error:
        return [problem(f"exists and cannot be read ({error.strerror}), so it cannot be told to be a findings file")]
    if not is_findings_document(text):
        return [problem("exists and is not a findings file of swmc (JSON with \"format\": \"swmc-findings/...\"); "
                        "only such a file is replaced: choose another name, or remove it")]
    return []


# --- text and Markdown ----------------------------------------------------------------------

def render_text(outcome: GateOutcome) -> str:
    counts = _counts(outcome)
    lines = [f"swmc gate against {_baseline_words(outcome).replace('`', '')}: "
             + ", ".join(f"{counts[name]} {name}" for name in ("new", "fixed", "accepted", "existing", "stale"))]
    for status in ("new", "fixed", "accepted"):
        for gated in outcome.with_status(status):
            where = f"{gated.result.location}: " if gated.result.location else ""
            lines.append(f"  {status}: {where}{gated.result.category}: {gated.result.id}")
            lines.append(f"    {gated.result.message}")
            if gated.reason:
                lines.append(f"    accepted because: {gated.reason}")
    for item in outcome.stale:
        lines.append(f"  stale: {item.location}: {item.id} is acknowledged but no longer found")
    for problem in outcome.baseline.get("problems", []):
        lines.append(f"  baseline problem: {problem}")
    new = counts["new"]
    lines.append("passed: the change adds no finding" if outcome.passed
                 else f"failed: the change adds {new} finding{'s' if new != 1 else ''}")
    return "\n".join(lines) + "\n"


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(outcome: GateOutcome) -> str:
    counts = _counts(outcome)
    verdict = "passed" if outcome.passed else "failed"
    parameters = ", ".join(f"{name}={value}" for name, value in outcome.settings["parameters"].items()) or "defaults"
    lines = [f"## swmc gate: {verdict}", "",
             f"Compared with {_baseline_words(outcome)}; engines: {outcome.settings['engine']}, parameters: {parameters}.", "",
             "| new | fixed | accepted | stale acknowledgements | existing |", "|---|---|---|---|---|",
             f"| {counts['new']} | {counts['fixed']} | {counts['accepted']} | {counts['stale']} | {counts['existing']} |", ""]
    for status in ("new", "fixed", "accepted"):
        items = outcome.with_status(status)
        if not items:
            continue
        lines += [f"### {STATUS_TITLES[status]}", ""]
        for gated in items:
            result = gated.result
            where = f" at `{result.location}`" if result.location else ""
            lines.append(f"- **{result.category}** `{result.id}`{where}: {result.message}")
            if gated.reason:
                lines.append(f"  - accepted because: {gated.reason}")
            if result.witness:
                shown = list(result.witness[:MARKDOWN_WITNESS_LINES])
                if len(result.witness) > MARKDOWN_WITNESS_LINES:
                    shown.append("...")
                lines += ["", "  ```text", *(f"  {line}" for line in shown), "  ```", ""]
        lines.append("")
    if outcome.stale:
        lines += ["### Stale acknowledgements: accepted, but no longer found", "",
                  "They do not fail the gate; remove them from the accepted-findings file.", ""]
        for item in outcome.stale:
            lines.append(f"- `{item.id}` at `{item.location}`: {_markdown_cell(item.reason)}")
        lines.append("")
    if outcome.baseline.get("problems"):
        lines += ["### The baseline's files do not load", ""]
        lines += [f"- `{problem}`" for problem in outcome.baseline["problems"]]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# --- JUnit XML ------------------------------------------------------------------------------

def _failure_text(gated: GatedResult) -> str:
    result = gated.result
    lines = [f"{result.id}", f"{result.location}: {result.message}" if result.location else result.message]
    if result.related:
        lines.append(f"defined at {result.related}")
    lines += result.witness
    return "\n".join(lines)


def render_junit(outcome: GateOutcome) -> str:
    """One test case per check (a model's finding category in one system, a state or
    operation of a mapping, later a property); a check fails when it has a new result."""
    failures = outcome.check_failures()
    others: dict[str, list[GatedResult]] = {}
    for gated in outcome.results:
        if gated.status != "new":
            others.setdefault(gated.result.check, []).append(gated)
    suites: dict[str, list] = {}
    for check in outcome.checks:
        suites.setdefault(check.suite, []).append(check)

    root = ElementTree.Element("testsuites", {"name": "swmc gate", "tests": str(len(outcome.checks) + len(outcome.stale)),
                                              "failures": str(len(failures)), "errors": "0",
                                              "skipped": str(len(outcome.stale))})
    for suite_name, checks in suites.items():
        failed = sum(1 for check in checks if check.id in failures)
        suite = ElementTree.SubElement(root, "testsuite", {"name": suite_name, "tests": str(len(checks)),
                                                           "failures": str(failed), "errors": "0", "skipped": "0"})
        for check in checks:
            attributes = {"name": check.name, "classname": "swmc." + suite_name.replace(" ", ".")}
            if check.location:
                attributes["file"] = check.location.file
                if check.location.line:
                    attributes["line"] = str(check.location.line)
            case = ElementTree.SubElement(suite, "testcase", attributes)
            new = failures.get(check.id, [])
            if new:
                failure = ElementTree.SubElement(case, "failure", {
                    "type": ",".join(dict.fromkeys(gated.result.category for gated in new)),
                    "message": "; ".join(f"new {gated.result.category}: {gated.result.message}" for gated in new)})
                failure.text = "\n\n".join(_failure_text(gated) for gated in new)
            notes = [f"{gated.status}: {gated.result.id}" + (f" (accepted because: {gated.reason})" if gated.reason else "")
                     for gated in others.get(check.id, [])]
            if notes:
                ElementTree.SubElement(case, "system-out").text = "\n".join(notes)
    if outcome.stale:
        # One skipped test case per stale acknowledgement: shown, so that the file gets tidied,
        # but neither a failure nor a pass of anything that was checked.
        suite_name = STALE_SUITE
        suite = ElementTree.SubElement(root, "testsuite", {"name": suite_name, "tests": str(len(outcome.stale)),
                                                           "failures": "0", "errors": "0",
                                                           "skipped": str(len(outcome.stale))})
        for item in outcome.stale:
            attributes = {"name": item.id, "classname": "swmc." + suite_name.replace(" ", "."),
                          "file": item.location.file}
            if item.location.line:
                attributes["line"] = str(item.location.line)
            case = ElementTree.SubElement(suite, "testcase", attributes)
            ElementTree.SubElement(case, "skipped", {"message": f"stale acknowledgement: {item.id} is acknowledged at "
                                                               f"{item.location} but no longer found"})
            ElementTree.SubElement(case, "system-out").text = f"reason given: {item.reason}"
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


# --- SARIF 2.1.0 ----------------------------------------------------------------------------

def _physical(location: Location) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": quote(location.file), "uriBaseId": SOURCE_ROOT}}
    if location.line:
        physical["region"] = {"startLine": location.line}
    return physical


def render_sarif(outcome: GateOutcome) -> str:
    """The proposal's results, each at the mapping or model entry behind it. Fixed results are
    left out (what is absent from a run is what a code-scanning service closes); accepted ones
    are suppressed with their reason; each stale acknowledgement is a note at its line of the
    accepted-findings file."""
    shown = [gated for gated in outcome.results if gated.status != "fixed"]
    categories = [*CATEGORY_DESCRIPTIONS, STALE_RULE,
                  *sorted({gated.result.category for gated in shown} - set(CATEGORY_DESCRIPTIONS))]
    descriptions = {**CATEGORY_DESCRIPTIONS, STALE_RULE: STALE_DESCRIPTION}
    rules = [{"id": category, "name": category.title().replace("-", ""),
              "shortDescription": {"text": descriptions.get(category, f"A result of category {category}.")}}
             for category in categories]
    index = {category: number for number, category in enumerate(categories)}

    def in_repository(where: Location | None) -> bool:
        return where is not None and where.file not in outcome.outside_repository

    results = []
    for gated in shown:
        result = gated.result
        entry: dict[str, Any] = {
            "ruleId": result.category,
            "ruleIndex": index[result.category],
            "level": {"new": "error", "existing": "warning", "accepted": "note"}[gated.status],
            "message": {"text": result.message},
        }
        location: dict[str, Any] = {"logicalLocations": [{"fullyQualifiedName": result.id}]}
        if in_repository(result.location):
            location = {"physicalLocation": _physical(result.location), **location}
        entry["locations"] = [location]
        if in_repository(result.related):
            entry["relatedLocations"] = [{"id": 1, "physicalLocation": _physical(result.related),
                                          "message": {"text": f"where {result.subject} is defined"}}]
        entry["partialFingerprints"] = {"swmcIdentity/v1": result.id}
        entry["baselineState"] = gated.baseline_state
        if gated.status == "accepted":
            suppression: dict[str, Any] = {"kind": "external", "status": "accepted", "justification": gated.reason}
            if in_repository(gated.acknowledged_at):
                suppression["location"] = {"physicalLocation": _physical(gated.acknowledged_at)}
            entry["suppressions"] = [suppression]
        entry["properties"] = {"swmcId": result.id, "swmcStatus": gated.status, "swmcKind": result.kind}
        results.append(entry)
    for item in outcome.stale:
        # A note, never an error: the finding it excused is gone, and only the accepted-findings
        # file needs tidying. Its own fingerprint, so that it is no alert of the finding itself.
        location: dict[str, Any] = {"logicalLocations": [{"fullyQualifiedName": item.id}]}
        if in_repository(item.location):
            location = {"physicalLocation": _physical(item.location), **location}
        results.append({
            "ruleId": STALE_RULE,
            "ruleIndex": index[STALE_RULE],
            "level": "note",
            "message": {"text": f"{item.id} is acknowledged (reason given: {item.reason}) but no longer found; "
                                "remove the acknowledgement"},
            "locations": [location],
            "partialFingerprints": {"swmcIdentity/v1": f"{STALE_RULE}/{item.id}"},
            "properties": {"swmcId": item.id, "swmcStatus": "stale", "swmcKind": "acknowledgement"},
        })
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "swmc", "version": __version__, "rules": rules}},
            # No absolute URI: the consumer knows where it checked the repository out.
            "originalUriBaseIds": {SOURCE_ROOT: {"description": {"text": "The root of the repository the gate ran in."}}},
            "automationDetails": {"id": "swmc-gate/"},
            "results": results,
        }],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[GateOutcome], str]] = {
    "json": render_json,
    "markdown": render_markdown,
    "junit": render_junit,
    "sarif": render_sarif,
    "text": render_text,
}


def render(outcome: GateOutcome, format_name: str) -> str:
    return RENDERERS[format_name](outcome)
