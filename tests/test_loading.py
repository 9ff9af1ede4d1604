"""Loading and validating model files: every problem is reported, at once, with its file,
line, rule, offending name and closest valid name; unsafe or malformed YAML is refused."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest

from checker import yamlsource
from checker.catalog import load_models
from checker.composition import load_model
from checker.errors import InputError, Problem
from checker.loader import load_machine


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(InputError) as raised:
        load_model(path)
    return raised.value.problems


def summary(problems: list[Problem]) -> list[tuple]:
    """(line, rule, name, suggestion) of each problem, in report order."""
    return [(problem.line, problem.rule, problem.name, problem.suggestion) for problem in problems]


def only(problems: list[Problem], rule: str) -> Problem:
    matching = [problem for problem in problems if problem.rule == rule]
    assert len(matching) == 1, f"expected one {rule} problem in {problems}"
    return matching[0]


# --- a plain transitions-style file ---------------------------------------------------------

def test_plain_transitions_style_file_loads_with_defaults(tmp_path):
    path = write(tmp_path, "water-phases.yaml", """
        states: [solid, liquid, gas]
        transitions:
          - trigger: melt
            source: solid
            dest: liquid
          - [evaporate, liquid, gas]
          - [cool, [gas, liquid], solid]
    """)
    machine = load_machine(path)

    assert machine.id == "water_phases"
    assert machine.title == "water_phases"
    assert machine.initial == "solid"
    assert [(state.name, state.kind) for state in machine.states] == [
        ("solid", "stable"), ("liquid", "stable"), ("gas", "stable"),
    ]
    assert [(t.trigger, t.source, t.dest, t.kind, t.outcome) for t in machine.transitions] == [
        ("melt", "solid", "liquid", "operation", "success"),
        ("evaporate", "liquid", "gas", "operation", "success"),
        ("cool", "gas", "solid", "operation", "success"),
        ("cool", "liquid", "solid", "operation", "success"),
    ]
    assert [t.line for t in machine.transitions] == [3, 6, 7, 7]
    assert machine.observables == () and machine.assumptions == ()


def test_observable_values_of_different_types_are_not_duplicates(tmp_path):
    path = write(tmp_path, "m.yaml", """
        observables:
          Code: {values: [0, false, "0"]}
        states: [A]
    """)
    assert load_machine(path).observable("Code").values == (0, False, "0")


# --- many problems, one run -----------------------------------------------------------------

SEVERAL_PROBLEMS = """
    machine: m
    observables:
      Status: {values: [Idle, Busy]}
    stats: []
    states:
      - name: Idle
        observe: {Status: Idle}
      - name: Busy
        kind: transitory
      - Idle
    transitions:
      - trigger: start
        source: Idle
        dest: Bussy
      - trigger: finish
        source: Busy
        dest: Idle
        set: {Statuss: Idle}
"""


def test_several_problems_in_one_file_are_all_reported_in_one_run(tmp_path):
    path = write(tmp_path, "m.yaml", SEVERAL_PROBLEMS)
    problems = problems_of(path)

    assert summary(problems) == [
        (4, "unknown-key", "stats", "states"),
        (9, "state-kind", "transitory", "transient"),
        (10, "duplicate-name", "Idle", None),
        (14, "unknown-state", "Bussy", "Busy"),
        (18, "unknown-observable", "Statuss", "Status"),
    ]
    assert {problem.file for problem in problems} == {str(path)}


def test_unknown_dest_state_is_reported_with_closest_name(tmp_path):
    path = write(tmp_path, "m.yaml", SEVERAL_PROBLEMS)
    problem = only(problems_of(path), "unknown-state")
    assert (problem.line, problem.name, problem.suggestion) == (14, "Bussy", "Busy")
    assert str(problem) == (
        f"{path}:14: unknown-state: transition 'start' goes to unknown state 'Bussy' (did you mean 'Busy'?)"
    )


def test_unknown_source_and_initial_states_are_reported_with_closest_name(tmp_path):
    path = write(tmp_path, "m.yaml", """
        initial: Idel
        states: [Idle, Active]
        transitions:
          - {trigger: start, source: [Idle, Actve], dest: Active}
    """)
    assert summary(problems_of(path)) == [
        (1, "unknown-state", "Idel", "Idle"),
        (4, "unknown-state", "Actve", "Active"),
    ]


def test_value_not_among_an_observables_values_is_reported_with_closest_value(tmp_path):
    path = write(tmp_path, "m.yaml", """
        observables:
          Status: {values: [Idle, Active]}
        states:
          - name: A
            observe: {Status: Actve}
    """)
    assert summary(problems_of(path)) == [(5, "unknown-value", "Actve", "Active")]


def test_bad_transition_kind_and_outcome_are_reported_with_closest_value(tmp_path):
    path = write(tmp_path, "m.yaml", """
        states: [A, B]
        transitions:
          - trigger: go
            kind: completon
            outcome: failed
            source: A
            dest: B
    """)
    assert summary(problems_of(path)) == [
        (4, "trigger-kind", "completon", "completion"),
        (5, "outcome", "failed", "failure"),
    ]


# --- determinism ----------------------------------------------------------------------------

TWO_GUARDED_GOES = """
    observables:
      Mode: {values: [fast, slow]}
    states: [A, B, C]
    transitions:
      - trigger: go
        source: A
        dest: B
        when: {Mode: fast}
      - trigger: go
        source: [A, C]
        dest: C
        when: SECOND_GUARD
"""


def test_ambiguous_trigger_with_overlapping_guards_is_rejected(tmp_path):
    path = write(tmp_path, "m.yaml", TWO_GUARDED_GOES.replace("SECOND_GUARD", "{}"))
    problem = only(problems_of(path), "ambiguous-trigger")
    assert (problem.line, problem.name) == (9, "go")
    assert "from 'A'" in problem.message and "lines 5 and 9" in problem.message


def test_same_trigger_with_exclusive_guards_is_accepted(tmp_path):
    path = write(tmp_path, "m.yaml", TWO_GUARDED_GOES.replace("SECOND_GUARD", "{Mode: slow}"))
    machine = load_machine(path)
    assert [(t.source, t.dest, t.when) for t in machine.transitions if t.trigger == "go"] == [
        ("A", "B", (("Mode", "fast"),)),
        ("A", "C", (("Mode", "slow"),)),
        ("C", "C", (("Mode", "slow"),)),
    ]


# --- consistency rules ----------------------------------------------------------------------

RULES = """
    observables:
      Status: {values: [Idle, Active]}
    assumptions:
      - {id: EU-CREATED-IDLE, statement: A new unit is Idle.}
    states:
      - {name: Idle, observe: {Status: Idle}}
      - {name: Active, observe: {Status: Active}}
      - {name: Gone, kind: terminal}
    transitions:
      - TRANSITION
"""


def rule_problems(tmp_path: Path, transition: str) -> list[Problem]:
    return problems_of(write(tmp_path, "m.yaml", RULES.replace("TRANSITION", transition)))


def test_set_conflicting_with_the_destinations_observe_is_rejected(tmp_path):
    problems = rule_problems(tmp_path, "{trigger: start, source: Idle, dest: Active, set: {Status: Idle}}")
    assert summary(problems) == [(10, "set-conflict", "Status", None)]
    assert "'Active' fixes Status='Active'" in problems[0].message


def test_set_conflicting_with_the_state_a_transition_stays_in_is_rejected(tmp_path):
    problems = rule_problems(tmp_path, "{trigger: poke, source: Idle, dest: '=', set: {Status: Active}}")
    assert summary(problems) == [(10, "set-conflict", "Status", None)]


def test_refused_transition_that_moves_is_rejected(tmp_path):
    problems = rule_problems(tmp_path, "{trigger: start, outcome: refused, source: Idle, dest: Active}")
    assert summary(problems) == [(10, "refused-moves", "start", None)]


def test_completion_leaving_a_non_transient_state_is_rejected(tmp_path):
    problems = rule_problems(tmp_path, "{trigger: started, kind: completion, source: Idle, dest: Active}")
    assert summary(problems) == [(10, "completion-source", "started", None)]
    assert "'Idle', which is not transient" in problems[0].message


def test_terminal_state_with_outgoing_transitions_is_rejected(tmp_path):
    problems = rule_problems(tmp_path, "{trigger: revive, source: Gone, dest: Idle}")
    assert summary(problems) == [(10, "terminal-state", "Gone", None)]


def test_undeclared_assumption_is_rejected_with_closest_declared_id(tmp_path):
    problems = rule_problems(tmp_path, "{trigger: start, source: Idle, dest: Active, assumptions: [EU-CREATED-IDEL]}")
    assert summary(problems) == [(10, "unknown-assumption", "EU-CREATED-IDEL", "EU-CREATED-IDLE")]


def test_undeclared_assumption_in_a_block_list_is_reported_on_its_own_line(tmp_path):
    path = write(tmp_path, "m.yaml", """
        assumptions:
          - {id: DU-RESOLVED, statement: one}
        states: [A]
        transitions:
          - trigger: poke
            source: A
            dest: "="
            assumptions:
              - DU-RESOLVED
              - DU-RESOLVE
    """)
    assert summary(problems_of(path)) == [(10, "unknown-assumption", "DU-RESOLVE", "DU-RESOLVED")]


# --- YAML safety and syntax -----------------------------------------------------------------

def test_python_object_tags_are_rejected_without_running_code(tmp_path):
    marker = tmp_path / "executed"
    path = write(tmp_path, "m.yaml", f"""
        states: !!python/object/apply:os.system ["touch {marker}"]
    """)
    problems = problems_of(path)
    assert summary(problems) == [(1, "yaml-syntax", None, None)]
    assert "python/object/apply:os.system" in problems[0].message
    assert not marker.exists()


def test_python_object_tag_on_a_nested_value_is_rejected(tmp_path):
    path = write(tmp_path, "m.yaml", """
        states:
          - name: A
            description: !!python/object:checker.errors.Problem {file: x}
    """)
    assert summary(problems_of(path)) == [(3, "yaml-syntax", None, None)]


def billion_laughs(levels: int, width: int = 9) -> str:
    lines = ["lol0: &lol0 [lol]"]
    for level in range(1, levels + 1):
        aliases = ", ".join([f"*lol{level - 1}"] * width)
        lines.append(f"lol{level}: &lol{level} [{aliases}]")
    return "\n".join(lines) + "\nstates: [A]\n"


def test_billion_laughs_with_many_aliases_is_rejected(tmp_path):
    width = 9
    levels = yamlsource.MAX_ALIASES // width + 2
    path = write(tmp_path, "laughs.yaml", billion_laughs(levels, width))
    problems = problems_of(path)
    # the alias over the limit is on the line of the level holding it
    first_line_over = 1 + math.ceil((yamlsource.MAX_ALIASES + 1) / width)
    assert summary(problems) == [(first_line_over, "yaml-aliases", None, None)]


def test_a_few_aliases_are_accepted(tmp_path):
    path = write(tmp_path, "m.yaml", """
        observables:
          Status: {values: &status [Idle, Active]}
          Shown: {values: *status}
        states: [A]
    """)
    assert load_machine(path).observable("Shown").values == ("Idle", "Active")


def test_file_over_the_size_limit_is_rejected_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(yamlsource, "MAX_FILE_BYTES", 16)
    path = write(tmp_path, "m.yaml", "states: [Idle, Active, Stopping]\n")
    problems = problems_of(path)
    assert summary(problems) == [(0, "file-size", None, None)]
    assert "over the limit of 16 bytes" in problems[0].message


def test_duplicate_top_level_key_is_rejected_with_its_line(tmp_path):
    path = write(tmp_path, "m.yaml", """
        states: [A]
        transitions: []
        states: [B]
    """)
    assert summary(problems_of(path)) == [(3, "duplicate-key", "states", None)]


def test_duplicate_key_in_a_nested_mapping_is_rejected_with_its_line(tmp_path):
    path = write(tmp_path, "m.yaml", """
        states:
          - name: A
            kind: stable
            kind: transient
    """)
    assert summary(problems_of(path)) == [(4, "duplicate-key", "kind", None)]


def test_invalid_utf8_is_rejected(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_bytes(b"states: [caf\xe9]\n")
    problems = problems_of(path)
    assert summary(problems) == [(0, "file", None, None)]
    assert "UTF-8" in problems[0].message


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"], ids=["empty", "blank", "comment"])
def test_empty_file_is_rejected(tmp_path, text):
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    problems = problems_of(path)
    assert summary(problems) == [(1, "yaml-syntax", None, None)]
    assert problems[0].message == "empty file"


def test_malformed_yaml_is_reported_with_its_line(tmp_path):
    path = write(tmp_path, "m.yaml", """
        machine: m
        states:
          - name: A
            kind: stable: x
    """)
    problems = problems_of(path)
    assert summary(problems) == [(4, "yaml-syntax", None, None)]
    assert "mapping values are not allowed" in problems[0].message


def test_unclosed_flow_list_is_reported_where_the_parser_stops(tmp_path):
    path = write(tmp_path, "m.yaml", "states: [A, B\ntransitions: []\n")
    assert summary(problems_of(path)) == [(2, "yaml-syntax", None, None)]


def test_a_file_that_is_not_a_mapping_is_rejected(tmp_path):
    path = write(tmp_path, "m.yaml", "- A\n- B\n")
    assert summary(problems_of(path)) == [(1, "machine-shape", None, None)]


# --- compositions ---------------------------------------------------------------------------

# (not On/Off: YAML 1.1 reads those as booleans)
HOST = """
    states: [Down, Up]
    transitions:
      - {trigger: switch_on, source: Down, dest: Up}
      - {trigger: switch_off, source: Up, dest: Down}
"""
ITEM = """
    states:
      - {name: Absent, kind: absent}
      - Present
    transitions:
      - {trigger: create, kind: lifecycle, source: Absent, dest: Present}
      - {trigger: remove, kind: lifecycle, source: Present, dest: Absent}
"""
DEVICE = """
    composition: device
    parameters:
      n: {default: 2, description: hosts}
    components:
      - {name: host, machine: host.yaml, count: n}
      - {name: item, machine: item.yaml, count: 2, parent: host}
      - {name: lamp, machine: host.yaml}
    synchronizations:
      - leader: host.switch_on
        followers: [item.create]
    guards:
      - trigger: item.remove
        requires: {component: host, states: [Down]}
"""


@pytest.fixture
def machines(tmp_path: Path) -> Path:
    write(tmp_path, "host.yaml", HOST)
    write(tmp_path, "item.yaml", ITEM)
    return tmp_path


def device(directory: Path, *replacements: tuple[str, str]) -> Path:
    """The composition DEVICE with each (old, new) replaced; lines count from 1 at `composition:`."""
    text = textwrap.dedent(DEVICE).lstrip("\n")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return write(directory, "device.yaml", text)


def test_the_composition_template_itself_loads(machines):
    composition = load_model(device(machines))
    assert [component.name for component in composition.components] == ["host", "item", "lamp"]
    assert composition.guards[0].requires == "host"


def test_unknown_machine_file_is_reported_with_closest_file_name(machines):
    path = device(machines, ("machine: item.yaml", "machine: itme.yaml"))
    # the synchronization and guard naming `item` are reported too, the component being unknown
    problem = only(problems_of(path), "unknown-file")
    assert (problem.file, problem.line, problem.name, problem.suggestion) == (str(path), 6, "itme.yaml", "item.yaml")


def test_unknown_component_in_a_sync_leader_is_reported_with_closest_name(machines):
    path = device(machines, ("leader: host.switch_on", "leader: hots.switch_on"))
    assert summary(problems_of(path)) == [(9, "unknown-component", "hots", "host")]


def test_unknown_trigger_is_reported_with_closest_trigger(machines):
    path = device(machines, ("followers: [item.create]", "followers: [item.craete]"))
    assert summary(problems_of(path)) == [(10, "unknown-trigger", "craete", "create")]


def test_unknown_parameter_in_count_is_reported_with_closest_parameter(machines):
    path = device(machines, ("count: n}", "count: nn}"))
    assert summary(problems_of(path)) == [(5, "unknown-parameter", "nn", "n")]


def test_unknown_key_in_a_parameter_is_reported_with_closest_key(machines):
    path = device(machines, ("description: hosts", "descripton: hosts"))
    assert summary(problems_of(path)) == [(3, "unknown-key", "descripton", "description")]


def test_guard_requiring_a_replicated_component_that_is_not_the_parent_is_ambiguous(machines):
    path = device(machines, ("trigger: item.remove", "trigger: lamp.switch_on"))
    problem = only(problems_of(path), "guard-ambiguous")
    assert (problem.line, problem.name) == (12, "host")


def test_problems_inside_a_referenced_machine_file_carry_that_files_name(machines):
    write(machines, "item.yaml", ITEM.replace("dest: Present}", "dest: Presnt}"))
    path = device(machines)
    problems = problems_of(path)
    item_problems = [problem for problem in problems if problem.file == str(machines / "item.yaml")]
    assert summary(item_problems) == [(5, "unknown-state", "Presnt", "Present")]


def test_several_composition_problems_are_reported_in_one_run(machines):
    path = device(
        machines,
        ("count: n}", "count: nn}"),
        ("leader: host.switch_on", "leader: hots.switch_on"),
        ("states: [Down]", "states: [Dwn]"),
        ("components:", "component_list: []\ncomponents:"),
    )
    assert summary(problems_of(path)) == [
        (4, "unknown-key", "component_list", "components"),
        (6, "unknown-parameter", "nn", "n"),
        (10, "unknown-component", "hots", "host"),
        (14, "unknown-state", "Dwn", "Down"),
    ]


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("parent: host}", "parent: [host]}", (6, "component-parent", "item", None)),
        ("requires: {component: host, states: [Down]}", "requires: {component: [host]}",
         (13, "unknown-component", "['host']", "host")),
        ("states: [Down]}", "states: 3}", (13, "guard-shape", None, None)),
        ("states: [Down]}", "observe: [Down]}", (13, "guard-shape", None, None)),
        ("synchronizations:\n  - leader: host.switch_on\n    followers: [item.create]",
         "synchronizations: {leader: host.switch_on}", (8, "synchronization-shape", None, None)),
    ],
    ids=["parent-list", "requires-component-list", "states-number", "observe-list", "synchronizations-mapping"],
)
def test_wrongly_shaped_composition_entries_are_reported_not_crashed_on(machines, old, new, expected):
    # other problems may follow from the entry being dropped (a guard losing its parent, say)
    assert expected in summary(problems_of(device(machines, (old, new))))


# --- several files at once ------------------------------------------------------------------

def test_load_models_reports_the_problems_of_every_file_at_once(tmp_path):
    first = write(tmp_path, "first.yaml", "states: [Idle]\ntransitions:\n  - [go, Idle, Idel]\n")
    second = write(tmp_path, "second.yaml", "states: [A]\ninital: A\n")
    third = write(tmp_path, "third.yaml", "states: [A\n")
    missing = tmp_path / "missing.yaml"

    with pytest.raises(InputError) as raised:
        load_models([first, second, third, missing])

    assert [(p.file, p.line, p.rule, p.name, p.suggestion) for p in raised.value.problems] == [
        (str(first), 3, "unknown-state", "Idel", "Idle"),
        (str(missing), 0, "file", None, None),
        (str(second), 2, "unknown-key", "inital", "initial"),
        (str(third), 2, "yaml-syntax", None, None),
    ]


def test_load_models_loads_good_files_when_none_is_bad(tmp_path):
    write(tmp_path, "host.yaml", HOST)
    write(tmp_path, "item.yaml", ITEM)
    models = load_models([tmp_path / "host.yaml", device(tmp_path)])
    assert [model.id for model in models] == ["host", "device"]
    assert models[1].component("host").machine is models[0].components[0].machine


# --- protocol requests of operations ------------------------------------------------------------

REQUESTS = """
    states: [Idle, Active]
    transitions:
      - {trigger: RequestActive, source: Idle, dest: Active}
      - {trigger: crashed, kind: autonomous, source: Active, dest: Idle}
    requests:
      REQUESTS
"""


def test_requests_are_kept_in_trigger_order(tmp_path):
    path = write(tmp_path, "m.yaml", REQUESTS.replace("REQUESTS", "RequestActive: SetParameterValues RequestedState=Active"))
    machine = load_machine(path)
    assert machine.requests == (("RequestActive", "SetParameterValues RequestedState=Active"),)
    assert machine.request("RequestActive") == "SetParameterValues RequestedState=Active"
    assert machine.request("crashed") == ""


def test_a_request_for_a_trigger_that_is_no_operation_is_reported_with_closest_name(tmp_path):
    # A typo, and an autonomous step (the device's own, which no server request is behind).
    text = REQUESTS.replace("REQUESTS", "RequestActiv: SetParameterValues\n      crashed: Reboot")
    assert summary(problems_of(write(tmp_path, "m.yaml", text))) == [
        (6, "unknown-trigger", "RequestActiv", "RequestActive"),
        (7, "request-for-non-operation", "crashed", None),
    ]


def test_a_request_that_is_not_a_text_is_reported(tmp_path):
    text = REQUESTS.replace("REQUESTS", "RequestActive: [SetParameterValues]")
    assert summary(problems_of(write(tmp_path, "m.yaml", text))) == [(6, "requests-shape", "RequestActive", None)]
