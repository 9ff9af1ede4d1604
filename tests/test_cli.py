"""The command line: exit codes, reports on disk and on stdout, and safe output."""

from __future__ import annotations

import json
import os

from checker import cli, pipeline
from checker.errors import ExitCode
from checker.outputs import MARKER

CLEAN_MACHINE = """
    states: [Idle, Busy]
    transitions:
      - {trigger: start, source: Idle, dest: Busy}
      - {trigger: stop, source: Busy, dest: Idle}
"""

UNREACHABLE_MACHINE = """
    states: [Idle, Busy, Orphan]
    transitions:
      - {trigger: start, source: Idle, dest: Busy}
      - {trigger: stop, source: Busy, dest: Idle}
"""


def run(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_clean_model_exits_zero_and_writes_both_reports(tmp_path, write_model, capsys):
    model = write_model("clean.yaml", CLEAN_MACHINE)
    out = tmp_path / "out"

    code, stdout, _ = run(capsys, "check", str(model), "-o", str(out), "--no-diagrams")

    assert code == ExitCode.OK == 0
    assert "clean: 2/2 local states reachable; 0 findings (explicit and z3 agree)" in stdout
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["findings"] == 0
    assert [state["reachable"] for state in report["systems"][0]["instances"][0]["states"]] == [True, True]
    assert "# swmc check report" in (out / "report.md").read_text()


def test_unreachable_state_exits_one_and_names_the_state(tmp_path, write_model, capsys):
    model = write_model("orphan.yaml", UNREACHABLE_MACHINE)

    code, stdout, _ = run(capsys, "check", str(model), "-o", str(tmp_path / "out"), "--no-diagrams")

    assert code == ExitCode.FINDINGS == 1
    assert "unreachable-state: orphan: state Orphan is unreachable" in stdout


def test_invalid_model_exits_two_with_file_line_and_suggestion(tmp_path, write_model, capsys):
    model = write_model("typo.yaml", """
        states: [Idle, Busy]
        transitions:
          - {trigger: start, source: Idle, dest: Bussy}
    """)
    out = tmp_path / "out"

    code, stdout, stderr = run(capsys, "check", str(model), "-o", str(out))

    assert code == ExitCode.INVALID_INPUT == 2
    assert f"{model}:4: unknown-state" in stderr
    assert "did you mean 'Busy'?" in stderr
    assert stdout == ""
    assert not out.exists(), "nothing may be written when the input is invalid"


def test_missing_model_file_exits_two(tmp_path, capsys):
    code, _, stderr = run(capsys, "check", str(tmp_path / "nowhere.yaml"), "-o", str(tmp_path / "out"))
    assert code == ExitCode.INVALID_INPUT
    assert "no such model file" in stderr


def test_unknown_option_exits_two(capsys):
    code, _, _ = run(capsys, "check", "--no-such-option")
    assert code == ExitCode.INVALID_INPUT


def test_solver_timeout_exits_three_with_the_reason(tmp_path, write_model, capsys):
    model = write_model("orphan.yaml", UNREACHABLE_MACHINE)

    code, _, stderr = run(capsys, "check", str(model), "-o", str(tmp_path / "out"), "--engine", "z3", "--timeout", "0")

    assert code == ExitCode.SOLVER_GAVE_UP == 3
    assert "Z3 answered unknown" in stderr and "timeout" in stderr


def test_engines_that_disagree_exit_four(tmp_path, write_model, capsys, monkeypatch):
    import checker.analysis as analysis

    real = analysis.decide_reachability

    def lying(symbolic, targets, timeout_seconds):
        decisions = real(symbolic, targets, timeout_seconds)
        for decision in decisions.values():
            if decision.reachable and decision.depth:
                decision.depth += 1  # a wrong shortest depth must not go unnoticed
        return decisions

    monkeypatch.setattr(analysis, "decide_reachability", lying)
    model = write_model("clean.yaml", CLEAN_MACHINE)

    code, _, stderr = run(capsys, "check", str(model), "-o", str(tmp_path / "out"), "--no-diagrams")

    assert code == ExitCode.INTERNAL_ERROR == 4
    assert "engines disagree" in stderr


def test_unexpected_exception_exits_four(tmp_path, write_model, capsys, monkeypatch):

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(pipeline, "analyse_all", broken)  # the analysis that `check` runs
    model = write_model("clean.yaml", CLEAN_MACHINE)

    code, _, stderr = run(capsys, "check", str(model), "-o", str(tmp_path / "out"), "--no-diagrams")

    assert code == ExitCode.INTERNAL_ERROR
    assert "internal error" in stderr


def test_json_format_prints_the_report_that_is_written(tmp_path, write_model, capsys):
    model = write_model("orphan.yaml", UNREACHABLE_MACHINE)
    out = tmp_path / "out"

    code, stdout, _ = run(capsys, "check", str(model), "-o", str(out), "--format", "json", "--no-diagrams")

    assert code == ExitCode.FINDINGS
    assert stdout == (out / "report.json").read_text()
    report = json.loads(stdout)
    assert list(report) == ["format", "tool", "settings", "summary", "systems", "mappings"]
    finding = report["systems"][0]["findings"][0]
    assert finding["id"] == "orphan/orphan/unreachable-state/Orphan"
    assert finding["established_by"] == ["explicit", "z3"]


def test_reports_are_byte_identical_across_runs(tmp_path, write_model, capsys):
    model = write_model("orphan.yaml", UNREACHABLE_MACHINE)
    first, second = tmp_path / "first", tmp_path / "second"

    run(capsys, "check", str(model), "-o", str(first))
    run(capsys, "check", str(model), "-o", str(second))

    names = sorted(path.relative_to(first).as_posix() for path in first.rglob("*") if path.is_file())
    assert "report.json" in names and "report.md" in names
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_refuses_to_write_into_a_directory_it_did_not_create(tmp_path, write_model, capsys):
    model = write_model("clean.yaml", CLEAN_MACHINE)
    users_folder = tmp_path / "notes"
    users_folder.mkdir()
    (users_folder / "report.md").write_text("my own notes")

    code, _, stderr = run(capsys, "check", str(model), "-o", str(users_folder), "--no-diagrams")

    assert code == ExitCode.INVALID_INPUT
    assert "holds files swmc did not write" in stderr
    assert (users_folder / "report.md").read_text() == "my own notes"


def test_an_interrupted_write_leaves_the_previous_report_whole(tmp_path, write_model, capsys, monkeypatch):
    model = write_model("clean.yaml", CLEAN_MACHINE)
    out = tmp_path / "out"
    run(capsys, "check", str(model), "-o", str(out), "--no-diagrams")
    before = (out / "report.json").read_bytes()
    assert (out / MARKER).exists()

    def interrupted(*_args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    code, _, stderr = run(capsys, "check", str(write_model("orphan.yaml", UNREACHABLE_MACHINE)), "-o", str(out), "--no-diagrams")

    assert code == 130
    assert (out / "report.json").read_bytes() == before
    assert not [path for path in out.iterdir() if path.name.endswith(".tmp")], "temporary files must be cleaned up"


def test_check_without_arguments_runs_the_builtin_models_from_any_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)

    code, stdout, _ = run(capsys, "check", "--no-diagrams")

    assert code in (ExitCode.OK, ExitCode.FINDINGS)
    for name in ("scomo_delivery_package", "scomo_deployment_component", "tr069_deployment_unit",
                 "tr069_execution_unit", "scomo_device[k=2,n=1]", "tr069_device[m=2,n=1]"):
        assert f"{name}:" in stdout
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["systems"][0]["file"] == "models/scomo-delivery-package.yaml"
    assert report["systems"][0]["assumptions"], "every report lists the assumptions it relied on"


def test_python_dash_m_checker_is_the_same_command():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "checker", "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.startswith("swmc ")
