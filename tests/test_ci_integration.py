"""The integrations of docs/ci.md: the pre-commit hooks of .pre-commit-hooks.yaml and the
GitHub Actions workflow, each exercised in a temporary git repository."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_gate import GIT_ENVIRONMENT, MAPPING, commit_all, git, make_repository, unmap

from checker import cli

REPOSITORY = Path(__file__).resolve().parents[1]
HOOKS = REPOSITORY / ".pre-commit-hooks.yaml"
CI_DOC = REPOSITORY / "docs" / "ci.md"
SWMC = Path(sys.executable).with_name("swmc")
# The keys pre-commit's manifest schema allows for a hook (pre_commit.clientlib.MANIFEST_HOOK_DICT).
HOOK_KEYS = {"id", "name", "entry", "language", "alias", "files", "exclude", "types", "types_or", "exclude_types",
             "additional_dependencies", "args", "always_run", "fail_fast", "pass_filenames", "description",
             "language_version", "log_file", "minimum_pre_commit_version", "require_serial", "stages", "verbose"}


def hooks() -> dict[str, dict]:
    return {hook["id"]: hook for hook in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}


def yaml_blocks(text: str) -> list:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)]


def environment() -> dict[str, str]:
    return {**os.environ, **GIT_ENVIRONMENT, "PATH": f"{SWMC.parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_the_hook_manifest_is_valid():
    declared = hooks()
    assert set(declared) == {"swmc-gate", "swmc-check"}
    for hook in declared.values():
        assert set(hook) <= HOOK_KEYS
        assert hook["language"] == "python"
        assert hook["entry"].split()[0] == "swmc"  # the console script of pyproject.toml
        assert re.search(hook["files"], "models/mappings/gap-analysis-2012.yaml")
        assert re.search(hook["files"], "models/tr069-device.yml")
        assert not re.search(hook["files"], "README.md")
    clientlib = pytest.importorskip("pre_commit.clientlib", reason="pre-commit (test extras) validates the manifest")
    clientlib.load_manifest(str(HOOKS))  # raises InvalidManifestError on any deviation


@pytest.mark.parametrize("hook_id, expected", [("swmc-gate", 1), ("swmc-check", 1)])
def test_each_hook_entry_runs_in_a_git_repository(tmp_path, hook_id, expected):
    """The entry as pre-commit runs it (no file names passed), with the args of docs/ci.md,
    on a staged change that maps one more state to nothing."""
    repository = make_repository(tmp_path / "repository")
    unmap(repository)
    git(repository, "add", MAPPING)
    (config,) = [block for block in yaml_blocks(CI_DOC.read_text(encoding="utf-8")) if "repos" in block]
    (hook,) = config["repos"][0]["hooks"]
    assert hook["id"] in hooks()
    command = shlex.split(hooks()[hook_id]["entry"]) + hook["args"]

    completed = subprocess.run(command, cwd=repository, env=environment(), capture_output=True, text=True, check=False)

    assert completed.returncode == expected, completed.stderr
    if hook_id == "swmc-gate":
        assert "1 new" in completed.stdout
        assert (repository / "out" / "swmc" / "gate.sarif").is_file()
    assert git(repository, "status", "--porcelain", "--untracked-files=no") == f"M  {MAPPING}\n"


def hook_repository() -> Path:
    """This checkout (its tracked and new files) committed into a git repository of its own,
    at a fixed place and with fixed dates, so that the same sources give the same commit and
    pre-commit reuses the environment it installed for it."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPOSITORY,
                            capture_output=True, check=True).stdout.decode().split("\0")
    target = Path(os.environ.get("TMPDIR", "/tmp")) / "swmc-pre-commit-hook-repository"
    shutil.rmtree(target, ignore_errors=True)
    for name in filter(None, listed):
        source = REPOSITORY / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git(target, "init", "-q", "-b", "main")
    commit_all(target, "swmc as a hook repository")
    return target


def test_pre_commit_try_repo_runs_the_gate_hook(tmp_path):
    """`pre-commit try-repo` against this repository, as another repository would use it:
    pre-commit installs swmc into an environment of its own (from PyPI, the first time) and
    runs the hook with its default arguments, which gate the built-in models (installed with
    the hook, outside the repository, so the same on both sides)."""
    pre_commit = Path(sys.executable).with_name("pre-commit")
    if not pre_commit.exists():
        pytest.skip("pre-commit (test extras) is not installed")
    source = hook_repository()
    repository = make_repository(tmp_path / "repository")
    unmap(repository)
    git(repository, "add", MAPPING)

    completed = subprocess.run([str(pre_commit), "try-repo", str(source), "swmc-gate", "--verbose"],
                               cwd=repository, env=environment(), capture_output=True, text=True, check=False, timeout=900)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "swmc gate (the commit adds no finding)" in completed.stdout and "Passed" in completed.stdout
    assert "0 new" in completed.stdout
    assert (repository / "out" / "gate.sarif").is_file()


def test_the_workflow_runs_commands_the_cli_has(tmp_path):
    """Every `swmc` command of the GitHub Actions example parses with the CLI's own parser and
    runs, as the workflow would, in a pull-request-like repository."""
    (workflow,) = [block for block in yaml_blocks(CI_DOC.read_text(encoding="utf-8")) if "jobs" in block]
    steps = workflow["jobs"]["gate"]["steps"]
    assert any(step.get("with", {}).get("fetch-depth") == 0 for step in steps), "the base revision must be fetched"
    (upload,) = [step for step in steps if step.get("uses", "").startswith("github/codeql-action/upload-sarif")]

    repository = make_repository(tmp_path / "repository")
    git(repository, "update-ref", "refs/remotes/origin/main", "HEAD")  # what checkout with fetch-depth 0 gives
    git(repository, "checkout", "-q", "-b", "feature")
    (repository / "README.md").write_text("a change that adds no finding\n", encoding="utf-8")
    commit_all(repository, "the pull request")
    summary = tmp_path / "summary.md"

    commands = []
    for step in steps:
        script = step.get("run", "").replace("\\\n", " ")
        for line in script.splitlines():
            if line.strip().startswith("swmc "):
                line = line.replace("${{ github.base_ref }}", "main")
                commands.append(line)
                arguments = shlex.split(line.split(">>")[0])[1:]
                cli._parser().parse_args(arguments)  # exits (fails the test) on an unknown option
                completed = subprocess.run(["bash", "-e", "-c", line], cwd=repository, capture_output=True, text=True,
                                           env={**environment(), "GITHUB_STEP_SUMMARY": str(summary)}, check=False)
                assert completed.returncode == 0, completed.stderr
    assert commands, "the workflow runs swmc"
    assert summary.read_text(encoding="utf-8").startswith("## swmc gate: passed")
    assert (repository / upload["with"]["sarif_file"]).is_file()
