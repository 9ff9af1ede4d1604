"""The 2012 gap-analysis draft's conclusions about the state machines, checked one by one.

The draft (OMA/BBF software-management gap analysis, draft 2, 2012-11-26) compared SCOMO and
TR-069 by hand. Each of its conclusions about states and operations is written here as a
claim about one element: whether, under the draft's own candidate mapping, that element has a
TR-069 counterpart. The checker's verdict for the element decides whether it agrees; where it
does not, the verdict's category and rule say why, in terms of the models.
"""

from __future__ import annotations

from dataclasses import dataclass

from .coverage import MappingCoverage, Verdict

__all__ = ["DraftClaim", "CheckedClaim", "DRAFT_MAPPING_ID", "DRAFT_CLAIMS", "check_claims"]

DRAFT_MAPPING_ID = "gap_analysis_2012"


@dataclass(frozen=True)
class DraftClaim:
    id: str
    statement: str  # the draft's conclusion, in our words
    source: str  # where the draft says it
    subject: str  # the verdict id the claim is about
    draft_mappable: bool  # what the draft concludes about that element


@dataclass(frozen=True)
class CheckedClaim:
    claim: DraftClaim
    verdict: Verdict
    agrees: bool
    explanation: str
    mismatches: tuple[str, ...] = ()  # behavioural mismatches at a step of the element, if any


DRAFT_CLAIMS = (
    DraftClaim("delivered", "SCOMO's Delivered state (downloaded, not installed) has no TR-069 counterpart.",
               "summary of findings; terminology table, gap column", "scomo:state:dp.Delivered", False),
    DraftClaim("inactive", "SCOMO's Inactive state (installed, not activated) has no TR-069 counterpart.",
               "terminology table, gap column; summary of findings", "scomo:state:dc.Inactive", False),
    DraftClaim("download-only", "A download without install (swDownload) cannot be requested of a TR-069 device.",
               "operations table; requirement SCOMO-HLFR-1", "scomo:operation:dp.Download", False),
    DraftClaim("download-install", "swDownloadAndInstall is not allowed for a TR-069 device.",
               "operations table (its summary of findings calls Install the equivalent instead)",
               "scomo:operation:dp.DownloadInstall", False),
    DraftClaim("download-install-inactive", "The combined DownloadInstallInactive has no TR-069 counterpart.",
               "summary of findings", "scomo:operation:dp.DownloadInstallInactive", False),
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
        verdict = verdicts[claim.subject]
        mismatches = tuple(_mismatches_about(coverage, verdict))
        agrees = verdict.mappable == claim.draft_mappable
        if agrees:
            explanation = f"the checker finds it {'mappable' if verdict.mappable else 'unmappable'} too: {verdict.rule}"
        else:
            explanation = (f"the checker finds it {'mappable' if verdict.mappable else 'unmappable'} "
                           f"({verdict.category}): {verdict.rule}")
        if mismatches:
            explanation += f"; behaviour: {', '.join(mismatches)}"
        checked.append(CheckedClaim(claim=claim, verdict=verdict, agrees=agrees, explanation=explanation,
                                    mismatches=mismatches))
    return checked


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
