"""Measure property checking; prints Markdown tables for the README.

    .venv/bin/python benchmarks/bench_properties.py            # everything
    .venv/bin/python benchmarks/bench_properties.py --quick    # fewer repetitions, n = 1..3
    .venv/bin/python benchmarks/bench_properties.py --commands # only the end-to-end commands

1. `swmc prove` (the shipped general properties), `swmc requirements` (every property of
   the requirements table), and every shipped property in one run (`swmc prove general
   requirements`: each system explored once for both), end to end: start-up, both engines,
   reports.
2. The invariant "no Execution Unit is Active unless its Deployment Unit is Installed,
   Updating or Uninstalling" on a device of n Deployment Units with m = 3 Execution Units
   each: Z3 alone (cones of influence, symmetry, k-induction or Spacer) against the explicit
   engine alone on the same property, on the same cones (as `swmc prove --engine explicit`)
   and over the whole system, for n = 1..4, and Z3 and the cones at n = 8.

Figures are medians of several wall-clock runs. The explicit engine is given a time budget;
a run over it is reported as such, never extrapolated.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checker import proplang as p
from checker.catalog import builtin_model_paths
from checker.errors import InputError
from checker.explicit import explore
from checker.propexplicit import StateGraph, satisfying
from checker.proplang import parse_formula
from checker.propfile import PropertySpec
from checker.prove import _prepare, check_property

FORMULA = "AG (forall u in du: forall e in u.eu: e is Active -> u in {Installed, Updating, Uninstalling})"
EXPLICIT_BUDGET_SECONDS = 300
EXPLICIT_STATE_LIMIT = 5_000_000  # the explicit engine's own default limit; memory stays bounded


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def command_seconds(arguments: list[str], repetitions: int) -> float:
    swmc = shutil.which("swmc") or str(Path(sys.executable).with_name("swmc"))
    samples = []
    for _ in range(repetitions + 1):
        with tempfile.TemporaryDirectory() as directory:
            started = time.perf_counter()
            result = subprocess.run([swmc, *arguments, "-o", str(Path(directory) / "out")], cwd=directory,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            samples.append(time.perf_counter() - started)
            if result.returncode not in (0, 1):
                raise SystemExit(f"swmc {' '.join(arguments)} failed with exit code {result.returncode}")
    return median(samples[1:])  # the first run warms the file-system cache


def spec(n: int, m: int) -> PropertySpec:
    path = next(path for path in builtin_model_paths() if path.stem == "tr069-device")
    return PropertySpec(name="eu-active-needs-installed-du", file="bench", line=1, system="tr069-device",
                        system_path=path, parameters=(("m", m), ("n", n)), formula_text=FORMULA,
                        formula=parse_formula(FORMULA))


def _explicit(n: int, m: int, whole: bool, queue) -> None:
    started = time.perf_counter()
    if not whole:  # as swmc prove --engine explicit: each part on its cone of influence
        result = check_property(spec(n, m), engine="explicit", state_limit=EXPLICIT_STATE_LIMIT)
        queue.put((result.status, time.perf_counter() - started))
        return
    # The whole system, every reachable state, as without cones of influence.
    system, bound, _ = _prepare(spec(n, m), {})
    try:
        graph = StateGraph(explore(system, state_limit=EXPLICIT_STATE_LIMIT))
    except InputError:
        queue.put(("unknown", time.perf_counter() - started))
        return
    violated = satisfying(graph, p.Not(0, 0, bound.operand))
    queue.put(("violated" if violated else "holds", time.perf_counter() - started))


def explicit_seconds(n: int, m: int, whole: bool) -> tuple[str, float | None]:
    """The explicit engine alone, in a child process that is stopped at the budget."""
    queue = multiprocessing.get_context("fork").Queue()
    process = multiprocessing.get_context("fork").Process(target=_explicit, args=(n, m, whole, queue))
    process.start()
    process.join(EXPLICIT_BUDGET_SECONDS)
    if process.is_alive():
        process.terminate()
        process.join()
        return "over budget", None
    status, seconds = queue.get()
    return status, seconds


def z3_seconds(n: int, m: int, repetitions: int) -> tuple[str, float]:
    samples, status = [], None
    for _ in range(repetitions):
        started = time.perf_counter()
        result = check_property(spec(n, m), engine="z3")
        samples.append(time.perf_counter() - started)
        status = result.status
    return status, median(samples)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--commands", action="store_true", help="only the end-to-end commands (table 1)")
    arguments = parser.parse_args(argv)
    repetitions = 3 if arguments.quick else 5
    top = 3 if arguments.quick else 4

    print("| command | median of", repetitions, "runs |")
    print("|---|---|")
    print(f"| `swmc prove` (shipped general properties) | {command_seconds(['prove'], repetitions):.2f} s |")
    print(f"| `swmc requirements` (every requirement property) | {command_seconds(['requirements'], repetitions):.2f} s |")
    print(f"| every shipped property: `swmc prove general requirements` | "
          f"{command_seconds(['prove', 'general', 'requirements'], repetitions):.2f} s |")
    print()
    if arguments.commands:
        return 0
    print("| n (m = 3) | Z3 alone | explicit, on the cones | explicit, whole system | whole system / Z3 |")
    print("|---|---|---|---|---|")
    for n in range(1, top + 1):
        z3_status, z3_time = z3_seconds(n, 3, repetitions)
        cone_status, cone_time = explicit_seconds(n, 3, whole=False)
        cones = "over budget" if cone_time is None else f"{cone_time:.2f} s"
        explicit_status, explicit_time = explicit_seconds(n, 3, whole=True)
        for status in (cone_status, explicit_status):
            if status not in ("unknown", "over budget") and status != z3_status:
                raise SystemExit(f"engines disagree at n = {n}: z3 {z3_status}, explicit {status}")
        if explicit_time is None:
            print(f"| {n} | {z3_time:.2f} s ({z3_status}) | {cones} | over {EXPLICIT_BUDGET_SECONDS} s | > "
                  f"{EXPLICIT_BUDGET_SECONDS / z3_time:.0f} |")
        elif explicit_status == "unknown":
            print(f"| {n} | {z3_time:.2f} s ({z3_status}) | {cones} | stopped after {explicit_time:.0f} s: more than "
                  f"{EXPLICIT_STATE_LIMIT:,} states | > {explicit_time / z3_time:.0f} |")
        else:
            print(f"| {n} | {z3_time:.2f} s ({z3_status}) | {cones} | {explicit_time:.2f} s | "
                  f"{explicit_time / z3_time:.1f} |")
    z3_status, z3_time = z3_seconds(8, 3, repetitions)
    cone_status, cone_time = explicit_seconds(8, 3, whole=False)
    cones = "over budget" if cone_time is None else f"{cone_time:.2f} s ({cone_status})"
    print(f"| 8 | {z3_time:.2f} s ({z3_status}) | {cones} | not run | — |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
