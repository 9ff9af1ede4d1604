"""Shared helpers for the tests: writing small model files, and finding the reference data."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]


def shared_directory() -> Path:
    """``shared/`` beside the checkout (as in CI), or wherever SWMC_SHARED_DIR points."""
    return Path(os.environ.get("SWMC_SHARED_DIR", REPOSITORY.parent / "shared"))


@pytest.fixture
def write_model(tmp_path):
    """Write a dedented YAML text to tmp_path/NAME and return its path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
