"""Loading and validating mapping files: the shipped mappings load with the entries they are
meant to have, unmapped names are listed, every rule of docs/mapping-format.md is enforced with
file:line, rule, offending name and closest valid name, and the JSON Schema allows exactly the
keys the loader accepts."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from checker import mapping as mapping_module
from checker.catalog import builtin_models_dir
from checker.errors import InputError, Problem
from checker.mapping import Mapping, StateImage, load_mapping
from test_schema import at, object_properties, property_nodes, resolve

MODELS = builtin_models_dir()
MAPPINGS = MODELS / "mappings"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "mapping.schema.json"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "mapping-format.md"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(InputError) as raised:
        load_mapping(path)
    return raised.value.problems


def summary(problems: list[Problem]) -> list[tuple]:
    """(line, rule, name, suggestion) of each problem, in report order."""
    return [(problem.line, problem.rule, problem.name, problem.suggestion) for problem in problems]


# Lines 1-6 of every test mapping; the sections a test adds start on line 7.
HEADER = f"""\
mapping: m
scomo: {MODELS}/scomo-device.yaml
tr069: {MODELS}/tr069-device.yaml
machines:
  - {{scomo: dp, tr069: du, rationale: r}}
  - {{scomo: dc, tr069: eu, rationale: r}}
"""


def mapping_file(tmp_path: Path, body: str = "", header: str = HEADER) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(header + textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def gap_analysis() -> Mapping:
    return load_mapping(MAPPINGS / "gap-analysis-2012.yaml")


@pytest.fixture(scope="module")
def delivered_as_installed() -> Mapping:
    return load_mapping(MAPPINGS / "delivered-as-installed.yaml")


def images(entry) -> list[str]:
    return [f"{image.component}.{image.state}" for image in entry.images]


def sequences(entry) -> list[list[str]]:
    return [[f"{component}.{trigger}" for component, trigger in sequence] for sequence in entry.alternatives]


# --- the shipped mappings -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["gap-analysis-2012.yaml", "delivered-as-installed.yaml", "inactive-as-idle.yaml"])
def test_shipped_mapping_loads_complete_with_builtin_display_names(name):
    mapping = load_mapping(MAPPINGS / name)
    assert mapping.file == f"models/mappings/{name}"
    assert (mapping.scomo.file, mapping.tr069.file) == ("models/scomo-device.yaml", "models/tr069-device.yaml")
    assert [(pair.scomo, pair.tr069) for pair in mapping.machines] == [("dp", "du"), ("dc", "eu")]
    assert mapping.unmapped_states() == [] and mapping.unmapped_operations() == []
    assert all(entry.rationale for entry in (*mapping.machines, *mapping.states, *mapping.operations))


GAP_ANALYSIS_STATES = {
    "dp.Absent": ["du.Absent"],
    "dp.Downloading": [],
    "dp.Delivered": [],
    "dp.DownloadInstallingActive": ["du.Installing"],
    "dp.DownloadInstallingInactive": ["du.Installing"],
    "dp.InstallingDownloadedActive": ["du.Installing"],
    "dp.InstallingDownloadedInactive": ["du.Installing"],
    "dp.InstallingActive": ["du.Installing"],
    "dp.InstallingInactive": ["du.Installing"],
    "dp.Installed": ["du.Installed"],
    "dp.RemovingDelivered": [],
    "dp.RemovingInstalled": ["du.Uninstalling"],
    "dc.Absent": ["eu.Absent"],
    "dc.Inactive": [],
    "dc.Active": ["eu.Active"],
    "dc.Activating": ["eu.Starting"],
    "dc.Deactivating": ["eu.Stopping"],
    "dc.RemovingInactive": [],
    "dc.RemovingActive": [],
}
GAP_ANALYSIS_OPERATIONS = {
    "dp.Download": [],
    "dp.DownloadInstall": [],
    "dp.DownloadInstallInactive": [],
    "dp.Install": [["du.Install"], ["du.Update"]],
    "dp.InstallInactive": [],
    "dp.Remove": [["du.Uninstall"]],
    "dc.Activate": [["eu.RequestActive"]],
    "dc.Deactivate": [["eu.RequestIdle"]],
    "dc.Remove": [],
}


def test_gap_analysis_mapping_has_exactly_the_drafts_entries(gap_analysis):
    assert {f"{e.scomo_component}.{e.scomo_state}": images(e) for e in gap_analysis.states} == GAP_ANALYSIS_STATES
    assert {f"{e.scomo_component}.{e.scomo_trigger}": sequences(e) for e in gap_analysis.operations} == GAP_ANALYSIS_OPERATIONS
    assert all(image.when == () for entry in gap_analysis.states for image in entry.images)


def test_gap_analysis_mapping_key_entries(gap_analysis):
    delivered = gap_analysis.state_entry("dp", "Delivered")
    assert delivered.images == () and delivered.maps_to_nothing
    install = gap_analysis.operation_entry("dp", "Install")
    assert install.alternatives == ((("du", "Install"),), (("du", "Update"),))
    assert not install.maps_to_nothing
    download = gap_analysis.operation_entry("dp", "Download")
    assert download.alternatives == () and download.maps_to_nothing
    assert gap_analysis.operation_entry("dp", "DownloadInstall").maps_to_nothing
    assert "summary" in gap_analysis.operation_entry("dp", "DownloadInstall").rationale
    assert gap_analysis.state_entry("dc", "Inactive").maps_to_nothing
    assert gap_analysis.state_entry("dp", "Installed").images == (StateImage("du", "Installed"),)
    assert gap_analysis.operation_entry("dc", "Activate").alternatives == ((("eu", "RequestActive"),),)
    assert gap_analysis.state_entry("dp", "Nowhere") is None
    assert gap_analysis.operation_entry("dp", "install_succeeded") is None
    assert gap_analysis.paired_tr069_component("dc") == "eu"


def test_every_gap_analysis_rationale_cites_the_draft_or_says_it_completes_it(gap_analysis):
    for entry in (*gap_analysis.machines, *gap_analysis.states, *gap_analysis.operations):
        assert re.search(r"draft, (terminology table|operations table|summary of findings)|our completion", entry.rationale), entry


def test_delivered_as_installed_differs_from_the_draft_where_intended(gap_analysis, delivered_as_installed):
    alternative = delivered_as_installed
    assert images(alternative.state_entry("dp", "Delivered")) == ["du.Installed"]
    assert alternative.state_entry("dc", "Inactive").images == (StateImage("eu", "Idle", (("AutoStart", False),)),)
    for trigger in ("Download", "DownloadInstall", "DownloadInstallInactive"):
        assert sequences(alternative.operation_entry("dp", trigger)) == [["du.Install"]]
    assert alternative.operation_entry("dp", "InstallInactive").maps_to_nothing
    assert sequences(alternative.operation_entry("dc", "Deactivate")) == [["eu.ClearAutoStart", "eu.RequestIdle"]]

    def table(mapping):
        return ({(e.scomo_component, e.scomo_state): e.images for e in mapping.states},
                {(e.scomo_component, e.scomo_trigger): e.alternatives for e in mapping.operations})

    (gap_states, gap_operations), (alt_states, alt_operations) = table(gap_analysis), table(alternative)
    assert gap_states.keys() == alt_states.keys() and gap_operations.keys() == alt_operations.keys()
    changed_states = {key for key in gap_states if gap_states[key] != alt_states[key]}
    changed_operations = {key for key in gap_operations if gap_operations[key] != alt_operations[key]}
    assert {("dp", "Delivered"), ("dc", "Inactive"), ("dp", "Downloading")} <= changed_states
    assert {("dp", "Download"), ("dp", "DownloadInstall"), ("dp", "Install")} <= changed_operations


# --- unmapped names -------------------------------------------------------------------------

def test_unmapped_states_and_operations_are_listed_in_model_order(tmp_path):
    mapping = load_mapping(mapping_file(tmp_path, """
        states:
          - {scomo: dc.Active, tr069: [eu.Active], rationale: r}
          - {scomo: dp.Delivered, tr069: [], rationale: r}
        operations:
          - {scomo: dp.Install, tr069: [du.Install], rationale: r}
          - {scomo: dc.Remove, tr069: [], rationale: r}
    """))
    unmapped = mapping.unmapped_states()
    assert unmapped[:3] == [("dp", "Absent"), ("dp", "Downloading"), ("dp", "DownloadInstallingActive")]
    assert ("dp", "Delivered") not in unmapped  # mapped to nothing is not unmapped
    assert [state for component, state in unmapped if component == "dc"] == [
        "Absent", "Inactive", "Activating", "Deactivating", "RemovingInactive", "RemovingActive",
    ]
    assert len(unmapped) == 12 + 7 - 2
    # operations only: no completion or lifecycle trigger is ever unmapped
    assert mapping.unmapped_operations() == [
        ("dp", "Download"), ("dp", "DownloadInstall"), ("dp", "DownloadInstallInactive"),
        ("dp", "InstallInactive"), ("dp", "Remove"), ("dc", "Activate"), ("dc", "Deactivate"),
    ]


def test_only_paired_components_have_unmapped_names(tmp_path):
    header = HEADER.replace("  - {scomo: dc, tr069: eu, rationale: r}\n", "")
    mapping = load_mapping(mapping_file(tmp_path, header=header))
    assert {component for component, _ in mapping.unmapped_states()} == {"dp"}
    assert {component for component, _ in mapping.unmapped_operations()} == {"dp"}
    assert (mapping.states, mapping.operations) == ((), ())


def test_defaults_id_from_the_file_name_and_title_from_the_id(tmp_path):
    path = tmp_path / "my-mapping.yaml"
    path.write_text(HEADER.replace("mapping: m\n", ""), encoding="utf-8")
    mapping = load_mapping(path)
    assert (mapping.id, mapping.title, mapping.file) == ("my_mapping", "my_mapping", str(path))
    assert mapping.scomo.file == "models/scomo-device.yaml"


def test_compositions_outside_the_builtin_directory_are_named_relative_to_the_mapping(tmp_path):
    (tmp_path / "maps").mkdir()
    write(tmp_path, "host.yaml", """
        states: [Down, Up]
        transitions:
          - {trigger: start, source: Down, dest: Up}
    """)
    path = write(tmp_path / "maps", "m.yaml", """
        scomo: ../host.yaml
        tr069: ../host.yaml
        machines:
          - {scomo: host, tr069: host, rationale: the same machine on both sides}
        operations:
          - {scomo: host.start, tr069: [host.start], rationale: identical}
    """)
    mapping = load_mapping(path, display_name="maps/m.yaml")
    assert mapping.file == "maps/m.yaml"
    assert mapping.scomo.file == "host.yaml"  # one name for one file, without a ../ detour
    assert mapping.unmapped_states() == [("host", "Down"), ("host", "Up")]


# --- every rule, with line, rule, name and suggestion ---------------------------------------

def test_unknown_composition_file_is_reported_with_the_closest_file(tmp_path):
    header = HEADER.replace("scomo-device.yaml", "scomo-devce.yaml")
    assert summary(problems_of(mapping_file(tmp_path, header=header))) == [
        (2, "unknown-file", f"{MODELS}/scomo-devce.yaml", f"{MODELS}/scomo-device.yaml"),
    ]


def test_missing_composition_is_reported(tmp_path):
    header = HEADER.replace(f"tr069: {MODELS}/tr069-device.yaml\n", "")
    assert summary(problems_of(mapping_file(tmp_path, header=header))) == [(1, "missing-composition", "tr069", None)]


def test_problems_inside_a_composition_file_propagate(tmp_path):
    write(tmp_path, "broken.yaml", """
        states: [A, B]
        transitions:
          - {trigger: go, source: A, dest: Bb}
    """)
    header = HEADER.replace(f"{MODELS}/tr069-device.yaml", "broken.yaml")
    problems = problems_of(mapping_file(tmp_path, header=header))
    assert summary(problems) == [(3, "unknown-state", "Bb", "B")]
    assert problems[0].file == str(tmp_path / "broken.yaml")


def test_unknown_component_in_machines_is_reported_with_the_closest_component(tmp_path):
    header = HEADER.replace("{scomo: dc, tr069: eu,", "{scomo: dcc, tr069: euu,")
    assert summary(problems_of(mapping_file(tmp_path, header=header))) == [
        (6, "unknown-component", "dcc", "dc"),
        (6, "unknown-component", "euu", "eu"),
    ]


def test_entries_of_a_component_whose_pair_is_invalid_raise_no_second_problem(tmp_path):
    header = HEADER.replace("{scomo: dc, tr069: eu,", "{scomo: dc, tr069: euu,")
    problems = problems_of(mapping_file(tmp_path, """
        states:
          - {scomo: dc.Active, tr069: [eu.Active], rationale: r}
    """, header=header))
    assert summary(problems) == [(6, "unknown-component", "euu", "eu")]


def test_a_component_paired_twice_is_reported(tmp_path):
    header = HEADER + "  - {scomo: dp, tr069: ee, rationale: r}\n"
    problems = problems_of(mapping_file(tmp_path, header=header))
    assert summary(problems) == [(7, "duplicate-pairing", "dp", None)]
    assert "already paired (line 5)" in problems[0].message


def test_a_tr069_component_paired_twice_is_reported(tmp_path):
    header = HEADER.replace("{scomo: dc, tr069: eu,", "{scomo: dc, tr069: du,")
    assert summary(problems_of(mapping_file(tmp_path, header=header))) == [(6, "duplicate-pairing", "du", None)]


def test_unknown_scomo_state_is_reported_with_the_closest_state(tmp_path):
    problems = problems_of(mapping_file(tmp_path, """
        states:
          - scomo: dp.Deliverd
            tr069: []
            rationale: r
    """))
    assert summary(problems) == [(8, "unknown-state", "Deliverd", "Delivered")]


def test_unknown_tr069_state_is_reported_with_the_closest_state(tmp_path):
    problems = problems_of(mapping_file(tmp_path, """
        states:
          - scomo: dp.Installed
            tr069:
              - du.Instaled
            rationale: r
    """))
    assert summary(problems) == [(10, "unknown-state", "Instaled", "Installed")]


def test_an_image_listed_twice_and_an_alternative_listed_twice_are_reported(tmp_path):
    problems = problems_of(mapping_file(tmp_path, """
        states:
          - scomo: dp.Installed
            tr069:
              - du.Installed
              - du.Installed
            rationale: r
        operations:
          - scomo: dp.Install
            alternatives:
              - [du.Install]
              - [du.Update]
              - [du.Install]
            rationale: r
    """))
    assert summary(problems) == [(11, "duplicate-image", "dp.Installed", None),
                                 (18, "duplicate-alternative", "dp.Install", None)]
    assert "du.Install twice" in problems[1].message


def test_image_state_of_a_component_not_paired_with_the_scomo_component_is_reported(tmp_path):
    problems = problems_of(mapping_file(tmp_path, """
        states:
          - scomo: dp.Installed
            tr069: [du.Installed, eu.Active]
            rationale: r
    """))
    assert summary(problems) == [(9, "unpaired-component", "eu", "du")]
    assert "'dp' is paired with 'du'" in problems[0].message


def test_state_of_an_unpaired_scomo_component_is_reported(tmp_path):
    header = HEADER.replace("  - {scomo: dc, tr069: eu, rationale: r}\n", "")
    problems = problems_of(mapping_file(tmp_path, """
        states:
          - {scomo: dc.Active, tr069: [eu.Active], rationale: r}
    """, header=header))
    assert summary(problems) == [(7, "unpaired-component", "dc", None)]


def test_unknown_observable_and_value_in_when_are_reported_with_the_closest_names(tmp_path):
    problems = problems_of(mapping_file(tmp_path, """
        states:
          - scomo: dc.Inactive
            tr069:
              - state: eu.Idle
                when: {AutoStrat: false}
            rationale: r
          - scomo: dc.Active
            tr069:
              - state: eu.Active
                when:
                  Status: Actve
            rationale: r
    """))
    assert summary(problems) == [
        (11, "unknown-observable", "AutoStrat", "AutoStart"),
        (17, "unknown-value", "Actve", "Active"),
    ]


def test_a_report_is_not_an_observable_in_when(tmp_path):
    problems = problems_of(mapping_file(tmp_path, """
        states:
          - scomo: dc.Active
            tr069:
              - state: eu.Active
                when: {RequestedState: Active}
            rationale: r
    """))
    assert summary(problems) == [(11, "unknown-observable", "RequestedState", None)]


def test_a_scomo_state_mapped_twice_is_reported(tmp_path):
    problems = problems_of(mapping_file(tmp_path, """
        states:
          - {scomo: dp.Installed, tr069: [du.Installed], rationale: r}
          - {scomo: dp.Delivered, tr069: [], rationale: r}
          - {scomo: dp.Installed, tr069: [du.Updating], rationale: r}
    """))
    assert summary(problems) == [(10, "duplicate-mapping", "dp.Installed", None)]
    assert "already mapped (line 8)" in problems[0].message


def test_a_scomo_operation_mapped_twice_is_reported(tmp_path):
    problems = problems_of(mapping_file(tmp_path, """
        operations:
          - {scomo: dp.Install, tr069: [du.Install], rationale: r}
          - {scomo: dp.Install, tr069: [du.Update], rationale: r}
    """))
    assert summary(problems) == [(9, "duplicate-mapping", "dp.Install", None)]


def test_tr069_trigger_that_does_not_exist_is_reported_with_the_closest_trigger(tmp_path):
    problems = problems_of(mapping_file(tmp_path, """
        operations:
          - scomo: dp.Remove
            tr069:
              - du.Unistall
            rationale: r
          - scomo: dp.Install
            alternatives:
              - [du.Install]
              - [du.Updat]
            rationale: r
    """))
    assert summary(problems) == [
        (10, "unknown-trigger", "Unistall", "Uninstall"),
        (15, "unknown-trigger", "Updat", "Update"),
    ]


def test_tr069_trigger_that_is_not_an_operation_is_reported(tmp_path):
    problems = problems_of(mapping_file(tmp_path, """
        operations:
          - {scomo: dp.Install, tr069: [du.Install, du.install_succeeded], rationale: r}
    """))
    assert summary(problems) == [(8, "not-an-operation", "install_succeeded", None)]
    assert "completion trigger, not an operation" in problems[0].message


def test_tr069_operation_of_a_component_not_paired_with_the_scomo_component_is_reported(tmp_path):
    problems = problems_of(mapping_file(tmp_path, """
        operations:
          - {scomo: dp.DownloadInstall, tr069: [du.Install, eu.RequestActive], rationale: r}
    """))
    assert summary(problems) == [(8, "unpaired-component", "eu", "du")]


def test_scomo_trigger_that_is_not_an_operation_is_reported(tmp_path):
    problems = problems_of(mapping_file(tmp_path, """
        operations:
          - {scomo: dp.install_succeeded, tr069: [du.install_succeeded], rationale: r}
          - {scomo: dc.Activat, tr069: [], rationale: r}
    """))
    assert summary(problems) == [
        (8, "not-an-operation", "install_succeeded", None),
        (8, "not-an-operation", "install_succeeded", None),
        (9, "unknown-trigger", "Activat", "Activate"),
    ]
    assert "lifecycle" not in problems[0].message and "completion trigger" in problems[0].message


def test_both_tr069_and_alternatives_is_reported(tmp_path):
    problems = problems_of(mapping_file(tmp_path, """
        operations:
          - scomo: dp.Install
            tr069: [du.Install]
            alternatives: [[du.Update]]
            rationale: r
    """))
    assert summary(problems) == [(10, "tr069-and-alternatives", "dp.Install", None)]


@pytest.mark.parametrize(
    "entry, line, rule",
    [
        ("{scomo: dp.Install, rationale: r}", 8, "missing-tr069"),
        ("{scomo: dp.Install, alternatives: [], rationale: r}", 8, "sequence-shape"),
        ("{scomo: dp.Install, alternatives: [[du.Install], []], rationale: r}", 8, "sequence-shape"),
        ("{scomo: dp.Install, tr069: du.Install, rationale: r}", 8, "sequence-shape"),
        ("{scomo: Install, tr069: [], rationale: r}", 8, "trigger-reference"),
        ("{scomo: dp.Install, tr069: [Install], rationale: r}", 8, "trigger-reference"),
    ],
    ids=["no-tr069", "empty-alternatives", "empty-alternative", "not-a-list", "scomo-not-dotted", "tr069-not-dotted"],
)
def test_badly_shaped_operation_entry_is_reported(tmp_path, entry, line, rule):
    problems = problems_of(mapping_file(tmp_path, f"operations:\n  - {entry}\n"))
    assert [(problem.line, problem.rule) for problem in problems] == [(line, rule)]


def test_missing_or_empty_rationale_is_reported_for_every_kind_of_entry(tmp_path):
    header = HEADER.replace("  - {scomo: dc, tr069: eu, rationale: r}", "  - {scomo: dc, tr069: eu}")
    problems = problems_of(mapping_file(tmp_path, """
        states:
          - scomo: dp.Installed
            tr069: [du.Installed]
        operations:
          - scomo: dp.Remove
            tr069: [du.Uninstall]
            rationale: "  "
    """, header=header))
    assert summary(problems) == [
        (6, "missing-rationale", "dc", None),
        (8, "missing-rationale", "dp.Installed", None),
        (13, "missing-rationale", "dp.Remove", None),
    ]


def test_unknown_keys_are_reported_with_the_closest_key(tmp_path):
    problems = problems_of(mapping_file(tmp_path, """
        states:
          - {scomo: dp.Installed, tr069: [{state: du.Installed, wehn: {}}], rationale: r}
        operations:
          - {scomo: dp.Remove, tr069: [du.Uninstall], rationale: r, alternative: []}
        operation: []
    """))
    assert summary(problems) == [
        (8, "unknown-key", "wehn", "when"),
        (10, "unknown-key", "alternative", "alternatives"),
        (11, "unknown-key", "operation", "operations"),
    ]


def test_several_problems_are_all_reported_in_one_run(tmp_path):
    header = HEADER.replace("{scomo: dc, tr069: eu,", "{scomo: dc, tr069: euu,")
    path = mapping_file(tmp_path, """
        states:
          - {scomo: dp.Instaled, tr069: [du.Installed], rationale: r}
          - {scomo: dp.Delivered, tr069: [du.Installd]}
        operations:
          - {scomo: dp.Install, tr069: [du.Install], alternatives: [[du.Update]], rationale: r}
          - {scomo: dp.Remove, tr069: [du.uninstall_succeeded], rationale: r}
          - {scomo: dp.Remove, tr069: [], rationale: r}
    """, header=header)
    problems = problems_of(path)
    assert summary(problems) == [
        (6, "unknown-component", "euu", "eu"),
        (8, "unknown-state", "Instaled", "Installed"),
        (9, "missing-rationale", "dp.Delivered", None),
        (9, "unknown-state", "Installd", "Installed"),
        (11, "tr069-and-alternatives", "dp.Install", None),
        (12, "not-an-operation", "uninstall_succeeded", None),
        (13, "duplicate-mapping", "dp.Remove", None),
    ]
    assert {problem.file for problem in problems} == {str(path)}
    assert str(problems[1]) == (
        f"{path}:8: unknown-state: 'dp.Instaled': machine 'scomo_delivery_package' has no state 'Instaled' (did you mean 'Installed'?)"
    )


@pytest.mark.parametrize(
    "text, rule",
    [
        ("- a\n- b\n", "mapping-shape"),
        (HEADER.split("machines:")[0] + "machines: []\n", "machines-shape"),
        (HEADER + "states: {dp.Installed: [du.Installed]}\n", "states-shape"),
        (HEADER + "operations:\n  - dp.Install\n", "operation-entry-shape"),
        (HEADER + "states:\n  - {scomo: dp.Installed, tr069: du.Installed, rationale: r}\n", "images-shape"),
        (HEADER + "states:\n  - {scomo: dp.Installed, rationale: r}\n", "missing-tr069"),
        (HEADER.replace("mapping: m", "mapping: 'not an id'"), "identifier"),
    ],
    ids=["not-a-mapping", "no-machines", "states-not-a-list", "operation-not-a-mapping",
         "images-not-a-list", "state-without-tr069", "bad-id"],
)
def test_badly_shaped_mapping_is_reported(tmp_path, text, rule):
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    assert [problem.rule for problem in problems_of(path)] == [rule]


# --- the JSON Schema ------------------------------------------------------------------------

def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def schema_errors(document) -> list[jsonschema.ValidationError]:
    return list(jsonschema.Draft202012Validator(load_schema()).iter_errors(document))


def test_schema_is_a_valid_draft_2020_12_schema_with_id_and_title():
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "urn:swmc:schema:mapping" and schema["title"]


def test_every_schema_property_has_a_description():
    schema = load_schema()
    undocumented = [
        name for name, node in property_nodes(schema, schema, set())
        if not node.get("description") and not resolve(schema, node).get("description")
    ]
    assert undocumented == []


@pytest.mark.parametrize(
    "path, keys",
    [
        ((), mapping_module.MAPPING_KEYS),
        (("properties", "machines", "items"), mapping_module.MACHINE_PAIR_KEYS),
        (("properties", "states", "items"), mapping_module.STATE_ENTRY_KEYS),
        (("$defs", "stateImage"), mapping_module.STATE_IMAGE_KEYS),
        (("properties", "operations", "items"), mapping_module.OPERATION_ENTRY_KEYS),
    ],
    ids=["top-level", "machine-pair", "state-entry", "state-image", "operation-entry"],
)
def test_schema_allows_exactly_the_keys_the_loader_accepts(path, keys):
    schema = load_schema()
    assert object_properties(schema, at(schema, *path)) == set(keys)


@pytest.mark.parametrize("path", sorted(MAPPINGS.glob("*.yaml")), ids=lambda path: path.name)
def test_shipped_mapping_validates_against_the_schema(path):
    assert schema_errors(yaml.safe_load(path.read_text(encoding="utf-8"))) == []


def test_the_example_in_the_format_documentation_validates_and_loads(tmp_path):
    (block,) = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert schema_errors(yaml.safe_load(block)) == []
    text = block.replace("../scomo-device.yaml", f"{MODELS}/scomo-device.yaml").replace("../tr069-device.yaml", f"{MODELS}/tr069-device.yaml")
    mapping = load_mapping(write(tmp_path, "example.yaml", text))
    assert mapping.operation_entry("dp", "Install").alternatives == ((("du", "Install"),), (("du", "Update"),))


@pytest.mark.parametrize(
    "entry",
    [
        {"scomo": "dp.Install", "tr069": ["du.Install"], "alternatives": [["du.Update"]], "rationale": "r"},
        {"scomo": "dp.Install", "rationale": "r"},
        {"scomo": "dp.Install", "alternatives": [[]], "rationale": "r"},
        {"scomo": "dp.Install", "tr069": [], "rationale": ""},
    ],
    ids=["both", "neither", "empty-alternative", "empty-rationale"],
)
def test_schema_rejects_what_the_loader_rejects_for_its_shape(entry):
    document = {"mapping": "m", "scomo": "s.yaml", "tr069": "t.yaml",
                "machines": [{"scomo": "dp", "tr069": "du", "rationale": "r"}], "operations": [entry]}
    assert schema_errors(document)
