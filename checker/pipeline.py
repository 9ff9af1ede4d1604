"""One check: analyse the models and the mappings of a set of inputs with fixed settings.

``swmc check`` runs one set of inputs. ``swmc gate`` runs two (the proposal and the baseline)
in one batch: a system or a mapping that is the same on both sides (equal loaded data, line
numbers and file names included) is analysed once, and the systems of both sides share the
engines' worker processes, so that a gate costs far less than two checks when a change
touches few files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from .analysis import SystemAnalysis
from .composition import Composition
from .coverage import MappingCoverage, add_behaviour, check_coverage
from .errors import InputError
from .mapping import Mapping
from .parallel import analyse_all
from .system import build_system

__all__ = ["CheckRun", "Inputs", "Settings", "mapping_sizes", "run_checks"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """What the engines are asked to do; echoed in every report."""

    engine: str = "both"
    seed: int = 0
    timeout: float = 60.0

    def report(self, parameters: dict[str, int]) -> dict[str, Any]:
        """The ``settings`` object of the JSON reports (docs/report-format.md)."""
        return {"engine": self.engine, "seed": self.seed, "timeout_seconds": self.timeout,
                "parameters": dict(sorted(parameters.items()))}


@dataclass
class Inputs:
    """Loaded models and mappings, and the composition parameters to check them with."""

    models: list[Composition]
    mappings: list[Mapping]
    parameters: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        # The mapping analysis pairs children one to one; fix k and m before systems are built.
        self.children, self.units = mapping_sizes(self.parameters) if self.mappings else (0, 0)


@dataclass
class CheckRun:
    """The analyses of one set of inputs: one per model, one coverage per mapping."""

    analyses: list[SystemAnalysis]
    coverages: list[MappingCoverage]


def mapping_sizes(parameters: dict[str, int]) -> tuple[int, int]:
    """Children per unit and units for a mapping: the two sides must have as many of each.

    Sets ``k`` and ``m`` in ``parameters`` to that number of children."""
    k, m = parameters.get("k"), parameters.get("m")
    if k is not None and m is not None and k != m:
        raise InputError(f"a mapping pairs Deployment Components with Execution Units one to one: -k {k} and -m {m} differ")
    children = k if k is not None else m if m is not None else 2
    parameters.setdefault("k", children)
    parameters.setdefault("m", children)
    return children, parameters.get("n", 1)


def _find(known: list, key) -> int | None:
    # A list searched by equality rather than a dict: loaded models compare by value, and
    # there are a handful of them.
    for index, candidate in enumerate(known):
        if candidate == key:
            return index
    return None


def run_checks(inputs: list[Inputs], settings: Settings) -> list[CheckRun]:
    """Analyse every set of inputs; equal systems and mappings across the sets once."""
    distinct_keys: list[tuple] = []
    distinct_systems = []
    chosen: list[list[int]] = []
    for one in inputs:
        indices = []
        for model in one.models:
            system = build_system(model, one.parameters)
            key = (model, system.parameters)
            index = _find(distinct_keys, key)
            if index is None:
                index = len(distinct_keys)
                distinct_keys.append(key)
                distinct_systems.append(system)
            indices.append(index)
        chosen.append(indices)
    total = sum(len(indices) for indices in chosen)
    if total > len(distinct_systems):
        log.info("%d of %d systems are the same on several sides and analysed once", total - len(distinct_systems), total)
    analyses = analyse_all(distinct_systems, engine=settings.engine, seed=settings.seed, timeout=settings.timeout)

    runs = []
    known_mappings: list[tuple] = []
    known_coverages: list[MappingCoverage] = []
    for one, indices in zip(inputs, chosen):
        own = [analyses[index] for index in indices]
        analysed = {analysis.system.name: analysis for analysis in own}
        coverages = []
        for mapping in one.mappings:
            key = (mapping, dict(sorted(one.parameters.items())))
            index = _find(known_mappings, key)
            if index is None:
                coverage = add_behaviour(
                    check_coverage(mapping, one.parameters, seed=settings.seed, timeout=settings.timeout,
                                   analysed=analysed, engine=settings.engine, defer_confirmation=True),
                    one.children, one.units, cross_check=settings.engine != "explicit",
                    seed=settings.seed, timeout=settings.timeout)
                known_mappings.append(key)
                known_coverages.append(coverage)
            else:
                log.info("mapping %s is the same on several sides and analysed once", mapping.id)
                coverage = known_coverages[index]
            coverages.append(coverage)
        runs.append(CheckRun(analyses=own, coverages=coverages))
    return runs
