"""The 2012 draft's requirements table, decided property by property on both sides.

Each requirement about behaviour (``properties/requirements.yaml``) carries the properties
that decide it on the SCOMO side and on the TR-069 side. A side *supports* the requirement when
every one of its properties holds, does *not support* it when one is violated, and is
*undecided* otherwise (a solver gave up, or the state space was too large). The gap column
follows from the two sides, and is compared with the draft's own "Gap?" column: a disagreement
must carry an explanation in the file, in terms of the models, or the table says it has none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .propfile import Requirement, builtin_properties_dir, load_requirements
from .prove import PropertyResult, check_properties

__all__ = ["RequirementVerdict", "decide_requirements", "default_requirements_path", "draft_gap"]

SUPPORTED, NOT_SUPPORTED, UNDECIDED = "supported", "not supported", "undecided"


@dataclass
class RequirementVerdict:
    requirement: Requirement
    sides: dict[str, str] = field(default_factory=dict)  # side -> supported | not supported | undecided
    results: dict[str, list[PropertyResult]] = field(default_factory=dict)
    gap: str = ""  # gap in TR-069 | gap in SCOMO | no gap | neither side | undecided | out of scope
    draft_gap: str = ""
    agrees: bool | None = None  # None: out of scope

    @property
    def explained(self) -> bool:
        return bool(self.agrees) or self.agrees is None or bool(self.requirement.explanation)


def default_requirements_path() -> Path:
    return builtin_properties_dir() / "requirements.yaml"


def draft_gap(requirement: Requirement) -> str:
    """The draft's "Gap?" column in this module's terms."""
    text = requirement.draft.get("gap", "").lower().replace("tr69", "tr-069")
    if "tr-069" in text:
        return "gap in TR-069"
    if "scomo" in text:
        return "gap in SCOMO"
    return "no gap"


def _side(results: list[PropertyResult]) -> str:
    if any(result.status == "violated" for result in results):
        return NOT_SUPPORTED
    if results and all(result.status == "holds" for result in results):
        return SUPPORTED
    return UNDECIDED


def _gap(scomo: str, tr069: str) -> str:
    if UNDECIDED in (scomo, tr069):
        return "undecided"
    if scomo == SUPPORTED and tr069 == SUPPORTED:
        return "no gap"
    if scomo == SUPPORTED:
        return "gap in TR-069"
    if tr069 == SUPPORTED:
        return "gap in SCOMO"
    return "neither side"


def decide_requirements(path: Path | None = None, engine: str = "both", seed: int = 0, timeout: float = 60.0,
                        state_limit: int | None = None) -> list[RequirementVerdict]:
    requirements = load_requirements(path or default_requirements_path())
    specs = [spec for requirement in requirements for side in requirement.sides.values() for spec in side.properties]
    options = {} if state_limit is None else {"state_limit": state_limit}
    results = check_properties(specs, engine=engine, seed=seed, timeout=timeout, **options)
    by_key = {(result.file, result.name): result for result in results}
    verdicts = []
    for requirement in requirements:
        verdict = RequirementVerdict(requirement=requirement, draft_gap=draft_gap(requirement))
        if requirement.scope != "behaviour":
            verdict.gap = "out of scope"
            verdicts.append(verdict)
            continue
        for name, side in sorted(requirement.sides.items()):
            verdict.results[name] = [by_key[(spec.file, spec.name)] for spec in side.properties]
            verdict.sides[name] = _side(verdict.results[name])
        verdict.gap = _gap(verdict.sides.get("scomo", UNDECIDED), verdict.sides.get("tr069", UNDECIDED))
        verdict.agrees = verdict.gap == verdict.draft_gap
        verdicts.append(verdict)
    return verdicts
