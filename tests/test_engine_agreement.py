"""The explicit and Z3 engines must agree, and both must give the answers we know.

* every shipped model and composition (small parameters) is analysed with each engine alone
  and with both (which raises InternalError on any disagreement); every verdict and the
  deadlock finding are compared;
* Hypothesis generates hundreds of random machines (every state kind, self-loops, unreachable
  parts, deadlocks, transient cycles, an observable with guards and assignments) and small
  random compositions; the engines must agree with each other and, for single machines, with
  a breadth-first search written here from the documented semantics;
* hand-written machines check known answers: an unreachable state, the shortest deadlock,
  a terminal state that is no deadlock, witness depth equal to BFS distance.
"""

from __future__ import annotations

import itertools
from collections import deque
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from checker.analysis import Z3_VERDICTS, SystemAnalysis, analyse
from checker.catalog import builtin_model_paths, load_models
from checker.composition import Composition, load_model
from checker.errors import InputError
from checker.loader import machine_from_document
from checker.model import SETTLED_KINDS, format_value
from checker.system import build_system

SPACER = "unreachable, proved by Spacer (CHC)"
assert Z3_VERDICTS["spacer"] == SPACER


# --- helpers ------------------------------------------------------------------------------------

def verdict_table(analysis: SystemAnalysis) -> dict[tuple, tuple[bool, int | None]]:
    """(instance, kind, name, value) -> (reachable, depth). Values are keyed with their type so
    that True and 1 stay apart."""
    return {
        (v.instance, v.target.kind, v.target.name, type(v.target.value).__name__, repr(v.target.value)):
            (v.reachable, v.depth)
        for v in analysis.verdicts
    }


def assert_witness_shows(analysis: SystemAnalysis, verdict) -> None:
    """A witness has one step per unit of depth, starts in the initial state and ends in a
    state where the verdict's own instance (not a symmetric sibling) shows the target."""
    witness = verdict.witness
    assert len(witness) - 1 == verdict.depth, verdict
    assert witness[0].state == analysis.system.describe(analysis.system.initial)
    shown = witness[-1].state[verdict.instance]
    if verdict.target.kind == "state":
        assert shown.split(" ")[0] == verdict.target.name, (verdict.label, shown)
    else:
        values = shown.partition(" (")[2].rstrip(")").split(", ")
        assert f"{verdict.target.name}={format_value(verdict.target.value)}" in values, (verdict.label, shown)


def deadlock_finding(analysis: SystemAnalysis):
    found = [finding for finding in analysis.findings if finding.kind == "deadlock"]
    assert len(found) <= 1
    return found[0] if found else None


def assert_engines_agree(explicit: SystemAnalysis, symbolic: SystemAnalysis) -> None:
    left, right = verdict_table(explicit), verdict_table(symbolic)
    assert left.keys() == right.keys()
    differences = {key: (left[key], right[key]) for key in left if left[key] != right[key]}
    assert not differences, f"explicit vs z3 on {explicit.system.name}: {differences}"
    for analysis in (explicit, symbolic):
        for verdict in analysis.verdicts:
            if verdict.reachable:
                assert_witness_shows(analysis, verdict)
    dead_explicit, dead_symbolic = deadlock_finding(explicit), deadlock_finding(symbolic)
    assert (dead_explicit is None) == (dead_symbolic is None), f"deadlock: explicit {dead_explicit}, z3 {dead_symbolic}"
    if dead_explicit is not None:
        # same shortest depth (the deadlocked state reached may differ among equally short ones)
        assert len(dead_explicit.witness) == len(dead_symbolic.witness)


# --- every shipped model and composition ---------------------------------------------------------

def shipped_systems() -> list[tuple[Composition, dict[str, int]]]:
    cases = []
    for composition in load_models(builtin_model_paths()):
        if composition.is_single_machine:
            cases.append((composition, {}))
            continue
        names = [name for name, _, _ in composition.parameters]
        chosen = []
        for combination in itertools.product((1, 2), repeat=len(names)):
            parameters = dict(zip(names, combination))
            if "n" in parameters:
                parameters["n"] = 1
            if parameters not in chosen:
                chosen.append(parameters)
        if composition.id == "tr069_device":
            chosen.append({"n": 2, "m": 1})
        cases.extend((composition, parameters) for parameters in chosen)
    return cases


SHIPPED = shipped_systems()


@pytest.mark.parametrize(("composition", "parameters"), SHIPPED,
                         ids=[build_system(c, p).name for c, p in SHIPPED])
def test_shipped_models_engines_agree(composition, parameters):
    system = build_system(composition, parameters)
    both = analyse(system, engine="both")  # raises InternalError on any disagreement
    assert set(both.timings) == {"explicit", "z3"}
    # The separate runs: the explicit one without the stuck-state analysis, which only the
    # explicit engine makes and which does not touch verdicts or deadlocks.
    explicit = analyse(system, engine="explicit", stuck_analysis=False)
    symbolic = analyse(system, engine="z3")
    assert_engines_agree(explicit, symbolic)
    assert verdict_table(both) == verdict_table(explicit)
    assert (deadlock_finding(both) is None) == (deadlock_finding(explicit) is None)
    for finding in both.findings:
        if finding.kind != "stuck-transient":
            assert finding.established_by == ("explicit", "z3")


# --- random machines ------------------------------------------------------------------------------

STATE_KINDS = ("stable", "transient", "absent", "terminal")
TRIGGERS = ("a", "b", "c", "d", "e")
VALUE_POOLS = (("Idle", "Busy", "Done"), (0, 9001, 9017), (True, False))
OBS = "O"
UNGUARDED = object()


@st.composite
def machine_documents(draw, min_states: int = 2, max_states: int = 9, trap: bool | None = None,
                      machine_id: str = "generated", min_groups: int = 0):
    """A valid machine document. With ``trap`` a chain of 1-3 transient states, entered from
    the initial state, loops on itself with no way out: a component caught there never settles."""
    trap = draw(st.booleans()) if trap is None else trap
    trap_size = draw(st.integers(1, min(3, max_states - 1))) if trap else 0
    main_count = draw(st.integers(max(1, min_states - trap_size), max_states - trap_size))
    kinds = draw(st.lists(st.sampled_from(STATE_KINDS), min_size=main_count, max_size=main_count))
    initial = draw(st.integers(0, main_count - 1))
    if (trap or min_groups) and kinds[initial] == "terminal":
        kinds[initial] = draw(st.sampled_from(("stable", "transient", "absent")))
    names = [f"S{i}" for i in range(main_count)] + [f"T{i}" for i in range(trap_size)]
    kinds = kinds + ["transient"] * trap_size

    document: dict[str, Any] = {"machine": machine_id}
    domain: list[Any] = []
    if draw(st.booleans()):
        pool = draw(st.sampled_from(VALUE_POOLS))
        values = list(pool[:draw(st.integers(2, len(pool)))])
        domain = [None, *values]
        document["observables"] = {OBS: {"values": values, "initial": draw(st.sampled_from(domain))}}
    document["initial"] = names[initial]
    states = []
    fixed: dict[str, Any] = {}
    for name, kind in zip(names, kinds):
        state: dict[str, Any] = {"name": name, "kind": kind}
        if domain and draw(st.booleans()):
            fixed[name] = draw(st.sampled_from(domain))
            state["observe"] = {OBS: fixed[name]}
        states.append(state)
    document["states"] = states

    def assignment(target: str) -> dict[str, Any]:
        if not domain or not draw(st.booleans()):
            return {}
        # a step may only set what its destination shows, where the destination fixes it
        return {"set": {OBS: fixed[target] if target in fixed else draw(st.sampled_from(domain))}}

    def transition(trigger: str, source: str, dest: str, completion_allowed: bool) -> dict[str, Any]:
        kinds_allowed = ["operation", "autonomous", "lifecycle"] + (["completion"] if completion_allowed else [])
        outcomes = ["success", "failure", "refused"] if dest == "=" else ["success", "failure"]
        step = {"trigger": trigger, "source": source, "dest": dest,
                "kind": draw(st.sampled_from(kinds_allowed)), "outcome": draw(st.sampled_from(outcomes))}
        step.update(assignment(source if dest == "=" else dest))
        return step

    transitions = []
    sources = [i for i in range(main_count) if kinds[i] != "terminal"]  # terminal states have no way out
    groups = []
    if sources:
        groups = draw(st.lists(st.tuples(st.sampled_from(TRIGGERS), st.sampled_from(sources)),
                               min_size=min_groups, max_size=10, unique=True))
    for trigger, source_index in groups:
        source = names[source_index]
        if domain and draw(st.booleans()):
            # one transition per guard value: the guards exclude each other
            guard_values = draw(st.lists(st.sampled_from(domain), min_size=1, max_size=len(domain), unique=True))
        else:
            guard_values = [UNGUARDED]
        for guard in guard_values:
            dest = draw(st.sampled_from(["=", *names]))
            step = transition(trigger, source, dest, kinds[source_index] == "transient")
            if guard is not UNGUARDED:
                step["when"] = {OBS: guard}
            transitions.append(step)
    if trap:
        trap_names = names[main_count:]
        transitions.append(transition("enter", names[initial], trap_names[0], kinds[initial] == "transient"))
        for position, name in enumerate(trap_names):
            following = trap_names[(position + 1) % trap_size]
            dest = "=" if following == name and draw(st.booleans()) else following
            transitions.append(transition("spin", name, dest, True))
    document["transitions"] = transitions
    return document


def bfs_oracle(document: dict[str, Any]) -> dict[str, Any]:
    """The documented semantics, executed directly on the document: configurations are a state
    and the observable's value; a state's `observe` overrides what a step `set`."""
    kind = {state["name"]: state["kind"] for state in document["states"]}
    shows = {state["name"]: state.get("observe", {}) for state in document["states"]}
    observable = document.get("observables", {}).get(OBS)

    def enter(state: str, value: Any) -> tuple[str, Any]:
        return state, shows[state].get(OBS, value)

    def same(a: Any, b: Any) -> bool:
        return type(a) is type(b) and a == b

    start = enter(document["initial"], observable["initial"] if observable else None)
    depth = {start: 0}
    order = [start]
    edges: dict[tuple, list[tuple]] = {}
    queue = deque([start])
    while queue:
        config = queue.popleft()
        state, value = config
        edges[config] = []
        for step in document["transitions"]:
            if step["source"] != state:
                continue
            if "when" in step and not same(step["when"][OBS], value):
                continue
            new_value = step["set"][OBS] if "set" in step else value
            target = enter(state if step["dest"] == "=" else step["dest"], new_value)
            edges[config].append(target)
            if target not in depth:
                depth[target] = depth[config] + 1
                order.append(target)
                queue.append(target)
    deadlocks = [c for c in order if not edges[c] and kind[c[0]] != "terminal"]
    # backward search from every settled configuration
    predecessors: dict[tuple, list[tuple]] = {c: [] for c in order}
    for source, targets in edges.items():
        for target in targets:
            predecessors[target].append(source)
    can_settle = {c for c in order if kind[c[0]] in SETTLED_KINDS}
    frontier = list(can_settle)
    while frontier:
        for source in predecessors[frontier.pop()]:
            if source not in can_settle:
                can_settle.add(source)
                frontier.append(source)
    trapped = [c for c in order if c not in can_settle]
    targets = {}
    for state in kind:
        depths = [d for c, d in depth.items() if c[0] == state]
        targets[("state", state, "NoneType", "None")] = (bool(depths), min(depths) if depths else None)
    if observable:
        for value in [None, *observable["values"]]:
            depths = [d for c, d in depth.items() if same(c[1], value)]
            targets[("value", OBS, type(value).__name__, repr(value))] = (bool(depths), min(depths) if depths else None)
    return {"targets": targets, "deadlock_depth": min((depth[c] for c in deadlocks), default=None),
            "trapped": trapped, "depth": depth}


def analyse_document(document: dict[str, Any]) -> tuple[SystemAnalysis, SystemAnalysis]:
    machine = machine_from_document(document, "generated.yaml")
    system = build_system(Composition.of_machine(machine))
    # every witness of either engine is replayed on the executable transitions machines
    return (analyse(system, engine="explicit", replay_witnesses="all"),
            analyse(system, engine="z3", replay_witnesses="all"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machine_documents())
def test_random_machines_engines_agree(document):
    explicit, symbolic = analyse_document(document)
    assert_engines_agree(explicit, symbolic)

    # ... and both agree with the search written here from the documented semantics
    oracle = bfs_oracle(document)
    instance = explicit.system.instances[0].name
    table = {key[1:]: value for key, value in verdict_table(explicit).items() if key[0] == instance}
    assert table == oracle["targets"]
    dead = deadlock_finding(explicit)
    if oracle["deadlock_depth"] is None:
        assert dead is None
    else:
        assert dead is not None and len(dead.witness) - 1 == oracle["deadlock_depth"]

    # a transient state from which the machine can never settle is reported, and only then
    stuck = [finding for finding in explicit.findings if finding.kind == "stuck-transient"]
    if oracle["trapped"]:
        assert len(stuck) == 1
        shallowest = min(oracle["depth"][c] for c in oracle["trapped"])
        assert stuck[0].subject in {c[0] for c in oracle["trapped"] if oracle["depth"][c] == shallowest}
        assert len(stuck[0].witness) - 1 == shallowest
    else:
        assert not stuck
    if any(name.startswith("T") for name in (s["name"] for s in document["states"])):
        assert stuck, "a reachable cycle of transient states with no exit must be reported"


@settings(max_examples=60, deadline=None)
@given(machine_documents(trap=True))
def test_transient_cycle_without_exit_is_stuck(document):
    """The trap (a cycle of transient states entered from the initial state, no way out) is
    always reported as stuck-transient by the explicit engine."""
    machine = machine_from_document(document, "generated.yaml")
    analysis = analyse(build_system(Composition.of_machine(machine)), engine="explicit")
    stuck = [finding for finding in analysis.findings if finding.kind == "stuck-transient"]
    assert len(stuck) == 1
    assert stuck[0].established_by == ("explicit",)
    # The trap is entered at depth 1; a transient state of the main part may be caught earlier
    # (the initial state itself, if it is transient and can only end in the trap).
    assert len(stuck[0].witness) - 1 <= 1


# --- random compositions ---------------------------------------------------------------------------

@st.composite
def composition_files(draw):
    """A parent machine (one instance, sometimes two), a child machine (two instances per
    parent), one synchronization and, mostly, one guard on a child trigger that reads the parent."""
    parent = draw(machine_documents(max_states=5, trap=False, machine_id="parent", min_groups=1))
    child = draw(machine_documents(max_states=5, trap=False, machine_id="child", min_groups=2))

    def pick_trigger(document: dict[str, Any]) -> str:
        # Mostly a trigger the initial state can take, so that the synchronization matters.
        first = sorted({t["trigger"] for t in document["transitions"] if t["source"] == document["initial"]})
        every = sorted({t["trigger"] for t in document["transitions"]})
        return draw(st.sampled_from(first if first and draw(st.integers(0, 7)) else every))

    leader, follower = pick_trigger(parent), pick_trigger(child)
    child_triggers = sorted({t["trigger"] for t in child["transitions"]})
    followers = [follower]
    if not draw(st.integers(0, 4)):
        # sometimes a second follower trigger: each child then takes two steps in a row
        followers.append(draw(st.sampled_from(child_triggers)))
    document: dict[str, Any] = {
        "composition": "generated",
        "components": [
            # one parent as asked; sometimes two, so that whole subtrees are symmetric too
            {"name": "p", "machine": "parent.yaml", "count": draw(st.sampled_from((1, 1, 1, 2)))},
            {"name": "c", "machine": "child.yaml", "count": 2, "parent": "p"},
        ],
        "synchronizations": [{"leader": f"p.{leader}", "followers": [f"c.{name}" for name in followers],
                              "mode": draw(st.sampled_from(("all", "enabled")))}],
    }
    guardable = [trigger for trigger in child_triggers if trigger not in followers]  # a follower cannot be guarded
    if guardable and draw(st.integers(0, 3)):
        requires: dict[str, Any] = {"component": "p"}
        parent_domain = parent.get("observables", {}).get(OBS)
        if parent_domain and draw(st.booleans()):
            requires["observe"] = {OBS: draw(st.sampled_from([None, *parent_domain["values"]]))}
        else:
            names = [state["name"] for state in parent["states"]]
            requires["states"] = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))
        document["guards"] = [{"trigger": f"c.{draw(st.sampled_from(guardable))}", "requires": requires}]
    return parent, child, document


@pytest.fixture(scope="module")
def composition_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("compositions")


_counter = itertools.count()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=composition_files())
def test_random_compositions_engines_agree(composition_dir, files):
    parent, child, document = files
    directory = composition_dir / f"case{next(_counter)}"
    directory.mkdir()
    for name, content in (("parent.yaml", parent), ("child.yaml", child), ("composition.yaml", document)):
        (directory / name).write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    composition = load_model(directory / "composition.yaml")
    system = build_system(composition)
    expected = (["p", "p.c1", "p.c2"] if document["components"][0]["count"] == 1
                else ["p1", "p2", "p1.c1", "p1.c2", "p2.c1", "p2.c2"])
    assert [instance.name for instance in system.instances] == expected
    # Every witness is replayed on the executable transitions machines, which implement the
    # composition's synchronizations and guards without the engines' tables.
    explicit = analyse(system, engine="explicit", stuck_analysis=False, replay_witnesses="all")
    symbolic = analyse(system, engine="z3", replay_witnesses="all")
    assert_engines_agree(explicit, symbolic)


# --- known answers ---------------------------------------------------------------------------------

def system_of(text: str):
    machine = machine_from_document(yaml.safe_load(text), "known.yaml")
    return build_system(Composition.of_machine(machine))


def test_plain_dict_documents_load_and_report_problems():
    """machine_from_document works on plain dicts (no line numbers) and reports, not crashes on,
    an unknown key."""
    document = {"states": ["A", "B"], "transitions": [{"trigger": "go", "source": "A", "dest": "B"}]}
    machine = machine_from_document(document, "generated.yaml")
    assert machine.state_names == ["A", "B"]
    with pytest.raises(InputError) as raised:
        machine_from_document({"states": [{"name": "A", "colour": "red"}], "bogus": 1}, "generated.yaml")
    assert {problem.rule for problem in raised.value.problems} == {"unknown-key"}
    assert {problem.line for problem in raised.value.problems} == {0}


UNREACHABLE = """
machine: lonely
states:
  - Idle
  - Busy
  - name: Orphan
    description: nothing leads here
transitions:
  - {trigger: start, source: Idle, dest: Busy}
  - {trigger: stop, source: Busy, dest: Idle}
  - {trigger: leave, source: Orphan, dest: Idle}
"""


def test_unreachable_state_in_a_machine():
    system = system_of(UNREACHABLE)
    analysis = analyse(system, engine="both")
    findings = [f for f in analysis.findings if f.kind == "unreachable-state"]
    assert [f.subject for f in findings] == ["Orphan"]
    assert findings[0].established_by == ("explicit", "z3")
    verdict = analysis.verdict("lonely", "state", "Orphan")
    assert not verdict.reachable and verdict.witness is None
    assert verdict.engines["explicit"] == "not among the 2 reachable states"
    # Within one machine Z3 decides this without Spacer: the machine's configurations, which
    # are enumerated with every trigger free, never show Orphan. The composition test below
    # makes Spacer do the proof.
    assert verdict.engines["z3"] == Z3_VERDICTS["structure"]
    assert not deadlock_finding(analysis)


GATE = """
machine: gate
states: [Closed, Open]
transitions:
  - {trigger: open, source: Closed, dest: Open}
  - {trigger: close, source: Open, dest: Closed}
"""
ROOM = """
machine: room
states: [Empty, Occupied, Locked]
transitions:
  - {trigger: enter, source: Empty, dest: Occupied}
  - {trigger: leave, source: Occupied, dest: Empty}
  - {trigger: lock, source: Empty, dest: Locked}
  - {trigger: unlock, source: Locked, dest: Empty}
"""
# `lock` needs the gate Open while the room is Empty, but `open` is a follower of `enter` (the gate
# opens only with someone entering) and `close` follows `leave`: whenever the room is Empty the gate
# is Closed. Locked is reachable in the room machine alone, so only a proof over the composition
# (Spacer) can establish that it is unreachable here.
HOUSE = """
composition: house
components:
  - {name: gate, machine: gate.yaml}
  - {name: room, machine: room.yaml}
synchronizations:
  - {leader: room.enter, followers: [gate.open]}
  - {leader: room.leave, followers: [gate.close]}
guards:
  - trigger: room.lock
    requires: {component: gate, states: [Open]}
"""


def test_unreachable_state_in_a_composition_is_proved_by_spacer(tmp_path):
    for name, text in (("gate.yaml", GATE), ("room.yaml", ROOM), ("house.yaml", HOUSE)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    system = build_system(load_model(tmp_path / "house.yaml"))
    analysis = analyse(system, engine="both")
    findings = [f for f in analysis.findings if f.kind == "unreachable-state"]
    assert [(f.instance, f.subject) for f in findings] == [("room", "Locked")]
    assert findings[0].established_by == ("explicit", "z3")
    verdict = analysis.verdict("room", "state", "Locked")
    assert verdict.engines["z3"] == SPACER
    assert verdict.engines["explicit"] == "not among the 2 reachable states"
    assert analysis.verdict("room", "state", "Occupied").depth == 1


LAMP = """
machine: lamp
states: [Dark, Ready, Lit]
transitions:
  - {trigger: arm, source: Dark, dest: Ready}
  - {trigger: light, source: Ready, dest: Lit}
  - {trigger: reset, source: Lit, dest: Dark}
"""
SWITCH = """
machine: switch
states: [Up, Down]
transitions:
  - {trigger: flip, source: Up, dest: Down}
  - {trigger: flop, source: Down, dest: Up}
"""
# One leader step drags each lamp through two steps in a row: arm, then light.
PANEL = """
composition: panel
components:
  - {name: switch, machine: switch.yaml}
  - {name: lamp, machine: lamp.yaml, count: 2, parent: switch}
synchronizations:
  - {leader: switch.flip, followers: [lamp.arm, lamp.light], mode: %s}
"""


@pytest.mark.parametrize("mode", ["all", "enabled"])
def test_two_follower_steps_of_one_instance_happen_in_order(tmp_path, mode):
    """Regression: the Z3 relation used to require both follower steps from the same start
    (Dark -arm-> Ready and Ready -light-> Lit at once), so it found Lit unreachable while the
    explicit engine, which takes the steps one after the other, reached it in one step."""
    for name, text in (("lamp.yaml", LAMP), ("switch.yaml", SWITCH), ("panel.yaml", PANEL % mode)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    system = build_system(load_model(tmp_path / "panel.yaml"))
    analysis = analyse(system, engine="both", replay_witnesses="all")
    for lamp in ("switch.lamp1", "switch.lamp2"):
        assert analysis.verdict(lamp, "state", "Lit").depth == 1
        assert not analysis.verdict(lamp, "state", "Ready").reachable  # only ever passed through
    assert_engines_agree(analyse(system, engine="explicit"), analyse(system, engine="z3"))
    # after flip the lamps are Lit and the switch Down; flop is free, reset is free, then flip
    # needs both lamps Dark to arm them (mode all) or drags only those that can (mode enabled)
    assert deadlock_finding(analysis) is None


DEADLOCK = """
machine: stalls
initial: Start
states:
  - Start
  - {name: Working, kind: transient}
  - Middle
  - {name: Finished, kind: terminal}   # reached in 2 steps, found before Stuck: no way out, no deadlock
  - Stuck                              # reached in 2 steps, no way out: the shortest deadlock
  - Deeper
  - Jammed                             # reached in 3 steps, no way out
transitions:
  - {trigger: run, source: Start, dest: Working}
  - {trigger: begin, source: Start, dest: Middle}
  - {trigger: done, kind: completion, source: Working, dest: Finished}
  - {trigger: fail, kind: completion, outcome: failure, source: Working, dest: Middle}
  - {trigger: wedge, source: Middle, dest: Stuck}
  - {trigger: descend, source: Middle, dest: Deeper}
  - {trigger: push, source: Middle, dest: "="}
  - {trigger: jam, source: Deeper, dest: Jammed}
"""

# The same with a way into Jammed straight from the start: now it is the shortest deadlock.
DEADLOCK_SHORTER = DEADLOCK.replace(
    "  - {trigger: jam, source: Deeper, dest: Jammed}\n",
    "  - {trigger: jam, source: Deeper, dest: Jammed}\n  - {trigger: bump, source: Start, dest: Jammed}\n",
)


def test_deadlock_witness_is_shortest_and_ends_in_the_deadlocked_state():
    for engine in ("both", "explicit", "z3"):
        analysis = analyse(system_of(DEADLOCK), engine=engine)
        finding = deadlock_finding(analysis)
        assert finding is not None, engine
        assert len(finding.witness) - 1 == 2  # Start -begin-> Middle -wedge-> Stuck
        assert finding.witness[-1].state["stalls"] == "Stuck"
        assert finding.witness[0].state["stalls"] == "Start"
        assert finding.subject == "stalls=Stuck"
        assert finding.message.startswith("deadlock after 2 steps")
        assert [step.event for step in finding.witness[1:]] == ["stalls.begin", "stalls.wedge"]
        assert analysis.deadlock_count in (None, 2)  # counted by the explicit engine only
    analysis = analyse(system_of(DEADLOCK_SHORTER), engine="both")
    finding = deadlock_finding(analysis)
    assert finding.witness[-1].state["stalls"] == "Jammed" and len(finding.witness) == 2
    assert analysis.deadlock_count == 2
    assert finding.established_by == ("explicit", "z3")


TERMINAL = """
machine: ends
states:
  - Running
  - {name: Done, kind: %s}
transitions:
  - {trigger: finish, source: Running, dest: Done}
"""


def test_terminal_state_is_not_a_deadlock():
    for engine in ("both", "explicit", "z3"):
        analysis = analyse(system_of(TERMINAL % "terminal"), engine=engine)
        assert deadlock_finding(analysis) is None, engine
        assert analysis.verdict("ends", "state", "Done").reachable
    # The same machine with Done merely stable deadlocks there.
    for engine in ("both", "explicit", "z3"):
        finding = deadlock_finding(analyse(system_of(TERMINAL % "stable"), engine=engine))
        assert finding is not None and finding.witness[-1].state["ends"] == "Done", engine


DISTANCES = """
machine: ladder
observables:
  Rung: {values: [low, high]}
states:
  - {name: R0, observe: {Rung: low}}
  - R1
  - R2
  - {name: R3, observe: {Rung: high}}
  - R4
transitions:
  - {trigger: up, source: R0, dest: R1}
  - {trigger: up, source: R1, dest: R2}
  - {trigger: up, source: R2, dest: R3}
  - {trigger: up, source: R3, dest: R4}
  - {trigger: leap, source: R0, dest: R2}
  - {trigger: down, source: [R1, R2, R3, R4], dest: R0}
"""


def test_witness_depth_equals_breadth_first_distance():
    # distances from R0 following every edge: R1 1, R2 1 (leap), R3 2, R4 3
    expected = {"R0": 0, "R1": 1, "R2": 1, "R3": 2, "R4": 3}
    system = system_of(DISTANCES)
    for engine in ("both", "explicit", "z3"):
        analysis = analyse(system, engine=engine)
        for state, distance in expected.items():
            verdict = analysis.verdict("ladder", "state", state)
            assert verdict.reachable and verdict.depth == distance, (engine, state)
            assert len(verdict.witness) == distance + 1
            assert verdict.witness[-1].state["ladder"].startswith(state)
            assert verdict.witness[0].state["ladder"].startswith("R0")
        # values: R0 shows low from the start, high first shows in R3
        assert analysis.verdict("ladder", "value", "Rung", "low").depth == 0
        assert analysis.verdict("ladder", "value", "Rung", "high").depth == 2
        assert not analysis.verdict("ladder", "value", "Rung", None).reachable
