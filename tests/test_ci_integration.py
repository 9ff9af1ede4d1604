"""The integrations of docs/ci.md: the pre-commit hooks of .pre-commit-hooks.yaml and the
GitHub Actions workflow, each exercised in a temporary git repository; the workflow's swmc
lines for a pull request that passes and for one that fails, whose reports must be there for
the upload steps all the same. The swmc-gate hook is also run through pre-commit itself,
installed as a repository's git hook from a commit of this working tree: it refuses a commit
that adds an unmappable state, and lets through one that adds nothing and a repository's
first commit."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from test_gate import GIT_ENVIRONMENT, MAPPING, NEW_GAP, commit_all, git, make_repository, unmap

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


# --- the hooks through pre-commit itself ----------------------------------------------------
#
# pre-commit installs a hook's environment (swmc, z3-solver, ...) from the package index the
# first time it runs a repository at a revision. One PRE_COMMIT_HOME serves every test of the
# session, and the hook repository is committed once, so that it is installed once.

PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
FAST = ["-k", "1", "-m", "1", "--engine", "explicit"]


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory) -> Path:
    """PRE_COMMIT_HOME for the session: the environment's own if it sets one (a CI cache),
    else a temporary directory, so that the user's ~/.cache/pre-commit is left alone."""
    if not PRE_COMMIT.exists():
        pytest.skip("pre-commit (test extras) is not installed")
    given = os.environ.get("PRE_COMMIT_HOME")
    return Path(given) if given else tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(scope="session")
def hook_source(tmp_path_factory) -> tuple[Path, str]:
    """This checkout as it is in the working tree (tracked and new files, not ignored ones),
    committed into a repository of its own: pre-commit installs hooks from a commit, and the
    hook must run this working tree's swmc whatever this checkout's HEAD is. Returns the
    repository and its commit."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPOSITORY,
                            capture_output=True, check=True).stdout.decode().split("\0")
    target = tmp_path_factory.mktemp("hook-source") / "swmc"
    for name in filter(None, listed):
        source = REPOSITORY / name
        if source.is_file():  # a file deleted in the working tree is listed but left out
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git(target, "init", "-q", "-b", "main")
    commit_all(target, "swmc as a hook repository")
    return target, git(target, "rev-parse", "HEAD").strip()


def pre_commit_environment(home: Path) -> dict[str, str]:
    """What pre-commit runs in: no PYTHONPATH, so that the hook imports the swmc it installed."""
    environment_ = {**environment(), "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    environment_.pop("PYTHONPATH", None)
    return environment_


def package_index_unreachable() -> str | None:
    """Why pip cannot get swmc's build and run requirements (what pre-commit installs into the
    hook's environment) from the package indexes it is configured with, or None if it can.
    Only asked after an installation failed, to tell a missing network from a real failure."""
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = [*project["build-system"]["requires"], *project["project"]["dependencies"]]
    completed = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                                "--retries", "0", "--timeout", "20", *requirements],
                               capture_output=True, text=True, check=False, timeout=600)
    if completed.returncode == 0:
        return None
    lines = [line for line in (completed.stderr + completed.stdout).splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"pip exited with {completed.returncode}"


def gate_hook_config(source: Path, revision: str, args: list[str]) -> str:
    return yaml.safe_dump({"repos": [{"repo": str(source), "rev": revision,
                                      "hooks": [{"id": "swmc-gate", "args": args}]}]}, sort_keys=False)


@pytest.fixture(scope="session")
def installed_hooks(pre_commit_home, hook_source, tmp_path_factory) -> dict[str, str]:
    """Install the hook environment once for the session; skip (saying why) when the package
    index cannot be reached, fail on any other problem. Returns the environment to run in."""
    source, revision = hook_source
    scratch = tmp_path_factory.mktemp("install-hooks")
    (scratch / ".pre-commit-config.yaml").write_text(gate_hook_config(source, revision, []), encoding="utf-8")
    git(scratch, "init", "-q", "-b", "main")
    commit_all(scratch, "a configuration to install from")
    environment_ = pre_commit_environment(pre_commit_home)
    completed = subprocess.run([str(PRE_COMMIT), "install-hooks"], cwd=scratch, env=environment_, capture_output=True,
                               text=True, check=False, timeout=1800)
    if completed.returncode != 0:
        unreachable = package_index_unreachable()
        if unreachable is not None:
            pytest.skip(f"pre-commit installs the hook's environment from the package index, which cannot be "
                        f"reached or does not have swmc's requirements (pip: {unreachable})")
        pytest.fail("pre-commit could not install the hook environment:\n" + completed.stdout + completed.stderr)
    return environment_


def documented_gate_args() -> list[str]:
    """The args of the swmc-gate hook in docs/ci.md, with the small parameters of these tests."""
    (config,) = [block for block in yaml_blocks(CI_DOC.read_text(encoding="utf-8")) if "repos" in block]
    (hook,) = config["repos"][0]["hooks"]
    assert hook["id"] == "swmc-gate"
    return [*hook["args"], *FAST]


def with_hook_installed(repository: Path, hook_source: tuple[Path, str], args: list[str], environment_: dict) -> None:
    """Configure the swmc-gate hook in ``repository`` and install it as its git pre-commit hook."""
    (repository / ".pre-commit-config.yaml").write_text(gate_hook_config(*hook_source, args), encoding="utf-8")
    (repository / ".gitignore").write_text("out/\n", encoding="utf-8")
    subprocess.run([str(PRE_COMMIT), "install"], cwd=repository, env=environment_, capture_output=True, text=True,
                   check=True)


def commit(repository: Path, environment_: dict, message: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "commit", "-m", message], cwd=repository, env=environment_, capture_output=True,
                          text=True, check=False, timeout=900)


@pytest.fixture
def hooked_repository(tmp_path, hook_source, installed_hooks) -> Path:
    """A repository with the shipped models and the draft's mapping, whose pre-commit hook runs
    swmc-gate with the args of docs/ci.md; the configuration is part of the baseline commit."""
    repository = make_repository(tmp_path / "repository")
    with_hook_installed(repository, hook_source, documented_gate_args(), installed_hooks)
    git(repository, "add", ".pre-commit-config.yaml", ".gitignore")
    git(repository, "commit", "-q", "--no-verify", "-m", "gate every commit")
    return repository


def test_the_gate_hook_refuses_a_commit_that_adds_an_unmappable_state(hooked_repository, installed_hooks):
    repository = hooked_repository
    before = git(repository, "rev-parse", "HEAD")
    unmap(repository)
    git(repository, "add", MAPPING)

    completed = commit(repository, installed_hooks, "map InstallingInactive to nothing")

    output = completed.stdout + completed.stderr
    assert completed.returncode != 0, output
    assert re.search(r"swmc gate \(the commit adds no finding\)\.+Failed", output), output
    assert f"new: {MAPPING}:" in output and NEW_GAP in output
    assert "failed: the change adds 1 finding" in output
    assert git(repository, "rev-parse", "HEAD") == before, "the commit must not have been made"
    assert git(repository, "status", "--porcelain", "--untracked-files=no") == f"M  {MAPPING}\n"
    report = json.loads((repository / "out" / "swmc" / "gate.json").read_text(encoding="utf-8"))
    assert [result["id"] for result in report["results"] if result["status"] == "new"] == [NEW_GAP]


def test_the_gate_hook_lets_a_commit_that_adds_no_finding_through(hooked_repository, installed_hooks):
    repository = hooked_repository
    before = git(repository, "rev-parse", "HEAD")
    mapping = repository / MAPPING
    mapping.write_text("# reviewed again\n" + mapping.read_text(encoding="utf-8"), encoding="utf-8")  # every line moves
    git(repository, "add", MAPPING)

    completed = commit(repository, installed_hooks, "a comment")

    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert re.search(r"swmc gate \(the commit adds no finding\)\.+Passed", output), output
    assert git(repository, "rev-parse", "HEAD~1") == before


def test_the_gate_hook_lets_a_first_commit_without_findings_through(tmp_path, hook_source, installed_hooks):
    repository = tmp_path / "fresh"
    repository.mkdir()
    (repository / "clean.yaml").write_text("states: [Idle, Busy]\ntransitions:\n"
                                           "  - {trigger: start, source: Idle, dest: Busy}\n"
                                           "  - {trigger: stop, source: Busy, dest: Idle}\n", encoding="utf-8")
    git(repository, "init", "-q", "-b", "main")
    with_hook_installed(repository, hook_source, ["clean.yaml", "--engine", "explicit", "-o", "out/swmc"], installed_hooks)
    git(repository, "add", "clean.yaml", ".pre-commit-config.yaml", ".gitignore")

    completed = commit(repository, installed_hooks, "the first commit")

    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert re.search(r"swmc gate \(the commit adds no finding\)\.+Passed", output), output
    report = json.loads((repository / "out" / "swmc" / "gate.json").read_text(encoding="utf-8"))
    assert report["baseline"]["status"] == "unborn"


def test_pre_commit_try_repo_runs_the_gate_hook(tmp_path, hook_source, installed_hooks):
    """`pre-commit try-repo` against this repository, as another repository would try it: the
    hook with its default arguments gates the built-in models (installed with the hook, outside
    the repository, so the same on both sides)."""
    source, _ = hook_source
    repository = make_repository(tmp_path / "repository")
    unmap(repository)
    git(repository, "add", MAPPING)

    completed = subprocess.run([str(PRE_COMMIT), "try-repo", str(source), "swmc-gate", "--verbose"],
                               cwd=repository, env=installed_hooks, capture_output=True, text=True, check=False, timeout=900)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "swmc gate (the commit adds no finding)" in completed.stdout and "Passed" in completed.stdout
    assert "0 new" in completed.stdout
    assert (repository / "out" / "gate.sarif").is_file()


def workflow_steps() -> list[dict]:
    (workflow,) = [block for block in yaml_blocks(CI_DOC.read_text(encoding="utf-8")) if "jobs" in block]
    return workflow["jobs"]["gate"]["steps"]


def pull_request_repository(path: Path, change) -> Path:
    """A repository as a pull request's checkout with fetch-depth 0 has it: the base branch as
    origin/main, and the branch of the pull request with ``change`` committed."""
    repository = make_repository(path)
    git(repository, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(repository, "checkout", "-q", "-b", "feature")
    change(repository)
    commit_all(repository, "the pull request")
    return repository


def run_workflow_commands(repository: Path, summary: Path) -> list[subprocess.CompletedProcess]:
    """Every `swmc` line of the workflow's steps, checked against the CLI's own parser and run
    as the step would run it (bash -e, with the job summary file)."""
    completed = []
    for step in workflow_steps():
        script = step.get("run", "").replace("\\\n", " ")
        for line in script.splitlines():
            if line.strip().startswith("swmc "):
                line = line.replace("${{ github.base_ref }}", "main")
                arguments = shlex.split(line.split(">>")[0])[1:]
                cli._parser().parse_args(arguments)  # exits (fails the test) on an unknown option
                completed.append(subprocess.run(["bash", "-e", "-c", line], cwd=repository, capture_output=True,
                                                text=True, env={**environment(), "GITHUB_STEP_SUMMARY": str(summary)},
                                                check=False))
    assert completed, "the workflow runs swmc"
    return completed


SARIF_UPLOAD = "github/codeql-action/upload-sarif"
ARTIFACT_UPLOAD = "actions/upload-artifact"


def upload_step(action: str) -> dict:
    """The one step of the workflow that uses ``action`` to upload reports."""
    (step,) = [step for step in workflow_steps() if step.get("uses", "").startswith(action)]
    return step


def test_the_workflow_runs_commands_the_cli_has(tmp_path):
    """Every `swmc` command of the GitHub Actions example parses with the CLI's own parser and
    runs, as the workflow would, in a pull-request-like repository."""
    assert any(step.get("with", {}).get("fetch-depth") == 0 for step in workflow_steps()), \
        "the base revision must be fetched"
    repository = pull_request_repository(
        tmp_path / "repository",
        lambda repository: (repository / "README.md").write_text("a change that adds no finding\n", encoding="utf-8"))
    summary = tmp_path / "summary.md"

    for completed in run_workflow_commands(repository, summary):
        assert completed.returncode == 0, completed.stderr
    assert summary.read_text(encoding="utf-8").startswith("## swmc gate: passed")
    assert (repository / upload_step(SARIF_UPLOAD)["with"]["sarif_file"]).is_file()


def test_the_workflow_fails_a_change_that_adds_a_finding_and_still_has_the_sarif_to_upload(tmp_path):
    """The failing path: the gate step exits with 1, and the SARIF file and the other reports
    that the later steps upload (which run although the gate step failed) are written, with
    the new finding in them."""
    repository = pull_request_repository(tmp_path / "repository", unmap)
    summary = tmp_path / "summary.md"

    (gate_step,) = run_workflow_commands(repository, summary)

    assert gate_step.returncode == 1, gate_step.stderr
    sarif_upload, artifact_upload = upload_step(SARIF_UPLOAD), upload_step(ARTIFACT_UPLOAD)
    assert sarif_upload["if"] == artifact_upload["if"] == "always()", "the reports are uploaded when the gate fails"
    sarif = json.loads((repository / sarif_upload["with"]["sarif_file"]).read_text(encoding="utf-8"))
    errors = [result for result in sarif["runs"][0]["results"] if result["level"] == "error"]
    assert [result["partialFingerprints"]["swmcIdentity/v1"] for result in errors] == [NEW_GAP]
    kept = repository / artifact_upload["with"]["path"]
    assert {path.name for path in kept.iterdir()} >= {"gate.json", "gate.junit.xml", "gate.md", "gate.sarif"}
    markdown = summary.read_text(encoding="utf-8")
    assert markdown.startswith("## swmc gate: failed") and NEW_GAP in markdown
