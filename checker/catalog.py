"""Find the models to check: the built-in ones shipped in the package, or the user's files."""

from __future__ import annotations

import importlib.resources
import logging
from pathlib import Path

from .composition import Composition, load_model
from .errors import InputError, Problem
from .model import Machine

__all__ = ["builtin_models_dir", "builtin_model_paths", "display_name", "load_models", "resolve_model_path",
           "resolve_mapping_path", "load_mappings"]

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


def load_models(paths: list[Path], names: list[str] | None = None) -> list[Composition]:
    """Load every file, collecting the problems of all of them before raising.

    ``names`` are the names the files are reported under (default: ``display_name``); the gate
    gives repository-relative names, so that a file checked out at another revision reads the
    same."""
    cache: dict[Path, Machine] = {}
    models: list[Composition] = []
    problems: list[Problem] = []
    for index, path in enumerate(paths):
        name = names[index] if names is not None else display_name(path)
        if not path.is_file():
            problems.append(Problem(file=name, line=0, rule="file", message="no such model file"))
            continue
        try:
            models.append(load_model(path, name, machine_cache=cache))
        except InputError as error:
            problems.extend(error.problems)
    if problems:
        raise InputError(problems)
    return models


def resolve_model_path(path: Path) -> Path:
    """``path`` itself if it exists, else the built-in model it names (``tr069-device``)."""
    if path.exists():
        return path
    for candidate in builtin_model_paths():
        if path.name in (candidate.name, candidate.stem):
            return candidate
    return path


def resolve_mapping_path(path: Path) -> Path:
    """``path`` itself if it exists, else the built-in mapping it names (``gap-analysis-2012``)."""
    if path.exists():
        return path
    candidate = builtin_models_dir() / "mappings" / (path.name if path.suffix else f"{path.name}.yaml")
    return candidate if candidate.exists() else path


def load_mappings(paths: list[Path], names: list[str] | None = None) -> list:
    """Load every mapping file (already resolved), collecting the problems of all of them;
    ``names`` as for ``load_models``."""
    from .mapping import load_mapping  # mapping imports this module

    mappings, problems = [], []
    for index, path in enumerate(paths):
        name = names[index] if names is not None else None
        if not path.is_file():
            problems.append(Problem(file=name or str(path), line=0, rule="file", message="no such mapping file"))
            continue
        try:
            mappings.append(load_mapping(path, name))
        except InputError as error:
            problems.extend(error.problems)
    if problems:
        raise InputError(problems)
    return mappings
