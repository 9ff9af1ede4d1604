"""Reports of ``swmc prove`` and ``swmc requirements``: JSON, Markdown and a terminal summary.

As for ``swmc check`` (``checker.report``), the JSON key order is fixed and no timestamp,
timing or absolute path is written, so the same inputs give byte-identical files. The
layouts are documented in docs/report-format.md.
"""

from __future__ import annotations

import json
import re
import textwrap
from typing import Any

from . import __version__
from .prove import PropertyResult
from .report import _witness
from .requirements import RequirementVerdict

__all__ = ["PROVE_FORMAT", "REQUIREMENTS_FORMAT", "prove_json", "prove_markdown", "prove_summary",
           "requirements_json", "requirements_markdown", "requirements_summary", "render", "short_evidence",
           "side_evidence"]

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
        lines += _result_details(result, "")
    return "\n".join(line for line in lines) + "\n"


def _result_details(result, indent: str) -> list[str]:
    """A property's fixed points, cross-checks and witness as Markdown list items and a code
    block, indented by ``indent`` (its place in the prove or the requirements report)."""
    lines = []
    if result.fixed_points:
        lines.append(f"{indent}- fixed points (states satisfying each temporal subformula, innermost first, of "
                     f"{result.states} reachable states):")
        lines += [f"{indent}  - `{formula}`: {count}" for formula, count in result.fixed_points]
    for engine, status in sorted(result.cross_checks.items()):
        lines.append(f"{indent}- cross-check, {engine}: {status}")
    if result.witness:
        lines += ["", f"{indent}{result.witness_role.capitalize()}:", "", f"{indent}```",
                  *[f"{indent}{line}" for line in _witness_lines(result)], f"{indent}```"]
    return lines


# -- requirements ------------------------------------------------------------------------------

# The terminal table fits a 100-column terminal: longer texts are wrapped onto indented lines
# (evidence, explanations) or shortened at a word boundary (out-of-scope reasons, whose whole
# text is in the reports), never cut at the terminal's own edge.
TERMINAL_WIDTH = 100
SIDE_LABELS = {"scomo": "SCOMO", "tr069": "TR-069"}
DRAFT_TR069_WIDTH = 16  # "Yes with remark" and "No with remark" fit; a longer text goes below the row


def _steps_text(count: int) -> str:
    return _count(count, "step", "steps")


def _method(result: PropertyResult) -> str:
    """The engine that decided, without what it ran on: "z3 spacer", "z3 k-induction"."""
    method = result.engine.split(" (")[0]
    return "explicit search" if method == "explicit" else method


def _abbreviate(text: str, width: int) -> str:
    """``text`` shortened at a word boundary to at most ``width`` characters, "..." marking the cut."""
    if len(text) <= width:
        return text
    cut = text[:width - 3].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "..."


def short_evidence(result: PropertyResult) -> str:
    """What one property's verdict rests on, in a few words taken from the verdict itself: the
    engine of a proof, the length of a counterexample or example, the fixed point."""
    steps = result.depth if result.depth is not None else (len(result.witness) - 1 if result.witness else None)
    if result.status == "holds":
        if result.kind == "reachability":
            return f"example of {_steps_text(steps)}" if steps else "example: the initial state"
        if result.kind == "ctl":
            return "fixed point"
        if result.kind == "ltl":
            return "tableau: no accepting cycle"
        return f"proved by {_method(result)}"
    if result.status == "violated":
        if result.witness and steps:
            lasso = ", a lasso" if result.loop_start is not None else ""
            return f"{result.witness_role} of {_steps_text(steps)}{lasso}"
        if result.kind == "reachability":
            return f"unreachable ({_method(result)})"
        return "violated in the initial state"
    if result.status == "no-violation-up-to":
        return f"no violation up to {_steps_text(result.depth or 0)}"
    return "unknown: " + _abbreviate(result.summary or result.evidence or "no engine answered", 80)


def _decisive(verdict: RequirementVerdict, side: str) -> list[PropertyResult]:
    """The properties a side's verdict rests on: all of them when it is supported, else those
    that refute it (not supported) or that no engine decided (undecided)."""
    results = verdict.results.get(side, [])
    status = verdict.sides.get(side)
    if status == "not supported":
        return [result for result in results if result.status == "violated"]
    if status == "undecided":
        return [result for result in results if result.status != "holds"]
    return results


def side_evidence(verdict: RequirementVerdict, side: str) -> str:
    """A side's evidence in one short phrase: each distinct label once, with how often it occurs."""
    labels: dict[str, int] = {}
    for result in _decisive(verdict, side):
        label = short_evidence(result)
        labels[label] = labels.get(label, 0) + 1
    return ", ".join(label if count == 1 else f"{label} ×{count}" for label, count in labels.items()) or "—"


def _agreement(verdict: RequirementVerdict) -> str:
    if verdict.undecided:
        return "undecided"
    return "yes" if verdict.agrees else "no"


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
                "evidence": {side: side_evidence(verdict, side) for side in sorted(verdict.results)},
                "properties": {side: [_property(result) for result in results]
                               for side, results in sorted(verdict.results.items())},
            })
        rows.append(row)
    behaviour = [v for v in verdicts if v.requirement.scope == "behaviour"]
    return {"format": REQUIREMENTS_FORMAT, "swmc_version": __version__, "settings": settings,
            "summary": {"requirements": len(verdicts), "behaviour": len(behaviour),
                        "out_of_scope": len(verdicts) - len(behaviour),
                        "disagreements_with_draft": sum(1 for v in behaviour if v.agrees is False),
                        "unexplained_disagreements": sum(1 for v in behaviour if not v.explained),
                        "undecided": sum(1 for v in behaviour if v.undecided)},
            "requirements": rows}


def _wrapped(text: str, indent: int, width: int = TERMINAL_WIDTH) -> list[str]:
    """``text`` on lines of at most ``width`` columns, each indented by ``indent`` spaces."""
    return textwrap.wrap(text, width=width, initial_indent=" " * indent, subsequent_indent=" " * (indent + 2),
                         break_on_hyphens=False, break_long_words=False)


def _footer(verdicts: list[RequirementVerdict]) -> str:
    behaviour = [v for v in verdicts if v.requirement.scope == "behaviour"]
    disagreements = sum(1 for v in behaviour if v.agrees is False)
    unexplained = sum(1 for v in behaviour if not v.explained)
    undecided = sum(1 for v in behaviour if v.undecided)
    text = (f"{_count(len(verdicts), 'requirement', 'requirements')}: {len(behaviour)} about behaviour, "
            f"{len(verdicts) - len(behaviour)} out of scope; {disagreements} disagree with the draft")
    if unexplained:
        text += f", {unexplained} of them UNEXPLAINED"
    if undecided:
        text += f"; {undecided} undecided"
    return text


def requirements_summary(verdicts: list[RequirementVerdict], settings: dict[str, Any]) -> str:
    """The table for a terminal: a row per requirement with both verdicts, the gaps and the
    draft's TR-069 column, then the evidence of each side (and any disagreement's explanation)
    on the lines below it."""
    behaviour = [v for v in verdicts if v.requirement.scope == "behaviour"]
    id_width = max([len("requirement")] + [len(v.requirement.id) for v in verdicts])
    draft_width = min(DRAFT_TR069_WIDTH, max([len("draft TR-069")] + [len(v.requirement.draft.get("tr069", ""))
                                                                       for v in behaviour]))
    columns = (("requirement", id_width), ("SCOMO", 13), ("TR-069", 13), ("draft TR-069", draft_width),
               ("gap (checker)", 13), ("gap (draft)", 13))
    lines = ["  ".join(f"{name:{width}}" for name, width in columns) + "  agrees"]
    indent = id_width + 2
    for verdict in verdicts:
        requirement = verdict.requirement
        if requirement.scope != "behaviour":
            lead = f"{requirement.id:{id_width}}  out of scope: "
            first_sentence = requirement.reason.split(". ")[0].rstrip(".")
            lines.append(lead + _abbreviate(first_sentence, TERMINAL_WIDTH - len(lead)))
            continue
        draft_tr069 = requirement.draft.get("tr069", "") or "—"
        cells = (requirement.id, verdict.sides.get("scomo", "—"), verdict.sides.get("tr069", "—"),
                 _abbreviate(draft_tr069, draft_width), verdict.gap, verdict.draft_gap)
        lines.append("  ".join(f"{cell:{width}}" for cell, (_, width) in zip(cells, columns))
                     + f"  {_agreement(verdict)}")
        if len(draft_tr069) > draft_width:
            lines += _wrapped(f"draft TR-069: {draft_tr069}", indent)
        evidence = [f"{SIDE_LABELS.get(side, side)}: {side_evidence(verdict, side)}"
                    for side in sorted(verdict.results)]
        if indent + len("; ".join(evidence)) <= TERMINAL_WIDTH:
            lines.append(" " * indent + "; ".join(evidence))
        else:  # a side per line rather than a side broken across two
            for text in evidence:
                lines += _wrapped(text, indent)
        if verdict.agrees is False:
            if requirement.explanation:
                lines += _wrapped(f"disagrees with the draft, explained: {requirement.explanation}", indent)
            else:
                lines += _wrapped(f"disagrees with the draft, UNEXPLAINED: no explanation at "
                                  f"{_requirement_place(verdict)}", indent)
    lines += _wrapped(_footer(verdicts), 0)
    lines.append(f"seed {settings['seed']}, Z3 timeout {settings['timeout_seconds']:g} s; "
                 "every reason, proof and counterexample in full: requirements.md")
    return "\n".join(lines) + "\n"


def _requirement_place(verdict: RequirementVerdict) -> str:
    """Where the requirement is written: the file of its properties (the requirements file)."""
    results = [result for side in verdict.results.values() for result in side]
    file = results[0].file if results else "the requirements file"
    return f"{file}:{verdict.requirement.line}"


def _anchor(identity: str) -> str:
    """The anchor GitHub and most renderers give a heading that is just ``identity``."""
    return re.sub(r"[^a-z0-9_-]", "", identity.lower().replace(" ", "-"))


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|")


def requirements_markdown(verdicts: list[RequirementVerdict], settings: dict[str, Any]) -> str:
    lines = ["# The 2012 draft's requirements, checked", "",
             f"Engines: {settings['engine']}; Z3 seed {settings['seed']}; "
             f"Z3 timeout {settings['timeout_seconds']:g} s.",
             "A side supports a requirement when every one of its properties holds. The evidence column says what "
             "each side's verdict rests on; each requirement's section below gives the properties, the whole "
             "evidence and every counterexample step by step.", "",
             "| requirement | SCOMO | TR-069 | gap (checker) | draft: TR-069 | draft: gap | agrees | evidence |",
             "|---|---|---|---|---|---|---|---|"]
    for verdict in verdicts:
        requirement = verdict.requirement
        if requirement.scope != "behaviour":
            continue
        if verdict.undecided:
            agrees = "undecided"
        else:
            agrees = "yes" if verdict.agrees else ("no (explained below)" if verdict.explained
                                                   else "**no, unexplained**")
        evidence = "<br>".join(f"{SIDE_LABELS.get(side, side)}: {_markdown_cell(side_evidence(verdict, side))}"
                               for side in sorted(verdict.results))
        draft_tr069 = _markdown_cell(requirement.draft.get("tr069", ""))
        draft_gap_text = _markdown_cell(requirement.draft.get("gap", "")) or "—"
        lines.append(f"| [{requirement.id}](#{_anchor(requirement.id)}) | {verdict.sides.get('scomo')} | "
                     f"{verdict.sides.get('tr069')} | {verdict.gap} | {draft_tr069} | {draft_gap_text} | {agrees} | "
                     f"{evidence} |")
    lines += ["", "## Out of scope", "", "| requirement | why |", "|---|---|"]
    for verdict in verdicts:
        if verdict.requirement.scope != "behaviour":
            lines.append(f"| {verdict.requirement.id} | {_markdown_cell(verdict.requirement.reason)} |")
    lines += ["", "## Each requirement", ""]
    for verdict in verdicts:
        requirement = verdict.requirement
        if requirement.scope != "behaviour":
            continue
        lines += [f"### {requirement.id}", "", f"> {requirement.text}", "", f"Question: {requirement.question}", ""]
        draft = requirement.draft
        columns = (("release", "SCOMO release"), ("tr069", "TR-069"), ("comment", "TR-069 comment"), ("gap", "gap"))
        lines.append("The draft: " + ", ".join(f"{label} \"{draft[key]}\"" for key, label in columns if draft.get(key))
                     + f" (read as: {verdict.draft_gap}).")
        lines += ["", f"The checker: SCOMO {verdict.sides.get('scomo')}, TR-069 {verdict.sides.get('tr069')}: "
                      f"{verdict.gap}.", ""]
        if verdict.agrees is False:
            lines += [f"Disagrees with the draft ({verdict.draft_gap}): "
                      + (requirement.explanation or "**no explanation is given in the requirements file**"), ""]
        for side in ("scomo", "tr069"):
            for result in verdict.results.get(side, []):
                # The evidence is given whole: a counterexample's text refers to its steps, which
                # follow in full, numbered as in the terminal.
                lines.append(f"- {SIDE_LABELS[side]} `{result.name}`: `{result.formula}` — "
                             f"**{result.status}** ({result.engine}); {result.evidence}")
                lines += _result_details(result, "  ")
                if result.witness:
                    lines.append("")
        lines.append("")
    return "\n".join(lines) + "\n"
