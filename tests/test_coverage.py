"""Coverage of a mapping: every state and operation of both sides gets a verdict and a rule."""

from __future__ import annotations

import json

import pytest

from checker import cli
from checker.catalog import builtin_models_dir
from checker.coverage import check_coverage
from checker.mapping import load_mapping

MAPPINGS = builtin_models_dir() / "mappings"


@pytest.fixture(scope="module")
def draft():
    return check_coverage(load_mapping(MAPPINGS / "gap-analysis-2012.yaml"), {"k": 1, "m": 1})


@pytest.fixture(scope="module")
def alternative():
    return check_coverage(load_mapping(MAPPINGS / "delivered-as-installed.yaml"), {"k": 1, "m": 1})


def verdicts_of(coverage):
    return {verdict.id: verdict for verdict in coverage.verdicts}


def test_every_state_and_operation_of_both_sides_gets_one_verdict(draft):
    ids = [verdict.id for verdict in draft.verdicts]
    assert len(ids) == len(set(ids))
    mapping = draft.mapping
    expected = []
    for side, composition in (("scomo", mapping.scomo), ("tr069", mapping.tr069)):
        for component in composition.components:  # paired or not
            machine = component.machine
            expected += [f"{side}:state:{component.name}.{state}" for state in machine.state_names]
            expected += [f"{side}:operation:{component.name}.{trigger}"
                         for trigger in dict.fromkeys(t.trigger for t in machine.transitions if t.kind == "operation")]
    assert ids == expected


def test_components_the_mapping_pairs_with_nothing_are_unpaired(draft):
    verdicts = verdicts_of(draft)
    for verdict_id in ("tr069:state:ee.Up", "tr069:operation:ee.Reboot", "tr069:operation:cds.ChangeDUState"):
        verdict = verdicts[verdict_id]
        assert (verdict.mappable, verdict.category) == (False, "unpaired")
        assert "paired with no SCOMO component" in verdict.rule
        assert verdict.witness, "a reachable element always has its witness"


def test_the_drafts_gaps_come_out_as_unmappable(draft):
    verdicts = verdicts_of(draft)
    assert verdicts["scomo:state:dp.Delivered"].category == "no-image"
    assert verdicts["scomo:state:dc.Inactive"].category == "no-image"
    for operation in ("Download", "DownloadInstall", "DownloadInstallInactive"):
        assert verdicts[f"scomo:operation:dp.{operation}"].category == "no-counterpart"
    # Install starts from Delivered only, which maps to nothing: its counterpart has nowhere to run.
    assert verdicts["scomo:operation:dp.Install"].category == "no-mapped-source"
    assert verdicts["scomo:operation:dc.Activate"].category == "no-mapped-source"
    assert verdicts["scomo:operation:dc.Deactivate"].mappable
    assert verdicts["tr069:state:du.Updating"].category == "no-preimage"
    assert verdicts["tr069:operation:eu.SetAutoStart"].category == "no-preimage"


def test_an_unmappable_reachable_state_carries_a_shortest_scomo_witness(draft):
    delivered = verdicts_of(draft)["scomo:state:dp.Delivered"]
    events = [step.event for step in delivered.witness]
    assert events == [None, "dp1.Download", "dp1.download_succeeded"]


def test_the_alternative_mapping_differs_where_it_should(draft, alternative):
    before, after = verdicts_of(draft), verdicts_of(alternative)
    assert not before["scomo:state:dp.Delivered"].mappable and after["scomo:state:dp.Delivered"].mappable
    assert not before["scomo:operation:dp.Download"].mappable and after["scomo:operation:dp.Download"].mappable
    assert before["tr069:operation:du.Update"].mappable and not after["tr069:operation:du.Update"].mappable


def test_an_image_no_behaviour_shows_is_reported_by_both_engines(tmp_path):
    mapping_text = (MAPPINGS / "gap-analysis-2012.yaml").read_text()
    # Map Delivered to an Execution Unit condition that cannot occur: AutoStart is never null in Idle.
    changed = mapping_text.replace("""  - scomo: dc.Inactive
    tr069: []""", """  - scomo: dc.Inactive
    tr069:
      - state: eu.Idle
        when: {AutoStart: null}""")
    assert changed != mapping_text
    for name in ("scomo-device.yaml", "tr069-device.yaml"):
        (tmp_path / name).write_text((builtin_models_dir() / name).read_text())
    for name in ("scomo-delivery-package.yaml", "scomo-deployment-component.yaml", "tr069-deployment-unit.yaml",
                 "tr069-execution-unit.yaml", "tr069-execution-environment.yaml", "tr069-change-du-state.yaml"):
        (tmp_path / name).write_text((builtin_models_dir() / name).read_text())
    (tmp_path / "mappings").mkdir()
    path = tmp_path / "mappings" / "changed.yaml"
    path.write_text(changed)

    coverage = check_coverage(load_mapping(path), {"k": 1, "m": 1})

    inactive = verdicts_of(coverage)["scomo:state:dc.Inactive"]
    assert inactive.category == "image-unreachable"
    assert inactive.established_by == ("explicit", "z3")
    # Activate now starts from a mapped state whose image never occurs: nothing to request in.
    assert verdicts_of(coverage)["scomo:operation:dc.Activate"].category == "counterpart-not-enabled"


def test_check_with_a_mapping_reports_every_verdict_keyed_by_id(tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["check", "--mapping", "gap-analysis-2012", "-k", "1", "-m", "1", "-o", str(out),
                     "--no-diagrams", str(builtin_models_dir() / "tr069-execution-environment.yaml")])
    stdout = capsys.readouterr().out

    assert code == 1
    assert "scomo state dp.Delivered: no-image" in stdout
    report = json.loads((out / "report.json").read_text())
    (mapping,) = report["mappings"]
    ids = [verdict["id"] for verdict in mapping["verdicts"]]
    assert "scomo:state:dp.Delivered" in ids and "tr069:operation:du.Uninstall" in ids
    assert report["summary"]["unmappable"] == mapping["unmappable"] > 0
    assert "## Mapping gap_analysis_2012" in (out / "report.md").read_text()


def test_an_unknown_mapping_file_is_invalid_input(tmp_path, capsys):
    code = cli.main(["check", "--mapping", str(tmp_path / "nothing.yaml"), "-o", str(tmp_path / "out")])
    assert code == 2
    assert "no such mapping file" in capsys.readouterr().err


def test_the_drafts_conclusions_are_each_checked_with_a_reason(draft):
    from checker.conclusions import DRAFT_CLAIMS, check_claims

    checked = {item.claim.id: item for item in check_claims(draft)}
    assert set(checked) == {claim.id for claim in DRAFT_CLAIMS}
    assert checked["delivered"].agrees
    # The draft maps swInstall to Install or Update but leaves Delivered, where it starts, unmapped.
    assert not checked["install"].agrees
    assert "no-mapped-source" in checked["install"].explanation
    assert not checked["activate"].agrees
    assert checked["deactivate"].agrees


def test_the_draft_section_appears_only_for_the_drafts_mapping(draft, alternative):
    from checker.report import _claims

    assert _claims(draft) and not _claims(alternative)


def test_draft_claims_cite_the_behavioural_mismatches_of_their_element():
    from checker.conclusions import check_claims
    from checker.coverage import add_behaviour

    coverage = add_behaviour(check_coverage(load_mapping(MAPPINGS / "gap-analysis-2012.yaml"), {"k": 1, "m": 1}), 1, 1)
    checked = {item.claim.id: item for item in check_claims(coverage)}

    assert checked["download-only"].mismatches == ("scomo-by-tr069/dp1.Download",)
    assert "scomo-by-tr069/dp1.Download" in checked["download-only"].explanation
    # Removing one component of an installed package has no TR-069 counterpart: a mismatch
    # at a pair where the package is Installed, although Installed itself maps.
    assert checked["installed"].agrees
    assert "scomo-by-tr069/dp1.dc1.Remove" in checked["installed"].mismatches


def test_check_without_arguments_includes_the_drafts_mapping_unless_told_not_to(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check", "--no-diagrams", "-o", "with"]) == 1
    with_mapping = json.loads((tmp_path / "with" / "report.json").read_text())
    assert [mapping["id"] for mapping in with_mapping["mappings"]] == ["gap_analysis_2012"]
    assert with_mapping["mappings"][0]["behaviour"]["established_by"] == ["explicit", "z3"]

    cli.main(["check", "--no-diagrams", "--no-mapping", "-o", "without"])
    capsys.readouterr()
    assert json.loads((tmp_path / "without" / "report.json").read_text())["mappings"] == []


def test_different_numbers_of_components_and_units_cannot_be_mapped(tmp_path, capsys):
    code = cli.main(["check", "--mapping", "gap-analysis-2012", "-k", "1", "-m", "2", "-o", str(tmp_path / "out")])
    assert code == 2
    assert "-k 1 and -m 2 differ" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_each_engine_alone_gives_the_same_coverage_verdicts(draft):
    mapping = load_mapping(MAPPINGS / "gap-analysis-2012.yaml")
    for engine in ("explicit", "z3"):
        alone = check_coverage(mapping, {"k": 1, "m": 1}, engine=engine)
        assert [(v.id, v.mappable, v.category) for v in alone.verdicts] == \
            [(v.id, v.mappable, v.category) for v in draft.verdicts]
        assert all(v.established_by in ((), (engine,)) for v in alone.verdicts)
