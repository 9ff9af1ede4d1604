"""The shipped models: complete, cited, packaged, and fully reported by `swmc check`."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from checker import cli
from checker.catalog import builtin_model_paths, load_models

REPOSITORY = __import__("pathlib").Path(__file__).resolve().parents[1]

FOUR_MACHINES = {"scomo_delivery_package", "scomo_deployment_component", "tr069_deployment_unit", "tr069_execution_unit"}


@pytest.fixture(scope="module")
def models():
    return load_models(builtin_model_paths())


def test_the_four_machines_and_both_compositions_are_built_in(models):
    ids = {model.id for model in models}
    assert FOUR_MACHINES <= ids
    assert {"scomo_device", "tr069_device"} <= ids


def test_every_transition_cites_its_source(models):
    uncited = [f"{machine.file}:{transition.line} {transition.trigger}"
               for model in models if model.is_single_machine
               for machine in model.machines for transition in machine.transitions if not transition.spec]
    assert uncited == []


def test_every_transition_assumption_is_declared_with_a_source(models):
    for model in models:
        for machine in model.machines:
            declared = {assumption.id: assumption for assumption in machine.assumptions}
            for assumption in machine.assumptions:
                assert assumption.statement and assumption.source, assumption.id
            for transition in machine.transitions:
                assert set(transition.assumptions) <= set(declared), transition


def test_failure_outcomes_are_modelled_not_only_the_happy_path(models):
    machines = {machine.id: machine for model in models for machine in model.machines}

    def moves(machine_id, trigger):
        return {(t.source, t.dest, t.outcome) for t in machines[machine_id].transitions if t.trigger == trigger}

    assert ("Installing", "Absent", "failure") in moves("tr069_deployment_unit", "install_failed")
    assert ("Updating", "Installed", "failure") in moves("tr069_deployment_unit", "update_failed")
    assert ("Uninstalling", "Installed", "failure") in moves("tr069_deployment_unit", "uninstall_failed")
    assert ("Starting", "Idle", "failure") in moves("tr069_execution_unit", "start_failed")
    assert ("Active", "Idle", "failure") in moves("tr069_execution_unit", "failed_while_active")
    assert ("Stopping", "Stopping", "refused") in moves("tr069_execution_unit", "RequestActive")
    assert ("Activating", "Inactive", "failure") in moves("scomo_deployment_component", "activate_failed")
    assert ("Deactivating", "Active", "failure") in moves("scomo_deployment_component", "deactivate_failed")
    start_failed = [t for t in machines["tr069_execution_unit"].transitions if t.trigger == "start_failed"]
    assert dict(start_failed[0].set)["ExecutionFaultCode"] == "FailureOnStart"


def test_check_reports_every_state_of_every_builtin_model_with_deadlocks_and_assumptions(tmp_path, models, capsys):
    code = cli.main(["check", "-o", str(tmp_path / "out"), "--no-diagrams"])
    capsys.readouterr()
    assert code in (0, 1)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    systems = {system["id"]: system for system in report["systems"]}
    machines = {machine.id: machine for model in models for machine in model.machines}
    for machine_id in FOUR_MACHINES:
        reported = [state["name"] for state in systems[machine_id]["instances"][0]["states"]]
        assert reported == machines[machine_id].state_names
        assert all(isinstance(state["reachable"], bool) for state in systems[machine_id]["instances"][0]["states"])
    for composition_id in ("scomo_device[k=2,n=1]", "tr069_device[m=2,n=1]"):
        system = systems[composition_id]
        assert system["deadlocked_states"] is not None
        assert system["assumptions"]
        for instance in system["instances"]:
            assert [state["name"] for state in instance["states"]] == machines[instance["machine"]].state_names


def test_the_wheel_ships_the_builtin_models(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                             "-w", str(tmp_path), str(REPOSITORY)], capture_output=True, text=True, check=False)
    if result.returncode != 0 and ("connection" in result.stderr.lower() or "no matching distribution" in result.stderr.lower()):
        pytest.skip(f"no package index to fetch the build backend from: {result.stderr.strip()[-200:]}")
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("swmc-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in builtin_model_paths():
        assert f"checker/models/{path.name}" in names
