"""Reports of a check: a JSON document for scripts, Markdown for people, a terminal summary.

The JSON layout is documented in docs/report-format.md; its key order is fixed and it holds
no timestamp, timing or absolute path, so the same inputs give byte-identical reports.
"""

from __future__ import annotations

import json
from typing import Any

from . import __version__
from .analysis import Finding, SystemAnalysis, TargetVerdict, WitnessStep
from .conclusions import DRAFT_MAPPING_ID, check_claims
from .model import format_value
from .simulation import NO_STEP

__all__ = ["REPORT_FORMAT", "json_report", "render_json", "render_markdown", "render_summary"]

REPORT_FORMAT = "swmc-check-report/1"


def _value(value: Any) -> Any:
    return value  # JSON keeps null, booleans and numbers as they are in the model


def _witness(steps: tuple[WitnessStep, ...] | list[WitnessStep] | None) -> list[dict] | None:
    if steps is None:
        return None
    rendered = []
    for number, step in enumerate(steps):
        entry: dict[str, Any] = {"step": number, "event": step.event}
        if step.request:
            entry["request"] = step.request
        if step.followers:
            entry["with"] = list(step.followers)
        if step.reports:
            entry["reports"] = list(step.reports)
        entry["state"] = dict(step.state) if number == 0 else {name: step.state[name] for name in step.changed}
        rendered.append(entry)
    return rendered


def _verdict_entry(verdict: TargetVerdict) -> dict[str, Any]:
    entry: dict[str, Any] = {"reachable": verdict.reachable, "depth": verdict.depth, "established_by": dict(sorted(verdict.engines.items()))}
    return entry


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.id,
        "kind": finding.kind,
        "instance": finding.instance,
        "subject": finding.subject,
        "message": finding.message,
        "established_by": list(finding.established_by),
        "witness": _witness(finding.witness),
    }


def _system(analysis: SystemAnalysis, include_witnesses: bool = True) -> dict[str, Any]:
    system = analysis.system
    composition = system.composition
    instances = []
    for instance_index, instance in enumerate(system.instances):
        machine = instance.local.machine
        states = []
        observables = []
        for verdict in analysis.verdicts:
            if verdict.target.instance != instance_index:
                continue
            if verdict.target.kind == "state":
                state = machine.state(verdict.target.name)
                entry = {"name": state.name, "kind": state.kind, **_verdict_entry(verdict)}
                if include_witnesses and verdict.witness is not None:
                    entry["witness"] = _witness(verdict.witness)
                states.append(entry)
            else:
                if not observables or observables[-1]["name"] != verdict.target.name:
                    observables.append({"name": verdict.target.name, "values": []})
                observables[-1]["values"].append({"value": _value(verdict.target.value), **_verdict_entry(verdict)})
        instances.append({"name": instance.name, "component": instance.component, "machine": machine.id,
                          "states": states, "observables": observables})
    return {
        "id": system.name,
        "kind": "machine" if composition.is_single_machine else "composition",
        "title": composition.title,
        "file": composition.file,
        "parameters": dict(sorted(system.parameters.items())),
        "engines": sorted(name for name in ("explicit", "z3") if analysis.engine in ("both", name)),
        "reachable_global_states": analysis.reachable_states,
        "deadlocked_states": analysis.deadlock_count,
        "instances": instances,
        "findings": [_finding(finding) for finding in analysis.findings],
        "assumptions": [{"machine": machine_id, "id": assumption.id, "statement": assumption.statement, "source": assumption.source}
                        for machine_id, assumption in analysis.assumptions],
    }


def _claims(coverage) -> list[dict[str, Any]]:
    if coverage.mapping.id != DRAFT_MAPPING_ID:
        return []
    claims = []
    for checked in check_claims(coverage):
        claim = checked.claim
        entry = {"id": claim.id, "draft": claim.statement, "where": claim.source, "shape": claim.shape,
                 "subject": claim.subject, "draft_mappable": claim.draft_mappable}
        if claim.members:
            entry["draft_members"] = list(claim.members)
            entry["checker_members"] = list(checked.members)
        else:
            entry["checker_mappable"] = checked.verdict.mappable
            entry["category"] = checked.verdict.category
        entry.update({"agrees": checked.agrees, "explanation": checked.explanation,
                      "witness_of": checked.verdict.id,
                      "side_by_side": _side_by_side_json(checked.verdict.side_by_side),
                      "behaviour_mismatches": list(checked.mismatches)})
        claims.append(entry)
    return claims


def _behaviour(coverage) -> dict[str, Any]:
    if coverage.behaviour_skipped:
        return {"skipped": coverage.behaviour_skipped}
    if not coverage.behaviour:
        return {}
    directions = []
    for direction, result in coverage.behaviour.items():
        directions.append({
            "direction": direction,
            "holds": result.holds,
            "relation_pairs": result.relation_size,
            "game_pairs": result.game_pairs,
            "resynchronisations": len(result.resynchronisations),
            "mismatches": [{
                "id": mismatch.id, "reason": mismatch.reason, "step": mismatch.label,
                "depth": mismatch.depth, "culprits": list(mismatch.culprits),
                "resynchronised_moves": list(mismatch.resynchronised),
                "simulated_witness": _witness(mismatch.simulated_witness),
                "simulating_witness": _witness(mismatch.simulating_witness),
                "offending_step": _witness((mismatch.offending_step,))[0] if mismatch.offending_step else None,
            } for mismatch in result.mismatches],
            "disagreements": [{
                "depth": item.depth,
                "moves": [{"step": step, "answered_with": list(answer), "resynchronised": resynchronised}
                          for step, answer, resynchronised in item.moves],
                "simulated_state": item.simulated_state, "following_state": item.following_state,
                "offending": list(item.offending), "mismatch": item.mismatch,
            } for item in result.disagreements],
        })
        check = coverage.behaviour_checks.get(direction)
        if check is not None:  # what Z3 confirmed; its timing is left out to keep the report deterministic
            directions[-1]["z3"] = {
                "engine": check.engine,
                "game_agrees": check.game_agrees,
                "game_pairs": check.game_pairs,
                "relation_is_simulation": check.relation_is_simulation,
                "relation_in_r0": check.relation_in_r0,
                "relation_is_largest": check.relation_is_largest,
                "holds_agrees": check.holds_agrees,
                "disagreements_agree": check.disagreements_agree,
                "resynchronisations_valid": check.resynchronisations_valid,
                "confirmed_mismatches": list(check.confirmed_mismatches),
                "queries": check.queries,
            }
    return {"bisimulation": coverage.bisimulation, "established_by": list(coverage.engines), "directions": directions}


def _side_by_side_json(witness) -> dict[str, Any] | None:
    """A mismatch, or a followed witness, as the two sides' witnesses move by move."""
    if witness is None:
        return None
    entry: dict[str, Any] = {"direction": witness.direction, "id": witness.id, "reason": witness.reason,
                             "moves": witness.depth, "resynchronised_moves": list(witness.resynchronised)}
    if hasattr(witness, "unanswered"):
        entry["unanswered_moves"] = list(witness.unanswered)
        entry["conclusion"] = witness.conclusion
    entry["simulated_witness"] = _witness(witness.simulated_witness)
    entry["simulating_witness"] = _witness(witness.simulating_witness)
    if witness.offending_step is not None:
        entry["offending_step"] = _witness((witness.offending_step,))[0]
    return entry


def _verdict(verdict) -> dict[str, Any]:
    return {"id": verdict.id, "side": verdict.side, "what": verdict.what, "component": verdict.component,
            "name": verdict.name, "mappable": verdict.mappable, "category": verdict.category, "rule": verdict.rule,
            "established_by": list(verdict.established_by), "mismatches": list(verdict.mismatches),
            "witness": _witness(verdict.witness) if verdict.witness else None,
            "side_by_side": _side_by_side_json(verdict.side_by_side)}


def _mapping(coverage) -> dict[str, Any]:
    mapping = coverage.mapping
    return {
        "id": mapping.id,
        "title": mapping.title,
        "file": mapping.file,
        "scomo": coverage.scomo.system.name,
        "tr069": coverage.tr069.system.name,
        "unmappable": len(coverage.unmappable),
        "verdicts": [_verdict(verdict) for verdict in coverage.verdicts],
        "behaviour": _behaviour(coverage),
        "draft_conclusions": _claims(coverage),
    }


def json_report(analyses: list[SystemAnalysis], settings: dict[str, Any], coverages: list | None = None) -> dict[str, Any]:
    findings = [finding for analysis in analyses for finding in analysis.findings]
    by_kind: dict[str, int] = {}
    for finding in findings:
        by_kind[finding.kind] = by_kind.get(finding.kind, 0) + 1
    return {
        "format": REPORT_FORMAT,
        "tool": {"name": "swmc", "version": __version__},
        "settings": settings,
        "summary": {"systems": len(analyses), "findings": len(findings), "findings_by_kind": dict(sorted(by_kind.items())),
                    "unmappable": sum(len(coverage.unmappable) for coverage in coverages or [])},
        "systems": [_system(analysis) for analysis in analyses],
        "mappings": [_mapping(coverage) for coverage in coverages or []],
    }


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _event_cell(step) -> str:
    """A witness step's event in a Markdown cell: the trigger, then the protocol request."""
    return f"`{step.event}` ({step.request})" if step.request else f"`{step.event}`"


def _markdown_witness(steps) -> list[str]:
    lines = ["", "| step | event | state after the step |", "|---|---|---|"]
    for number, step in enumerate(steps):
        event = "(initial state)" if step.event is None else _event_cell(step)
        if step.followers:
            event += " with " + ", ".join(f"`{name}`" for name in step.followers)
        if step.reports:
            event += "; reports " + "; ".join(step.reports)
        shown = step.state if number == 0 else {name: step.state[name] for name in step.changed}
        state = "; ".join(f"{name}: {text}" for name, text in shown.items()) or "(no change)"
        lines.append(f"| {number} | {event} | {state} |")
    lines.append("")
    return lines


def _side_by_side(mismatch) -> list[str]:
    """The two witnesses of a mismatch (or of a followed witness) in one table, move by move,
    each side in its own terms; a following move that is not an answer says so."""
    lines = ["", "| move | simulated side: event | state after | following side: events | state after |",
             "|---|---|---|---|---|"]
    resynchronised = set(mismatch.resynchronised)
    unanswered = set(getattr(mismatch, "unanswered", ()))
    for number, (simulated, simulating) in enumerate(zip(mismatch.simulated_witness, mismatch.simulating_witness)):
        def cells(step, first=number == 0):
            event = "(initial state)" if step.event is None else _event_cell(step)
            if step.reports:
                event += "; reports " + "; ".join(step.reports)
            shown = step.state if first else {name: step.state[name] for name in step.changed}
            return event, "; ".join(f"{name}: {text}" for name, text in shown.items()) or "(no change)"
        left, right = cells(simulated), cells(simulating)
        if number in resynchronised and simulating.event == NO_STEP:
            right = ("cannot answer; already in a corresponding state", right[1])
        elif number in resynchronised:
            right = (f"cannot answer; resynchronised by {right[0]}", right[1])
        elif number in unanswered:
            right = ("cannot answer; no corresponding state is reachable", right[1])
        lines.append(f"| {number} | {left[0]} | {left[1]} | {right[0]} | {right[1]} |")
    if mismatch.offending_step is not None:
        step = mismatch.offending_step
        lines.append(f"| then | {_event_cell(step)} | cannot be followed ({mismatch.reason}) | | |")
    conclusion = getattr(mismatch, "conclusion", "")
    if conclusion:
        lines += ["", f"So: {conclusion}."]
    lines.append("")
    return lines


def _markdown_behaviour(coverage) -> list[str]:
    lines = ["### Behaviour", "", f"Bisimulation: {'yes' if coverage.bisimulation else 'no'}. "
             f"Established by: {', '.join(coverage.engines)} (explicit greatest fixed point; Z3 Datalog derives "
             "the game again and confirms the relation, that it is the largest simulation, and every mismatch).", ""]
    for direction, result in coverage.behaviour.items():
        verdict = "holds" if result.holds else "does not hold"
        lines.append(f"- **{direction}** {verdict} ({result.relation_size} related pairs of {result.game_pairs} explored, "
                     f"{len(result.resynchronisations)} resynchronisations after a mismatch); "
                     f"{len(result.mismatches)} mismatches; the sides disagree in {len(result.disagreements)} "
                     f"pair{'s' if len(result.disagreements) != 1 else ''} of states reachable together, each listed "
                     "with a shortest way there in report.json.")
        for mismatch in result.mismatches:
            lines.append(f"  - `{mismatch.id}` ({mismatch.reason}), after {mismatch.depth} moves:")
            lines.extend("    " + line if line else line for line in _side_by_side(mismatch))
    lines.append("")
    return lines


def _markdown_mapping(coverage) -> list[str]:
    mapping = coverage.mapping
    lines = [f"## Mapping {mapping.id}", "", f"{mapping.title}, from `{mapping.file}`: "
             f"{coverage.scomo.system.name} against {coverage.tr069.system.name}.", ""]
    for side, title in (("scomo", "SCOMO"), ("tr069", "TR-069")):
        for what in ("state", "operation"):
            lines += [f"### {title} {what}s", "", "| name | mappable | category | rule |", "|---|---|---|---|"]
            for verdict in coverage.verdicts:
                if verdict.side == side and verdict.what == what:
                    mark = "yes" if verdict.mappable else "**no**"
                    lines.append(f"| {verdict.component}.{verdict.name} | {mark} | {verdict.category} | {verdict.rule} |")
            lines.append("")
    claims = _claims(coverage)
    if claims:
        lines += ["### The draft's conclusions, checked", "",
                  "| the draft says | where | agrees | the checker's verdict |", "|---|---|---|---|"]
        for claim in claims:
            witness = f" Witness: see `{claim['witness_of']}` below." if claim["side_by_side"] else ""
            lines.append(f"| {claim['draft']} | {claim['where']} | {'yes' if claim['agrees'] else '**no**'} | "
                         f"`{claim['subject']}`: {claim['explanation']}.{witness} |")
        lines.append("")
    if coverage.behaviour_skipped:
        lines += ["### Behaviour", "", f"The behaviour is {coverage.behaviour_skipped}.", ""]
    if coverage.behaviour:
        lines += _markdown_behaviour(coverage)
    witnessed = [verdict for verdict in coverage.unmappable if verdict.side_by_side is not None]
    if witnessed:
        lines += ["### Witnesses of what cannot be mapped", "",
                  "For each unmappable state and operation: the shortest behaviour of its side that reaches "
                  "it, with the other side's answer to each move (for a behaviour mismatch, the mismatch's "
                  "own witness).", ""]
        for verdict in witnessed:
            shown = verdict.side_by_side
            lines.append(f"- `{verdict.id}` ({verdict.category}), {shown.direction}, "
                         f"{'mismatch `' + shown.id + '`' if verdict.mismatches else 'its shortest witness'}:")
            lines.extend("  " + line if line else line for line in _side_by_side(shown))
    return lines


def render_markdown(analyses: list[SystemAnalysis], settings: dict[str, Any], coverages: list | None = None) -> str:
    lines = ["# swmc check report", ""]
    lines.append(f"Engines: {settings['engine']}; Z3 seed {settings['seed']}; timeout {settings['timeout_seconds']} s per system.")
    lines.append("")
    total = sum(len(analysis.findings) for analysis in analyses)
    lines.append(f"{len(analyses)} systems checked, {total} findings.")
    lines.append("")
    lines.append("| system | kind | instances | reachable global states | findings |")
    lines.append("|---|---|---|---|---|")
    for analysis in analyses:
        kind = "machine" if analysis.system.composition.is_single_machine else "composition"
        reachable = analysis.reachable_states if analysis.reachable_states is not None else "(not enumerated)"
        lines.append(f"| [{analysis.system.name}](#{analysis.system.name.lower()}) | {kind} | {len(analysis.system.instances)} | {reachable} | {len(analysis.findings)} |")
    lines.append("")
    for analysis in analyses:
        system = analysis.system
        lines.append(f"## {system.name}")
        lines.append("")
        lines.append(f"{system.composition.title}, from `{system.composition.file}`.")
        lines.append("")
        lines.append("### States")
        lines.append("")
        lines.append("| instance | state | kind | reachable | shortest depth | established by |")
        lines.append("|---|---|---|---|---|---|")
        for verdict in analysis.verdicts:
            if verdict.target.kind != "state":
                continue
            kind = system.instances[verdict.target.instance].local.machine.state(verdict.target.name).kind
            engines = "; ".join(f"{name}: {text}" for name, text in sorted(verdict.engines.items()))
            lines.append(f"| {verdict.instance} | {verdict.target.name} | {kind} | {'yes' if verdict.reachable else '**no**'} | "
                         f"{'' if verdict.depth is None else verdict.depth} | {engines} |")
        lines.append("")
        values = [v for v in analysis.verdicts if v.target.kind == "value"]
        if values:
            lines.append("### Observable values")
            lines.append("")
            lines.append("| instance | observable | reachable values | unreachable values |")
            lines.append("|---|---|---|---|")
            grouped: dict[tuple[str, str], list[TargetVerdict]] = {}
            for verdict in values:
                grouped.setdefault((verdict.instance, verdict.target.name), []).append(verdict)
            for (instance, name), group in grouped.items():
                reachable = ", ".join(format_value(v.target.value) for v in group if v.reachable)
                unreachable = ", ".join(format_value(v.target.value) for v in group if not v.reachable)
                lines.append(f"| {instance} | {name} | {reachable} | {unreachable} |")
            lines.append("")
        lines.append("### Findings")
        lines.append("")
        if not analysis.findings:
            lines.append("None: every state is reachable, no deadlock is reachable and every transient state can settle.")
            lines.append("")
        for finding in analysis.findings:
            lines.append(f"- **{finding.kind}** `{finding.id}`: {finding.message} (established by {', '.join(finding.established_by)})")
            if finding.witness:
                lines.extend("  " + line if line else line for line in _markdown_witness(finding.witness))
        lines.append("")
        lines.append("### Assumptions relied on")
        lines.append("")
        if not analysis.assumptions:
            lines.append("None.")
        for machine_id, assumption in analysis.assumptions:
            source = f" ({assumption.source})" if assumption.source else ""
            lines.append(f"- `{assumption.id}` ({machine_id}): {assumption.statement}{source}")
        lines.append("")
    for coverage in coverages or []:
        lines.extend(_markdown_mapping(coverage))
    return "\n".join(lines).rstrip() + "\n"


def render_summary(analyses: list[SystemAnalysis], coverages: list | None = None) -> str:
    lines = []
    for analysis in analyses:
        system = analysis.system
        states = [v for v in analysis.verdicts if v.target.kind == "state"]
        reachable = sum(1 for v in states if v.reachable)
        engines = " and ".join(name for name in ("explicit", "z3") if analysis.engine in ("both", name))
        extent = f", {analysis.reachable_states} global states" if analysis.reachable_states is not None and not system.composition.is_single_machine else ""
        lines.append(f"{system.name}: {reachable}/{len(states)} local states reachable{extent}; "
                     f"{len(analysis.findings)} findings ({engines}{' agree' if analysis.engine == 'both' else ''})")
        for finding in analysis.findings:
            lines.append(f"  {finding.kind}: {finding.message}")
    for coverage in coverages or []:
        lines.append(f"mapping {coverage.mapping.id}: {len(coverage.unmappable)} states and operations cannot be mapped")
        if coverage.behaviour_skipped:
            lines.append(f"  behaviour {coverage.behaviour_skipped}")
        for direction, result in coverage.behaviour.items():
            steps = ", ".join(f"{m.label or 'initial'} ({m.reason})" for m in result.mismatches)
            lines.append(f"  {direction}: {'holds' if result.holds else 'does not hold'}" + (f"; mismatches: {steps}" if steps else ""))
        for verdict in coverage.unmappable:
            lines.append(f"  {verdict.side} {verdict.what} {verdict.component}.{verdict.name}: {verdict.category} ({verdict.rule})")
    assumption_ids = sorted({assumption.id for analysis in analyses for _, assumption in analysis.assumptions})
    if assumption_ids:
        lines.append(f"assumptions relied on ({len(assumption_ids)}): {', '.join(assumption_ids)}")
    return "\n".join(lines) + "\n"
