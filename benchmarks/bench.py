"""Measure swmc's performance; prints Markdown tables for the README.

    .venv/bin/python benchmarks/bench.py            # everything (a few minutes)
    .venv/bin/python benchmarks/bench.py --quick    # fewer repetitions, smaller growth table
    .venv/bin/python benchmarks/bench.py --gate     # only `swmc gate` against `swmc check`

Figures are medians of several runs (wall-clock seconds) on whatever machine runs this;
the README records the ones measured on the project's 2-core reference machine. Nothing
here is a pass/fail test: timing belongs in a benchmark, not in the test suite.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checker.analysis import decide_with_z3
from checker.catalog import builtin_model_paths, builtin_models_dir, load_models
from checker.explicit import explore
from checker.system import build_system

EXPLICIT_STATE_LIMIT = 2_000_000  # beyond this the growth table says "skipped"


def median_seconds(action, repetitions: int) -> float:
    samples = []
    for _ in range(repetitions):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def end_to_end(repetitions: int, *options: str) -> float:
    """`swmc check` on the built-in models, start-up and diagrams included, from a fresh directory."""
    swmc = shutil.which("swmc") or str(Path(sys.executable).with_name("swmc"))

    def run():
        with tempfile.TemporaryDirectory() as directory:
            result = subprocess.run([swmc, "check", *options, "-o", str(Path(directory) / "out")], cwd=directory,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            if result.returncode not in (0, 1):
                raise SystemExit(f"swmc check failed with exit code {result.returncode}")

    run()  # warm the file-system cache once
    return median_seconds(run, repetitions)


def mapping_end_to_end(repetitions: int, *options: str) -> float:
    """`swmc check --mapping gap-analysis-2012` on the two compositions it compares, k = m = 2."""
    swmc = shutil.which("swmc") or str(Path(sys.executable).with_name("swmc"))
    models = [str(path) for path in builtin_model_paths() if path.stem in ("scomo-device", "tr069-device")]

    def run():
        with tempfile.TemporaryDirectory() as directory:
            subprocess.run([swmc, "check", *options, "--mapping", "gap-analysis-2012", *models,
                            "-o", str(Path(directory) / "out")],
                           cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    run()
    return median_seconds(run, repetitions)


GROWTH_BUDGET_SECONDS = 300  # per mapping and size; what is left unmeasured is said so


def _growth_child(name: str, size: int, queue) -> None:
    """Measure one mapping at one size, sending each figure as soon as it is known."""
    from checker.coverage import check_coverage
    from checker.errors import InputError
    from checker.mapping import load_mapping
    from checker.simulation import correspondences
    from checker.simulation_z3 import check_simulation_with_z3

    mapping = load_mapping(builtin_models_dir() / "mappings" / f"{name}.yaml")
    parameters = {"k": size, "m": size}

    def timed(key, action):
        started = time.perf_counter()
        try:
            value = action()
        except InputError as error:  # the explicit engine's state limit at the larger sizes
            queue.put((key, "stopped: " + ("over 5 million states" if "state-limit" in str(error) else str(error))))
            return None
        queue.put((key, f"{time.perf_counter() - started:.2f} s"))
        return value

    timed("coverage-explicit", lambda: check_coverage(mapping, parameters, engine="explicit"))
    timed("coverage-z3", lambda: check_coverage(mapping, parameters, engine="z3"))
    results = timed("game", lambda: correspondences(mapping, k=size, n=1))
    if results is not None:
        queue.put(("pairs", f"{sum(result.game_pairs for result in results.values()):,}"))
        timed("datalog", lambda: [check_simulation_with_z3(mapping, direction, result, k=size, n=1, timeout=3600)
                                  for direction, result in results.items()])
    queue.put(("done", ""))


def mapping_growth(top: int, mappings: dict[str, int]) -> list[str]:
    """The mapping analysis per engine: coverage questions and simulations, k = m = 1..top
    (each mapping up to its own top, in ``mappings``), each size in a child process given
    GROWTH_BUDGET_SECONDS."""
    context = multiprocessing.get_context("fork")
    rows = []
    for name, own_top in mappings.items():
        for size in range(1, min(top, own_top) + 1):
            queue = context.Queue()
            process = context.Process(target=_growth_child, args=(name, size, queue))
            process.start()
            figures: dict[str, str] = {}
            deadline = time.perf_counter() + GROWTH_BUDGET_SECONDS
            while "done" not in figures:
                try:
                    key, value = queue.get(timeout=max(0.1, deadline - time.perf_counter()))
                except Exception:  # the budget is spent: the rest is unmeasured
                    break
                figures[key] = value
            if process.is_alive():
                process.terminate()
            process.join()
            over = f"over {GROWTH_BUDGET_SECONDS} s"
            cells = [figures.get(key, over if "done" not in figures else "")
                     for key in ("coverage-explicit", "coverage-z3", "game", "datalog", "pairs")]
            rows.append(f"| {name} | {size} | " + " | ".join(cells) + " |")
    return rows


def _git(repository: Path, *arguments: str) -> None:
    environment = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@swmc.invalid",
                   "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@swmc.invalid"}
    subprocess.run(["git", *arguments], cwd=repository, env=environment, check=True, stdout=subprocess.DEVNULL)


def gate_versus_check(repetitions: int) -> list[str]:
    """`swmc gate` over the shipped models and the draft's mapping against one `swmc check` of
    the same files, in a scratch git repository, for three baselines: the same files (every
    system and the mapping are equal on both sides and analysed once), one mapping entry
    changed (the models are shared, the mapping is analysed on both sides), and every file
    changed (a comment line at the top of each file shifts every line, so nothing is shared
    and both sides are checked in full). The commands run in rounds, one of each per round,
    so that a shared machine's changing load falls on all of them alike."""
    swmc = shutil.which("swmc") or str(Path(sys.executable).with_name("swmc"))
    with tempfile.TemporaryDirectory() as directory:
        repository = Path(directory) / "repository"
        (repository / "models" / "mappings").mkdir(parents=True)
        mapping = "models/mappings/gap-analysis-2012.yaml"
        originals = {f"models/{path.name}": path.read_text(encoding="utf-8") for path in builtin_model_paths()}
        originals[mapping] = (builtin_models_dir() / "mappings" / "gap-analysis-2012.yaml").read_text(encoding="utf-8")
        one_entry = originals[mapping].replace("  - scomo: dp.InstallingInactive\n    tr069: [du.Installing]",
                                               "  - scomo: dp.InstallingInactive\n    tr069: []")
        assert one_entry != originals[mapping]

        def commit(contents: dict[str, str], tag: str | None) -> None:
            for name, text in contents.items():
                (repository / name).write_text(text, encoding="utf-8")
            _git(repository, "add", "-A")
            _git(repository, "commit", "-q", "--allow-empty", "-m", tag or "the shipped files")
            if tag:
                _git(repository, "tag", tag)

        _git(repository, "init", "-q")
        commit({name: f"# baseline\n{text}" for name, text in originals.items()}, "every-file")
        commit({**originals, mapping: one_entry}, "one-entry")
        commit(originals, None)  # the working tree: the shipped files

        inputs = [name for name in originals if name != mapping] + ["--mapping", mapping]
        commands = {
            "check": ["check"],
            "check-no-diagrams": ["check", "--no-diagrams"],
            "gate-same": ["gate", "--baseline", "HEAD"],
            "gate-one-entry": ["gate", "--baseline", "one-entry"],
            "gate-every-file": ["gate", "--baseline", "every-file"],
        }

        def run(command: list[str]) -> float:
            started = time.perf_counter()
            completed = subprocess.run([swmc, *command, *inputs, "-o", str(Path(directory) / "out")], cwd=repository,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            if completed.returncode not in (0, 1):
                raise SystemExit(f"swmc {' '.join(command)} failed with exit code {completed.returncode}")
            return time.perf_counter() - started

        for command in commands.values():  # warm the file-system cache once
            run(command)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(repetitions):
            for name, command in commands.items():
                samples[name].append(run(command))
    median = {name: statistics.median(values) for name, values in samples.items()}
    one_check = median["check-no-diagrams"]
    rows = [f"| `swmc check` of the shipped models and the draft's mapping, diagrams included | {median['check']:.2f} s | |",
            f"| the same with `--no-diagrams`: what a gate does per side | {one_check:.2f} s | 1.00 |"]
    for name, label in (("gate-same", "`swmc gate`, baseline with the same files"),
                        ("gate-one-entry", "`swmc gate`, baseline with one mapping entry changed"),
                        ("gate-every-file", "`swmc gate`, baseline with every file changed: both sides checked in full")):
        rows.append(f"| {label} | {median[name]:.2f} s | {median[name] / one_check:.2f} |")
    return rows


def compositions():
    models = {model.id: model for model in load_models(builtin_model_paths())}
    return models["scomo_device"], models["tr069_device"]


def z3_at(composition, parameters, repetitions: int) -> float:
    system = build_system(composition, parameters)
    return median_seconds(lambda: decide_with_z3(system), repetitions)


def explicit_at(composition, parameters, repetitions: int) -> tuple[int, float]:
    system = build_system(composition, parameters)
    counts = []

    def run():
        counts.append(len(explore(system, keep_edges=False, state_limit=EXPLICIT_STATE_LIMIT)))

    seconds = median_seconds(run, repetitions)
    return counts[0], seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--gate", action="store_true", help="only measure `swmc gate` against `swmc check`")
    arguments = parser.parse_args(argv)
    repetitions = 3 if arguments.quick else 5
    if arguments.gate:
        print("| gate against check | median | ratio to one check without diagrams |")
        print("|---|---|---|")
        for row in gate_versus_check(repetitions):
            print(row)
        return 0
    scomo, tr069 = compositions()

    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"median of {repetitions} runs.\n")

    print("| measurement | median |")
    print("|---|---|")
    print(f"| `swmc check --no-mapping`: all built-in models, start-up and diagrams included | {end_to_end(repetitions, '--no-mapping'):.2f} s |")
    print(f"| `swmc check`: the same and the 2012 draft's mapping (coverage, both simulations, Z3 cross-check) | {end_to_end(repetitions):.2f} s |")
    print(f"| Z3 engine, every local state and value of scomo_device, k = 4 | {z3_at(scomo, {'k': 4}, repetitions):.2f} s |")
    print(f"| Z3 engine, every local state and value of tr069_device, m = 4 | {z3_at(tr069, {'m': 4}, repetitions):.2f} s |")
    for parameters in ({"n": 2, "m": 1}, {"n": 1, "m": 3}):
        count, seconds = explicit_at(tr069, parameters, 3)
        label = ", ".join(f"{key} = {value}" for key, value in parameters.items())
        print(f"| explicit engine on tr069_device, {label}: {count:,} states | {seconds:.2f} s, "
              f"{count / seconds:,.0f} states/s |")
    print(f"| `swmc check --mapping gap-analysis-2012` on the two compositions, k = m = 2 | {mapping_end_to_end(repetitions):.2f} s |")
    print(f"| the same with `--no-diagrams` | {mapping_end_to_end(repetitions, '--no-diagrams'):.2f} s |")
    print()

    print("| gate against check | median | ratio to one check without diagrams |")
    print("|---|---|---|")
    for row in gate_versus_check(repetitions):
        print(row)
    print()

    print("| mapping | k = m | coverage, explicit engine | coverage, Z3 engine | simulations, explicit (both directions) | simulations, Z3 Datalog check | game pairs |")
    print("|---|---|---|---|---|---|---|")
    for row in mapping_growth(2 if arguments.quick else 4,
                              {"gap-analysis-2012": 4, "delivered-as-installed": 3, "inactive-as-idle": 2}):
        print(row)
    print()

    top = 4 if arguments.quick else 6
    print("| composition | parameter | reachable states | explicit engine | Z3 engine (every local target) |")
    print("|---|---|---|---|---|")
    for composition, name in ((scomo, "k"), (tr069, "m")):
        for value in range(1, top + 1):
            parameters = {name: value}
            try:
                count, explicit_seconds = explicit_at(composition, parameters, 1 if value > 2 else 3)
                explicit_text, count_text = f"{explicit_seconds:.2f} s", f"{count:,}"
            except Exception as error:  # the state limit: the explicit engine gives up, Z3 goes on
                explicit_text, count_text = "skipped", f"> {EXPLICIT_STATE_LIMIT:,}" if "state-limit" in str(error) else str(error)
            z3_seconds = z3_at(composition, parameters, 1 if value > 2 else 3)
            print(f"| {composition.id} | {name} = {value} | {count_text} | {explicit_text} | {z3_seconds:.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
