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
from .catalog import builtin_model_paths, load_mappings, load_models, resolve_mapping_path, resolve_model_path
from .errors import ExitCode, InputError, SwmcError
from .prove_command import add_prove_commands, run_prove, run_requirements
from .outputs import OutputDirectory, write_atomically
from .pipeline import Inputs, Settings, run_checks
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

    def add_check_options(command):
        """What check and gate share: the models and mappings, and how the engines run."""
        command.add_argument("models", nargs="*", type=Path, metavar="MODEL",
                             help="machine or composition files (default: the built-in models and the 2012 draft's mapping)")
        add_model_options(command)
        command.add_argument("--engine", choices=ENGINES, default="both", help="which engines decide reachability (default: both, which must agree)")
        command.add_argument("--seed", type=int, default=0, help="Z3 random seed (default 0)")
        command.add_argument("--timeout", type=float, default=60.0, help="Z3 time limit per system in seconds (default 60)")
        command.add_argument("-o", "--out", type=Path, default=Path("out"), help="directory for reports (default ./out)")
        command.add_argument("--no-mapping", action="store_true",
                             help="with no MODEL, check the built-in models without the 2012 draft's mapping")
        command.add_argument("--mapping", type=Path, action="append", default=[], metavar="FILE",
                             help="also check a SCOMO-to-TR-069 mapping file (repeatable); a built-in one may be named "
                                  "by its file name, e.g. gap-analysis-2012")

    check = commands.add_parser("check", help="explore models exhaustively and report what can and cannot happen")
    add_check_options(check)
    check.add_argument("--format", choices=("text", "json"), default="text", help="what to print on stdout (default text)")
    check.add_argument("--no-diagrams", action="store_true", help="write no DOT or SVG files")

    gate = commands.add_parser("gate", help="fail only when a change adds findings, compared with a baseline (for CI)")
    add_check_options(gate)
    gate.add_argument("--baseline", required=True, metavar="REF",
                      help="a git revision of the repository holding the files (e.g. origin/main), or a findings file "
                           "saved with --save or a report.json of swmc check")
    gate.add_argument("--accepted", type=Path, metavar="FILE",
                      help="acknowledged findings, a YAML list of {id, reason} (default: .swmc-accepted.yaml at the "
                           "repository root, if present)")
    gate.add_argument("--format", choices=("text", "json", "junit", "sarif", "markdown"), default="text",
                      help="what to print on stdout (default text); every format is written to --out")
    gate.add_argument("--properties", type=Path, action="append", default=[], metavar="FILE",
                      help="also check the properties of this file on both sides (repeatable): a property that "
                           "held and no longer holds is a new result")
    gate.add_argument("--save", type=Path, metavar="FILE",
                      help="also save the findings of the working tree, to serve as a later --baseline (its "
                           "directory must exist, unless it is --out; an existing file is replaced only if it is a "
                           "findings file)")

    add_prove_commands(commands)

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


def _settings(arguments) -> Settings:
    return Settings(engine=arguments.engine, seed=arguments.seed, timeout=arguments.timeout)


def _input_paths(arguments) -> tuple[list[Path], list[Path]]:
    """The model files and mapping files a check or a gate covers, built-in names resolved.

    With nothing named, the shipped models are checked together with the 2012 draft's mapping."""
    models = [resolve_model_path(path) for path in arguments.models] or builtin_model_paths()
    mappings = arguments.mapping or ([] if arguments.models or arguments.no_mapping else [Path(DEFAULT_MAPPING)])
    return models, [resolve_mapping_path(path) for path in mappings]


def _check(arguments) -> int:
    model_paths, mapping_paths = _input_paths(arguments)
    models = load_models(model_paths)
    parameters = _parameters(arguments)
    inputs = Inputs(models, load_mappings(mapping_paths), parameters)
    output = OutputDirectory(arguments.out)
    output.claim()

    settings = _settings(arguments)
    (run,) = run_checks([inputs], settings)
    analyses, coverages = run.analyses, run.coverages
    report_settings = settings.report(parameters)
    report = json_report(analyses, report_settings, coverages)
    output.write("report.json", render_json(report))
    output.write("report.md", render_markdown(analyses, report_settings, coverages))
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


def _gate(arguments) -> int:
    from .gate import GateRequest, run_gate
    from .gate_report import FORMATS, render, save_findings, save_problems

    model_paths, mapping_paths = _input_paths(arguments)
    request = GateRequest(models=model_paths, mappings=mapping_paths, parameters=_parameters(arguments),
                          settings=_settings(arguments), baseline=arguments.baseline, accepted=arguments.accepted,
                          directory=Path.cwd(), properties=arguments.properties)
    # Everything that can be wrong with the input is found before anything is written: the
    # output directory and the --save file here, both at once, before the analyses; the files,
    # REF and accepted file by run_gate, before it analyses anything.
    output = OutputDirectory(arguments.out)
    problems = []
    try:
        output.check()
    except InputError as error:
        problems.extend(error.problems)
    if arguments.save is not None:
        problems.extend(save_problems(arguments.save, arguments.out))
    if problems:
        raise InputError(problems)
    outcome = run_gate(request)
    output.claim()
    for name, file_name in FORMATS.items():
        output.write(file_name, render(outcome, name))
    if arguments.save is not None:
        write_atomically(arguments.save, save_findings(outcome))
    if arguments.format == "text":
        sys.stdout.write(render(outcome, "text"))
        sys.stdout.write(f"reports: {', '.join(str(arguments.out / name) for name in FORMATS.values())}\n")
    else:
        sys.stdout.write(render(outcome, arguments.format))
    return ExitCode.OK if outcome.passed else ExitCode.FINDINGS


def _simulate(arguments) -> int:
    from .executable import simulate

    (model,) = load_models([resolve_model_path(arguments.model)])
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
    # The transitions library logs every callback at INFO; its steps are only wanted with -vv.
    logging.getLogger("transitions").setLevel(logging.DEBUG if arguments.verbose >= 2 else logging.WARNING)
    try:
        if arguments.command == "check":
            return int(_check(arguments))
        if arguments.command == "gate":
            return int(_gate(arguments))
        if arguments.command == "prove":
            return int(run_prove(arguments))
        if arguments.command == "requirements":
            return int(run_requirements(arguments))
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
