"""The Z3 cross-check of the behavioural correspondence (checker.simulation_z3): Z3 agrees
with the explicit engine on hand-sized cases and the shipped mappings, and finds offending
steps when the relation or the mismatches are tampered with."""

from __future__ import annotations

import dataclasses

import pytest
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
        check = check_simulation_with_z3(mapping, direction, result, k=k, n=1)
        assert check.direction == direction and check.engine == ENGINE
        assert check.relation_is_simulation, check.offending
        assert check.relation_in_r0 and check.holds_agrees
        assert check.confirmed_mismatches == [mismatch.id for mismatch in result.mismatches]
        assert check.unconfirmed_mismatches == []
        assert check.agrees and check.reason is None


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


def test_a_timeout_is_reported_as_unknown():
    mapping = load_mapping(MAPPINGS / "delivered-as-installed.yaml")
    result = correspondences(mapping)[SCOMO_BY_TR069]
    with pytest.raises(SolverUnknown, match="timeout"):
        check_simulation_with_z3(mapping, SCOMO_BY_TR069, result, timeout=0.001)
