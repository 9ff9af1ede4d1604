"""Tests of the executable transitions machines: simulation, composition semantics, replay."""

from __future__ import annotations

import dataclasses
import io
import random
import textwrap
from pathlib import Path

import pytest

from checker.analysis import analyse
from checker.cli import main
from checker.composition import load_model
from checker.errors import ExitCode, InputError, InternalError
from checker.executable import EventRefused, ExecutableComposition, build_machine, replay, simulate
from checker.explicit import explore
from checker.system import System, build_system

PLAIN = """\
states: [A, B]
transitions:
  - {trigger: go, source: A, dest: B}
"""

# A machine with observables, a guard choosing between success and refusal, and `set`.
PART = """\
machine: part
observables:
  Running: {values: [true, false]}
  AutoStart: {values: [true, false], initial: false}
initial: Absent
states:
  - {name: Absent, kind: absent, observe: {Running: null}}
  - {name: Idle, observe: {Running: false}}
  - {name: Active, observe: {Running: true}}
transitions:
  - {trigger: created, kind: lifecycle, source: Absent, dest: Idle}
  - {trigger: removed, kind: lifecycle, source: [Idle, Active], dest: Absent}
  - {trigger: Start, source: Idle, dest: Active}
  - {trigger: Stop, source: Active, dest: Idle}
  - trigger: SetAutoStart
    source: [Idle, Active]
    dest: "="
    when: {AutoStart: false}
    set: {AutoStart: true}
  - {trigger: SetAutoStart, outcome: refused, source: [Idle, Active], dest: "=", when: {AutoStart: true}}
"""

UNIT = """\
machine: unit
observables:
  Status: {values: [Installing, Installed, Updating]}
initial: Absent
states:
  - {name: Absent, kind: absent, observe: {Status: null}}
  - {name: Installing, kind: transient, observe: {Status: Installing}}
  - {name: Installed, observe: {Status: Installed}}
  - {name: Updating, kind: transient, observe: {Status: Updating}}
transitions:
  - {trigger: Install, source: Absent, dest: Installing}
  - {trigger: install_done, kind: completion, source: Installing, dest: Installed}
  - {trigger: Reset, source: Installed, dest: "="}
  - {trigger: Pause, source: Installed, dest: "="}
  - {trigger: Remove, source: Installed, dest: Absent}
  - {trigger: Update, source: Installed, dest: Updating}
  - {trigger: update_done, kind: completion, source: Updating, dest: Installed}
"""

ENVIRONMENT = """\
machine: environment
states: [Up, Down]
transitions:
  - {trigger: Fail, source: Up, dest: Down}
  - {trigger: Recover, source: Down, dest: Up}
"""

DEVICE = """\
composition: device
parameters:
  n: {default: 1}
  m: {default: 2}
components:
  - {name: env, machine: environment.yaml}
  - {name: unit, machine: unit.yaml, count: n}
  - {name: part, machine: part.yaml, count: m, parent: unit}
synchronizations:
  - {leader: unit.install_done, followers: [part.created], mode: all}
  - {leader: unit.Reset, followers: [part.Stop], mode: all}
  - {leader: unit.Pause, followers: [part.Stop], mode: enabled}
  - {leader: unit.Remove, followers: [part.removed]}
guards:
  - trigger: part.Start
    requires: {component: env, states: [Up]}
  - trigger: part.SetAutoStart
    requires: {component: unit, observe: {Status: Installed}}
"""


def _write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")


@pytest.fixture
def plain_system(tmp_path) -> System:
    _write(tmp_path, {"plain.yaml": PLAIN})
    return build_system(load_model(tmp_path / "plain.yaml"))


@pytest.fixture
def part_system(tmp_path) -> System:
    _write(tmp_path, {"part.yaml": PART})
    return build_system(load_model(tmp_path / "part.yaml"))


@pytest.fixture
def device_path(tmp_path) -> Path:
    _write(tmp_path, {"part.yaml": PART, "unit.yaml": UNIT, "environment.yaml": ENVIRONMENT,
                      "device.yaml": DEVICE})
    return tmp_path / "device.yaml"


@pytest.fixture
def device(device_path) -> System:
    return build_system(load_model(device_path))


def _run(system: System, events: list[str]) -> ExecutableComposition:
    executable = ExecutableComposition(system)
    for event in events:
        executable.fire(event)
    return executable


INSTALLED = ["unit1.Install", "unit1.install_done"]


# --- single machines ------------------------------------------------------------------


def test_plain_machine_is_a_transitions_machine(plain_system):
    machine, driven = build_machine(plain_system.instances[0].local.machine)
    assert driven.state == "A" and driven.values == {}
    assert machine.get_triggers("A") == ["go"]
    assert driven.may_go()
    driven.go()
    assert driven.state == "B"
    assert not driven.may_trigger("go")


def test_simulate_plain_machine_accepts_bare_triggers(plain_system):
    stream = io.StringIO()
    assert simulate(plain_system, ["go"], stream) == 0
    expected = "plain: initial state\n  plain  A\n1. plain.go\n  plain  B\nallowed next: none\n"
    assert stream.getvalue() == expected


def test_observables_guards_and_set(part_system):
    machine, driven = build_machine(part_system.instances[0].local.machine)
    assert driven.values == {"Running": None, "AutoStart": False}
    driven.created()
    assert driven.state == "Idle" and driven.values == {"Running": False, "AutoStart": False}
    driven.SetAutoStart()
    assert driven.values["AutoStart"] is True and driven.last_transition.outcome == "success"
    # The guard now selects the refused transition of the same trigger and source.
    driven.SetAutoStart()
    assert driven.state == "Idle" and driven.last_transition.label == "SetAutoStart [refused]"
    driven.Start()
    assert driven.values == {"Running": True, "AutoStart": True}


def test_simulate_names_the_outcome(part_system):
    stream = io.StringIO()
    assert simulate(part_system, ["created", "SetAutoStart", "part.SetAutoStart"], stream) == 0
    lines = stream.getvalue().splitlines()
    assert "2. part.SetAutoStart" in lines
    assert "3. part.SetAutoStart [refused]" in lines
    assert "  part  Idle    Running=false AutoStart=true" in lines


# --- compositions ---------------------------------------------------------------------


def test_simulate_prints_every_instance(device):
    stream = io.StringIO()
    assert simulate(device, INSTALLED, stream) == 0
    assert stream.getvalue() == textwrap.dedent("""\
        device[m=2,n=1]: initial state
          env          Up          
          unit1        Absent      Status=—
          unit1.part1  Absent      Running=— AutoStart=false
          unit1.part2  Absent      Running=— AutoStart=false
        1. unit1.Install
          env          Up          
          unit1        Installing  Status=Installing
          unit1.part1  Absent      Running=— AutoStart=false
          unit1.part2  Absent      Running=— AutoStart=false
        2. unit1.install_done (with unit1.part1.created, unit1.part2.created)
          env          Up          
          unit1        Installed   Status=Installed
          unit1.part1  Idle        Running=false AutoStart=false
          unit1.part2  Idle        Running=false AutoStart=false
        allowed next: env.Fail, unit1.Pause, unit1.Remove, unit1.Update, unit1.part1.SetAutoStart, \
unit1.part1.Start, unit1.part2.SetAutoStart, unit1.part2.Start
        """).replace("Up          \n", "Up\n")


def test_refused_event_exits_2_naming_state_and_allowed_events(device, capsys):
    stream = io.StringIO()
    assert simulate(device, ["unit1.Install", "unit1.Remove"], stream) == ExitCode.INVALID_INPUT
    error = capsys.readouterr().err
    assert "event 'unit1.Remove' is not allowed in env=Up, unit1=Installing, unit1.part1=Absent" in error
    assert "allowed: env.Fail, unit1.install_done" in error
    assert "1. unit1.Install" in stream.getvalue() and "unit1.Remove" not in stream.getvalue()


def test_cli_simulate_refusal_exit_code(device_path, capsys):
    assert main(["simulate", str(device_path), "unit1.Install", "nobody.Install"]) == 2
    assert "there is no instance 'nobody'" in capsys.readouterr().err
    assert main(["simulate", "-m", "1", str(device_path), *INSTALLED]) == 0
    assert "unit1.part2" not in capsys.readouterr().out


def test_event_refused_is_an_input_error(device):
    executable = ExecutableComposition(device)
    with pytest.raises(EventRefused) as raised:
        executable.fire("unit1.Remove")
    error = raised.value
    assert isinstance(error, InputError) and error.exit_code == ExitCode.INVALID_INPUT
    assert str(error).startswith("event 'unit1.Remove' is not allowed in env=Up, unit1=Absent, ")
    assert str(error).endswith("; allowed: env.Fail, unit1.Install")
    assert error.allowed == ["env.Fail", "unit1.Install"]


def test_followers_cannot_be_fired_directly(device):
    executable = _run(device, ["unit1.Install"])
    with pytest.raises(EventRefused, match=r"driven by unit\.install_done"):
        executable.fire("unit1.part1.created")
    executable = _run(device, [*INSTALLED, "unit1.part1.Start"])
    with pytest.raises(EventRefused, match=r"driven by unit\.Pause, unit\.Reset"):
        executable.fire("unit1.part1.Stop")
    allowed = executable.allowed_events()
    assert not any(event.endswith(".Stop") or event.endswith(".created") for event in allowed)


def test_leader_fires_its_followers(device):
    executable = _run(device, ["unit1.Install"])
    assert executable.fire("unit1.install_done") == ["unit1.part1.created", "unit1.part2.created"]
    state = executable.state()
    assert state["unit1"] == ("Installed", {"Status": "Installed"})
    assert state["unit1.part1"] == ("Idle", {"Running": False, "AutoStart": False})
    assert state["unit1.part2"][0] == "Idle"
    assert executable.fire("unit1.Remove") == ["unit1.part1.removed", "unit1.part2.removed"]
    assert [state for state, _ in executable.state().values()] == ["Up", "Absent", "Absent", "Absent"]


def test_mode_all_refuses_when_a_follower_cannot_move(device):
    executable = _run(device, [*INSTALLED, "unit1.part1.Start"])
    before = executable.state()
    assert "unit1.Reset" not in executable.allowed_events()
    with pytest.raises(EventRefused, match=r"follower unit1\.part2 cannot take Stop in Idle"):
        executable.fire("unit1.Reset")
    assert executable.state() == before  # neither the leader nor part1 moved
    executable.fire("unit1.part2.Start")
    assert executable.fire("unit1.Reset") == ["unit1.part1.Stop", "unit1.part2.Stop"]
    assert executable.state()["unit1.part2"][0] == "Idle"


def test_mode_enabled_moves_the_followers_that_can(device):
    executable = _run(device, [*INSTALLED, "unit1.part1.Start"])
    assert executable.fire("unit1.Pause") == ["unit1.part1.Stop"]
    assert executable.state()["unit1.part1"][0] == "Idle"
    assert executable.state()["unit1.part2"][0] == "Idle"
    assert executable.last_event == "unit1.Pause"


def test_guard_on_a_single_instance_state(device):
    executable = _run(device, [*INSTALLED, "env.Fail"])
    with pytest.raises(EventRefused, match=r"unit1\.part1\.Start requires env in Up") as raised:
        executable.fire("unit1.part1.Start")
    assert "unit1.part1.Start" not in raised.value.allowed
    executable.fire("env.Recover")
    executable.fire("unit1.part1.Start")
    assert executable.state()["unit1.part1"][0] == "Active"


def test_guard_on_the_parent_observable(device):
    # part.SetAutoStart requires the part's own parent unit to show Status=Installed.
    executable = _run(device, [*INSTALLED, "unit1.Update"])
    blocked = r"unit1\.part1\.SetAutoStart requires unit1 with Status=Installed"
    with pytest.raises(EventRefused, match=blocked):
        executable.fire("unit1.part1.SetAutoStart")
    executable.fire("unit1.update_done")
    executable.fire("unit1.part1.SetAutoStart")
    assert executable.state()["unit1.part1"][1]["AutoStart"] is True


def test_unknown_events_are_refused(device):
    executable = ExecutableComposition(device)
    with pytest.raises(EventRefused, match="INSTANCE.TRIGGER"):
        executable.fire("Install")
    with pytest.raises(EventRefused, match="unit1 has no trigger 'Start'"):
        executable.fire("unit1.Start")


# --- replay ---------------------------------------------------------------------------


def _witnesses(system: System):
    analysis = analyse(system, engine="explicit")
    witnesses = [verdict.witness for verdict in analysis.verdicts if verdict.witness]
    witnesses += [list(finding.witness) for finding in analysis.findings if finding.witness]
    return witnesses


@pytest.mark.parametrize("name", ["plain_system", "part_system", "device"])
def test_replay_accepts_every_witness(name, request):
    system = request.getfixturevalue(name)
    witnesses = _witnesses(system)
    assert witnesses
    for witness in witnesses:
        replay(system, witness)


def test_replay_rejects_a_tampered_witness(device):
    witness = max(_witnesses(device), key=len)
    assert len(witness) >= 4
    replay(device, witness)

    last = len(witness) - 1
    moved = witness[last].changed[0]
    state = dict(witness[last].state)
    _, space, values = state[moved].partition(" ")
    state[moved] = "Elsewhere" + space + values
    tampered = witness[:last] + [dataclasses.replace(witness[last], state=state)]
    with pytest.raises(InternalError, match=rf"step {last} .*{moved}: the witness says 'Elsewhere"):
        replay(device, tampered)

    state = dict(witness[0].state)
    state["env"] = "Down"
    with pytest.raises(InternalError, match=r"step 0 \(initial state\): env"):
        replay(device, [dataclasses.replace(witness[0], state=state), *witness[1:]])

    # An event the machines refuse, and an outcome they do not take, are both caught.
    refused = dataclasses.replace(witness[1], event="unit1.Remove")
    with pytest.raises(InternalError, match=r"step 1: event 'unit1.Remove' is not allowed"):
        replay(device, [witness[0], refused, *witness[2:]])
    wrong_outcome = dataclasses.replace(witness[1], event="unit1.Install [failure]")
    with pytest.raises(InternalError, match=r"step 1 .*took 'unit1.Install'"):
        replay(device, [witness[0], wrong_outcome, *witness[2:]])


# --- agreement with the compiled tables -----------------------------------------------


def _event_of(label: str) -> str:
    return label.partition(" [")[0]


def test_executable_agrees_with_system_successors(device):
    exploration = explore(device)
    chooser = random.Random(0)
    assert len(exploration.states) > 20
    for state_index in range(len(exploration.states)):
        # Reach the state along the engine's own path, then wander off it at random.
        path = exploration.path_to(state_index)
        executable = _run(device, [_event_of(device.labels[label]) for label, _ in path[1:]])
        state = exploration.states[state_index]
        for _ in range(4):
            assert executable.describe() == device.describe(state)
            successors = {device.labels[label]: target for label, target in device.successors(state)}
            assert executable.allowed_events() == sorted({_event_of(label) for label in successors})
            if not successors:
                break
            label = chooser.choice(sorted(successors))
            executable.fire(_event_of(label))
            assert executable.last_event == label
            state = successors[label]
