"""Every unmappable state and operation comes with a replayed witness, side by side; what the
behaviour says is attributed to the element it is about; the draft's conclusions, checked
with the behaviour; and Z3 refuses a resynchronisation that is not one."""

from __future__ import annotations

import dataclasses
import json

import pytest

from checker import cli
from checker.catalog import builtin_models_dir
from checker.conclusions import check_claims
from checker.coverage import add_behaviour, check_coverage
from checker.executable import replay
from checker.mapping import load_mapping
from checker.simulation import SCOMO_BY_TR069, TR069_BY_SCOMO, FollowedWitness, Mismatch, build_pairing, simulation
from checker.simulation_z3 import check_simulation_with_z3

MAPPINGS = builtin_models_dir() / "mappings"


@pytest.fixture(scope="module")
def draft():
    mapping = load_mapping(MAPPINGS / "gap-analysis-2012.yaml")
    return add_behaviour(check_coverage(mapping, {"k": 1, "m": 1}), 1, 1)


@pytest.fixture(scope="module")
def alternative():
    mapping = load_mapping(MAPPINGS / "delivered-as-installed.yaml")
    return add_behaviour(check_coverage(mapping, {"k": 1, "m": 1}), 1, 1)


def verdicts_of(coverage):
    return {verdict.id: verdict for verdict in coverage.verdicts}


def first_instance(system, component):
    return next(instance.name for instance in system.instances if instance.component == component)


def test_every_unmappable_element_has_its_own_witness_and_one_side_by_side(draft):
    systems = {"scomo": draft.scomo.system, "tr069": draft.tr069.system}
    unmappable = draft.unmappable
    assert unmappable
    for verdict in unmappable:
        system = systems[verdict.side]
        assert verdict.witness, verdict.id
        replay(system, list(verdict.witness))
        last = verdict.witness[-1]
        instance = first_instance(system, verdict.component)
        if verdict.what == "state":
            assert last.state[instance].split(" ")[0] == verdict.name, verdict.id
        else:
            assert last.event == f"{instance}.{verdict.name}", verdict.id  # taken where it is accepted
        shown = verdict.side_by_side
        assert isinstance(shown, (Mismatch, FollowedWitness)), verdict.id
        assert len(shown.simulated_witness) == len(shown.simulating_witness)
        simulated, following = ((systems["scomo"], systems["tr069"]) if shown.direction == SCOMO_BY_TR069
                                else (systems["tr069"], systems["scomo"]))
        replay(simulated, list(shown.simulated_witness))
        replay(following, list(shown.simulating_path))
        # A behaviour mismatch is shown by its mismatch, the rest by their own witness followed.
        assert isinstance(shown, Mismatch) == (verdict.category == "behaviour-mismatch"), verdict.id


def test_a_followed_witness_says_which_moves_the_other_side_cannot_answer(draft):
    delivered = verdicts_of(draft)["scomo:state:dp.Delivered"].side_by_side
    assert [step.event for step in delivered.simulated_witness] == [None, "dp1.Download", "dp1.download_succeeded"]
    # A download alone has no counterpart and no state of TR-069 corresponds to Downloading
    # or Delivered: TR-069 cannot answer either move and stays where it is.
    assert delivered.unanswered == (1, 2) and delivered.resynchronised == ()
    assert delivered.simulating_witness[-1].state["du1"].startswith("Absent")
    assert "no-image" in delivered.conclusion


def test_an_operation_is_witnessed_where_it_is_accepted_not_refused(draft):
    activate = verdicts_of(draft)["scomo:operation:dc.Activate"]
    assert activate.witness[-1].event == "dp1.dc1.Activate"
    assert activate.witness[-2].state["dp1.dc1"].startswith("Inactive")
    assert "only where dc is Inactive" in activate.rule


def test_a_completion_that_cannot_be_followed_is_about_the_operation_it_completes(draft):
    remove = verdicts_of(draft)["scomo:operation:dp.Remove"]
    # The removal of an installed package keeps its components on SCOMO, and TR-069's
    # uninstall removes the units: the completion is remove_succeeded, the operation Remove.
    assert remove.category == "behaviour-mismatch" and not remove.mappable
    assert remove.mismatches == (f"{SCOMO_BY_TR069}/dp1.remove_succeeded",)
    assert remove.side_by_side.id == f"{SCOMO_BY_TR069}/dp1.remove_succeeded"
    assert remove.side_by_side.in_progress == "Remove"


def test_an_autonomous_step_is_about_the_state_it_leaves(draft):
    absent = verdicts_of(draft)["tr069:state:du.Absent"]
    # TR-069 can install a Deployment Unit by itself from Absent; SCOMO has no silent way out.
    assert absent.category == "behaviour-mismatch"
    assert f"{TR069_BY_SCOMO}/du1.autonomous_install" in absent.mismatches


def test_the_alternative_pays_for_mapping_delivered_in_behaviour(draft, alternative):
    before, after = verdicts_of(draft), verdicts_of(alternative)
    # By coverage alone Delivered and Download map under the alternative...
    assert after["scomo:state:dp.Delivered"].mappable and not before["scomo:state:dp.Delivered"].mappable
    # ...but the Install that answers a Download creates the Execution Units, which a
    # delivered package does not have: its completion cannot be followed.
    download = after["scomo:operation:dp.Download"]
    assert download.category == "behaviour-mismatch" and before["scomo:operation:dp.Download"].category == "no-counterpart"
    assert f"{SCOMO_BY_TR069}/dp1.download_succeeded" in download.mismatches


def test_the_drafts_extra_states_are_more_than_delivered_and_inactive(draft):
    checked = {item.claim.id: item for item in check_claims(draft)}
    extra = checked["extra-states"]
    assert not extra.agrees
    assert set(extra.members) == {f"scomo:state:{name}" for name in (
        "dp.Downloading", "dp.Delivered", "dp.RemovingDelivered", "dc.Inactive", "dc.RemovingInactive",
        "dc.RemovingActive")}
    assert "RemovingInactive" in extra.explanation and "rationale" in extra.explanation


def test_the_drafts_equivalence_of_install_and_download_install_is_checked_in_behaviour(draft):
    checked = {item.claim.id: item for item in check_claims(draft)}
    equivalence = checked["install-is-download-install"]
    # After a DownloadInstall, TR-069 gets to a corresponding state by du.Install alone, as
    # the summary says; but SCOMO's install ends with Active components, TR-069's with Idle units.
    assert "by du.Install alone" in equivalence.explanation
    assert not equivalence.agrees
    assert f"{SCOMO_BY_TR069}/dp1.install_succeeded" in equivalence.mismatches
    assert "dp1.dc1=Active" in equivalence.explanation
    assert checked["install-inactive"].agrees


def test_a_disagreement_is_explained_with_the_assumptions_of_the_step(draft):
    checked = {item.claim.id: item for item in check_claims(draft)}
    remove = checked["remove"]
    assert not remove.agrees
    assert "SCOMO-DP-REMOVE-KEEPS-COMPONENTS" in remove.explanation


def test_z3_refuses_a_resynchronisation_to_a_state_that_does_not_correspond():
    mapping = load_mapping(MAPPINGS / "gap-analysis-2012.yaml")
    pairing = build_pairing(mapping, k=1)
    result = simulation(mapping, SCOMO_BY_TR069, pairing=pairing)
    assert result.resynchronisations
    target, partner, reached = result.resynchronisations[0]
    # The initial TR-069 state corresponds to no target of a resynchronisation here.
    wrong = ((target, partner, partner), *result.resynchronisations[1:])
    check = check_simulation_with_z3(mapping, SCOMO_BY_TR069, dataclasses.replace(result, resynchronisations=wrong), k=1)
    assert not check.resynchronisations_valid and not check.agrees
    assert any(text.startswith("resynchronised-outside-r0") for text in check.discrepancies)


def test_z3_refuses_a_resynchronisation_path_that_skips_a_step():
    mapping = load_mapping(MAPPINGS / "gap-analysis-2012.yaml")
    result = simulation(mapping, SCOMO_BY_TR069, pairing=build_pairing(mapping, k=1))
    longest = max(range(len(result.resynchronisation_paths)), key=lambda i: len(result.resynchronisation_paths[i]))
    path = result.resynchronisation_paths[longest]
    assert len(path) >= 3, "a resynchronisation of two steps or more"
    paths = list(result.resynchronisation_paths)
    paths[longest] = (path[0], *path[2:])
    check = check_simulation_with_z3(mapping, SCOMO_BY_TR069,
                                     dataclasses.replace(result, resynchronisation_paths=tuple(paths)), k=1)
    assert not check.resynchronisations_valid
    untampered = check_simulation_with_z3(mapping, SCOMO_BY_TR069, result, k=1)
    assert untampered.agrees and untampered.resynchronisations_valid


def test_the_report_shows_each_unmappable_element_side_by_side(tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["check", "--mapping", "gap-analysis-2012", "-k", "1", "-m", "1", "-o", str(out), "--no-diagrams",
                     str(builtin_models_dir() / "tr069-execution-environment.yaml")])
    capsys.readouterr()
    assert code == 1
    report = json.loads((out / "report.json").read_text())
    (mapping,) = report["mappings"]
    for verdict in mapping["verdicts"]:
        assert (verdict["side_by_side"] is not None) == (not verdict["mappable"] and verdict["witness"] is not None)
    delivered = next(v for v in mapping["verdicts"] if v["id"] == "scomo:state:dp.Delivered")
    assert delivered["side_by_side"]["unanswered_moves"] == [1, 2]
    markdown = (out / "report.md").read_text()
    assert "### Witnesses of what cannot be mapped" in markdown
    assert "cannot answer; resynchronised by `du1.Install`" in markdown
    assert "cannot answer; no corresponding state is reachable" in markdown


def test_beyond_the_explicit_limit_the_behaviour_is_reported_as_not_analysed(monkeypatch):
    # The game needs every reachable state of the following side. Where the explicit engine
    # stops at its limit, the verdicts keep their own (replayed) witnesses and the report
    # says that the behaviour was not analysed, rather than failing or pretending.
    import dataclasses as dc

    import checker.simulation
    from checker.errors import InputError, Problem
    from checker.report import _behaviour, render_summary

    def over_the_limit(system, **_):
        raise InputError(Problem(file=system.composition.file, line=0, rule="state-limit",
                                 message=f"{system.name} has more than 10 reachable states"))

    mapping = load_mapping(MAPPINGS / "gap-analysis-2012.yaml")
    coverage = check_coverage(mapping, {"k": 1, "m": 1})
    coverage = dc.replace(coverage, tr069=dc.replace(coverage.tr069, exploration=None))
    monkeypatch.setattr(checker.simulation, "explore", over_the_limit)
    coverage = add_behaviour(coverage, 1, 1)
    assert coverage.behaviour == {} and "more than 10 reachable states" in coverage.behaviour_skipped
    assert all(verdict.side_by_side is None for verdict in coverage.verdicts)
    assert _behaviour(coverage) == {"skipped": coverage.behaviour_skipped}
    assert "behaviour not analysed" in render_summary([], [coverage])
