"""The JSON Schemas in schemas/: they accept every shipped model, reject what the loader
rejects for its shape, and allow exactly the keys the loader accepts, so the two cannot drift."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from checker import composition, loader
from checker.catalog import builtin_model_paths
from checker.model import OUTCOMES, STATE_KINDS, TRIGGER_KINDS

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "model-format.md"


def load_schema(kind: str) -> dict:
    return json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))


def validator(kind: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema(kind))


def schema_kind(document: dict) -> str:
    return "composition" if "composition" in document else "machine"


def errors(kind: str, text: str) -> list[jsonschema.ValidationError]:
    return list(validator(kind).iter_errors(yaml.safe_load(textwrap.dedent(text))))


def resolve(schema: dict, node: dict) -> dict:
    """Follow local $refs (#/$defs/...) until a node without one."""
    while "$ref" in node:
        path = node["$ref"].removeprefix("#/").split("/")
        target = schema
        for part in path:
            target = target[part]
        node = target
    return node


def object_properties(schema: dict, node: dict) -> set[str]:
    """The keys an object schema allows; for a oneOf of shorthand and mapping, the mapping's."""
    node = resolve(schema, node)
    if "properties" in node:
        assert node.get("additionalProperties") is False, "objects must not allow unknown keys"
        return set(node["properties"])
    branches = [resolve(schema, branch) for branch in node.get("oneOf", [])]
    mappings = [branch for branch in branches if branch.get("type") == "object" and "properties" in branch]
    assert len(mappings) == 1, f"expected one mapping form in {node}"
    return object_properties(schema, mappings[0])


def at(schema: dict, *path: str | int) -> dict:
    """The node at ``path``, following $refs on the way."""
    node = schema
    for part in path:
        node = resolve(schema, node)[part]
    return node


# --- the schemas themselves -------------------------------------------------------------

@pytest.mark.parametrize("kind", ["machine", "composition"])
def test_schema_is_a_valid_draft_2020_12_schema_with_id_and_title(kind):
    schema = load_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["title"]


def property_nodes(schema: dict, node: dict, seen: set[int]):
    """Every (name, property schema) reachable from ``node``."""
    if id(node) in seen:
        return
    seen.add(id(node))
    for name, child in node.get("properties", {}).items():
        yield name, child
        yield from property_nodes(schema, resolve(schema, child), seen)
    for keyword in ("oneOf", "anyOf", "prefixItems"):
        for branch in node.get(keyword, []):
            yield from property_nodes(schema, resolve(schema, branch), seen)
    for keyword in ("items", "additionalProperties"):
        if isinstance(node.get(keyword), dict):
            yield from property_nodes(schema, resolve(schema, node[keyword]), seen)


@pytest.mark.parametrize("kind", ["machine", "composition"])
def test_every_property_has_a_description(kind):
    schema = load_schema(kind)
    undocumented = [
        name for name, node in property_nodes(schema, schema, set())
        if not node.get("description") and not resolve(schema, node).get("description")
    ]
    assert undocumented == []


# --- shipped models and documentation examples --------------------------------------------

@pytest.mark.parametrize("path", builtin_model_paths(), ids=lambda path: path.name)
def test_shipped_model_validates_against_its_schema(path):
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    validator(schema_kind(document)).validate(document)


def test_both_kinds_of_shipped_models_are_checked():
    kinds = {schema_kind(yaml.safe_load(path.read_text(encoding="utf-8"))) for path in builtin_model_paths()}
    assert kinds == {"machine", "composition"}


def test_examples_in_the_format_documentation_validate():
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.DOTALL)
    documents = [yaml.safe_load(block) for block in blocks]
    full_examples = [document for document in documents if "states" in document or "components" in document]
    assert {schema_kind(document) for document in full_examples} == {"machine", "composition"}
    for document in full_examples:
        validator(schema_kind(document)).validate(document)


def test_plain_transitions_style_machine_validates():
    assert errors("machine", """
        states: [solid, liquid, gas]
        transitions:
          - {trigger: melt, source: solid, dest: liquid}
          - [evaporate, liquid, gas]
          - [heat, [solid, liquid], "="]
    """) == []


# --- bad documents ------------------------------------------------------------------------

MACHINE = """
    states:
      - name: A
        kind: {kind}
      - B
    transitions:
      - trigger: go
        source: A
        dest: B
        kind: {trigger_kind}
        outcome: {outcome}
"""


def machine_text(kind="stable", trigger_kind="operation", outcome="success") -> str:
    return MACHINE.format(kind=kind, trigger_kind=trigger_kind, outcome=outcome)


def error_paths(found: list[jsonschema.ValidationError]) -> list[list]:
    """Where each error is, including the causes of oneOf failures (which name the key)."""
    paths = []
    for error in found:
        paths.append(list(error.absolute_path))
        paths.extend(list(cause.absolute_path) for cause in error.context or [])
    return paths


def test_the_machine_template_itself_validates():
    assert errors("machine", machine_text()) == []


@pytest.mark.parametrize(
    "text, where",
    [
        (machine_text(kind="transitory"), ["states", 0, "kind"]),
        (machine_text(trigger_kind="manual"), ["transitions", 0, "kind"]),
        (machine_text(outcome="rejected"), ["transitions", 0, "outcome"]),
    ],
    ids=["state-kind", "trigger-kind", "outcome"],
)
def test_value_outside_an_enum_is_rejected(text, where):
    assert where in error_paths(errors("machine", text))


def test_unknown_top_level_key_is_rejected():
    found = errors("machine", "states: [A]\ntransitons: []\n")
    assert [error.validator for error in found] == ["additionalProperties"]
    assert "transitons" in found[0].message


def test_unknown_key_in_a_transition_is_rejected():
    found = errors("machine", "states: [A]\ntransitions:\n  - {trigger: go, source: A, dest: A, guard: {}}\n")
    causes = [cause for error in found for cause in error.context]
    assert any(cause.validator == "additionalProperties" and "'guard'" in cause.message for cause in causes)


def test_machine_without_states_is_rejected():
    found = errors("machine", "transitions: []\n")
    assert [error.message for error in found] == ["'states' is a required property"]


def test_null_value_in_reports_of_a_transition_is_rejected():
    assert errors("machine", """
        reports: {Code: [0, 1]}
        states: [A]
        transitions:
          - {trigger: go, source: A, dest: "=", reports: {Code: null}}
    """)


@pytest.mark.parametrize(
    "text",
    [
        # missing components
        "composition: c\n",
        # unknown sync mode
        """
        composition: c
        components: [{name: a, machine: a.yaml}, {name: b, machine: b.yaml}]
        synchronizations: [{leader: a.go, followers: [b.go], mode: some}]
        """,
        # unknown key in requires
        """
        composition: c
        components: [{name: a, machine: a.yaml}]
        guards: [{trigger: a.go, requires: {component: a, state: [Up]}}]
        """,
        # count neither a number nor a name
        """
        composition: c
        components: [{name: a, machine: a.yaml, count: [2]}]
        """,
        # leader not written component.trigger
        """
        composition: c
        components: [{name: a, machine: a.yaml}]
        synchronizations: [{leader: go, followers: [a.go]}]
        """,
    ],
    ids=["no-components", "sync-mode", "requires-key", "count-list", "leader-not-dotted"],
)
def test_bad_composition_is_rejected(text):
    assert errors("composition", text)


def test_composition_keys_in_a_machine_file_are_rejected():
    assert errors("machine", "composition: c\nstates: [A]\n")


# --- the schemas and the loader agree -----------------------------------------------------

MACHINE_PLACES = [
    ((), loader.MACHINE_KEYS),
    (("$defs", "state"), loader.STATE_KEYS),
    (("$defs", "transition"), loader.TRANSITION_KEYS),
    (("properties", "observables", "additionalProperties"), loader.OBSERVABLE_KEYS),
    (("properties", "reports", "additionalProperties"), loader.OBSERVABLE_KEYS),
    (("properties", "assumptions", "items"), loader.ASSUMPTION_KEYS),
]
COMPOSITION_PLACES = [
    ((), composition.COMPOSITION_KEYS),
    (("properties", "components", "items"), composition.COMPONENT_KEYS),
    (("properties", "synchronizations", "items"), composition.SYNC_KEYS),
    (("properties", "guards", "items"), composition.GUARD_KEYS),
    (("properties", "guards", "items", "properties", "requires"), composition.REQUIRES_KEYS),
    (("properties", "parameters", "additionalProperties"), composition.PARAMETER_KEYS),
]


@pytest.mark.parametrize(
    "kind, path, keys",
    [pytest.param(kind, path, keys, id=f"{kind}:{'/'.join(path) or 'top-level'}")
     for kind, places in (("machine", MACHINE_PLACES), ("composition", COMPOSITION_PLACES))
     for path, keys in places],
)
def test_schema_allows_exactly_the_keys_the_loader_accepts(kind, path, keys):
    schema = load_schema(kind)
    assert object_properties(schema, at(schema, *path)) == set(keys)


def test_schema_requires_the_key_that_marks_a_composition():
    assert "composition" in load_schema("composition")["required"]
    assert "composition" not in loader.MACHINE_KEYS


@pytest.mark.parametrize(
    "kind, path, values",
    [
        ("machine", ("$defs", "state", "oneOf", 1, "properties", "kind"), STATE_KINDS),
        ("machine", ("$defs", "transition", "oneOf", 1, "properties", "kind"), TRIGGER_KINDS),
        ("machine", ("$defs", "transition", "oneOf", 1, "properties", "outcome"), OUTCOMES),
        ("composition", ("$defs", "synchronization", "properties", "mode"), composition.SYNC_MODES),
    ],
    ids=["state-kind", "trigger-kind", "outcome", "sync-mode"],
)
def test_schema_enums_match_the_loader(kind, path, values):
    schema = load_schema(kind)
    assert at(schema, *path)["enum"] == list(values)
