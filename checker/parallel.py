"""Run the two engines side by side on a machine's cores.

The explicit engine and Z3 are independent, and Z3 is the slower of the two on the shipped
models, so the Z3 questions go to worker processes while this process explores explicitly.
Workers are forked (they inherit the compiled systems; nothing is pickled on the way in),
and their answers are plain data. Where fork is unavailable, or there is one core, the
engines simply run one after the other. Either way the results are the same: every Z3 run
is seeded and independent of scheduling.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from .analysis import SystemAnalysis, analyse, decide_with_z3
from .explicit import explore
from .system import System

__all__ = ["analyse_all", "map_forked"]

log = logging.getLogger(__name__)

_SYSTEMS: list[System] = []  # set before forking; read by the workers


def _decide(index: int, seed: int, timeout: float):
    return decide_with_z3(_SYSTEMS[index], seed=seed, timeout=timeout)


def _cost(system: System) -> int:
    return sum(len(instance.local.configs) for instance in system.instances) * len(system.instances)


def analyse_all(systems: list[System], engine: str = "both", seed: int = 0, timeout: float = 60.0,
                workers: int | None = None) -> list[SystemAnalysis]:
    """Analyse every system; with both engines, Z3 runs in parallel worker processes."""
    cores = os.cpu_count() or 1
    workers = min(2, cores) if workers is None else workers
    if engine != "both" or workers < 1 or cores < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [analyse(system, engine=engine, seed=seed, timeout=timeout) for system in systems]

    global _SYSTEMS
    _SYSTEMS = systems
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            # Costliest first, so that no worker is left with a large system at the end.
            order = sorted(range(len(systems)), key=lambda i: -_cost(systems[i]))
            futures = {i: pool.submit(_decide, i, seed, timeout) for i in order}
            explorations = [explore(system) for system in systems]
            analyses = []
            for index, (system, exploration) in enumerate(zip(systems, explorations)):
                analyses.append(analyse(system, engine=engine, seed=seed, timeout=timeout,
                                        exploration=exploration, z3_decisions=futures[index].result()))
            return analyses
    finally:
        _SYSTEMS = []


_TASK = None  # the function map_forked's workers call; set before forking


def _run_task(index: int):
    return _TASK(index)


def map_forked(function, count: int, workers: int | None = None) -> list:
    """[function(0), ..., function(count - 1)], computed in forked workers when there are
    several cores (the function and its data are inherited, only results are pickled)."""
    cores = os.cpu_count() or 1
    workers = min(count, 2, cores) if workers is None else workers
    if count < 2 or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [function(index) for index in range(count)]
    global _TASK
    _TASK = function
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_run_task, range(count)))
    finally:
        _TASK = None
