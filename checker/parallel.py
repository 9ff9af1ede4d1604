"""Run the two engines side by side on a machine's cores.

The explicit engine and Z3 are independent, and Z3 is the slower of the two on the shipped
models, so the Z3 questions go to worker processes while this process explores explicitly
(``analyse_all``), and a mapping's Z3 questions and simulation checks run in background
processes while this process builds and replays the witnesses (``in_background``).
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

__all__ = ["Pending", "analyse_all", "in_background"]

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


class Pending:
    """The result of ``in_background``: ``result()`` waits for it, or raises what it raised."""

    def __init__(self, connection=None, process=None, value=None, error: BaseException | None = None):
        self._connection, self._process = connection, process
        self._value, self._error = value, error

    def result(self):
        if self._process is not None:
            try:
                ok, payload = self._connection.recv()
            except EOFError:
                ok, payload = False, RuntimeError(f"a worker process ended with exit code {self._process.exitcode}")
            self._process.join()
            self._connection.close()
            self._process = None
            if ok:
                self._value = payload
            else:
                self._error = payload
        if self._error is not None:
            raise self._error
        return self._value


def _background_child(connection, function) -> None:
    try:
        result = (True, function())
    except BaseException as error:  # sent back and raised where result() is asked for
        result = (False, error)
    try:
        connection.send(result)
    except Exception as error:  # the result or the error could not be pickled
        connection.send((False, RuntimeError(f"a worker's result could not be sent back: {error}")))
    connection.close()


def in_background(function) -> Pending:
    """Start ``function()`` in a forked process and return at once; where fork is unavailable
    or there is one core, run it here first. The child inherits everything computed so far,
    so nothing is pickled on the way in; only its result (or its exception) comes back."""
    if (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        try:
            return Pending(value=function())
        except Exception as error:  # raised from result(), as the forked way does
            return Pending(error=error)
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_background_child, args=(sending, function), daemon=True)
    process.start()
    sending.close()
    return Pending(connection=receiving, process=process)
