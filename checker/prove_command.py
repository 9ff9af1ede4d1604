"""The ``swmc prove`` and ``swmc requirements`` commands (wired into ``checker.cli``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .analysis import ENGINES
from .errors import ExitCode, InputError, Problem
from .explicit import CROSS_CHECK_STATE_LIMIT
from .outputs import OutputDirectory

# The property checker (its parser, engines and reports) is imported by the commands that use
# it: building the command line must not cost `swmc check` the property grammar's compilation.

__all__ = ["add_prove_commands", "run_prove", "run_requirements"]


def add_prove_commands(commands) -> None:
    def add_engine_options(command):
        command.add_argument("--engine", choices=ENGINES, default="both",
                             help="both (default): Z3 decides invariants and reachability and the explicit engine "
                                  "cross-checks them; z3 or explicit: that engine alone")
        command.add_argument("--seed", type=int, default=0, help="Z3 random seed (default 0)")
        command.add_argument("--timeout", type=float, default=60.0,
                             help="Z3 time limit per property in seconds (default 60)")
        command.add_argument("--state-limit", type=int, default=CROSS_CHECK_STATE_LIMIT, metavar="N",
                             help=f"largest state space the explicit engine explores (default {CROSS_CHECK_STATE_LIMIT})")
        command.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                             help="what to print on stdout (default text); every format is written to --out")
        command.add_argument("-o", "--out", type=Path, default=Path("out"), help="directory for reports (default ./out)")

    prove = commands.add_parser("prove", help="check properties: proved, violated with a counterexample, or unknown")
    prove.add_argument("files", nargs="*", type=Path, metavar="FILE",
                       help="property files, or the requirements file for all its properties (default: the shipped "
                            "property files in properties/, without requirements.yaml)")
    prove.add_argument("--property", action="append", default=[], metavar="NAME", help="check only this property (repeatable)")
    prove.add_argument("--bound", type=int, metavar="K",
                       help="invariants and reachability by bounded model checking alone, up to K steps: a violation "
                            "or 'no violation up to K', never a proof (CTL and LTL are unaffected)")
    add_engine_options(prove)

    requirements = commands.add_parser(
        "requirements", help="decide the 2012 draft's requirements on both sides and compare with the draft",
        description="Decide every requirement of a requirements file on the SCOMO and the TR-069 side with its "
                    "properties, and compare the checker's gap with the draft's. Prints the table (verdicts, gaps, "
                    "the draft's columns, the evidence of each side) and writes requirements.md and "
                    "requirements.json to --out. Exit codes: 0 every disagreement with the draft is explained, "
                    "1 one is not, 3 a side is undecided (a solver gave up, or a state space is above --state-limit), "
                    "2 invalid input.")
    requirements.add_argument("file", nargs="?", type=Path, metavar="FILE",
                              help="a requirements file in the format of properties/requirements.yaml, whose "
                                   "systems are built-in models or paths relative to it (default: the shipped "
                                   "properties/requirements.yaml)")
    add_engine_options(requirements)


def _settings(arguments) -> dict:
    return {"engine": arguments.engine, "seed": arguments.seed, "timeout_seconds": arguments.timeout,
            "state_limit": arguments.state_limit}


def _check_options(arguments) -> None:
    if arguments.timeout <= 0:
        raise InputError("--timeout must be positive")
    if arguments.state_limit < 1:
        raise InputError("--state-limit must be at least 1")


def run_prove(arguments: argparse.Namespace) -> int:
    from .propfile import load_property_files
    from .propreport import prove_json, prove_markdown, prove_summary, render
    from .prove import check_properties, paths_or_default, select, validate

    _check_options(arguments)
    specs = select(load_property_files(paths_or_default(arguments.files)), arguments.property)
    if arguments.bound is not None and arguments.bound < 0:
        raise InputError("--bound must not be negative")
    validate(specs)  # every input problem is reported before anything is written
    output = OutputDirectory(arguments.out)
    output.claim()
    results = check_properties(specs, engine=arguments.engine, seed=arguments.seed, timeout=arguments.timeout,
                               state_limit=arguments.state_limit, depth_bound=arguments.bound)
    settings = {**_settings(arguments), "bound": arguments.bound}
    texts = {"prove.json": render(prove_json(results, settings)), "prove.md": prove_markdown(results, settings)}
    for name, text in texts.items():
        output.write(name, text)
    stdout = {"json": texts["prove.json"], "markdown": texts["prove.md"]}.get(arguments.format)
    sys.stdout.write(stdout if stdout is not None else prove_summary(results, settings))
    if any(result.status == "violated" for result in results):
        return ExitCode.FINDINGS
    if any(result.status == "unknown" for result in results):
        return ExitCode.SOLVER_GAVE_UP
    return ExitCode.OK


def run_requirements(arguments: argparse.Namespace) -> int:
    from .propfile import load_requirements
    from .propreport import render, requirements_json, requirements_markdown, requirements_summary
    from .prove import validate
    from .requirements import decide_requirements, default_requirements_path

    _check_options(arguments)
    if arguments.file is not None and not arguments.file.is_file():
        raise InputError(Problem(file=str(arguments.file), line=0, rule="file", message="no such requirements file"))
    requirements = load_requirements(arguments.file or default_requirements_path())
    validate([spec for requirement in requirements for side in requirement.sides.values() for spec in side.properties])
    output = OutputDirectory(arguments.out)
    output.claim()
    verdicts = decide_requirements(arguments.file, engine=arguments.engine, seed=arguments.seed,
                                   timeout=arguments.timeout, state_limit=arguments.state_limit,
                                   requirements=requirements)
    settings = _settings(arguments)
    texts = {"requirements.json": render(requirements_json(verdicts, settings)),
             "requirements.md": requirements_markdown(verdicts, settings)}
    for name, text in texts.items():
        output.write(name, text)
    stdout = {"json": texts["requirements.json"], "markdown": texts["requirements.md"]}.get(arguments.format)
    sys.stdout.write(stdout if stdout is not None else requirements_summary(verdicts, settings))
    # The table is the product: gaps are its content, not a failure. What fails is an
    # undecided side (a solver gave up) or a disagreement with the draft nobody explained.
    if any(not verdict.explained for verdict in verdicts):
        return ExitCode.FINDINGS
    if any(verdict.undecided for verdict in verdicts):
        return ExitCode.SOLVER_GAVE_UP
    return ExitCode.OK
