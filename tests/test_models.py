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
# Machines that the requirement properties need beyond the four: the CWMP request carrying
# several operations, the TR-069 firmware image, and the SCOMO 1.1 features of the requirement text.
FEATURE_MACHINES = {"tr069_execution_environment", "tr069_change_du_state", "tr069_firmware_image",
                    "scomo11_client_request", "scomo11_list_entry", "scomo11_component_origin",
                    "scomo11_firmware", "scomo11_user_confirmation"}
SCOMO11_COMPOSITIONS = {"scomo11_device", "scomo11_lists_device", "scomo11_firmware_device", "scomo11_user_device"}
COMPOSITIONS = {"scomo_device[k=2,n=1]", "tr069_device[m=2,n=1]"} | SCOMO11_COMPOSITIONS


@pytest.fixture(scope="module")
def models():
    return load_models(builtin_model_paths())


def test_the_four_machines_and_both_compositions_are_built_in(models):
    ids = {model.id for model in models}
    assert FOUR_MACHINES <= ids
    assert {"scomo_device", "tr069_device"} <= ids
    assert FEATURE_MACHINES <= ids and SCOMO11_COMPOSITIONS <= ids


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
    for machine_id in FOUR_MACHINES | FEATURE_MACHINES:
        reported = [state["name"] for state in systems[machine_id]["instances"][0]["states"]]
        assert reported == machines[machine_id].state_names
        assert all(isinstance(state["reachable"], bool) for state in systems[machine_id]["instances"][0]["states"])
    for composition_id in sorted(COMPOSITIONS):
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


def test_scomo11_features_rest_on_assumptions_taken_from_the_requirement_text(models):
    """No SCOMO specification read describes the SCOMO 1.1 features the requirements need: each
    SCOMO 1.1 machine says so in every assumption (its source is the draft's requirement text and
    it is unconfirmed), and every one of its transitions relies on one of them."""
    machines = {machine.id: machine for model in models for machine in model.machines}
    scomo11 = [machine for machine_id, machine in sorted(machines.items()) if machine_id.startswith("scomo11_")]
    assert {machine.id for machine in scomo11} == {"scomo11_client_request", "scomo11_list_entry", "scomo11_component_origin",
                                                   "scomo11_firmware", "scomo11_user_confirmation"}
    for machine in scomo11:
        assert machine.assumptions, machine.id
        for assumption in machine.assumptions:
            source = " ".join(assumption.source.split())
            assert "taken from the SCOMO 1.1 requirement text" in source and "SCOMO1_1-HLF-" in source, assumption.id
            assert "unconfirmed in any SCOMO technical specification read" in source, assumption.id
        for transition in machine.transitions:
            assert transition.assumptions, f"{machine.file}:{transition.line} {transition.trigger}"


def test_scomo11_firmware_and_user_confirmation_say_they_are_unconfirmed_and_name_their_requirements(models):
    """Whether SCOMO 1.1 carries firmware, and how it asks its user, no SCOMO text read says: the
    firmware machine's assumptions name the firmware requirements (HLF-06, HLF-16), the user
    confirmation's name HLF-14, and every one says it is unconfirmed."""
    machines = {machine.id: machine for model in models for machine in model.machines}
    for machine_id, requirements in (("scomo11_firmware", ("SCOMO1_1-HLF-06", "HLF-16")),
                                     ("scomo11_user_confirmation", ("SCOMO1_1-HLF-14",))):
        machine = machines[machine_id]
        assert machine.standard == "OMA DM SCOMO 1.1 (requirement text only)"
        for assumption in machine.assumptions:
            source = " ".join(assumption.source.split())
            assert "unconfirmed" in source and "taken from the SCOMO 1.1 requirement text" in source, assumption.id
            assert all(requirement in source for requirement in requirements), assumption.id
    # The client-initiated firmware update reuses the request machine, whose assumptions name HLF-10.
    request = machines["scomo11_client_request"]
    for assumption_id in ("SCOMO11-CLIENT-INITIATED-REQUEST", "SCOMO11-REQUEST-ANSWERED-BY-OPERATIONS"):
        (assumption,) = [a for a in request.assumptions if a.id == assumption_id]
        assert "HLF-10" in assumption.source, assumption_id


def test_tr069_firmware_image_cites_the_data_model_and_marks_what_was_not_read(models):
    """Every transition of the firmware image cites the deviceinfo data model or the CWMP schema;
    every assumption says what is read [F] and what is inferred [I] or open [U], or names the
    schema it paraphrases."""
    machines = {machine.id: machine for model in models for machine in model.machines}
    machine = machines["tr069_firmware_image"]
    assert machine.instance == "Device.DeviceInfo.FirmwareImage.{i}."
    for transition in machine.transitions:
        assert "tr-181-2-19-0-deviceinfo.xml" in transition.spec or "cwmp-1-2.xsd" in transition.spec, transition.trigger
    for assumption in machine.assumptions:
        source = " ".join(assumption.source.split())
        assert any(mark in source for mark in ("[I]", "[U]", "not read", "names only", "our simplification")), assumption.id


# --- the features the requirements need, replayed on the executable machines ----------------

def _run(model_name: str, events: list[str], **parameters):
    from checker.catalog import resolve_model_path
    from checker.composition import load_model
    from checker.executable import ExecutableComposition
    from checker.system import build_system

    path = resolve_model_path(__import__("pathlib").Path(model_name))
    executable = ExecutableComposition(build_system(load_model(path), parameters))
    for event in events:
        executable.fire(event)
    return executable


def _states(executable) -> dict[str, str]:
    return {name: state for name, (state, _) in executable.state().items()}


def test_the_reboot_rpc_restarts_the_eus_and_keeps_the_dus():
    from checker.executable import EventRefused

    device = _run("tr069-device", ["du1.Install", "du1.install_succeeded", "du1.eu1.SetAutoStart",
                                   "du1.eu2.RequestActive", "du1.eu2.start_succeeded", "ee.Reboot"])
    states = _states(device)
    assert (states["ee"], states["du1"], states["du1.eu1"], states["du1.eu2"]) == ("Up", "Installed", "AutoStarting", "Idle")
    # Not offered while the EE is disabled (EE-REBOOT-NOT-MODELLED-WHILE-DISABLED); an EE in Error comes back Up.
    with pytest.raises(EventRefused):
        _run("tr069-device", ["ee.Disable", "ee.Reboot"])
    assert _states(_run("tr069-device", ["ee.fault", "ee.Reboot"]))["ee"] == "Up"


def test_one_change_du_state_starts_every_absent_du_and_each_completes_on_its_own():
    device = _run("tr069-device", ["cds.ChangeDUState"], n=2, m=1)
    assert (_states(device)["du1"], _states(device)["du2"]) == ("Installing", "Installing")
    device.fire("du1.install_succeeded")
    device.fire("du2.install_failed")
    states = _states(device)
    assert (states["du1"], states["du1.eu1"], states["du2"], states["du2.eu1"]) == ("Installed", "Idle", "Absent", "Absent")
    # With du1 present, the same request carries an Install for du2 only.
    device.fire("cds.ChangeDUState")
    assert (_states(device)["du1"], _states(device)["du2"]) == ("Installed", "Installing")


def test_requested_state_writes_are_refused_on_a_disabled_ee_and_the_du_updates_by_itself():
    from checker.executable import EventRefused

    device = _run("tr069-device", ["du1.Install", "du1.install_succeeded", "ee.Disable"])
    for event in ("du1.eu1.RequestIdle", "du1.eu1.RequestActive"):
        with pytest.raises(EventRefused):
            device.fire(event)
    device.fire("du1.autonomous_update")
    assert (_states(device)["du1"], _states(device)["du1.eu1"]) == ("Updating", "HeldIdle")


def test_scomo11_lists_decide_install_and_activation():
    from checker.executable import EventRefused

    with pytest.raises(EventRefused):  # a whitelist: nothing is installed before it is listed
        _run("scomo11-lists-device", ["dp.DownloadInstallInactive"])
    device = _run("scomo11-lists-device", ["whitelist.Add", "dp.DownloadInstallInactive", "dp.download_succeeded",
                                           "dp.install_inactive_succeeded", "blacklist.Add"])
    assert (_states(device)["dp"], _states(device)["dp.dc1"]) == ("Installed", "Inactive")
    with pytest.raises(EventRefused):  # a blacklisted component is kept from running
        device.fire("dp.dc1.Activate")
    device.fire("blacklist.Delete")
    device.fire("dp.dc1.Activate")
    assert _states(device)["dp.dc1"] == "Activating"


def test_scomo11_requests_and_installs_by_other_means():
    device = _run("scomo11-device", ["request.request_download_install"])
    assert _states(device)["request"] == "InstallPending"
    device.fire("dp.DownloadInstall")  # the server serves the request
    assert (_states(device)["request"], _states(device)["dp"]) == ("Idle", "DownloadInstallingActive")
    other = _run("scomo11-device", ["origin.installed_by_other_means"])
    state, values = other.state()["origin"]
    assert (state, values["InstalledVia"], _states(other)["dp.dc1"], _states(other)["dp"]) == (
        "ViaOtherMeans", "OtherMeans", "Active", "Absent")
    for event in ("dp.DownloadInstall", "dp.download_succeeded", "dp.install_succeeded"):
        other.fire(event)
    assert other.state()["origin"][1]["InstalledVia"] == "SCOMO"
    other.fire("dp.dc1.Remove")
    other.fire("dp.dc1.remove_succeeded")
    assert _states(other)["origin"] == "NoComponent"


def test_tr069_firmware_image_download_activation_and_fall_back():
    from checker.executable import EventRefused

    image = _run("tr069-firmware-image", ["Download", "download_succeeded", "validation_succeeded", "install_succeeded"])
    state, values = image.state()["tr069_firmware_image"]
    assert (state, values["Status"], values["Available"], values["BootFirmwareImage"]) == ("Available", "Available", True, "Other")
    # The ACS activates it: BootFirmwareImage, then the Reboot RPC; a failed boot falls back, the pointer kept.
    for event in ("tr069_firmware_image.SetBootImage", "tr069_firmware_image.Reboot", "tr069_firmware_image.boot_failed"):
        image.fire(event)
    state, values = image.state()["tr069_firmware_image"]
    assert (state, values["Status"], values["BootFirmwareImage"]) == ("ActivationFailed", "ActivationFailed", "This")
    with pytest.raises(EventRefused):  # no download into the image the device is to boot
        image.fire("tr069_firmware_image.Download")
    image.fire("tr069_firmware_image.SetAvailableFalse")  # refused (9007): it is the boot image
    assert image.state()["tr069_firmware_image"][1]["Available"] is True
    image.fire("tr069_firmware_image.Reboot")  # the next boot tries it again
    image.fire("tr069_firmware_image.boot_succeeded")
    assert _states(image)["tr069_firmware_image"] == "Active"
    # The CPE applies a download by itself; a failed download leaves an image nothing boots.
    applied = _run("tr069-firmware-image", ["Download", "download_succeeded", "validation_succeeded",
                                            "install_succeeded_apply", "apply_succeeded"])
    assert applied.state()["tr069_firmware_image"][1]["Status"] == "Active"
    failed = _run("tr069-firmware-image", ["request_download", "Download", "download_failed", "SetBootImage"])
    state, values = failed.state()["tr069_firmware_image"]
    assert (state, values["Available"], values["BootFirmwareImage"]) == ("DownloadFailed", False, "Other")


def test_tr069_firmware_scheduled_download_waits_for_the_user():
    from checker.executable import EventRefused

    image = _run("tr069-firmware-image", ["ScheduleDownload"])
    assert image.state()["tr069_firmware_image"][1]["AwaitingConfirmation"] is True
    for event in ("tr069_firmware_image.Download", "tr069_firmware_image.Reboot"):
        with pytest.raises(EventRefused):
            image.fire(event)
    image.fire("tr069_firmware_image.user_declined")
    state, values = image.state()["tr069_firmware_image"]
    assert (state, values["AwaitingConfirmation"]) == ("NoImage", False)
    image.fire("tr069_firmware_image.ScheduleDownload")
    image.fire("tr069_firmware_image.user_confirmed")
    assert _states(image)["tr069_firmware_image"] == "Downloading"


def test_scomo11_firmware_package_installs_firmware_and_requests_are_served():
    device = _run("scomo11-firmware-device", ["dp.DownloadInstall", "dp.download_succeeded", "dp.install_succeeded"])
    assert (_states(device)["dp"], _states(device)["fw"]) == ("Installed", "InstalledPendingReboot")
    device.fire("fw.rebooted")
    assert device.state()["fw"][1]["Running"] == "Package"
    device.fire("request.request_update")  # the device asks for a firmware update
    assert (_states(device)["request"], _states(device)["fw"]) == ("UpdatePending", "RunningPackage")
    for event in ("dp.Remove", "dp.remove_succeeded"):  # removing the package keeps the firmware
        device.fire(event)
    assert (_states(device)["dp"], _states(device)["fw"]) == ("Absent", "RunningPackage")
    device.fire("dp.DownloadInstall")  # the server serves the request with a new firmware package
    assert (_states(device)["request"], _states(device)["dp"]) == ("Idle", "DownloadInstallingActive")
    device.fire("dp.download_succeeded")
    device.fire("dp.install_failed_without_data")  # a failed update leaves the firmware as it was
    assert (_states(device)["dp"], _states(device)["fw"]) == ("Absent", "RunningPackage")
    rebooted = _run("scomo11-firmware-device", ["dp.DownloadInstall", "dp.download_succeeded", "dp.install_succeeded_reboot"])
    assert _states(rebooted)["fw"] == "RunningPackage"


def test_scomo11_install_waits_for_the_users_confirmation():
    from checker.executable import EventRefused

    device = _run("scomo11-user-device", ["dp.DownloadInstall", "dp.download_succeeded"])
    assert _states(device)["confirm"] == "Asking"
    with pytest.raises(EventRefused):  # no install succeeds before the user accepts
        device.fire("dp.install_succeeded")
    device.fire("confirm.user_declined")
    with pytest.raises(EventRefused):
        device.fire("dp.install_succeeded")
    device.fire("dp.install_failed_without_data")
    assert (_states(device)["dp"], _states(device)["dp.dc1"], _states(device)["confirm"]) == ("Absent", "Absent", "NotAsked")
    accepted = _run("scomo11-user-device", ["dp.DownloadInstall", "confirm.user_accepted", "dp.download_succeeded",
                                            "dp.install_succeeded"])
    assert (_states(accepted)["dp"], _states(accepted)["dp.dc1"], _states(accepted)["confirm"]) == ("Installed", "Active", "NotAsked")
