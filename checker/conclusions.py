"""The 2012 gap-analysis draft's conclusions about the state machines, checked one by one.

The draft (OMA/BBF software-management gap analysis, draft 2, 2012-11-26) compared SCOMO and
TR-069 by hand. Each of its conclusions about states and operations is written here as a
claim, in one of three shapes:

- about one element: whether, under the draft's own candidate mapping, a state or an
  operation has a TR-069 counterpart (the checker's verdict for it decides);
- about a set: which SCOMO states have no TR-069 counterpart (the checker's unmappable SCOMO
  states decide);
- about an equivalence the draft states in prose but leaves out of its mapping tables: that
  TR-069's install is SCOMO's DownloadInstall (the behaviour of the two decides: the game's
  resynchronisation after a DownloadInstall, and the mismatches of its completion).

Where the checker does not agree, the explanation says why in terms of the models: the
transitions an operation starts from, the states without image, the steps one side cannot
follow.
"""

from __future__ import annotations

from dataclasses import dataclass

from .coverage import ROOT_REASONS, MappingCoverage, Verdict

__all__ = ["DraftClaim", "CheckedClaim", "DRAFT_MAPPING_ID", "DRAFT_CLAIMS", "check_claims"]

DRAFT_MAPPING_ID = "gap_analysis_2012"

ELEMENT, SET, EQUIVALENCE = "element", "set", "equivalence"


@dataclass(frozen=True)
class DraftClaim:
    id: str
    statement: str  # the draft's conclusion, in our words
    source: str  # where the draft says it
    subject: str  # the verdict id the claim is about; for a set claim, "side:what:*"
    draft_mappable: bool  # what the draft concludes about that element (for a set: its members are not)
    shape: str = ELEMENT
    members: tuple[str, ...] = ()  # a set claim: the verdict ids the draft names
    counterpart: str = ""  # an equivalence claim: the TR-069 operation the draft names (component.trigger)


@dataclass(frozen=True)
class CheckedClaim:
    claim: DraftClaim
    verdict: Verdict  # the subject's verdict (a set claim: its first member's, or its first extra one's)
    agrees: bool
    explanation: str
    mismatches: tuple[str, ...] = ()  # behavioural mismatches about the element, if any
    members: tuple[str, ...] = ()  # a set claim: the checker's members


DRAFT_CLAIMS = (
    DraftClaim("delivered", "SCOMO's Delivered state (downloaded, not installed) has no TR-069 counterpart.",
               "summary of findings; terminology table, gap column", "scomo:state:dp.Delivered", False),
    DraftClaim("inactive", "SCOMO's Inactive state (installed, not activated) has no TR-069 counterpart.",
               "terminology table, gap column; summary of findings", "scomo:state:dc.Inactive", False),
    DraftClaim("extra-states", "SCOMO's state machines are more complex: its additional states, without TR-069 "
               "counterpart, are Delivered and Inactive.", "summary of findings (functional differences)",
               "scomo:state:*", False, shape=SET, members=("scomo:state:dp.Delivered", "scomo:state:dc.Inactive")),
    DraftClaim("download-only", "A download without install (swDownload) cannot be requested of a TR-069 device.",
               "operations table; requirement SCOMO-HLFR-1", "scomo:operation:dp.Download", False),
    DraftClaim("download-install", "swDownloadAndInstall is not allowed for a TR-069 device.",
               "operations table", "scomo:operation:dp.DownloadInstall", False),
    DraftClaim("install-is-download-install", "TR-069's install (ChangeDUState with an InstallOpStruct) is the "
               "equivalent of SCOMO's DownloadInstall.", "summary of findings (against its operations table)",
               "scomo:operation:dp.DownloadInstall", True, shape=EQUIVALENCE, counterpart="du.Install"),
    DraftClaim("download-install-inactive", "The combined DownloadInstallInactive has no TR-069 counterpart.",
               "summary of findings", "scomo:operation:dp.DownloadInstallInactive", False),
    DraftClaim("install-inactive", "InstallInactive, SCOMO's other combined operation (install and leave the "
               "components inactive), has no TR-069 counterpart.",
               "summary of findings ('additional combined operations'); absent from the operations table",
               "scomo:operation:dp.InstallInactive", False),
    DraftClaim("install", "swInstall corresponds to a ChangeDUState Install or Update operation.",
               "operations table", "scomo:operation:dp.Install", True),
    DraftClaim("remove", "swRemove corresponds to a ChangeDUState Uninstall operation.",
               "operations table", "scomo:operation:dp.Remove", True),
    DraftClaim("activate", "swActivate corresponds to writing RequestedState=Active (start the EU).",
               "operations table; requirement SCOMO-HLFR-4", "scomo:operation:dc.Activate", True),
    DraftClaim("deactivate", "swDeactivate corresponds to writing RequestedState=Idle (stop the EU).",
               "operations table; requirement SCOMO-HLFR-4", "scomo:operation:dc.Deactivate", True),
    DraftClaim("installed", "An installed Delivery Package corresponds to an installed Deployment Unit.",
               "terminology table", "scomo:state:dp.Installed", True),
    DraftClaim("active", "An active Deployment Component corresponds to an active (started) Execution Unit.",
               "terminology table", "scomo:state:dc.Active", True),
)


def check_claims(coverage: MappingCoverage) -> list[CheckedClaim]:
    """Check each of the draft's claims against the verdicts under ``coverage``'s mapping."""
    verdicts = {verdict.id: verdict for verdict in coverage.verdicts}
    checked = []
    for claim in DRAFT_CLAIMS:
        if claim.shape == SET:
            checked.append(_check_set(claim, coverage, verdicts))
        elif claim.shape == EQUIVALENCE:
            checked.append(_check_equivalence(claim, coverage, verdicts[claim.subject]))
        else:
            checked.append(_check_element(claim, coverage, verdicts[claim.subject]))
    return checked


def _check_element(claim: DraftClaim, coverage: MappingCoverage, verdict: Verdict) -> CheckedClaim:
    mismatches = tuple(dict.fromkeys((*verdict.mismatches, *_mismatches_about(coverage, verdict))))
    agrees = verdict.mappable == claim.draft_mappable
    found = "mappable" if verdict.mappable else "unmappable"
    if agrees:
        explanation = f"the checker finds it {found} too: {verdict.rule}"
    else:
        explanation = f"the checker finds it {found} ({verdict.category}): {verdict.rule}"
    rationale = _rationale(coverage, verdict)
    if rationale and not verdict.mappable:
        explanation += f" (the mapping's rationale: {rationale})"
    if verdict.category == "behaviour-mismatch":
        explanation += "; " + _mismatch_in_words(coverage, _mismatch(coverage, verdict.mismatches[0]))
    if mismatches:
        explanation += f"; behaviour: {', '.join(mismatches)}"
    return CheckedClaim(claim=claim, verdict=verdict, agrees=agrees, explanation=explanation, mismatches=mismatches)


def _rationale(coverage: MappingCoverage, verdict: Verdict) -> str:
    """The rationale of the mapping entry behind a SCOMO element, if it has one."""
    if verdict.side != "scomo":
        return ""
    mapping = coverage.mapping
    entry = (mapping.state_entry(verdict.component, verdict.name) if verdict.what == "state"
             else mapping.operation_entry(verdict.component, verdict.name))
    return " ".join(entry.rationale.split()) if entry is not None and entry.rationale else ""


def _mismatch(coverage: MappingCoverage, mismatch_id: str):
    direction = mismatch_id.split("/", 1)[0]
    return coverage.behaviour[direction].mismatch(mismatch_id)


def _states(described: dict[str, str]) -> str:
    return ", ".join(f"{name}={text.split(' ')[0]}" for name, text in described.items())


def _mismatch_in_words(coverage: MappingCoverage, mismatch) -> str:
    """What a mismatch shows, in the models' terms: the step, where it leads, where the other
    side was, and the assumptions the step relies on."""
    from .simulation import SCOMO_BY_TR069  # simulation imports much of the checker; only needed here

    simulated = coverage.scomo.system if mismatch.direction == SCOMO_BY_TR069 else coverage.tr069.system
    own, other = ("SCOMO", "TR-069") if mismatch.direction == SCOMO_BY_TR069 else ("TR-069", "SCOMO")
    words = (f"{mismatch.id}: {own}'s {mismatch.label} leads to {_states(mismatch.offending_step.state)}, and from "
             f"{_states(mismatch.simulating_state)} {other} reaches no state that corresponds")
    if mismatch.culprits:
        words += f" to {', '.join(mismatch.culprits)}"
    state = simulated.state_described(mismatch.simulated_state)
    label = simulated.labels.index(mismatch.label)
    assumptions = [assumption for _, transition in simulated.step_parts(state, label)
                   for assumption in transition.assumptions]
    if assumptions:
        words += f" (the step relies on {', '.join(dict.fromkeys(assumptions))})"
    return words


def _check_set(claim: DraftClaim, coverage: MappingCoverage, verdicts: dict[str, Verdict]) -> CheckedClaim:
    side, what, _ = claim.subject.split(":")
    found = tuple(verdict.id for verdict in coverage.verdicts
                  if verdict.side == side and verdict.what == what and not verdict.mappable)
    extra = [member for member in found if member not in claim.members]
    missing = [member for member in claim.members if member not in found]
    agrees = not extra and not missing
    names = ", ".join(_short(member) for member in found) or "none"
    if agrees:
        explanation = f"the checker finds exactly these: {names}"
    else:
        parts = [f"the checker finds {len(found)}: {names}"]
        if extra:
            parts.append("beyond the draft's, " + "; ".join(
                f"{_short(member)} ({verdicts[member].category}: {verdicts[member].rule}"
                + (f"; rationale: {_rationale(coverage, verdicts[member])}" if _rationale(coverage, verdicts[member]) else "")
                + ")" for member in extra))
        if missing:
            parts.append("of the draft's, " + ", ".join(_short(member) for member in missing) + " have a counterpart")
        explanation = "; ".join(parts)
    shown = verdicts[extra[0]] if extra else verdicts[claim.members[0]]
    return CheckedClaim(claim=claim, verdict=shown, agrees=agrees, explanation=explanation, members=found)


def _check_equivalence(claim: DraftClaim, coverage: MappingCoverage, verdict: Verdict) -> CheckedClaim:
    """Whether the SCOMO operation behaves as the named TR-069 one, whatever the mapping says:
    after the SCOMO operation, the game moves the TR-069 side to a corresponding state (by an
    answer, or by resynchronisation) with that operation alone; and no mismatch follows from
    the operation's own completion."""
    from .simulation import SCOMO_BY_TR069, follow  # simulation imports much of the checker; only needed here

    component, trigger = claim.subject.split(":")[2].split(".")
    counterpart_component, counterpart_trigger = claim.counterpart.split(".")
    result = coverage.behaviour.get(SCOMO_BY_TR069)
    if result is None:
        return CheckedClaim(claim=claim, verdict=verdict, agrees=False,
                            explanation="the behaviour was not analysed (it is part of every mapping check)")
    scomo = coverage.scomo.system
    tr069 = coverage.tr069.system

    def about(mismatch) -> bool:
        instance = scomo.instance_named(mismatch.instance) if mismatch.instance else None
        return instance is not None and instance.component == component

    # The operation's first mismatch (it has no counterpart, so it is one), followed one move
    # further: the game's answer to it is a resynchronisation, whose operations are compared.
    reached_by = None
    requested = next((mismatch for mismatch in result.mismatches
                      if about(mismatch) and mismatch.trigger == trigger and mismatch.offending_step is not None), None)
    if requested is not None and coverage.pairing is not None:
        followed = follow(coverage.pairing, SCOMO_BY_TR069, [*requested.simulated_witness, requested.offending_step],
                          claim.id, "equivalence", "")
        if followed.depth in followed.resynchronised:
            reached_by = list(followed.operations[-1])
    by_counterpart = reached_by is not None and [
        (tr069.instance_named(name.rsplit(".", 1)[0]).component, name.rsplit(".", 1)[1]) for name in reached_by
    ] == [(counterpart_component, counterpart_trigger)]
    completions = [mismatch for mismatch in result.mismatches
                   if about(mismatch) and mismatch.in_progress == trigger and mismatch.reason in ROOT_REASONS]
    agrees = by_counterpart and not completions
    parts = [f"the draft's mapping maps {component}.{trigger} to nothing ({verdict.category})"]
    if by_counterpart:
        parts.append(f"yet after {trigger} the TR-069 side reaches a corresponding state by {claim.counterpart} "
                     "alone (the game's resynchronisation), as the summary says")
    elif reached_by is not None:
        parts.append(f"after {trigger} the TR-069 side reaches a corresponding state only by "
                     f"{', '.join(reached_by) or 'its own steps'}, not by {claim.counterpart} alone")
    else:
        parts.append(f"after {trigger} no state of the TR-069 side corresponds")
    for mismatch in completions:
        parts.append(f"but its completion cannot be followed: {_mismatch_in_words(coverage, mismatch)}")
    return CheckedClaim(claim=claim, verdict=verdict, agrees=agrees, explanation="; ".join(parts),
                        mismatches=tuple(mismatch.id for mismatch in completions))


def _short(verdict_id: str) -> str:
    return verdict_id.split(":", 2)[2]


def _mismatches_about(coverage: MappingCoverage, verdict: Verdict) -> list[str]:
    """Ids of the behavioural mismatches whose offending step is an operation of this element
    (for an operation), or whose SCOMO state has an instance of its component in this state."""
    found = []
    for direction, result in coverage.behaviour.items():
        simulated = coverage.scomo.system if direction == "scomo-by-tr069" else coverage.tr069.system
        for mismatch in result.mismatches:
            if verdict.what == "operation":
                instance = simulated.instance_named(mismatch.instance) if mismatch.instance else None
                side = "scomo" if simulated is coverage.scomo.system else "tr069"
                if instance is not None and side == verdict.side and instance.component == verdict.component \
                        and mismatch.trigger == verdict.name:
                    found.append(mismatch.id)
            elif verdict.side == "scomo" and direction == "scomo-by-tr069":
                for name, text in mismatch.simulated_state.items():
                    instance = simulated.instance_named(name)
                    if instance is not None and instance.component == verdict.component and text.split(" ")[0] == verdict.name:
                        found.append(mismatch.id)
                        break
    return found
