"""The git repository a gate compares against: its root, a revision, and its files there.

Only read-only plumbing is used (``rev-parse``, ``ls-tree``, ``cat-file``): the gate never
touches the user's working tree, index or refs. Files at the baseline revision are written
into a directory the caller owns (a temporary one).
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path, PurePosixPath

from .errors import InputError, Problem

__all__ = ["MODEL_SUFFIXES", "extract_files", "locate_repository", "repository_root", "resolve_revision"]

log = logging.getLogger(__name__)

# Models, compositions and mappings are YAML, and they name each other by relative path;
# every such file of the revision is extracted so that those references resolve there too.
MODEL_SUFFIXES = (".yaml", ".yml")
REGULAR_FILE_MODES = ("100644", "100755")


def _git(directory: Path, *arguments: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
    try:
        return subprocess.run(["git", "-C", str(directory), *arguments], input=stdin, capture_output=True,
                              env=environment, check=False)
    except FileNotFoundError:
        raise InputError(Problem(file="<command line>", line=0, rule="baseline",
                                 message="git is not installed, so --baseline can only be a saved findings file")) from None


def _first_line(output: bytes) -> str:
    text = output.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else "no message"


def locate_repository(directory: Path) -> tuple[Path | None, str]:
    """The top of the work tree ``directory`` is in, or None and the first line of git's own
    message saying why not (not a repository, or one git refuses to use, such as a
    repository owned by another user: "detected dubious ownership")."""
    completed = _git(directory, "rev-parse", "--show-toplevel")
    if completed.returncode != 0:
        return None, _first_line(completed.stderr)
    return Path(completed.stdout.decode("utf-8").strip()).resolve(), ""


def repository_root(directory: Path) -> Path | None:
    """The top of the work tree ``directory`` is in, or None when it is in none."""
    return locate_repository(directory)[0]


def resolve_revision(root: Path, revision: str) -> str | None:
    """The commit ``revision`` names in the repository at ``root``; None when it names a
    branch that has no commit yet (``HEAD`` before a repository's first commit, or the name of
    that unborn branch); InputError if it names nothing."""
    if revision.startswith("-"):  # never let a revision be read as an option of git
        raise InputError(Problem(file="<command line>", line=0, rule="baseline",
                                 message=f"--baseline {revision!r} is not a revision"))
    completed = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}")
    if completed.returncode == 0:
        return completed.stdout.decode("ascii").strip()
    if _unborn_branch(root, revision) is not None:
        return None
    raise InputError(Problem(file="<command line>", line=0, rule="baseline",
                             message=f"--baseline {revision!r} is neither a findings file nor a revision of the git "
                                     f"repository at {root}"))


def _unborn_branch(root: Path, revision: str) -> str | None:
    """The branch HEAD points at, when ``revision`` names it (as HEAD, @ or by name) and it has
    no commit yet; None otherwise (a detached HEAD always names a commit)."""
    symbolic = _git(root, "symbolic-ref", "--quiet", "HEAD")
    if symbolic.returncode != 0:
        return None
    reference = symbolic.stdout.decode("utf-8").strip()
    branch = reference.removeprefix("refs/heads/")
    if revision not in ("HEAD", "@", reference, branch):
        return None
    if _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", reference).returncode == 0:
        return None
    return branch


def extract_files(root: Path, commit: str, destination: Path, also: set[str] = frozenset()) -> set[str]:
    """Write the model files (YAML) of ``commit``, and the repository paths in ``also``, under
    ``destination`` at their repository paths; return the paths written."""
    listing = _git(root, "ls-tree", "-r", "-z", "--full-tree", commit)
    if listing.returncode != 0:
        raise InputError(Problem(file="<command line>", line=0, rule="baseline",
                                 message=f"cannot list the files of {commit}: {_first_line(listing.stderr)}"))
    wanted: list[tuple[str, str]] = []  # (object id, path)
    for entry in listing.stdout.split(b"\0"):
        if not entry:
            continue
        header, _, raw_path = entry.partition(b"\t")
        mode, kind, object_id = header.decode("ascii").split(" ")
        path = raw_path.decode("utf-8", "surrogateescape")
        # Symbolic links and submodules are left out: their targets are not files of this tree.
        if kind == "blob" and mode in REGULAR_FILE_MODES and (path.endswith(MODEL_SUFFIXES) or path in also):
            wanted.append((object_id, path))
    if not wanted:
        return set()
    # One cat-file process for every blob, rather than one `git show` per file.
    batch = _git(root, "cat-file", "--batch", stdin="".join(f"{object_id}\n" for object_id, _ in wanted).encode("ascii"))
    if batch.returncode != 0:
        raise InputError(Problem(file="<command line>", line=0, rule="baseline",
                                 message=f"cannot read the files of {commit}: {_first_line(batch.stderr)}"))
    data, position, written = batch.stdout, 0, set()
    for _object_id, path in wanted:
        end = data.index(b"\n", position)
        _, kind, size = data[position:end].decode("ascii").split(" ")
        start = end + 1
        content = data[start:start + int(size)]
        position = start + int(size) + 1  # the content is followed by a newline
        parts = PurePosixPath(path).parts
        if ".." in parts or PurePosixPath(path).is_absolute():  # git forbids these; stay safe all the same
            continue
        target = destination.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        written.add(path)
    log.info("extracted %d files of %s", len(written), commit[:12])
    return written
