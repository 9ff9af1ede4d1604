"""Reports of ``swmc prove`` and ``swmc requirements``: JSON, Markdown and a terminal summary.

As for ``swmc check`` (``checker.report``), the JSON key order is fixed and no timestamp,
timing or absolute path is written, so the same inputs give byte-identical files. The
layouts are documented in docs/report-format.md.
"""

from __future__ import annotations

import json
from typing import Any

from . import __version__
from .prove import PropertyResult
from .report import _witness
from .requirements import RequirementVerdict

__all__ = ["PROVE_FORMAT", "REQUIREMENTS_FORMAT", "prove_json", "prove_markdown", "prove_summary",
           "requirements_json", "requirements_markdown", "requirements_summary", "render"]

PROVE_FORMAT = "swmc-prove-report/1"
REQUIREMENTS_FORMAT = "swmc-requirements-report/1"
STATUS_ORDER = ("holds", "violated", "no-violation-up-to", "unknown")


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _property(result: PropertyResult) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": result.identity, "name": result.name, "file": result.file, "line": result.line,
        "system": result.system, "kind": result.kind, "formula": result.formula, "expanded": result.expanded,
        "fairness": list(result.fairness), "status": result.status, "engine": result.engine,
        "evidence": result.evidence, "cross_checks": dict(sorted(result.cross_checks.items())),
        "states": result.states,
        "fixed_points": None if result.fixed_points is None else
        [{"formula": formula, "states": count} for formula, count in result.fixed_points],
        "depth": result.depth, "witness_role": result.witness_role, "loop_start": result.loop_start,
        "witness": _witness(result.witness),
    }
    return entry


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _counts(results: list[PropertyResult]) -> dict[str, int]:
    return {status: sum(1 for result in results if result.status == status) for status in STATUS_ORDER}


def prove_json(results: list[PropertyResult], settings: dict[str, Any]) -> dict[str, Any]:
    return {"format": PROVE_FORMAT, "swmc_version": __version__, "settings": settings,
            "summary": {"properties": len(results), **_counts(results)},
            "properties": [_property(result) for result in results]}


def _witness_lines(result: PropertyResult) -> list[str]:
    lines = []
    for number, step in enumerate(result.witness or []):
        marker = "  <- the loop starts here" if result.loop_start == number else ""
        if number == 0:
            state = ", ".join(f"{name}={value}" for name, value in step.state.items())
            lines.append(f"  {number}. initial: {state}{marker}")
            continue
        changed = ", ".join(f"{name}={step.state[name]}" for name in step.changed) or "nothing changes"
        followers = f" (with {', '.join(step.followers)})" if step.followers else ""
        lines.append(f"  {number}. {step.event}{followers} -> {changed}{marker}")
    if result.loop_start is not None and result.witness:
        lines.append(f"  ... and from step {len(result.witness) - 1} back to step {result.loop_start}, forever")
    return lines


def prove_summary(results: list[PropertyResult], settings: dict[str, Any]) -> str:
    lines = []
    for result in results:
        label = {"holds": "HOLDS", "violated": "VIOLATED", "no-violation-up-to": "BOUNDED", "unknown": "UNKNOWN"}[result.status]
        lines.append(f"{label:9} {result.name}  [{result.file}:{result.line}, {result.system}, {result.kind}] "
                     f"by {result.engine}")
        lines.append(f"  {result.summary or result.evidence}")
        if result.status == "violated" and result.witness:
            lines.append(f"  {result.witness_role}:")
            lines.extend(_witness_lines(result))
    counts = _counts(results)
    lines.append(f"{_count(len(results), 'property', 'properties')}: " + ", ".join(f"{count} {status}" for status, count in counts.items() if count)
                 + f" (seed {settings['seed']}, Z3 timeout {settings['timeout_seconds']:g} s)")
    return "\n".join(lines) + "\n"


def prove_markdown(results: list[PropertyResult], settings: dict[str, Any]) -> str:
    lines = ["# swmc prove", "",
             f"Engines: {settings['engine']}; Z3 seed {settings['seed']}; Z3 timeout {settings['timeout_seconds']:g} s; "
             f"explicit engine up to {settings['state_limit']} states.", "",
             "| property | system | kind | verdict | engine |", "|---|---|---|---|---|"]
    for result in results:
        lines.append(f"| `{result.name}` | {result.system} | {result.kind} | **{result.status}** | {result.engine} |")
    for result in results:
        lines += ["", f"## {result.name}", "", f"{result.description}" if result.description else "",
                  f"- where: `{result.file}:{result.line}`",
                  f"- formula: `{result.formula}`", f"- verdict: **{result.status}** ({result.engine})",
                  f"- evidence: {result.evidence}"]
        if result.fairness:
            lines.append(f"- fairness: {', '.join(result.fairness)}")
        if result.fixed_points:
            lines.append(f"- fixed points (states satisfying each temporal subformula, innermost first, of "
                         f"{result.states} reachable states):")
            lines += [f"  - `{formula}`: {count}" for formula, count in result.fixed_points]
        for engine, status in sorted(result.cross_checks.items()):
            lines.append(f"- cross-check, {engine}: {status}")
        if result.witness:
            lines += ["", f"{result.witness_role.capitalize()}:", "", "```", *_witness_lines(result), "```"]
    return "\n".join(line for line in lines) + "\n"


# -- requirements ------------------------------------------------------------------------------


def _evidence(verdict: RequirementVerdict, side: str) -> str:
    results = verdict.results.get(side, [])
    parts = []
    for result in results:
        if result.status == "holds":
            parts.append(f"{result.name}: holds ({result.engine.split(' (')[0]})")
        elif result.witness and len(result.witness) > 1:
            steps = len(result.witness) - 1
            parts.append(f"{result.name}: {result.status}, {result.witness_role} of {_count(steps, 'step', 'steps')}")
        elif result.witness:
            parts.append(f"{result.name}: {result.status} in the initial state")
        else:
            shown = result.summary or result.evidence
            parts.append(f"{result.name}: {shown if shown.startswith(result.status) else result.status + ', ' + shown}")
    return "; ".join(parts)


def requirements_json(verdicts: list[RequirementVerdict], settings: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for verdict in verdicts:
        requirement = verdict.requirement
        row: dict[str, Any] = {"id": requirement.id, "text": requirement.text, "scope": requirement.scope}
        if requirement.scope != "behaviour":
            row.update({"reason": requirement.reason, "draft": dict(sorted(requirement.draft.items()))})
        else:
            row.update({
                "question": requirement.question,
                "scomo": verdict.sides.get("scomo"), "tr069": verdict.sides.get("tr069"), "gap": verdict.gap,
                "draft": dict(sorted(requirement.draft.items())), "draft_gap": verdict.draft_gap,
                "agrees_with_draft": verdict.agrees, "explanation": requirement.explanation or None,
                "properties": {side: [_property(result) for result in results]
                               for side, results in sorted(verdict.results.items())},
            })
        rows.append(row)
    behaviour = [v for v in verdicts if v.requirement.scope == "behaviour"]
    return {"format": REQUIREMENTS_FORMAT, "swmc_version": __version__, "settings": settings,
            "summary": {"requirements": len(verdicts), "behaviour": len(behaviour),
                        "out_of_scope": len(verdicts) - len(behaviour),
                        "disagreements_with_draft": sum(1 for v in behaviour if v.agrees is False),
                        "unexplained_disagreements": sum(1 for v in behaviour if not v.explained)},
            "requirements": rows}


def requirements_summary(verdicts: list[RequirementVerdict]) -> str:
    lines = [f"{'requirement':18} {'SCOMO':14} {'TR-069':14} {'gap (checker)':15} {'gap (draft)':15} agrees"]
    for verdict in verdicts:
        requirement = verdict.requirement
        if requirement.scope != "behaviour":
            reason = requirement.reason.split(". ")[0].rstrip(".")
            reason = reason if len(reason) <= 100 else reason[:97] + "..."
            lines.append(f"{requirement.id:18} out of scope: {reason} (the reports give the whole reason)")
            continue
        agrees = "yes" if verdict.agrees else ("no, explained" if verdict.explained else "no, UNEXPLAINED")
        lines.append(f"{requirement.id:18} {verdict.sides.get('scomo', '-'):14} {verdict.sides.get('tr069', '-'):14} "
                     f"{verdict.gap:15} {verdict.draft_gap:15} {agrees}")
    behaviour = [v for v in verdicts if v.requirement.scope == "behaviour"]
    lines.append(f"{len(verdicts)} requirements: {len(behaviour)} about behaviour, {len(verdicts) - len(behaviour)} out of "
                 f"scope; {sum(1 for v in behaviour if v.agrees is False)} disagree with the draft")
    return "\n".join(lines) + "\n"


def requirements_markdown(verdicts: list[RequirementVerdict], settings: dict[str, Any]) -> str:
    lines = ["# The 2012 draft's requirements, checked", "",
             f"Engines: {settings['engine']}; Z3 seed {settings['seed']}; Z3 timeout {settings['timeout_seconds']:g} s.",
             "A side supports a requirement when every one of its properties holds.", "",
             "| requirement | SCOMO | TR-069 | gap (checker) | draft: TR-069 | draft: gap | agrees | evidence |",
             "|---|---|---|---|---|---|---|---|"]
    for verdict in verdicts:
        requirement = verdict.requirement
        if requirement.scope != "behaviour":
            continue
        agrees = "yes" if verdict.agrees else ("no (explained below)" if verdict.explained else "**no, unexplained**")
        evidence = "SCOMO: " + _evidence(verdict, "scomo") + "<br>TR-069: " + _evidence(verdict, "tr069")
        lines.append(f"| {requirement.id} | {verdict.sides.get('scomo')} | {verdict.sides.get('tr069')} | {verdict.gap} | "
                     f"{requirement.draft.get('tr069', '')} | {requirement.draft.get('gap', '') or '—'} | {agrees} | {evidence} |")
    lines += ["", "## Out of scope", "", "| requirement | why |", "|---|---|"]
    for verdict in verdicts:
        if verdict.requirement.scope != "behaviour":
            lines.append(f"| {verdict.requirement.id} | {verdict.requirement.reason} |")
    lines += ["", "## Each requirement", ""]
    for verdict in verdicts:
        requirement = verdict.requirement
        if requirement.scope != "behaviour":
            continue
        lines += [f"### {requirement.id}", "", f"> {requirement.text}", "", f"Question: {requirement.question}", ""]
        if verdict.agrees is False:
            lines += [f"Disagrees with the draft ({verdict.draft_gap}): "
                      + (requirement.explanation or "**no explanation is given in the requirements file**"), ""]
        for side in ("scomo", "tr069"):
            for result in verdict.results.get(side, []):
                lines.append(f"- {'SCOMO' if side == 'scomo' else 'TR-069'} `{result.name}`: `{result.formula}` — "
                             f"**{result.status}** ({result.engine}); {result.evidence if len(result.evidence) < 300 else result.evidence[:297] + '...'}")
                if result.witness:
                    lines += ["", "  ```", *[f"  {line}" for line in _witness_lines(result)], "  ```"]
        lines.append("")
    return "\n".join(lines) + "\n"
