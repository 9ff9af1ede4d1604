"""The exceptions swmc raises, and the exit code each one maps to.

Every error derives from :class:`SwmcError`. Errors about the user's input also derive from
``ValueError`` so that library callers may catch them as such.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "ExitCode",
    "Problem",
    "SwmcError",
    "InputError",
    "SolverUnknown",
    "InternalError",
]


class ExitCode(enum.IntEnum):
    """Exit codes of the ``swmc`` command, documented in the README."""

    OK = 0  # everything was checked and nothing was found
    FINDINGS = 1  # the check ran to the end and reports findings
    INVALID_INPUT = 2  # a model or the command line is wrong; nothing was checked
    SOLVER_GAVE_UP = 3  # a solver answered unknown (timeout, resource limit)
    INTERNAL_ERROR = 4  # a bug in swmc, including two engines that disagree


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in an input file: where it is, which rule it breaks, and about what."""

    file: str
    line: int
    rule: str
    message: str
    name: str | None = None
    suggestion: str | None = None
    column: int = 0  # 1-based; 0 when only the line is known

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.column else f"{self.file}:{self.line}"
        text = f"{where}: {self.rule}: {self.message}"
        if self.suggestion:
            text += f" (did you mean {self.suggestion!r}?)"
        return text


class SwmcError(Exception):
    """Root of every error swmc raises on purpose."""

    exit_code = ExitCode.INTERNAL_ERROR


class InputError(SwmcError, ValueError):
    """An input file or argument is invalid. Carries every problem found, not only the first."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(file="<command line>", line=0, rule="usage", message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = sorted(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def __reduce__(self):  # so that the error crosses process boundaries intact
        return (type(self), (self.problems,))


class SolverUnknown(SwmcError):
    """Z3 could not decide a query; ``reason`` is Z3's own explanation."""

    exit_code = ExitCode.SOLVER_GAVE_UP

    def __init__(self, query: str, reason: str):
        self.query = query
        self.reason = reason
        super().__init__(f"Z3 answered unknown for {query}: {reason}")

    def __reduce__(self):
        return (type(self), (self.query, self.reason))


class InternalError(SwmcError, RuntimeError):
    """swmc contradicted itself: a bug to report, never a finding about the models."""

    exit_code = ExitCode.INTERNAL_ERROR
