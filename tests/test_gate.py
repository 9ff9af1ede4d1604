"""`swmc gate` end to end, in temporary git repositories: a change that adds a finding fails
with exactly that finding at the right file and line, one that removes a finding passes and
reports it fixed, acknowledged findings pass, stale acknowledgements are listed, and bad
input (a revision, an accepted-findings file) is exit code 2 with nothing written.

The repositories hold copies of the shipped compositions and the 2012 draft's mapping; the
gate runs with k = m = 1 and, where both engines are not the point, the explicit engine
alone, so that each gate takes well under a second.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import pytest

from checker import cli
from checker.catalog import builtin_models_dir
from checker.errors import ExitCode

MAPPING = "models/mappings/gap-analysis-2012.yaml"
INPUTS = ["models/scomo-device.yaml", "models/tr069-device.yaml", "--mapping", MAPPING]
FAST = ["-k", "1", "-m", "1", "--engine", "explicit"]
NEW_GAP = "mapping/gap_analysis_2012/scomo/state/dp.InstallingInactive/no-image"
# Fixed identities and dates make the commits, and so the reports, the same on every run.
GIT_ENVIRONMENT = {"GIT_AUTHOR_NAME": "swmc tests", "GIT_AUTHOR_EMAIL": "tests@swmc.invalid",
                   "GIT_COMMITTER_NAME": "swmc tests", "GIT_COMMITTER_EMAIL": "tests@swmc.invalid",
                   "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+00:00", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+00:00",
                   "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(repository: Path, *arguments: str) -> str:
    completed = subprocess.run(["git", *arguments], cwd=repository, env={**os.environ, **GIT_ENVIRONMENT},
                               capture_output=True, text=True, check=True)
    return completed.stdout


def make_repository(path: Path) -> Path:
    """A git repository with the shipped models and the draft's mapping, committed."""
    (path / "models" / "mappings").mkdir(parents=True)
    for model in builtin_models_dir().glob("*.yaml"):
        shutil.copy(model, path / "models" / model.name)
    shutil.copy(builtin_models_dir() / "mappings" / "gap-analysis-2012.yaml", path / MAPPING)
    git(path, "init", "-q", "-b", "main")
    commit_all(path, "baseline")
    return path


def commit_all(repository: Path, message: str) -> None:
    git(repository, "add", "-A")
    git(repository, "commit", "-q", "-m", message)


def unmap(repository: Path, state: str = "InstallingInactive") -> int:
    """Map the SCOMO state dp.<state> to nothing; return the line of its entry."""
    path = repository / MAPPING
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    entry = lines.index(f"  - scomo: dp.{state}\n")
    assert lines[entry + 1].startswith("    tr069: [du.")
    lines[entry + 1] = "    tr069: []\n"
    path.write_text("".join(lines), encoding="utf-8")
    return entry + 1


@pytest.fixture
def repository(tmp_path):
    return make_repository(tmp_path / "repository")


def gate(capsys, monkeypatch, repository: Path, *arguments: str, out: str = "gate-out"):
    """Run `swmc gate` in the repository; return the exit code, stdout, stderr and the JSON report."""
    monkeypatch.chdir(repository)
    code = cli.main(["gate", *arguments, "-o", str(repository.parent / out)])
    captured = capsys.readouterr()
    report_path = repository.parent / out / "gate.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() and code in (0, 1) else None
    return code, captured.out, captured.err, report


def statuses(report: dict) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for result in report["results"]:
        grouped.setdefault(result["status"], []).append(result["id"])
    return grouped


def test_an_unchanged_working_tree_passes_with_every_finding_existing(repository, capsys, monkeypatch):
    code, stdout, _, report = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", *INPUTS, *FAST)

    assert code == ExitCode.OK
    assert report["passed"] is True
    assert set(statuses(report)) == {"existing"}
    assert report["summary"]["existing"] == len(report["results"]) > 0
    assert report["baseline"] == {"kind": "git", "ref": "HEAD", "commit": git(repository, "rev-parse", "HEAD").strip(),
                                  "status": "checked", "missing_files": [], "problems": []}
    assert "passed: the change adds no finding" in stdout


def test_a_state_mapped_to_nothing_fails_with_exactly_that_finding_at_its_entry(repository, capsys, monkeypatch):
    line = unmap(repository)

    code, stdout, _, report = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", *INPUTS, *FAST)

    assert code == ExitCode.FINDINGS
    assert statuses(report)["new"] == [NEW_GAP]
    (new,) = [result for result in report["results"] if result["status"] == "new"]
    assert new["location"] == {"file": MAPPING, "line": line}
    assert new["related"]["file"] == "models/scomo-delivery-package.yaml"
    assert new["witness"][0].startswith("0. initial: ")  # a shortest SCOMO behaviour reaching the state
    assert f"new: {MAPPING}:{line}: no-image: {NEW_GAP}" in stdout
    assert git(repository, "status", "--porcelain") == f" M {MAPPING}\n", "the gate must not touch the working tree or index"

    out = repository.parent / "gate-out"
    sarif = json.loads((out / "gate.sarif").read_text(encoding="utf-8"))
    (run,) = sarif["runs"]
    errors = [result for result in run["results"] if result["level"] == "error"]
    assert [result["partialFingerprints"]["swmcIdentity/v1"] for result in errors] == [NEW_GAP]
    physical = errors[0]["locations"][0]["physicalLocation"]
    assert physical == {"artifactLocation": {"uri": MAPPING, "uriBaseId": "SRCROOT"}, "region": {"startLine": line}}
    assert errors[0]["baselineState"] == "new"
    assert (repository / MAPPING).read_text(encoding="utf-8").splitlines()[line - 1] == "  - scomo: dp.InstallingInactive"

    junit = ElementTree.parse(out / "gate.junit.xml").getroot()
    failed = [case for case in junit.iter("testcase") if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == ["scomo state dp.InstallingInactive"]
    assert failed[0].get("file") == MAPPING and failed[0].get("line") == str(line)
    assert junit.get("failures") == "1"

    markdown = (out / "gate.md").read_text(encoding="utf-8")
    assert markdown.startswith("## swmc gate: failed")
    assert f"`{NEW_GAP}` at `{MAPPING}:{line}`" in markdown
    assert "0. initial: " in markdown


def test_a_change_that_removes_a_finding_passes_and_reports_it_fixed(repository, capsys, monkeypatch):
    unmap(repository)
    commit_all(repository, "a baseline with one gap more")
    git(repository, "checkout", "-q", "HEAD~1", "--", MAPPING)  # the proposal maps the state again

    code, stdout, _, report = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", *INPUTS, *FAST)

    assert code == ExitCode.OK
    assert statuses(report)["fixed"] == [NEW_GAP]
    assert "new" not in statuses(report)
    (fixed,) = [result for result in report["results"] if result["status"] == "fixed"]
    assert fixed["baseline_state"] == "absent"
    assert f"fixed: {MAPPING}:" in stdout
    sarif = json.loads((repository.parent / "gate-out" / "gate.sarif").read_text(encoding="utf-8"))
    assert NEW_GAP not in {result["partialFingerprints"]["swmcIdentity/v1"] for result in sarif["runs"][0]["results"]}
    assert "### Fixed" in (repository.parent / "gate-out" / "gate.md").read_text(encoding="utf-8")


def test_an_acknowledged_finding_passes_and_a_stale_acknowledgement_is_listed(repository, capsys, monkeypatch):
    unmap(repository)
    (repository / ".swmc-accepted.yaml").write_text(textwrap.dedent(f"""\
        # findings we know about
        - id: {NEW_GAP}
          reason: TR-069 has no inactive install in progress to show it in.
        - id: mapping/gap_analysis_2012/scomo/state/dp.Gone/no-image
          reason: the state was removed long ago
    """), encoding="utf-8")

    code, stdout, _, report = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", *INPUTS, *FAST)

    assert code == ExitCode.OK
    assert report["accepted_file"] == ".swmc-accepted.yaml"
    assert statuses(report)["accepted"] == [NEW_GAP]
    (accepted,) = [result for result in report["results"] if result["status"] == "accepted"]
    assert accepted["reason"] == "TR-069 has no inactive install in progress to show it in."
    assert accepted["acknowledged_at"] == {"file": ".swmc-accepted.yaml", "line": 2}
    assert report["stale"] == [{"id": "mapping/gap_analysis_2012/scomo/state/dp.Gone/no-image",
                                "reason": "the state was removed long ago",
                                "location": {"file": ".swmc-accepted.yaml", "line": 4}}]
    assert "stale: .swmc-accepted.yaml:4: mapping/gap_analysis_2012/scomo/state/dp.Gone/no-image" in stdout
    sarif = json.loads((repository.parent / "gate-out" / "gate.sarif").read_text(encoding="utf-8"))
    (suppressed,) = [result for result in sarif["runs"][0]["results"] if "suppressions" in result]
    assert suppressed["suppressions"][0]["justification"] == accepted["reason"]
    markdown = (repository.parent / "gate-out" / "gate.md").read_text(encoding="utf-8")
    assert "### Stale acknowledgements" in markdown and "dp.Gone" in markdown


def test_an_acknowledgement_given_with_accepted_overrides_the_default_file(repository, capsys, monkeypatch, tmp_path):
    unmap(repository)
    (repository / ".swmc-accepted.yaml").write_text("[]\n", encoding="utf-8")
    elsewhere = tmp_path / "known.yaml"
    elsewhere.write_text(f"- {{id: {NEW_GAP}, reason: known}}\n", encoding="utf-8")

    code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", "--accepted", str(elsewhere), *INPUTS, *FAST)

    assert code == ExitCode.OK
    # A file outside the repository is named by its file name: no absolute path in any output.
    assert report["accepted_file"] == "known.yaml"
    (accepted,) = [result for result in report["results"] if result["status"] == "accepted"]
    assert accepted["acknowledged_at"] == {"file": "known.yaml", "line": 1}


@pytest.mark.parametrize("text, expected", [
    ("- id: x\n reason: r\n", ":2: yaml-syntax"),
    ("- id: some/finding\n", ":1: missing-reason"),
    ("- id: some/finding\n  reason: '  '\n", ":2: missing-reason"),
    ("- id: some/finding\n  reason: ok\n  expires: 2030\n", ":3: unknown-key"),
    ("- {id: a, reason: r}\n- {id: a, reason: s}\n", ":2: duplicate-id"),
    ("id: a\nreason: r\n", ":1: accepted-shape"),
    ("~\n", ":1: accepted-shape"),
    ("# acknowledged so far:\nnull\n", ":2: accepted-shape"),
])
def test_errors_in_the_accepted_file_are_input_errors_with_file_and_line(repository, capsys, monkeypatch, text, expected):
    (repository / ".swmc-accepted.yaml").write_text(text, encoding="utf-8")

    code, stdout, stderr, _ = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", *INPUTS, *FAST)

    assert code == ExitCode.INVALID_INPUT
    assert f"swmc: error: .swmc-accepted.yaml{expected}" in stderr
    assert stdout == ""
    assert not (repository.parent / "gate-out").exists(), "nothing may be written when the input is invalid"


def test_an_unknown_revision_is_an_input_error_and_nothing_is_written(repository, capsys, monkeypatch):
    code, stdout, stderr, _ = gate(capsys, monkeypatch, repository, "--baseline", "no-such-branch", *INPUTS, *FAST)

    assert code == ExitCode.INVALID_INPUT
    assert "'no-such-branch' is neither a findings file nor a revision of the git repository" in stderr
    assert stdout == ""
    assert not (repository.parent / "gate-out").exists()


def test_a_revision_outside_a_git_repository_is_an_input_error(tmp_path, capsys, monkeypatch):
    plain = tmp_path / "plain"
    shutil.copytree(builtin_models_dir(), plain / "models")

    code, _, stderr, _ = gate(capsys, monkeypatch, plain, "--baseline", "HEAD", *INPUTS, *FAST)

    assert code == ExitCode.INVALID_INPUT
    assert "is not in a git repository" in stderr
    assert not (tmp_path / "gate-out").exists()


def test_a_revision_that_looks_like_an_option_is_refused(repository, capsys, monkeypatch):
    code, _, stderr, _ = gate(capsys, monkeypatch, repository, "--baseline=--output=x", *INPUTS, *FAST)
    assert code == ExitCode.INVALID_INPUT
    assert "is not a revision" in stderr


def test_a_file_new_in_the_proposal_has_only_new_results(repository, capsys, monkeypatch):
    (repository / "models" / "orphan.yaml").write_text(textwrap.dedent("""\
        states: [Idle, Busy, Orphan]
        transitions:
          - {trigger: start, source: Idle, dest: Busy}
          - {trigger: stop, source: Busy, dest: Idle}
    """), encoding="utf-8")

    code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", "models/orphan.yaml", *FAST)

    assert code == ExitCode.FINDINGS
    assert report["baseline"]["missing_files"] == ["models/orphan.yaml"]
    (new,) = report["results"]
    assert new["id"] == "orphan/orphan/unreachable-state/Orphan"
    assert new["location"] == {"file": "models/orphan.yaml", "line": 1}


def test_a_model_finding_points_at_the_state_entry_of_the_machine_file(repository, capsys, monkeypatch):
    machine = repository / "models" / "tr069-execution-environment.yaml"
    text = machine.read_text(encoding="utf-8")
    assert "\n  - name: Disabled\n" in text
    machine.write_text(text.replace("\n  - name: Disabled\n", "\n  - name: Limbo\n  - name: Disabled\n", 1), encoding="utf-8")
    line = machine.read_text(encoding="utf-8").splitlines().index("  - name: Limbo") + 1

    code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", "models/tr069-execution-environment.yaml", *FAST)

    assert code == ExitCode.FINDINGS
    (new,) = [result for result in report["results"] if result["status"] == "new"]
    assert new["id"] == "tr069_execution_environment/tr069_execution_environment/unreachable-state/Limbo"
    assert new["location"] == {"file": "models/tr069-execution-environment.yaml", "line": line}


PACKAGE_MACHINE = "models/scomo-delivery-package.yaml"
NEW_STATE = "VerifyingDownload"
NEW_STATE_GAP = f"mapping/gap_analysis_2012/scomo/state/dp.{NEW_STATE}/no-image"


def add_package_state(repository: Path) -> None:
    """Give the Delivery Package a transient state between Downloading and Delivered (the
    download is verified before the package is listed), which the mapping has no entry for."""
    path = repository / PACKAGE_MACHINE
    text = path.read_text(encoding="utf-8")
    delivered = "  - name: Delivered\n"
    failed = "  - trigger: download_failed\n    kind: completion\n    outcome: failure\n    source: Downloading\n"
    assert text.count(delivered) == 1 and text.count(failed) == 1
    state = textwrap.indent(textwrap.dedent(f"""\
          - name: {NEW_STATE}
            kind: transient
            description: the downloaded package is verified before it is listed
            observe: {{State: null, DownloadStatus: DOWNLOAD_PROGRESSING, DeliveredStatus: null}}
        """), "  ")
    transitions = textwrap.indent(textwrap.dedent(f"""\
          - trigger: download_received
            kind: completion
            source: Downloading
            dest: {NEW_STATE}
            spec: OMA-SUP-MO_SCOMO-V1_0 Download/<x>/Operations/Download (a test's verification step)
          - trigger: verification_succeeded
            kind: completion
            source: {NEW_STATE}
            dest: Delivered
            set: {{DownloadStatus: DOWNLOAD_COMPLETE, DeliveredStatus: IDLE}}
            spec: OMA-SUP-MO_SCOMO-V1_0 Download/<x>/Operations/Download (a test's verification step)
        """), "  ")
    path.write_text(text.replace(delivered, state + delivered).replace(failed, transitions + failed), encoding="utf-8")


def line_of_text(repository: Path, name: str, line: str) -> int:
    """The 1-based number of the one line of a file of the repository that is exactly ``line``."""
    lines = (repository / name).read_text(encoding="utf-8").splitlines()
    assert lines.count(line) == 1, f"{line!r} is not exactly one line of {name}"
    return lines.index(line) + 1


def assert_new_state_gap_located(repository: Path, report: dict) -> None:
    """The new state's gap is the one new result, at the Delivery Package's pairing in the
    mapping (the state has no entry there), related to the state's entry in its machine file;
    in the JSON report and in SARIF alike."""
    pairing = line_of_text(repository, MAPPING, "  - scomo: dp")
    state = line_of_text(repository, PACKAGE_MACHINE, f"  - name: {NEW_STATE}")
    assert statuses(report)["new"] == [NEW_STATE_GAP]
    (new,) = [result for result in report["results"] if result["status"] == "new"]
    assert new["location"] == {"file": MAPPING, "line": pairing}
    assert new["related"] == {"file": PACKAGE_MACHINE, "line": state}

    sarif = json.loads((repository.parent / "gate-out" / "gate.sarif").read_text(encoding="utf-8"))
    (error,) = [result for result in sarif["runs"][0]["results"] if result["level"] == "error"]
    assert error["partialFingerprints"]["swmcIdentity/v1"] == NEW_STATE_GAP
    assert error["ruleId"] == "no-image" and error["baselineState"] == "new"
    assert error["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": MAPPING, "uriBaseId": "SRCROOT"}, "region": {"startLine": pairing}}
    (related,) = error["relatedLocations"]
    assert related["physicalLocation"] == {
        "artifactLocation": {"uri": PACKAGE_MACHINE, "uriBaseId": "SRCROOT"}, "region": {"startLine": state}}


def test_a_committed_new_state_without_a_mapping_entry_fails_against_the_previous_commit(repository, capsys,
                                                                                           monkeypatch):
    add_package_state(repository)
    commit_all(repository, "verify a download before it is listed")
    assert git(repository, "status", "--porcelain") == ""

    code, stdout, stderr, report = gate(capsys, monkeypatch, repository, "--baseline", "HEAD~1", *INPUTS, *FAST)

    assert code == ExitCode.FINDINGS, stderr
    assert report["baseline"]["commit"] == git(repository, "rev-parse", "HEAD~1").strip()
    assert_new_state_gap_located(repository, report)
    pairing = line_of_text(repository, MAPPING, "  - scomo: dp")
    assert f"new: {MAPPING}:{pairing}: no-image: {NEW_STATE_GAP}" in stdout
    assert git(repository, "status", "--porcelain") == "", "the gate must not touch the working tree"


def test_a_feature_branch_is_gated_against_the_baseline_branch_by_name(repository, capsys, monkeypatch):
    """Every commit of the branch counts, not only its last one: the state comes in the first
    commit, and the second changes nothing the gate sees."""
    git(repository, "checkout", "-q", "-b", "feature")
    add_package_state(repository)
    commit_all(repository, "verify a download before it is listed")
    mapping = repository / MAPPING
    mapping.write_text(mapping.read_text(encoding="utf-8") + "# reviewed\n", encoding="utf-8")
    commit_all(repository, "a comment")

    code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", "main", *INPUTS, *FAST)

    assert code == ExitCode.FINDINGS
    assert report["baseline"]["ref"] == "main"
    assert report["baseline"]["commit"] == git(repository, "rev-parse", "main").strip()
    assert_new_state_gap_located(repository, report)
    assert git(repository, "rev-parse", "--abbrev-ref", "HEAD").strip() == "feature"

    code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", "HEAD~1", *INPUTS, *FAST)
    assert code == ExitCode.OK and "new" not in statuses(report)


def test_a_baseline_whose_files_do_not_load_counts_everything_as_new(repository, capsys, monkeypatch):
    (repository / MAPPING).write_text("scomo: [unclosed\n", encoding="utf-8")
    commit_all(repository, "a broken mapping")
    git(repository, "checkout", "-q", "HEAD~1", "--", MAPPING)  # the proposal repairs it

    code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", *INPUTS, *FAST)

    assert code == ExitCode.FINDINGS
    assert report["baseline"]["status"] == "invalid"
    (problem,) = report["baseline"]["problems"]
    assert problem.startswith(f"{MAPPING}:2: yaml-syntax: "), "named as in the repository, not by a temporary path"
    assert set(statuses(report)) == {"new"}


def test_saved_findings_serve_as_a_baseline(repository, capsys, monkeypatch):
    saved = repository.parent / "findings.json"
    code, _, _, _ = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", "--save", str(saved), *INPUTS, *FAST)
    assert code == ExitCode.OK
    assert json.loads(saved.read_text(encoding="utf-8"))["format"] == "swmc-findings/1"
    line = unmap(repository)

    code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", str(saved), *INPUTS, *FAST)

    assert code == ExitCode.FINDINGS
    assert report["baseline"]["kind"] == "findings-file" and report["baseline"]["commit"] is None
    assert statuses(report)["new"] == [NEW_GAP]
    assert report["results"][[r["id"] for r in report["results"]].index(NEW_GAP)]["location"]["line"] == line


def test_a_check_report_serves_as_a_baseline(repository, capsys, monkeypatch):
    monkeypatch.chdir(repository)
    assert cli.main(["check", *INPUTS, *FAST, "-o", str(repository.parent / "check-out"), "--no-diagrams"]) == ExitCode.FINDINGS
    capsys.readouterr()
    unmap(repository)

    code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", str(repository.parent / "check-out" / "report.json"),
                              *INPUTS, *FAST)

    assert code == ExitCode.FINDINGS
    assert statuses(report)["new"] == [NEW_GAP]
    assert len(statuses(report)["existing"]) > 0


def test_saved_findings_with_other_parameters_are_refused(repository, capsys, monkeypatch):
    saved = repository.parent / "findings.json"
    gate(capsys, monkeypatch, repository, "--baseline", "HEAD", "--save", str(saved), *INPUTS, *FAST)

    code, _, stderr, _ = gate(capsys, monkeypatch, repository, "--baseline", str(saved), *INPUTS,
                              "-k", "2", "-m", "2", "--engine", "explicit", out="other-out")

    assert code == ExitCode.INVALID_INPUT
    assert "baseline-settings" in stderr


def test_both_engines_give_the_same_gate(repository, capsys, monkeypatch):
    """The default engines (explicit and Z3, which must agree) on the change above."""
    unmap(repository)
    code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", *INPUTS, "-k", "1", "-m", "1")
    assert code == ExitCode.FINDINGS
    assert statuses(report)["new"] == [NEW_GAP]


def test_every_format_can_go_to_stdout(repository, capsys, monkeypatch):
    outputs = {}
    for name in ("text", "json", "junit", "sarif", "markdown"):
        code, stdout, _, _ = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", "--format", name, *INPUTS, *FAST)
        assert code == ExitCode.OK
        outputs[name] = stdout
    out = repository.parent / "gate-out"
    assert outputs["json"] == (out / "gate.json").read_text(encoding="utf-8")
    assert outputs["sarif"] == (out / "gate.sarif").read_text(encoding="utf-8")
    assert outputs["junit"] == (out / "gate.junit.xml").read_text(encoding="utf-8")
    assert outputs["markdown"] == (out / "gate.md").read_text(encoding="utf-8")
    assert outputs["text"].startswith((out / "gate.txt").read_text(encoding="utf-8"))


def test_finding_identities_do_not_depend_on_the_engine(tmp_path, capsys):
    """Two deadlocked states at the same depth: each engine may show another one first, but
    the deadlock's identity names neither, and every other identity is the same too."""
    model = tmp_path / "fork.yaml"
    model.write_text(textwrap.dedent("""\
        states: [Start, Left, Right, Orphan]
        transitions:
          - {trigger: go_left, source: Start, dest: Left}
          - {trigger: go_right, source: Start, dest: Right}
    """), encoding="utf-8")
    identities = {}
    for engine in ("explicit", "z3"):
        code = cli.main(["check", str(model), "--engine", engine, "--format", "json", "--no-diagrams",
                         "-o", str(tmp_path / engine)])
        assert code == ExitCode.FINDINGS
        report = json.loads(capsys.readouterr().out)
        identities[engine] = [finding["id"] for finding in report["systems"][0]["findings"]]
    assert identities["explicit"] == identities["z3"] == ["fork/fork/unreachable-state/Orphan", "fork/-/deadlock/reachable"]


def test_files_outside_the_repository_are_the_same_on_both_sides_and_have_no_sarif_line(tmp_path, capsys, monkeypatch):
    """The built-in models, gated from a repository that does not hold them (as a pre-commit
    hook with its default arguments does): nothing changes, and SARIF names no file of the
    repository that does not exist."""
    repository = tmp_path / "elsewhere"
    repository.mkdir()
    (repository / "README.md").write_text("no models here\n", encoding="utf-8")
    git(repository, "init", "-q", "-b", "main")
    commit_all(repository, "nothing to check")

    code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", *FAST)  # built-in models and mapping

    assert code == ExitCode.OK
    assert report["baseline"]["missing_files"] == []
    assert report["results"] and set(statuses(report)) == {"existing"}
    sarif = json.loads((tmp_path / "gate-out" / "gate.sarif").read_text(encoding="utf-8"))
    assert all("physicalLocation" not in result["locations"][0] for result in sarif["runs"][0]["results"])


PROPERTY_FILE = "properties/device.yaml"


def write_property(repository: Path, formula: str) -> None:
    path = repository / PROPERTY_FILE
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(f"""\
        properties:
          - name: install-inactive-reachable
            system: ../models/scomo-device.yaml
            parameters: {{k: 1}}
            formula: >-
              {formula}
        """), encoding="utf-8")


def test_a_change_that_breaks_a_property_fails_with_that_property(repository, capsys, monkeypatch):
    write_property(repository, "EF dp1 is InstallingInactive")
    commit_all(repository, "a property that holds")
    # The proposal sends InstallInactive to the Active install: InstallingInactive is lost.
    model = repository / "models" / "scomo-delivery-package.yaml"
    text = model.read_text(encoding="utf-8")
    before = "  - trigger: InstallInactive\n    source: Delivered\n    dest: InstallingInactive\n"
    assert before in text
    model.write_text(text.replace(before, before.replace("dest: InstallingInactive", "dest: InstallingActive")),
                     encoding="utf-8")
    code, out, _, report = gate(capsys, monkeypatch, repository, *INPUTS, *FAST, "--properties", PROPERTY_FILE,
                                "--baseline", "HEAD")
    assert code == ExitCode.FINDINGS
    new = [result for result in report["results"] if result["status"] == "new" and result["kind"] == "property"]
    assert [result["id"] for result in new] == [f"property/{PROPERTY_FILE}/install-inactive-reachable/violated"]
    assert new[0]["location"] == {"file": PROPERTY_FILE, "line": 2}


def test_an_unchanged_property_passes(repository, capsys, monkeypatch):
    write_property(repository, "EF dp1 is InstallingInactive")
    commit_all(repository, "a property that holds")
    code, _, _, report = gate(capsys, monkeypatch, repository, *INPUTS, *FAST, "--properties", PROPERTY_FILE,
                              "--baseline", "HEAD")
    assert code == ExitCode.OK
    assert any(check["id"] == f"property/{PROPERTY_FILE}/install-inactive-reachable" for check in report["checks"])


def test_junit_has_one_test_case_per_property_failed_only_by_a_newly_violated_one(repository, capsys, monkeypatch):
    """Three properties: one holds on both sides, one held and is violated by the change, one
    is violated on both sides (existing, so it does not fail its test case)."""
    path = repository / PROPERTY_FILE
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent("""\
        properties:
          - name: installed-reachable
            system: ../models/scomo-device.yaml
            parameters: {k: 1}
            formula: EF dp1 is Installed
          - name: install-inactive-reachable
            system: ../models/scomo-device.yaml
            parameters: {k: 1}
            formula: EF dp1 is InstallingInactive
          - name: never-installed
            system: ../models/scomo-device.yaml
            parameters: {k: 1}
            formula: AG !(dp1 is Installed)
        """), encoding="utf-8")
    commit_all(repository, "three properties")
    model = repository / PACKAGE_MACHINE
    before = "  - trigger: InstallInactive\n    source: Delivered\n    dest: InstallingInactive\n"
    text = model.read_text(encoding="utf-8")
    assert before in text
    model.write_text(text.replace(before, before.replace("dest: InstallingInactive", "dest: InstallingActive")),
                     encoding="utf-8")

    code, _, _, report = gate(capsys, monkeypatch, repository, *INPUTS, *FAST, "--properties", PROPERTY_FILE,
                              "--baseline", "HEAD")

    assert code == ExitCode.FINDINGS
    junit = ElementTree.parse(repository.parent / "gate-out" / "gate.junit.xml").getroot()
    (suite,) = [suite for suite in junit.iter("testsuite") if suite.get("name") == "properties"]
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert list(cases) == ["installed-reachable", "install-inactive-reachable", "never-installed"]
    assert suite.get("tests") == "3" and suite.get("failures") == "1"
    for name, case in cases.items():
        assert case.get("file") == PROPERTY_FILE
        assert case.get("line") == str(line_of_text(repository, PROPERTY_FILE, f"  - name: {name}"))
    assert cases["installed-reachable"].find("failure") is None
    assert cases["installed-reachable"].find("system-out") is None
    failure = cases["install-inactive-reachable"].find("failure")
    assert failure is not None and failure.get("type") == "property-violated"
    assert f"property/{PROPERTY_FILE}/install-inactive-reachable/violated" in failure.text
    assert cases["never-installed"].find("failure") is None
    existing = f"existing: property/{PROPERTY_FILE}/never-installed/violated"
    assert cases["never-installed"].findtext("system-out") == existing
    property_statuses = {result["id"]: result["status"] for result in report["results"] if result["kind"] == "property"}
    assert property_statuses == {f"property/{PROPERTY_FILE}/install-inactive-reachable/violated": "new",
                                 f"property/{PROPERTY_FILE}/never-installed/violated": "existing"}


def test_a_property_naming_a_built_in_model_of_the_repository_reads_it_at_the_baseline(repository, capsys, monkeypatch):
    """swmc gating its own checkout (installed editable, so its built-in models are files of the
    repository): a property that names a model by its built-in name reads the baseline's
    version of it, and so sees the change."""
    from checker import propfile

    shipped = propfile.builtin_model_paths()
    in_repository = [repository / "models" / path.name for path in shipped]
    monkeypatch.setattr(propfile, "builtin_model_paths", lambda: in_repository)
    write_property(repository, "EF dp1 is InstallingInactive")
    path = repository / PROPERTY_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("../models/scomo-device.yaml", "scomo-device"),
                    encoding="utf-8")
    commit_all(repository, "a property of a built-in model")
    model = repository / PACKAGE_MACHINE
    before = "  - trigger: InstallInactive\n    source: Delivered\n    dest: InstallingInactive\n"
    model.write_text(model.read_text(encoding="utf-8").replace(before, before.replace("dest: InstallingInactive",
                                                                                        "dest: InstallingActive")),
                     encoding="utf-8")

    code, _, _, report = gate(capsys, monkeypatch, repository, "models/scomo-device.yaml", *FAST,
                              "--properties", PROPERTY_FILE, "--baseline", "HEAD")

    assert code == ExitCode.FINDINGS
    assert report["baseline"]["status"] == "checked"
    new = [result["id"] for result in report["results"] if result["status"] == "new" and result["kind"] == "property"]
    assert new == [f"property/{PROPERTY_FILE}/install-inactive-reachable/violated"]


def test_a_property_file_with_an_error_is_exit_2(repository, capsys, monkeypatch):
    write_property(repository, "AG (dp1 is Delivred)")
    code, _, err, _ = gate(capsys, monkeypatch, repository, *INPUTS, *FAST, "--properties", PROPERTY_FILE,
                           "--baseline", "HEAD")
    assert code == ExitCode.INVALID_INPUT and "did you mean 'Delivered'" in err


# --- deadlocks: one identity per deadlock signature -----------------------------------------

FORK = """\
    # Start goes Left or Right; Right can go back to Start unless the change removes that.
    states:
      - name: Start
      - name: Left
      - name: Right
    transitions:
      - {trigger: go_left, source: Start, dest: Left}
      - {trigger: go_right, source: Start, dest: Right}
    """
BACK = "  - {trigger: back, source: Right, dest: Start}\n"


def small_repository(path: Path, files: dict[str, str], commit: bool = True) -> Path:
    """A git repository holding the given files (dedented), committed unless told otherwise."""
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    git(path, "init", "-q", "-b", "main")
    if commit:
        commit_all(path, "baseline")
    return path


def test_a_change_that_adds_a_deadlock_while_one_exists_fails_with_the_new_one(tmp_path, capsys, monkeypatch):
    repository = small_repository(tmp_path / "repository", {"fork.yaml": textwrap.dedent(FORK) + BACK})
    (repository / "fork.yaml").write_text(textwrap.dedent(FORK), encoding="utf-8")  # Right is a dead end now
    right = textwrap.dedent(FORK).splitlines().index("  - name: Right") + 1

    for engines in (["--engine", "explicit"], []):  # the explicit engine alone, and both engines
        code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", "fork.yaml", *engines)

        assert code == ExitCode.FINDINGS
        assert statuses(report) == {"existing": ["fork/-/deadlock/fork=Left"], "new": ["fork/-/deadlock/fork=Right"]}
        (new,) = [result for result in report["results"] if result["status"] == "new"]
        assert new["location"] == {"file": "fork.yaml", "line": right}
        assert new["subject"] == "fork=Right" and new["check"] == "model/fork/deadlock"
        assert new["witness"] == ["0. initial: fork: Start", "1. fork.go_right -> fork: Right"]


def test_symmetric_deadlocks_have_one_identity_and_others_each_their_own(tmp_path, capsys, monkeypatch):
    """Two workers that each end Left or Right: four deadlocked states, of which the two with
    one worker on each side are symmetric copies of one another."""
    repository = small_repository(tmp_path / "repository", {
        "fork.yaml": FORK,
        "pair.yaml": "composition: pair\ncomponents:\n  - {name: worker, machine: fork.yaml, count: 2}\n"})

    code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", "pair.yaml", "--engine", "explicit")

    assert code == ExitCode.OK
    assert statuses(report) == {"existing": ["pair/-/deadlock/worker=Left", "pair/-/deadlock/worker=Left+worker=Right",
                                             "pair/-/deadlock/worker=Right"]}
    mixed = report["results"][1]
    assert "(the first of 2 deadlocked states with this signature)" in mixed["message"]


def test_with_z3_alone_a_system_has_one_deadlock_identity(tmp_path, capsys, monkeypatch):
    """The documented blind spot of `--engine z3`: Z3 shows one deadlocked state, not all, so
    a deadlock added where there is one already is not seen."""
    repository = small_repository(tmp_path / "repository", {"fork.yaml": textwrap.dedent(FORK) + BACK})
    (repository / "fork.yaml").write_text(textwrap.dedent(FORK), encoding="utf-8")

    code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", "fork.yaml", "--engine", "z3")

    assert code == ExitCode.OK
    assert statuses(report) == {"existing": ["fork/-/deadlock/reachable"]}


def test_a_baseline_with_one_deadlock_per_system_is_compared_as_such(tmp_path, capsys, monkeypatch):
    """A check report names one deadlock per system: the proposal's deadlocks of that system
    are folded into that identity rather than all counted new."""
    repository = small_repository(tmp_path / "repository", {"fork.yaml": FORK})
    monkeypatch.chdir(repository)
    assert cli.main(["check", "fork.yaml", "--no-diagrams", "-o", str(tmp_path / "check-out")]) == ExitCode.FINDINGS
    capsys.readouterr()

    code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", str(tmp_path / "check-out" / "report.json"),
                              "fork.yaml", "--engine", "explicit")

    assert code == ExitCode.OK
    assert statuses(report) == {"existing": ["fork/-/deadlock/reachable"]}


# --- before the first commit ---------------------------------------------------------------

CLEAN = """\
    states: [Idle, Busy]
    transitions:
      - {trigger: start, source: Idle, dest: Busy}
      - {trigger: stop, source: Busy, dest: Idle}
    """
ORPHAN = CLEAN.replace("[Idle, Busy]", "[Idle, Busy, Orphan]")


@pytest.mark.parametrize("revision", ["HEAD", "main"])
def test_before_the_first_commit_the_baseline_is_empty_and_a_clean_model_passes(tmp_path, capsys, monkeypatch, revision):
    repository = small_repository(tmp_path / "repository", {"clean.yaml": CLEAN}, commit=False)
    git(repository, "add", "clean.yaml")

    code, stdout, _, report = gate(capsys, monkeypatch, repository, "--baseline", revision, "clean.yaml", *FAST)

    assert code == ExitCode.OK, stdout
    assert report["baseline"] == {"kind": "git", "ref": revision, "commit": None, "status": "unborn",
                                  "missing_files": ["clean.yaml"], "problems": []}
    assert report["results"] == []
    assert "a branch with no commit yet" in stdout
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (test extras) validates the report")
    schema = json.loads((Path(__file__).resolve().parents[1] / "schemas" / "gate-report.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(report)


def test_before_the_first_commit_every_finding_is_new(tmp_path, capsys, monkeypatch):
    repository = small_repository(tmp_path / "repository", {"orphan.yaml": ORPHAN}, commit=False)

    code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", "orphan.yaml", *FAST)

    assert code == ExitCode.FINDINGS
    assert statuses(report) == {"new": ["orphan/orphan/unreachable-state/Orphan"]}


def test_an_unborn_branch_other_than_heads_is_still_an_unknown_revision(tmp_path, capsys, monkeypatch):
    repository = small_repository(tmp_path / "repository", {"clean.yaml": CLEAN}, commit=False)

    code, _, stderr, _ = gate(capsys, monkeypatch, repository, "--baseline", "develop", "clean.yaml", *FAST)

    assert code == ExitCode.INVALID_INPUT
    assert "'develop' is neither a findings file nor a revision" in stderr


# --- git's own reasons, and the output directory --------------------------------------------

@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="making a repository another user's needs root")
def test_a_repository_git_refuses_to_use_is_reported_with_gits_reason(tmp_path, capsys, monkeypatch):
    repository = small_repository(tmp_path / "repository", {"clean.yaml": CLEAN})
    os.chown(repository, 12345, 12345)  # owned by someone else: git refuses it ("dubious ownership")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)  # no safe.directory exception of this machine's
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")

    code, _, stderr, _ = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", "clean.yaml", *FAST)

    assert code == ExitCode.INVALID_INPUT
    assert "is not in a git repository to read a revision from (git: fatal: detected dubious ownership" in stderr


def test_a_bad_output_directory_is_refused_before_anything_is_analysed(repository, capsys, monkeypatch):
    from checker import gate as gate_module

    def must_not_run(request):
        raise AssertionError("the analyses ran before --out was checked")

    monkeypatch.setattr(gate_module, "run_gate", must_not_run)
    (repository.parent / "a-file").write_text("not a directory\n", encoding="utf-8")
    for out in ("a-file", "a-file/below"):
        monkeypatch.chdir(repository)
        code = cli.main(["gate", "--baseline", "HEAD", *INPUTS, *FAST, "-o", str(repository.parent / out)])
        assert code == ExitCode.INVALID_INPUT
        assert "output-directory" in capsys.readouterr().err


# --- --save: every problem found before the analyses, and no file of the user's replaced ----

def refuse_analyses(monkeypatch) -> None:
    from checker import gate as gate_module

    def must_not_run(request):
        raise AssertionError("the analyses ran before --save was checked")

    monkeypatch.setattr(gate_module, "run_gate", must_not_run)


def gate_saving(capsys, monkeypatch, repository: Path, save: str, *arguments: str) -> tuple[int, str]:
    """`swmc gate --save SAVE` in the repository, to gate-out beside it; the exit code and stderr."""
    code, stdout, stderr, _ = gate(capsys, monkeypatch, repository, "--baseline", "HEAD", "--save", save, *arguments,
                                   *INPUTS, *FAST)
    if code == ExitCode.INVALID_INPUT:
        assert stdout == ""
    return code, stderr


@pytest.mark.parametrize("save, message", [
    ("a-file/findings.json", "save-file: a-file is not a directory, so no file can be written below it"),
    ("a-file/deeper/findings.json", "save-file: a-file is not a directory, so no file can be written below it"),
    ("no-such-directory/findings.json",
     "save-file: the directory no-such-directory does not exist; create it, or save the findings elsewhere"),
    ("a-directory", "save-file: is a directory, not a file"),
])
def test_a_save_path_that_cannot_be_written_is_an_input_error_and_nothing_is_written(repository, capsys, monkeypatch,
                                                                                      save, message):
    refuse_analyses(monkeypatch)
    (repository / "a-file").write_text("not a directory\n", encoding="utf-8")
    (repository / "a-directory").mkdir()

    code, stderr = gate_saving(capsys, monkeypatch, repository, save)

    assert code == ExitCode.INVALID_INPUT
    assert f"swmc: error: {save}:0: {message}" in stderr
    assert not (repository.parent / "gate-out").exists(), "no report may be written when --save is refused"
    assert not (repository / save).is_file()
    assert not (repository / "no-such-directory").exists()
    assert (repository / "a-file").read_text(encoding="utf-8") == "not a directory\n"


def test_a_save_path_in_a_directory_that_is_not_writable_is_an_input_error(repository, capsys, monkeypatch):
    refuse_analyses(monkeypatch)
    locked = repository.parent / "locked"
    locked.mkdir()
    from checker import gate_report

    real_access = os.access

    def access(path, mode, *rest, **options):
        # A directory made read-only binds no root, so the refusal is simulated where it is asked.
        if Path(path).resolve() == locked and mode & os.W_OK:
            return False
        return real_access(path, mode, *rest, **options)

    monkeypatch.setattr(gate_report.os, "access", access)
    code, stderr = gate_saving(capsys, monkeypatch, repository, str(locked / "findings.json"))

    assert code == ExitCode.INVALID_INPUT
    assert f"{locked / 'findings.json'}:0: save-file: the directory {locked} is not writable" in stderr
    assert list(locked.iterdir()) == []
    assert not (repository.parent / "gate-out").exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_directory_refuses_the_save_path(repository, capsys, monkeypatch):
    refuse_analyses(monkeypatch)
    locked = repository.parent / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, stderr = gate_saving(capsys, monkeypatch, repository, str(locked / "findings.json"))
    finally:
        locked.chmod(0o755)
    assert code == ExitCode.INVALID_INPUT
    assert f"save-file: the directory {locked} is not writable" in stderr


@pytest.mark.parametrize("name, content", [
    ("notes.json", '{"format": "my-notes/1", "todo": ["map dp.Delivered"]}\n'),
    ("notes.json", "not JSON at all\n"),
    ("findings.yaml", "- id: some/finding\n  reason: ours\n"),
    ("report.json", '{"format": "swmc-check-report/1", "systems": []}\n'),  # swmc's, but no findings file
])
def test_save_never_replaces_a_file_that_is_not_a_findings_file(repository, capsys, monkeypatch, name, content):
    refuse_analyses(monkeypatch)
    target = repository.parent / name
    target.write_text(content, encoding="utf-8")

    code, stderr = gate_saving(capsys, monkeypatch, repository, str(target))

    assert code == ExitCode.INVALID_INPUT
    assert f"{target}:0: save-file: exists and is not a findings file of swmc" in stderr
    assert target.read_text(encoding="utf-8") == content
    assert not (repository.parent / "gate-out").exists()


def test_save_refuses_a_symbolic_link_and_leaves_it_and_its_target_alone(repository, capsys, monkeypatch):
    refuse_analyses(monkeypatch)
    target = repository.parent / "kept.json"
    target.write_text('{"format": "swmc-findings/1", "checks": [], "results": []}\n', encoding="utf-8")
    link = repository.parent / "link.json"
    link.symlink_to(target)

    code, stderr = gate_saving(capsys, monkeypatch, repository, str(link))

    assert code == ExitCode.INVALID_INPUT
    assert f"{link}:0: save-file: is a symbolic link" in stderr
    assert link.is_symlink() and target.read_text(encoding="utf-8").startswith('{"format": "swmc-findings/1"')


@pytest.mark.parametrize("name", ["gate.json", "gate.sarif", ".swmc-output"])
def test_save_may_not_name_a_report_of_the_output_directory(repository, capsys, monkeypatch, name):
    refuse_analyses(monkeypatch)
    save = str(repository.parent / "gate-out" / name)

    code, stderr = gate_saving(capsys, monkeypatch, repository, save)

    assert code == ExitCode.INVALID_INPUT
    assert f"{save}:0: save-file: the gate writes its own {name} into --out" in stderr
    assert not (repository.parent / "gate-out").exists()


def test_a_bad_out_and_a_bad_save_are_reported_together(repository, capsys, monkeypatch):
    refuse_analyses(monkeypatch)
    (repository.parent / "gate-out").write_text("a file, not a directory\n", encoding="utf-8")

    code, stderr = gate_saving(capsys, monkeypatch, repository, "no-such-directory/findings.json")

    assert code == ExitCode.INVALID_INPUT
    assert "output-directory: the output path exists and is not a directory" in stderr
    assert "no-such-directory/findings.json:0: save-file: the directory no-such-directory does not exist" in stderr


def test_save_replaces_a_findings_file_and_may_go_into_an_output_directory_it_creates(repository, capsys, monkeypatch):
    saved = repository.parent / "findings.json"
    saved.write_text('{"format": "swmc-findings/0", "checks": [], "results": []}\n', encoding="utf-8")  # an older one
    code, _ = gate_saving(capsys, monkeypatch, repository, str(saved))
    assert code == ExitCode.OK
    first = json.loads(saved.read_text(encoding="utf-8"))
    assert first["format"] == "swmc-findings/1" and first["results"]

    inside = repository.parent / "gate-out" / "findings.json"
    shutil.rmtree(repository.parent / "gate-out")
    code, _ = gate_saving(capsys, monkeypatch, repository, str(inside))
    assert code == ExitCode.OK
    assert json.loads(inside.read_text(encoding="utf-8")) == first

    # The baseline's findings file is read before it is replaced by the proposal's.
    line = unmap(repository)
    code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", str(saved), "--save", str(saved),
                              *INPUTS, *FAST)
    assert code == ExitCode.FINDINGS and statuses(report)["new"] == [NEW_GAP]
    replaced = json.loads(saved.read_text(encoding="utf-8"))
    assert [result["location"] for result in replaced["results"] if result["id"] == NEW_GAP] == [
        {"file": MAPPING, "line": line}]


def test_a_fixed_result_whose_check_is_gone_keeps_its_suite():
    from checker.gate import Check, Result, ResultSet, compare

    baseline = ResultSet()
    for check, identity in (("mapping/gap_analysis_2012/scomo/state/dp.Gone", "mapping/gap_analysis_2012/scomo/state/dp.Gone/no-image"),
                            ("model/fork/unreachable-state", "fork/fork/unreachable-state/Gone"),
                            ("property/properties/p.yaml/gone", "property/properties/p.yaml/gone/violated")):
        baseline.add_result(Result(id=identity, kind="k", category="c", check=check, subject="s", message="m"))
    proposal = ResultSet(checks={"model/fork/deadlock": Check("model/fork/deadlock", "model fork", "deadlock")})

    _, _, checks = compare(proposal, baseline, [])

    assert {check.id: check.suite for check in checks} == {
        "model/fork/deadlock": "model fork", "mapping/gap_analysis_2012/scomo/state/dp.Gone": "mapping gap_analysis_2012",
        "model/fork/unreachable-state": "model fork", "property/properties/p.yaml/gone": "properties"}


def test_outputs_name_no_absolute_path_and_are_byte_identical_from_two_checkouts(tmp_path, capsys, monkeypatch):
    """The same gate from two checkouts at different places, every path on the command line
    absolute: a findings file, an accepted-findings file and a model outside the repository
    are named by their file names, an accepted-findings file inside it relative to its root."""
    outputs = []
    for place in ("first", "second/deeper"):
        root = tmp_path / place
        repository = make_repository(root / "repository")
        lone = root / "lone.yaml"  # a model outside the repository, the same on both sides
        lone.write_text(textwrap.dedent(ORPHAN), encoding="utf-8")
        inputs = [str(lone), *(str(repository / name) if name.endswith(".yaml") else name for name in INPUTS)]
        saved = root / "findings.json"
        assert gate(capsys, monkeypatch, repository, "--baseline", "HEAD", "--save", str(saved), *inputs, *FAST,
                    out="save-out")[0] == ExitCode.OK
        unmap(repository)
        outside = root / "known.yaml"
        inside = repository / "known" / "accepted.yaml"
        inside.parent.mkdir()
        for acknowledgements in (outside, inside):
            acknowledgements.write_text(f"- {{id: {NEW_GAP}, reason: known}}\n- {{id: gone/finding, reason: stale}}\n",
                                        encoding="utf-8")

        files = {}
        for run, (baseline, accepted, expected) in enumerate([(saved, outside, "known.yaml"),
                                                              ("HEAD", inside, "known/accepted.yaml")]):
            code, _, _, report = gate(capsys, monkeypatch, repository, "--baseline", str(baseline), "--accepted",
                                      str(accepted), *inputs, *FAST, out=f"gate-out-{run}")
            assert code == ExitCode.OK
            assert report["accepted_file"] == expected
            assert report["stale"] == [{"id": "gone/finding", "reason": "stale", "location": {"file": expected, "line": 2}}]
            assert report["baseline"]["ref"] == ("findings.json" if baseline == saved else "HEAD")
            assert "lone/lone/unreachable-state/Orphan" in statuses(report)["existing"]
            out = root / f"gate-out-{run}"
            files.update({f"{run}/{path.name}": path.read_bytes() for path in sorted(out.iterdir())})
        files["findings.json"] = saved.read_bytes()
        assert not [name for name, content in files.items() if str(tmp_path).encode() in content]
        outputs.append(files)

    first, second = outputs
    assert sorted(first) == sorted(second) and len(first) == 2 * 6 + 1  # five formats and the marker, twice
    assert [name for name in first if first[name] != second[name]] == []
