"""The 2012 draft's requirements table, decided property by property on both sides.

Each requirement about behaviour (``properties/requirements.yaml``) carries the properties
that decide it on the SCOMO side and on the TR-069 side. A side *supports* the requirement when
every one of its properties holds, does *not support* it when one is violated, and is
*undecided* otherwise (a solver gave up, or the state space was too large). The gap column
follows from the two sides, and is compared with the draft's own "Gap?" column: a disagreement
must carry an explanation in the file, in terms of the models, or the table says it has none.
A requirement with an undecided side is compared with nothing: it is neither an agreement nor
a disagreement, and the command says that a solver gave up instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .propfile import Requirement, builtin_properties_dir, interpret_draft_gap, load_requirements
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
    agrees: bool | None = None  # None: out of scope, or a side is undecided

    @property
    def explained(self) -> bool:
        return bool(self.agrees) or self.agrees is None or bool(self.requirement.explanation)

    @property
    def undecided(self) -> bool:
        return UNDECIDED in self.sides.values()


def default_requirements_path() -> Path:
    return builtin_properties_dir() / "requirements.yaml"


def draft_gap(requirement: Requirement) -> str:
    """The draft's "Gap?" column in this module's terms (the loader has refused a behaviour
    requirement whose column names neither side)."""
    return interpret_draft_gap(requirement.draft.get("gap", "")) or "no gap"


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
                        state_limit: int | None = None,
                        requirements: list[Requirement] | None = None) -> list[RequirementVerdict]:
    """Every requirement of the file at ``path`` (the shipped one by default) decided; a caller
    that has loaded and validated the file already passes its ``requirements``."""
    if requirements is None:
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
        # An undecided side says nothing about the gap, so there is nothing to compare.
        verdict.agrees = None if verdict.undecided else verdict.gap == verdict.draft_gap
        verdicts.append(verdict)
    return verdicts
