"""Write output files atomically, and never over a file swmc did not write.

Each file is written to a temporary name in its directory and renamed into place, so an
interrupted run leaves either the old file or the new one, never half of one. The output
directory carries a marker file; swmc refuses to write into a directory that has other
content but no marker, so that pointing ``--out`` at a user's folder cannot clobber it.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from .errors import InputError, Problem

__all__ = ["OutputDirectory", "write_atomically"]

log = logging.getLogger(__name__)

MARKER = ".swmc-output"


def write_atomically(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        # mkstemp creates files readable by their owner only; give the usual permissions.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


class OutputDirectory:
    """The directory reports and diagrams go to, claimed with a marker file."""

    def __init__(self, root: Path):
        self.root = root

    def check(self) -> None:
        """Raise InputError if ``claim`` would refuse the directory, writing nothing (so that a
        command can refuse a bad ``--out`` before its analyses run)."""
        if self.root.exists() and not self.root.is_dir():
            raise InputError(Problem(file=str(self.root), line=0, rule="output-directory",
                                     message="the output path exists and is not a directory"))
        existing = next((parent for parent in (self.root, *self.root.parents) if parent.exists()), None)
        if existing is not None and existing != self.root and not existing.is_dir():
            raise InputError(Problem(file=str(self.root), line=0, rule="output-directory",
                                     message=f"{existing} is not a directory, so the output directory cannot be made"))
        if self.root.is_dir() and any(self.root.iterdir()) and not (self.root / MARKER).exists():
            raise InputError(Problem(file=str(self.root), line=0, rule="output-directory",
                                     message=f"the directory holds files swmc did not write (no {MARKER}); choose another --out"))

    def claim(self) -> None:
        self.check()
        self.root.mkdir(parents=True, exist_ok=True)
        marker = self.root / MARKER
        if not marker.exists():
            write_atomically(marker, "This directory holds files written by swmc; they are rewritten on every run.\n")

    def write(self, relative: str, content: str | bytes) -> Path:
        path = self.root / relative
        write_atomically(path, content)
        log.debug("wrote %s", path)
        return path
