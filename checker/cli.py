"""The ``swmc`` command line. Results go to stdout, diagnostics to stderr.

Exit codes (see ``errors.ExitCode``): 0 nothing found, 1 findings, 2 invalid input,
3 a solver gave up, 4 internal error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from pathlib import Path

from . import __version__
from .analysis import ENGINES
from .catalog import builtin_model_paths, builtin_models_dir, load_models
from .coverage import add_behaviour, check_coverage
from .errors import ExitCode, InputError, Problem, SwmcError
from .mapping import load_mapping
from .outputs import OutputDirectory
from .parallel import analyse_all
from .report import json_report, render_json, render_markdown, render_summary
from .system import build_system

__all__ = ["main"]

DEFAULT_MAPPING = "gap-analysis-2012"


def _parameter(text: str) -> tuple[str, int]:
    name, separator, value = text.partition("=")
    if not separator or not value.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=COUNT, got {text!r}")
    return name.strip(), int(value)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="swmc", description="Model checker for software-management state machines (SCOMO, TR-069).")
    parser.add_argument("--version", action="version", version=f"swmc {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log progress to stderr (twice for debug)")
    commands = parser.add_subparsers(dest="command", required=True)

    def add_model_options(command):
        command.add_argument("-k", type=int, metavar="K", help="Deployment Components per Delivery Package (default 2)")
        command.add_argument("-m", type=int, metavar="M", help="Execution Units per Deployment Unit (default 2)")
        command.add_argument("-n", type=int, metavar="N", help="units side by side on the device (default 1)")
        command.add_argument("--param", type=_parameter, action="append", default=[], metavar="NAME=COUNT",
                             help="set any composition parameter")

    check = commands.add_parser("check", help="explore models exhaustively and report what can and cannot happen")
    check.add_argument("models", nargs="*", type=Path, metavar="MODEL",
                       help="machine or composition files (default: the built-in models and the 2012 draft's mapping)")
    add_model_options(check)
    check.add_argument("--engine", choices=ENGINES, default="both", help="which engines decide reachability (default: both, which must agree)")
    check.add_argument("--seed", type=int, default=0, help="Z3 random seed (default 0)")
    check.add_argument("--timeout", type=float, default=60.0, help="Z3 time limit per system in seconds (default 60)")
    check.add_argument("--format", choices=("text", "json"), default="text", help="what to print on stdout (default text)")
    check.add_argument("-o", "--out", type=Path, default=Path("out"), help="directory for reports and diagrams (default ./out)")
    check.add_argument("--no-diagrams", action="store_true", help="write no DOT or SVG files")
    check.add_argument("--no-mapping", action="store_true",
                       help="with no MODEL, check the built-in models without the 2012 draft's mapping")
    check.add_argument("--mapping", type=Path, action="append", default=[], metavar="FILE",
                       help="also check a SCOMO-to-TR-069 mapping file (repeatable); a built-in one may be named "
                            "by its file name, e.g. gap-analysis-2012")

    simulate = commands.add_parser("simulate", help="run a sequence of events on the executable machine and print each state")
    simulate.add_argument("model", type=Path, metavar="MODEL", help="a machine or composition file, or the name of a built-in model")
    simulate.add_argument("events", nargs="*", metavar="EVENT", help="triggers in order; in a composition, INSTANCE.TRIGGER")
    add_model_options(simulate)
    return parser


def _parameters(arguments) -> dict[str, int]:
    values = dict(arguments.param)
    for name in ("k", "m", "n"):
        value = getattr(arguments, name)
        if value is not None:
            values[name] = value
    for name, value in values.items():
        if value < 0:
            raise InputError(f"parameter {name} must not be negative")
    return values


def _resolve_model(path: Path) -> Path:
    if path.exists():
        return path
    for candidate in builtin_model_paths():
        if path.name in (candidate.name, candidate.stem):
            return candidate
    return path


def _load_mappings(paths: list[Path]):
    mappings, problems = [], []
    for path in paths:
        if not path.exists():
            candidate = builtin_models_dir() / "mappings" / (path.name if path.suffix else f"{path.name}.yaml")
            path = candidate if candidate.exists() else path
        if not path.is_file():
            problems.append(Problem(file=str(path), line=0, rule="file", message="no such mapping file"))
            continue
        try:
            mappings.append(load_mapping(path))
        except InputError as error:
            problems.extend(error.problems)
    if problems:
        raise InputError(problems)
    return mappings


def _mapping_sizes(parameters: dict[str, int]) -> tuple[int, int]:
    """Children per unit and units for a mapping: the two sides must have as many of each."""
    k, m = parameters.get("k"), parameters.get("m")
    if k is not None and m is not None and k != m:
        raise InputError(f"a mapping pairs Deployment Components with Execution Units one to one: -k {k} and -m {m} differ")
    children = k if k is not None else m if m is not None else 2
    parameters.setdefault("k", children)
    parameters.setdefault("m", children)
    return children, parameters.get("n", 1)


def _check(arguments) -> int:
    paths = [_resolve_model(path) for path in arguments.models] or builtin_model_paths()
    models = load_models(paths)
    parameters = _parameters(arguments)
    # With nothing named, the shipped models are checked together with the 2012 draft's mapping.
    mapping_paths = arguments.mapping or ([] if arguments.models or arguments.no_mapping else [Path(DEFAULT_MAPPING)])
    mappings = _load_mappings(mapping_paths)
    children, units = _mapping_sizes(parameters) if mappings else (0, 0)
    output = OutputDirectory(arguments.out)
    output.claim()

    systems = [build_system(model, parameters) for model in models]
    analyses = analyse_all(systems, engine=arguments.engine, seed=arguments.seed, timeout=arguments.timeout)
    analysed = {analysis.system.name: analysis for analysis in analyses}
    coverages = [add_behaviour(check_coverage(mapping, parameters, seed=arguments.seed, timeout=arguments.timeout,
                                              analysed=analysed, engine=arguments.engine), children, units,
                               cross_check=arguments.engine != "explicit", seed=arguments.seed, timeout=arguments.timeout)
                 for mapping in mappings]

    settings = {"engine": arguments.engine, "seed": arguments.seed, "timeout_seconds": arguments.timeout,
                "parameters": dict(sorted(parameters.items()))}
    report = json_report(analyses, settings, coverages)
    output.write("report.json", render_json(report))
    output.write("report.md", render_markdown(analyses, settings, coverages))
    notes = []
    if not arguments.no_diagrams:
        from .diagrams import write_diagrams

        notes.extend(write_diagrams(analyses, output, coverages))

    if arguments.format == "json":
        sys.stdout.write(render_json(report))
    else:
        sys.stdout.write(render_summary(analyses, coverages))
        sys.stdout.write(f"reports: {arguments.out / 'report.md'}, {arguments.out / 'report.json'}\n")
    for note in notes:
        print(note, file=sys.stderr)
    return ExitCode.FINDINGS if report["summary"]["findings"] or report["summary"]["unmappable"] else ExitCode.OK


def _simulate(arguments) -> int:
    from .executable import simulate

    (model,) = load_models([_resolve_model(arguments.model)])
    system = build_system(model, _parameters(arguments))
    return simulate(system, arguments.events, sys.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit_:
        return ExitCode.INVALID_INPUT if exit_.code not in (0, None) else ExitCode.OK
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(arguments.verbose, 2)],
                        format="swmc: %(levelname)s: %(message)s", stream=sys.stderr)
    try:
        if arguments.command == "check":
            return int(_check(arguments))
        return int(_simulate(arguments))
    except SwmcError as error:
        label = "error" if isinstance(error, InputError) else type(error).__name__
        for line in str(error).splitlines():
            print(f"swmc: {label}: {line}", file=sys.stderr)
        return int(error.exit_code)
    except BrokenPipeError:
        # The reader of stdout went away (swmc check | head); that is not an error of ours.
        sys.stdout = open(os.devnull, "w")
        return int(ExitCode.OK)
    except KeyboardInterrupt:
        print("swmc: interrupted; no report was half-written", file=sys.stderr)
        return 130
    except Exception as error:  # an unexpected failure is a bug: say so, with the traceback
        traceback.print_exc(file=sys.stderr)
        print(f"swmc: internal error: {type(error).__name__}: {error} (a bug in swmc; please report it)", file=sys.stderr)
        return int(ExitCode.INTERNAL_ERROR)
