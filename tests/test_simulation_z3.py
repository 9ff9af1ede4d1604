"""The Z3 cross-check of the behavioural correspondence (checker.simulation_z3): Z3 agrees
with the explicit engine on hand-sized cases, generated mappings and the shipped mappings
(game, relation, largest relation, mismatches, disagreements), and finds the fault when the
relation, the game, the order of deletion, the disagreements or the mismatches are tampered
with."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_simulation import (
    BISIMULATION_OPERATIONS,
    BISIMULATION_STATES,
    BUNDLE,
    MAPPINGS,
    PACKAGE,
    SIMULATION_OPERATIONS,
    SIMULATION_STATES,
    unit_machine,
    write_mapping,
)

from checker.errors import SolverUnknown
from checker.mapping import load_mapping
from checker.simulation import DIRECTIONS, SCOMO_BY_TR069, TR069_BY_SCOMO, build_pairing, correspondences
from checker.simulation_z3 import ENGINE, check_simulation_with_z3


def assert_agrees(mapping, results, k: int = 1) -> None:
    for direction in DIRECTIONS:
        result = results[direction]
        # The explicit engine's own bookkeeping: the deleted pairs are the game outside R, and
        # each of them is one disagreement.
        assert result.game_pairs == len(result.game) and result.relation <= result.game
        assert len(set(result.deletion_order)) == len(result.deletion_order)
        assert set(result.deletion_order) == result.game - result.relation
        assert len(result.disagreements) == len(result.game - result.relation)
        check = check_simulation_with_z3(mapping, direction, result, k=k, n=1)
        assert check.direction == direction and check.engine == ENGINE
        assert check.relation_is_simulation, check.offending
        assert check.relation_in_r0 and check.holds_agrees
        assert check.game_agrees and check.game_pairs == result.game_pairs, check.discrepancies
        assert check.relation_is_largest and check.disagreements_agree, check.discrepancies
        assert check.discrepancies == []
        assert check.confirmed_mismatches == [mismatch.id for mismatch in result.mismatches]
        assert check.unconfirmed_mismatches == []
        assert check.agrees and check.reason is None and check.failures() == []


def faults(check) -> set[str]:
    """The kinds of fault Z3 found, from ``discrepancies`` ("kind: (s | t)")."""
    return {text.split(":")[0] for text in check.discrepancies}


# --- hand-sized cases -----------------------------------------------------------------------

HAND_CASES = {
    "simulation-one-way": (PACKAGE, {"refuse_reinstall": True}, SIMULATION_STATES, SIMULATION_OPERATIONS),
    "download-to-nothing": (PACKAGE, {"refuse_reinstall": True}, SIMULATION_STATES,
                            {**SIMULATION_OPERATIONS, "Download": []}),
    "install-to-nothing": (PACKAGE, {}, {**SIMULATION_STATES, "Delivered": ["Installed"]},
                           {**SIMULATION_OPERATIONS, "Install": []}),
    "bisimulation": (BUNDLE, {}, BISIMULATION_STATES, BISIMULATION_OPERATIONS),
    "crash": (BUNDLE, {"crash": True}, BISIMULATION_STATES, BISIMULATION_OPERATIONS),
    "no-correspondent": (BUNDLE, {}, {**BISIMULATION_STATES, "Installing": ["Installed"]},
                         BISIMULATION_OPERATIONS),
    "initial-outside-r0": (BUNDLE, {}, {**BISIMULATION_STATES, "Absent": []}, BISIMULATION_OPERATIONS),
    # Backwards the direction holds, yet one of the four pairs of the game is deleted, with a
    # mismatch of its own; forwards every pair is deleted, in a chain.
    "partly-related": (PACKAGE, {}, {"Absent": ["Absent"], "Delivered": ["Absent", "Installed", "Installing"],
                                     "Installed": ["Absent", "Installed"]},
                       {"Download": ["Install"], "Install": ["Uninstall"], "Remove": ["Uninstall"]}),
}


def hand_mapping(tmp_path, case: str):
    scomo, unit_options, states, operations = HAND_CASES[case]
    return write_mapping(tmp_path, scomo, unit_machine(**unit_options), states, operations)


@pytest.mark.parametrize("case", sorted(HAND_CASES))
def test_z3_agrees_on_hand_sized_cases(tmp_path, case):
    mapping = hand_mapping(tmp_path, case)
    assert_agrees(mapping, correspondences(mapping))


def test_removing_a_pair_needed_for_matching_leaves_an_offending_step(tmp_path):
    # (Absent, Absent), (Delivered, Installing), (Delivered, Installed), (Installed, Installed):
    # without the last pair, Install from (Delivered, Installed) has nowhere to go.
    mapping = hand_mapping(tmp_path, "simulation-one-way")
    forward = correspondences(mapping)[SCOMO_BY_TR069]
    assert forward.holds and forward.relation_size == 4
    pairing = build_pairing(mapping)
    installed = next(pair for pair in forward.relation
                     if pairing.scomo.state_name(pair[0]) == "pkg=Installed")
    tampered = dataclasses.replace(forward, relation=forward.relation - {installed})
    check = check_simulation_with_z3(mapping, SCOMO_BY_TR069, tampered)
    assert not check.relation_is_simulation and not check.agrees
    assert any(text.startswith("pkg.Install from (pkg=Delivered | unit=Installed)") for text in check.offending)
    assert check.holds_agrees  # the initial pair is still there


def test_adding_a_pair_with_an_unmatched_step_is_found(tmp_path):
    # Backwards, the refused Install of an installed unit cannot be matched by SCOMO.
    mapping = hand_mapping(tmp_path, "simulation-one-way")
    backward = correspondences(mapping)[TR069_BY_SCOMO]
    assert not backward.holds and backward.relation == frozenset()
    pairing = build_pairing(mapping)
    unit_installed = next(c for c in range(3) if pairing.tr069.instances[0].local.state_of(c) == "Installed")
    pkg_installed = next(c for c in range(3) if pairing.scomo.instances[0].local.state_of(c) == "Installed")
    tampered = dataclasses.replace(backward, relation=frozenset({((unit_installed,), (pkg_installed,))}))
    check = check_simulation_with_z3(mapping, TR069_BY_SCOMO, tampered)
    assert not check.relation_is_simulation
    assert any(text.startswith("unit.Install from (unit=Installed | pkg=Installed)") for text in check.offending)


def test_a_pair_outside_r0_and_a_wrong_verdict_are_found(tmp_path):
    mapping = hand_mapping(tmp_path, "bisimulation")
    forward = correspondences(mapping)[SCOMO_BY_TR069]
    pairing = build_pairing(mapping)
    absent = pairing.scomo.initial
    installed = next((c,) for c in range(3) if pairing.tr069.instances[0].local.state_of(c) == "Installed")
    check = check_simulation_with_z3(mapping, SCOMO_BY_TR069,
                                     dataclasses.replace(forward, relation=forward.relation | {(absent, installed)}))
    assert not check.relation_in_r0
    check = check_simulation_with_z3(mapping, SCOMO_BY_TR069, dataclasses.replace(forward, holds=False))
    assert not check.holds_agrees and not check.agrees


# --- the shipped mappings -------------------------------------------------------------------

@pytest.fixture(scope="module", params=["gap-analysis-2012.yaml", "delivered-as-installed.yaml"])
def shipped(request):
    mapping = load_mapping(MAPPINGS / request.param)
    return mapping, correspondences(mapping)


def test_z3_agrees_on_the_shipped_mappings(shipped):
    mapping, results = shipped
    assert_agrees(mapping, results)


def test_adding_the_initial_pair_to_a_shipped_relation_is_found(shipped):
    # Neither direction holds on a shipped mapping: with the initial pair put back, Z3 finds
    # a step from it that cannot be matched inside the relation.
    mapping, results = shipped
    pairing = build_pairing(mapping)
    for direction in DIRECTIONS:
        result = results[direction]
        simulated, simulating = ((pairing.scomo, pairing.tr069) if direction == SCOMO_BY_TR069
                                 else (pairing.tr069, pairing.scomo))
        initial = (simulated.initial, simulating.initial)
        tampered = dataclasses.replace(result, relation=result.relation | {initial}, holds=True)
        check = check_simulation_with_z3(mapping, direction, tampered)
        assert not check.relation_is_simulation and check.offending
        assert check.holds_agrees


def test_a_tampered_mismatch_is_not_confirmed(shipped):
    mapping, results = shipped
    for direction in DIRECTIONS:
        result = results[direction]
        first = result.mismatches[0]
        # A root cause claimed to have had candidates (or the converse) is refuted.
        other = "leads-to-mismatch" if first.reason != "leads-to-mismatch" else "cannot-follow"
        tampered = dataclasses.replace(result, mismatches=[dataclasses.replace(first, reason=other),
                                                           *result.mismatches[1:]])
        check = check_simulation_with_z3(mapping, direction, tampered)
        assert check.unconfirmed_mismatches == [first.id]
        assert check.confirmed_mismatches == [mismatch.id for mismatch in result.mismatches[1:]]


def test_z3_agrees_on_delivered_as_installed_with_two_children():
    mapping = load_mapping(MAPPINGS / "delivered-as-installed.yaml")
    assert_agrees(mapping, correspondences(mapping, k=2), k=2)


# --- the game and the order of deletion, tampered with ---------------------------------------

@pytest.fixture(scope="module")
def chained():
    """delivered-as-installed, scomo-by-tr069 at k = n = 1: nothing is related, and some pairs
    are deleted only because the candidates of one of their steps were."""
    mapping = load_mapping(MAPPINGS / "delivered-as-installed.yaml")
    result = correspondences(mapping)[SCOMO_BY_TR069]
    assert result.relation == frozenset() and len(result.deletion_order) == result.game_pairs
    assert any(mismatch.reason == "leads-to-mismatch" for mismatch in result.mismatches)
    return mapping, result


def pair_text(mapping, direction, pair) -> str:
    pairing = build_pairing(mapping)
    simulated, simulating = ((pairing.scomo, pairing.tr069) if direction == SCOMO_BY_TR069
                             else (pairing.tr069, pairing.scomo))
    return f"({simulated.state_name(pair[0])} | {simulating.state_name(pair[1])})"


def test_a_pair_missing_from_the_explicit_game_is_found(chained):
    mapping, result = chained
    dropped = result.deletion_order[-1]
    tampered = dataclasses.replace(result, game=result.game - {dropped}, game_pairs=result.game_pairs - 1)
    check = check_simulation_with_z3(mapping, SCOMO_BY_TR069, tampered)
    assert not check.game_agrees and not check.agrees
    assert f"game-not-explicit: {pair_text(mapping, SCOMO_BY_TR069, dropped)}" in check.discrepancies
    assert check.relation_is_largest  # the deletions are still those of Z3's game


def test_a_bogus_pair_in_the_explicit_game_is_found(tmp_path):
    # The bisimulation's game has three pairs; (Installed, Absent) corresponds under no image.
    mapping = hand_mapping(tmp_path, "bisimulation")
    result = correspondences(mapping)[SCOMO_BY_TR069]
    pairing = build_pairing(mapping)
    installed = next((c,) for c in range(3) if pairing.scomo.instances[0].local.state_of(c) == "Installed")
    bogus = (installed, pairing.tr069.initial)
    assert bogus not in result.game
    tampered = dataclasses.replace(result, game=result.game | {bogus}, game_pairs=result.game_pairs + 1)
    check = check_simulation_with_z3(mapping, SCOMO_BY_TR069, tampered)
    assert not check.game_agrees and not check.agrees
    assert faults(check) == {"explicit-not-game"}
    assert check.relation_is_simulation and check.relation_is_largest


def test_a_deletion_before_its_candidates_is_unjustified(chained):
    # The last pair deleted was deleted because the last candidate of one of its steps was;
    # moved to the front of the order, every one of its steps keeps a later candidate.
    mapping, result = chained
    order = result.deletion_order
    tampered = dataclasses.replace(result, deletion_order=(order[-1], *order[:-1]))
    check = check_simulation_with_z3(mapping, SCOMO_BY_TR069, tampered)
    assert not check.relation_is_largest and not check.agrees
    assert check.discrepancies == [f"unjustified: {pair_text(mapping, SCOMO_BY_TR069, order[-1])}"]
    assert check.game_agrees and check.relation_is_simulation and check.disagreements_agree


def test_root_causes_may_be_deleted_in_any_order(shipped):
    # tr069-by-scomo deletes only pairs with a step that has no candidate at all: each such
    # deletion is justified whatever the order, reversed included.
    mapping, results = shipped
    result = results[TR069_BY_SCOMO]
    assert all(mismatch.reason != "leads-to-mismatch" for mismatch in result.mismatches)
    tampered = dataclasses.replace(result, deletion_order=result.deletion_order[::-1])
    check = check_simulation_with_z3(mapping, TR069_BY_SCOMO, tampered)
    assert check.relation_is_largest and check.agrees


def test_a_deleted_pair_put_back_into_the_relation_is_found(chained):
    mapping, result = chained
    pair = result.deletion_order[-1]
    check = check_simulation_with_z3(mapping, SCOMO_BY_TR069,
                                     dataclasses.replace(result, relation=result.relation | {pair}))
    assert not check.relation_is_largest and not check.agrees
    assert f"deleted-in-relation: {pair_text(mapping, SCOMO_BY_TR069, pair)}" in check.discrepancies


def test_a_game_pair_neither_related_nor_deleted_is_found(chained):
    mapping, result = chained
    check = check_simulation_with_z3(mapping, SCOMO_BY_TR069,
                                     dataclasses.replace(result, deletion_order=result.deletion_order[:-1]))
    assert not check.relation_is_largest and not check.agrees
    assert faults(check) == {"outside-not-deleted"}


def test_a_missing_disagreement_is_found(chained):
    mapping, result = chained
    check = check_simulation_with_z3(mapping, SCOMO_BY_TR069,
                                     dataclasses.replace(result, disagreements=result.disagreements[:-1]))
    assert not check.disagreements_agree and not check.agrees
    assert faults(check) == {"outside-not-disagreement"}
    assert check.game_agrees and check.relation_is_largest


def test_the_report_shows_what_z3_confirmed():
    from checker.coverage import add_behaviour, check_coverage
    from checker.report import _behaviour

    mapping = load_mapping(MAPPINGS / "delivered-as-installed.yaml")
    coverage = add_behaviour(check_coverage(mapping, {"k": 1, "m": 1}), 1, 1)
    behaviour = _behaviour(coverage)
    assert behaviour["established_by"] == ["explicit", "z3"]
    for entry in behaviour["directions"]:
        z3_entry = entry["z3"]
        assert z3_entry["engine"] == ENGINE and z3_entry["game_pairs"] == entry["game_pairs"]
        assert all(z3_entry[key] for key in ("game_agrees", "relation_is_simulation", "relation_in_r0",
                                              "relation_is_largest", "holds_agrees", "disagreements_agree"))
        assert z3_entry["confirmed_mismatches"] == [mismatch["id"] for mismatch in entry["mismatches"]]
        assert "seconds" not in z3_entry  # the report stays byte-for-byte reproducible


def test_a_disagreement_of_the_engines_stops_the_mapping_analysis(monkeypatch):
    # add_behaviour raises InternalError (exit code 4) when Z3 does not certify the order.
    import checker.simulation
    from checker.coverage import add_behaviour, check_coverage
    from checker.errors import ExitCode, InternalError

    compute = checker.simulation.simulation

    def tampered(mapping, direction=SCOMO_BY_TR069, **kwargs):
        result = compute(mapping, direction, **kwargs)
        if direction != SCOMO_BY_TR069:
            return result
        order = result.deletion_order
        return dataclasses.replace(result, deletion_order=(order[-1], *order[:-1]))

    monkeypatch.setattr(checker.simulation, "simulation", tampered)
    mapping = load_mapping(MAPPINGS / "delivered-as-installed.yaml")
    with pytest.raises(InternalError, match="not certified the largest simulation.*unjustified") as raised:
        add_behaviour(check_coverage(mapping, {"k": 1, "m": 1}), 1, 1)
    assert raised.value.exit_code == ExitCode.INTERNAL_ERROR


# --- generated mappings ----------------------------------------------------------------------

PACKAGE_STATES = ("Absent", "Delivered", "Installed")
PACKAGE_OPERATIONS = ("Download", "Install", "Remove")
UNIT_STATES = ("Absent", "Installing", "Installed")
UNIT_OPERATIONS = ("Install", "Uninstall")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states=st.fixed_dictionaries({
           "Absent": st.just(["Absent"]),
           **{state: st.lists(st.sampled_from(UNIT_STATES), min_size=1, max_size=3, unique=True)
              for state in PACKAGE_STATES[1:]}}),
       operations=st.fixed_dictionaries({operation: st.lists(st.sampled_from(UNIT_OPERATIONS), min_size=1, max_size=2)
                                         for operation in PACKAGE_OPERATIONS}),
       refuse_reinstall=st.booleans(), crash=st.booleans())
def test_z3_agrees_on_generated_mappings(states, operations, refuse_reinstall, crash):
    # Random images and operation sequences between PACKAGE and the unit: every claim of the
    # explicit engine, the game and the largest relation included, is confirmed by Z3. The
    # initial pairs correspond, so that games go beyond it (about a quarter of the directions
    # then delete pairs only because their candidates were deleted).
    with tempfile.TemporaryDirectory() as directory:
        mapping = write_mapping(Path(directory), PACKAGE, unit_machine(refuse_reinstall, crash), states, operations)
        assert_agrees(mapping, correspondences(mapping))


def test_a_timeout_is_reported_as_unknown():
    mapping = load_mapping(MAPPINGS / "delivered-as-installed.yaml")
    result = correspondences(mapping)[SCOMO_BY_TR069]
    with pytest.raises(SolverUnknown, match="timeout"):
        check_simulation_with_z3(mapping, SCOMO_BY_TR069, result, timeout=0.001)
