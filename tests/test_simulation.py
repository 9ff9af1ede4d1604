"""The behavioural correspondence of checker.simulation (docs/correspondence.md): hand-sized
SCOMO-like and TR-069-like machines whose answer is known, and the two shipped mappings."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from checker.catalog import builtin_models_dir
from checker.executable import replay
from checker.mapping import Mapping, load_mapping
from checker.simulation import (
    NO_STEP,
    SCOMO_BY_TR069,
    TR069_BY_SCOMO,
    build_pairing,
    correspondences,
    coverage,
    is_bisimulation,
    pair_instances,
)

MAPPINGS = builtin_models_dir() / "mappings"

# A SCOMO-like package: Download delivers it, Install installs it, Remove removes it.
PACKAGE = """
machine: pkg
initial: Absent
states:
  - {name: Absent, kind: absent}
  - Delivered
  - Installed
transitions:
  - {trigger: Download, source: Absent, dest: Delivered}
  - {trigger: Install, source: Delivered, dest: Installed}
  - {trigger: Remove, source: [Delivered, Installed], dest: Absent}
"""

# A SCOMO-like package installed in one combined operation that runs to a completion.
BUNDLE = """
machine: pkg
initial: Absent
states:
  - {name: Absent, kind: absent}
  - {name: Installing, kind: transient}
  - Installed
transitions:
  - {trigger: DownloadInstall, source: Absent, dest: Installing}
  - {trigger: installed, kind: completion, source: Installing, dest: Installed}
  - {trigger: Remove, source: Installed, dest: Absent}
"""


def unit_machine(refuse_reinstall: bool = False, crash: bool = False) -> str:
    """A TR-069-like unit: Install runs to a completion, Uninstall removes it. Optionally an
    Install of an installed unit is refused, and an installed unit may vanish on its own."""
    text = """
    machine: unit
    initial: Absent
    states:
      - {name: Absent, kind: absent}
      - {name: Installing, kind: transient}
      - Installed
    transitions:
      - {trigger: Install, source: Absent, dest: Installing}
      - {trigger: install_succeeded, kind: completion, source: Installing, dest: Installed}
      - {trigger: Uninstall, source: Installed, dest: Absent}
    """
    text = textwrap.dedent(text)
    if refuse_reinstall:
        text += "  - {trigger: Install, outcome: refused, source: Installed, dest: '='}\n"
    if crash:
        text += ("  - {trigger: crashed, kind: autonomous, outcome: failure,"
                 " source: Installed, dest: Absent}\n")
    return text


def write_mapping(tmp_path: Path, scomo: str, tr069: str, states: dict[str, list[str]],
                  operations: dict[str, list[str]]) -> Mapping:
    """Write both machines and a mapping pairing pkg with unit; load the mapping."""
    (tmp_path / "pkg.yaml").write_text(textwrap.dedent(scomo), encoding="utf-8")
    (tmp_path / "unit.yaml").write_text(textwrap.dedent(tr069), encoding="utf-8")
    lines = ["mapping: tiny", "scomo: pkg.yaml", "tr069: unit.yaml", "machines:",
             "  - {scomo: pkg, tr069: unit, rationale: r}", "states:"]
    for state, images in states.items():
        names = ", ".join("unit." + image for image in images)
        lines.append(f"  - {{scomo: pkg.{state}, tr069: [{names}], rationale: r}}")
    lines.append("operations:")
    for operation, sequence in operations.items():
        lines.append(f"  - {{scomo: pkg.{operation}, tr069: [{', '.join('unit.' + o for o in sequence)}], "
                     "rationale: r}")
    path = tmp_path / "tiny.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_mapping(path)


def ids(result) -> list[str]:
    return [mismatch.id for mismatch in result.mismatches]


def events(witness) -> list[str | None]:
    return [step.event for step in witness]


def assert_witnesses_replay(mapping: Mapping, results, k: int = 1) -> None:
    """Every witness is a real run of its system, and both sides have one entry per move."""
    pairing = build_pairing(mapping, k=k)
    for direction, result in results.items():
        simulated, simulating = ((pairing.scomo, pairing.tr069) if direction == SCOMO_BY_TR069
                                 else (pairing.tr069, pairing.scomo))
        for mismatch in result.mismatches:
            assert len(mismatch.simulated_witness) == len(mismatch.simulating_witness)
            assert mismatch.simulated_witness[-1].state == mismatch.simulated_state
            assert mismatch.simulating_witness[-1].state == mismatch.simulating_state
            replay(simulated, [*mismatch.simulated_witness,
                               *([mismatch.offending_step] if mismatch.offending_step else [])])
            replay(simulating, list(mismatch.simulating_path))


# --- hand-sized cases -----------------------------------------------------------------------

SIMULATION_STATES = {"Absent": ["Absent"], "Delivered": ["Installing", "Installed"],
                     "Installed": ["Installed"]}
SIMULATION_OPERATIONS = {"Download": ["Install"], "Install": ["Install"], "Remove": ["Uninstall"]}


def test_a_simulation_holds_and_the_converse_fails_where_scomo_cannot_refuse(tmp_path):
    # Download is an Install that runs to its end; Install is the refused re-Install of an
    # installed unit. TR-069 follows every SCOMO run. Backwards, the refused Install of an
    # installed unit must be a SCOMO Download or Install, and neither is enabled in Installed.
    mapping = write_mapping(tmp_path, PACKAGE, unit_machine(refuse_reinstall=True),
                            SIMULATION_STATES, SIMULATION_OPERATIONS)
    results = correspondences(mapping)
    forward, backward = results[SCOMO_BY_TR069], results[TR069_BY_SCOMO]
    assert forward.holds and forward.mismatches == []
    # (Absent, Absent), (Delivered, Installing), (Delivered, Installed), (Installed, Installed)
    assert (forward.game_pairs, forward.relation_size) == (4, 4)
    assert not backward.holds and backward.relation_size == 0
    # Only the refused Install fails by itself; the pairs before it are lost with it, each
    # reported at its first step (Uninstall comes before the refused Install in the machine).
    assert ids(backward) == [f"{TR069_BY_SCOMO}/unit.{trigger}"
                             for trigger in ("install_succeeded", "Uninstall", "Install")]
    refused = backward.mismatch(f"{TR069_BY_SCOMO}/unit.Install")
    assert refused.reason == "cannot-follow" and refused.depth == 3
    assert refused.label == "unit.Install [refused]"
    assert events(refused.simulated_witness) == [None, "unit.Install", "unit.install_succeeded",
                                                 "unit.Install [refused]"]
    assert events(refused.simulating_witness) == [None, "pkg.Download", NO_STEP, "pkg.Install"]
    assert refused.simulating_state == {"pkg": "Installed"}
    for trigger in ("install_succeeded", "Uninstall"):
        assert backward.mismatch(f"{TR069_BY_SCOMO}/unit.{trigger}").reason == "leads-to-mismatch"
    assert not is_bisimulation(results)
    assert_witnesses_replay(mapping, results)


def test_download_mapped_to_nothing_is_offending_at_the_initial_pair_and_the_game_resynchronises(tmp_path):
    mapping = write_mapping(tmp_path, PACKAGE, unit_machine(refuse_reinstall=True), SIMULATION_STATES,
                            {**SIMULATION_OPERATIONS, "Download": []})
    forward = correspondences(mapping)[SCOMO_BY_TR069]
    assert not forward.holds
    mismatch = forward.mismatches[0]
    assert (mismatch.id, mismatch.reason, mismatch.label, mismatch.instance, mismatch.trigger) == (
        f"{SCOMO_BY_TR069}/pkg.Download", "unmapped-operation", "pkg.Download", "pkg", "Download")
    assert mismatch.depth == 0 and len(mismatch.simulating_witness) == 1
    assert mismatch.offending_step.event == "pkg.Download"
    assert mismatch.offending_step.state == {"pkg": "Delivered"}
    # The game does not stop there: TR-069 is moved to the nearest state corresponding to
    # Delivered (Installing, by Install) and the game goes on from that pair, whose steps
    # lead back to the deleted initial pair (Remove), so nothing survives.
    assert forward.resynchronisations == (((1,), (0,), (1,)),)
    assert (forward.game_pairs, forward.relation_size) == (3, 0)
    later = forward.mismatch(f"{SCOMO_BY_TR069}/pkg.Install")
    assert later.reason == "leads-to-mismatch" and later.resynchronised == (1,)
    assert events(later.simulating_witness) == [None, "unit.Install"]
    assert forward.operations_in_mismatches == {"pkg.Download": True, "pkg.Install": True, "pkg.Remove": True}
    assert forward.exercised_states == ("pkg.Absent", "pkg.Delivered", "pkg.Installed")
    assert_witnesses_replay(mapping, correspondences(mapping))


def test_without_resynchronisation_target_the_game_ends_at_the_mismatch(tmp_path):
    # Delivered has no image at all: after the unmapped Download nothing corresponds ahead,
    # so no resynchronisation, and the initial pair is the whole game.
    mapping = write_mapping(tmp_path, PACKAGE, unit_machine(), {**SIMULATION_STATES, "Delivered": []},
                            {**SIMULATION_OPERATIONS, "Download": []})
    forward = correspondences(mapping)[SCOMO_BY_TR069]
    assert (forward.game_pairs, forward.relation_size, forward.resynchronisations) == (1, 0, ())
    assert ids(forward) == [f"{SCOMO_BY_TR069}/pkg.Download"]
    assert forward.mismatches[0].culprits == ("pkg=Delivered",)


def test_install_mapped_to_nothing_fails_one_move_later_with_merged_tr069_steps(tmp_path):
    # Delivered now shows only as an installed unit, so the Download move takes TR-069 through
    # Install and its completion: one merged entry, two steps in the step-by-step path.
    mapping = write_mapping(tmp_path, PACKAGE, unit_machine(),
                            {**SIMULATION_STATES, "Delivered": ["Installed"]},
                            {**SIMULATION_OPERATIONS, "Install": []})
    forward = correspondences(mapping)[SCOMO_BY_TR069]
    assert not forward.holds
    mismatch = forward.mismatch(f"{SCOMO_BY_TR069}/pkg.Install")
    assert mismatch.reason == "unmapped-operation" and mismatch.depth == 1
    assert events(mismatch.simulated_witness) == [None, "pkg.Download"]
    assert events(mismatch.simulating_witness) == [None, "unit.Install, unit.install_succeeded"]
    assert events(mismatch.simulating_path) == [None, "unit.Install", "unit.install_succeeded"]
    assert mismatch.simulated_state == {"pkg": "Delivered"}
    assert mismatch.simulating_state == {"unit": "Installed"}
    # The Download itself is matched; the pairs before the failing Install are lost with it.
    assert ids(forward)[:2] == [f"{SCOMO_BY_TR069}/pkg.Download", f"{SCOMO_BY_TR069}/pkg.Install"]
    assert forward.mismatches[0].reason == "leads-to-mismatch" and forward.mismatches[0].candidates == 1
    # After the Install, TR-069 already is in a state corresponding to Installed: the game
    # resynchronises without a step and goes on to Remove.
    remove = forward.mismatch(f"{SCOMO_BY_TR069}/pkg.Remove")
    assert remove.resynchronised == (2,) and events(remove.simulating_witness)[-1] == NO_STEP
    assert_witnesses_replay(mapping, correspondences(mapping))


BISIMULATION_STATES = {"Absent": ["Absent"], "Installing": ["Installing"], "Installed": ["Installed"]}
BISIMULATION_OPERATIONS = {"DownloadInstall": ["Install"], "Remove": ["Uninstall"]}


def test_a_bisimulation(tmp_path):
    mapping = write_mapping(tmp_path, BUNDLE, unit_machine(), BISIMULATION_STATES, BISIMULATION_OPERATIONS)
    results = correspondences(mapping)
    for result in results.values():
        assert result.holds and result.mismatches == []
        assert (result.game_pairs, result.relation_size) == (3, 3)
    assert is_bisimulation(results)
    operations, states = coverage(results)
    assert not any(operations.values()) and not any(states.values())


def test_an_autonomous_tr069_failure_scomo_cannot_follow(tmp_path):
    mapping = write_mapping(tmp_path, BUNDLE, unit_machine(crash=True), BISIMULATION_STATES,
                            BISIMULATION_OPERATIONS)
    results = correspondences(mapping)
    forward, backward = results[SCOMO_BY_TR069], results[TR069_BY_SCOMO]
    assert forward.holds and forward.mismatches == []
    assert not backward.holds and not is_bisimulation(results)
    crash = backward.mismatch(f"{TR069_BY_SCOMO}/unit.crashed")
    # The offending step is the silent TR-069 step; SCOMO has no silent way from Installed to Absent.
    assert crash.reason == "cannot-follow" and crash.candidates == 0
    assert crash.offending_step.event == "unit.crashed [failure]"
    assert events(crash.simulated_witness) == [None, "unit.Install", "unit.install_succeeded"]
    assert events(crash.simulating_witness) == [None, "pkg.DownloadInstall", "pkg.installed"]
    assert backward.states_in_mismatches["pkg.Installed"]
    assert_witnesses_replay(mapping, results)


def test_a_state_without_correspondent_is_reported_by_state(tmp_path):
    # The TR-069 unit's Installing is the image of nothing: following its Install backwards
    # reaches a TR-069 state no SCOMO state corresponds to.
    mapping = write_mapping(tmp_path, BUNDLE, unit_machine(),
                            {**BISIMULATION_STATES, "Installing": ["Installed"]}, BISIMULATION_OPERATIONS)
    backward = correspondences(mapping)[TR069_BY_SCOMO]
    assert ids(backward) == [f"{TR069_BY_SCOMO}/unit=Installing"]
    mismatch = backward.mismatches[0]
    assert (mismatch.reason, mismatch.label, mismatch.no_correspondent) == (
        "no-correspondent", "unit.Install", ("unit=Installing",))


def test_initial_pair_outside_r0(tmp_path):
    mapping = write_mapping(tmp_path, BUNDLE, unit_machine(), {**BISIMULATION_STATES, "Absent": []},
                            BISIMULATION_OPERATIONS)
    for result in correspondences(mapping).values():
        assert not result.holds and result.game_pairs == 0
        mismatch = result.mismatches[0]
        assert mismatch.reason == "initial" and mismatch.offending_step is None
    assert ids(correspondences(mapping)[SCOMO_BY_TR069]) == [f"{SCOMO_BY_TR069}/pkg=Absent"]
    assert ids(correspondences(mapping)[TR069_BY_SCOMO]) == [f"{TR069_BY_SCOMO}/unit=Absent"]


# --- the shipped mappings -------------------------------------------------------------------

@pytest.fixture(scope="module")
def gap_analysis() -> Mapping:
    return load_mapping(MAPPINGS / "gap-analysis-2012.yaml")


@pytest.fixture(scope="module")
def delivered_as_installed() -> Mapping:
    return load_mapping(MAPPINGS / "delivered-as-installed.yaml")


def test_instances_are_paired_by_position(gap_analysis):
    pairing = build_pairing(gap_analysis, k=2, n=2)
    names = [(pairing.scomo.instances[a].name, pairing.tr069.instances[b].name)
             for a, b in pair_instances(gap_analysis, pairing.scomo, pairing.tr069)]
    assert names == [("dp1", "du1"), ("dp2", "du2"), ("dp1.dc1", "du1.eu1"), ("dp1.dc2", "du1.eu2"),
                     ("dp2.dc1", "du2.eu1"), ("dp2.dc2", "du2.eu2")]


def test_r0_reads_the_when_condition(delivered_as_installed):
    # dc.Inactive corresponds to an Idle EU with AutoStart false, and to nothing else.
    pairing = build_pairing(delivered_as_installed)
    position = [(pairing.scomo.instances[a].name, pairing.tr069.instances[b].name)
                for a, b in pairing.instance_pairs].index(("dp1.dc1", "du1.eu1"))
    scomo_local = pairing.scomo.instances[pairing.instance_pairs[position][0]].local
    eu_local = pairing.tr069.instances[pairing.instance_pairs[position][1]].local
    for config in range(len(scomo_local.configs)):
        if scomo_local.state_of(config) != "Inactive":
            continue
        images = pairing.images[position][config]
        assert images == {c for c in range(len(eu_local.configs))
                          if eu_local.state_of(c) == "Idle" and eu_local.values_of(c)["AutoStart"] is False}
        assert images


def test_gap_analysis_scomo_by_tr069(gap_analysis):
    # Every SCOMO operation enabled in the initial state (Download, DownloadInstall,
    # DownloadInstallInactive) is mapped to nothing: each is a mismatch at the initial pair.
    # The game then resynchronises (a DownloadInstall is answered by du.Install) and finds
    # what the mapping makes of an install and a removal.
    results = correspondences(gap_analysis)
    result = results[SCOMO_BY_TR069]
    assert not result.holds and result.relation_size == 0
    assert ids(result)[:3] == [f"{SCOMO_BY_TR069}/dp1.{operation}"
                               for operation in ("Download", "DownloadInstall", "DownloadInstallInactive")]
    assert {mismatch.reason for mismatch in result.mismatches[:3]} == {"unmapped-operation"}
    assert all(mismatch.depth == 0 for mismatch in result.mismatches[:3])
    # The install completes with Active components; TR-069's Execution Units come up Idle.
    installed = result.mismatch(f"{SCOMO_BY_TR069}/dp1.install_succeeded")
    assert installed.reason == "cannot-follow" and installed.in_progress == "DownloadInstall"
    assert installed.culprits == ("dp1.dc1=Active",) and installed.resynchronised == (1,)
    assert events(installed.simulated_witness)[1] == "dp1.DownloadInstall"
    assert events(installed.simulating_witness)[1] == "du1.Install"
    # Removing the package keeps its components (SCOMO-DP-REMOVE-KEEPS-COMPONENTS); TR-069's
    # uninstall removes its Execution Units: no single instance is to blame, the two together are.
    removed = result.mismatch(f"{SCOMO_BY_TR069}/dp1.remove_succeeded")
    assert removed.reason == "cannot-follow" and removed.in_progress == "Remove" and removed.culprits == ()
    assert result.mismatch(f"{SCOMO_BY_TR069}/dp1.dc1.Remove").reason == "unmapped-operation"
    assert result.mismatch(f"{SCOMO_BY_TR069}/dp1=Delivered").reason == "no-correspondent"
    assert {"dp.Installed", "dc.Active", "dp.RemovingInstalled"} <= set(result.exercised_states)
    assert_witnesses_replay(gap_analysis, results)


def test_gap_analysis_tr069_by_scomo(gap_analysis):
    # du.Install's only one-operation counterpart is dp.Install, which needs a Delivered
    # package: at the initial pair nothing answers it. Resynchronised (SCOMO's DownloadInstall
    # reaches a corresponding state), the game finds that the Execution Units TR-069 installs
    # are Idle, which no SCOMO state maps to: nothing after a TR-069 install can be compared.
    results = correspondences(gap_analysis)
    result = results[TR069_BY_SCOMO]
    assert not result.holds
    install = result.mismatch(f"{TR069_BY_SCOMO}/du1.Install")
    assert (install.reason, install.depth, install.culprits) == ("cannot-follow", 0, ("du1=Installing", "du1.eu1=Absent"))
    idle = result.mismatch(f"{TR069_BY_SCOMO}/du1.eu1=Idle")
    assert idle.reason == "no-correspondent" and idle.in_progress == "Install" and idle.resynchronised == (1,)
    # A failed install completes the Install, not the Update refused meanwhile.
    failed = result.mismatch(f"{TR069_BY_SCOMO}/du1.install_failed")
    assert "du1.Update [refused]" in events(failed.simulated_witness) and failed.in_progress == "Install"
    for unpaired in ("ee.Disable", "ee.Reboot", "cds.ChangeDUState"):
        assert result.mismatch(f"{TR069_BY_SCOMO}/{unpaired}").reason == "unmapped-operation"
    assert result.operations_in_mismatches["dp.Install"]
    assert result.exercised_operations == ("dp.Install", "dp.Remove")
    assert_witnesses_replay(gap_analysis, results)


def test_inactive_as_idle_finds_what_scomo_cannot_follow_of_installed_units():
    # Once both sides can install and start units, the TR-069 behaviours SCOMO has no way to
    # follow show up: an Execution Unit failing by itself, an update, an autonomous install.
    mapping = load_mapping(MAPPINGS / "inactive-as-idle.yaml")
    results = correspondences(mapping)
    backward = results[TR069_BY_SCOMO]
    failed = backward.mismatch(f"{TR069_BY_SCOMO}/du1.eu1.failed_while_active")
    assert failed.reason == "cannot-follow" and failed.in_progress is None
    assert failed.simulated_state["du1.eu1"].startswith("Active")
    assert failed.culprits == ("du1.eu1=Idle",)
    assert backward.mismatch(f"{TR069_BY_SCOMO}/du1.Update").reason == "unmapped-operation"
    assert backward.mismatch(f"{TR069_BY_SCOMO}/du1.autonomous_install").depth == 0
    assert_witnesses_replay(mapping, results)


def test_delivered_as_installed_finds_the_autostart_lost_by_a_failed_stop(delivered_as_installed):
    results = correspondences(delivered_as_installed)
    forward, backward = results[SCOMO_BY_TR069], results[TR069_BY_SCOMO]
    assert not forward.holds and not backward.holds
    # A failed Deactivate leaves the SCOMO component Active, but the TR-069 side has already
    # cleared AutoStart, and dc.Active only corresponds to an Active EU with AutoStart true.
    stop = forward.mismatch(f"{SCOMO_BY_TR069}/dp1.dc1.deactivate_failed")
    assert stop.reason == "cannot-follow"
    eu = stop.simulating_state["du1.eu1"]
    assert eu.startswith("Stopping") and "AutoStart=false" in eu
    assert events(stop.simulated_witness)[-1] == "dp1.dc1.Deactivate"
    assert events(stop.simulating_witness)[-1] == "du1.eu1.ClearAutoStart, du1.eu1.RequestIdle"
    assert stop.in_progress == "Deactivate" and stop.culprits == ("dp1.dc1=Active",)
    # An uninstalled DU (before the device deletes it) is the image of no SCOMO state.
    assert f"{TR069_BY_SCOMO}/du1=Uninstalled" in ids(backward)
    assert_witnesses_replay(delivered_as_installed, results)


def test_results_are_deterministic(gap_analysis, delivered_as_installed):
    for mapping in (gap_analysis, delivered_as_installed):
        first, second = correspondences(mapping), correspondences(mapping)
        for direction in (SCOMO_BY_TR069, TR069_BY_SCOMO):
            assert first[direction].mismatches == second[direction].mismatches
            assert first[direction].relation == second[direction].relation
            assert first[direction].scomo_states == second[direction].scomo_states


def test_every_disagreeing_pair_of_the_game_gets_a_shortest_way_there():
    from checker.catalog import builtin_models_dir
    from checker.mapping import load_mapping
    from checker.simulation import correspondences

    mapping = load_mapping(builtin_models_dir() / "mappings" / "delivered-as-installed.yaml")
    for result in correspondences(mapping, k=1, n=1).values():
        assert len(result.disagreements) == result.game_pairs - result.relation_size
        depths = [item.depth for item in result.disagreements]
        assert depths == sorted(depths), "breadth-first order: shortest ways first"
        for item in result.disagreements:
            assert len(item.moves) == item.depth
            assert item.offending and item.mismatch in {mismatch.id for mismatch in result.mismatches}
