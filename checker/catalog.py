"""Find the models to check: the built-in ones shipped in the package, or the user's files."""

from __future__ import annotations

import importlib.resources
import logging
from pathlib import Path

from .composition import Composition, load_model
from .errors import InputError, Problem
from .model import Machine

__all__ = ["builtin_models_dir", "builtin_model_paths", "load_models"]

log = logging.getLogger(__name__)


def builtin_models_dir() -> Path:
    """The directory of the shipped models (``models/`` in the source tree)."""
    return Path(str(importlib.resources.files("checker.models")))


def builtin_model_paths() -> list[Path]:
    """Machine files first, then compositions, each group sorted by file name."""
    directory = builtin_models_dir()
    paths = sorted(directory.glob("*.yaml"))
    machines = [path for path in paths if not _looks_like_composition(path)]
    compositions = [path for path in paths if _looks_like_composition(path)]
    return machines + compositions


def _looks_like_composition(path: Path) -> bool:
    with path.open(encoding="utf-8") as handle:
        return any(line.startswith("composition:") for line in handle)


def display_name(path: Path) -> str:
    """How a model file is named in reports: built-in ones as models/NAME, others as given."""
    try:
        return "models/" + path.resolve().relative_to(builtin_models_dir().resolve()).as_posix()
    except ValueError:
        return str(path)


def load_models(paths: list[Path]) -> list[Composition]:
    """Load every file, collecting the problems of all of them before raising."""
    cache: dict[Path, Machine] = {}
    models: list[Composition] = []
    problems: list[Problem] = []
    for path in paths:
        if not path.is_file():
            problems.append(Problem(file=str(path), line=0, rule="file", message="no such model file"))
            continue
        try:
            models.append(load_model(path, display_name(path), machine_cache=cache))
        except InputError as error:
            problems.extend(error.problems)
    if problems:
        raise InputError(problems)
    return models
