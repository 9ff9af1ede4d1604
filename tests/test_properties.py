"""Property checking: the language, its errors, the engines and their agreement.

* the parser accepts the documented grammar and points at file:line:column with what it
  expected; binding names every unknown instance, state, observable and trigger with the
  closest valid name; CTL and LTL may not be mixed;
* Z3 (cone of influence, symmetry) and the explicit engine agree on invariants and
  reachability, on shipped systems and on random machines with random formulas;
* the CTL labelling agrees with a naive fixed-point evaluator written here, and the LTL
  tableau agrees with CTL on formulas where the two logics coincide, with and without
  fairness: two independent algorithms;
* counterexamples are shortest, replayed, and lasso-shaped for liveness;
* the cone of influence is exact: the restriction's reachable states are the projections of
  the whole system's.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from checker import proplang as p
from checker.catalog import builtin_model_paths, load_models
from checker.cone import closed_cone, restrict
from checker.errors import InputError
from checker.explicit import explore
from checker.loader import machine_from_document
from checker.composition import Composition
from checker.propbind import LocalIn, bind, classify
from checker.propexplicit import StateGraph, check_ctl, check_ltl
from checker.propfile import load_properties
from checker.proplang import FormulaSyntaxError, parse_formula
from checker.prove import check_properties, check_property
from checker.system import build_system

from test_engine_agreement import machine_documents


def builtin(stem: str, **parameters):
    (model,) = load_models([path for path in builtin_model_paths() if path.stem == stem])
    return build_system(model, parameters)


def write(tmp_path: Path, text: str, name: str = "props.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def prove_text(tmp_path: Path, text: str, **options):
    return check_properties(load_properties(write(tmp_path, text)), **options)


# --- the language ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("AG du1 is Installed", p.Temporal),
    ("EF (exists d in dp: d is Delivered)", p.Temporal),
    ("forall u in du: forall e in u.eu: AG (e is Active -> u is Installed)", p.Quantified),
    ("A[ du1 is Installing U du1 in {Installed, Absent} ]", p.Until),
    ("E[ true U deadlock ]", p.Until),
    ("AX[du1.Install] du1 is Installing", p.Next),
    ("G (du1 is Installing -> F !(du1 is Installing))", p.Temporal),
    ("du1.Resolved == true & du1.eu1.Status != Active", p.And),
    ("enabled(du1.Update) <-> du1 is Installed", p.Iff),
    ("du1 is Absent U du1 is Installing", p.Until),
])
def test_grammar_accepts_documented_forms(text, expected):
    assert isinstance(parse_formula(text), expected)


def test_precedence_and_associativity():
    formula = parse_formula("a is A | b is B & c is C -> d is D")
    assert isinstance(formula, p.Implies)
    assert isinstance(formula.premise, p.Or) and isinstance(formula.premise.operands[1], p.And)
    chained = parse_formula("a is A -> b is B -> c is C")  # right-associative
    assert isinstance(chained.conclusion, p.Implies)
    temporal = parse_formula("AG a is A | b is B")  # unary operators bind tighter than |
    assert isinstance(temporal, p.Or)


@pytest.mark.parametrize("text, line, column, fragment", [
    ("AG (du1 is ", 3, 15, "expected a name"),
    ("AG du1 iz Installed", 3, 12, "unexpected 'iz'"),
    ("E[ du1 is Installed ]", 3, 8, "expected 'l U r' inside E[...]"),
    ("AG du1 is Installed )", 3, 25, "unexpected ')'"),
    ("AG du1 is Installed $", 3, 25, "unexpected character '$'"),
])
def test_syntax_errors_point_at_line_and_column(text, line, column, fragment):
    with pytest.raises(FormulaSyntaxError) as error:
        parse_formula(text, line=3, column=5)
    assert (error.value.line, error.value.column) == (line, column)
    assert fragment in error.value.message


def test_errors_in_a_block_scalar_point_into_the_file(tmp_path):
    path = write(tmp_path, """\
        properties:
          - name: broken
            system: tr069-device
            formula: >-
              AG (forall u in du:
                    u is Installed &)
        """)
    with pytest.raises(InputError) as error:
        load_properties(path)
    (problem,) = error.value.problems
    assert (problem.line, problem.column) == (6, 29), problem  # the ")" after "&"
    assert problem.rule == "formula-syntax" and "unexpected ')'" in problem.message


def test_unquoted_quantifier_colon_gets_a_hint(tmp_path):
    path = write(tmp_path, """\
        properties:
          - name: colon
            system: tr069-device
            formula: AG (forall u in du: u is Installed)
        """)
    with pytest.raises(InputError) as error:
        load_properties(path)
    assert "block scalar" in str(error.value)


def test_binding_reports_every_unknown_name_with_the_closest(tmp_path):
    path = write(tmp_path, """\
        properties:
          - name: names
            system: tr069-device
            formula: "AG (du2 is Installed & du1 is Instaled & du1.Resolvd == true & enabled(du1.Updat) & du1.Status == Bogus)"
        """)
    (spec,) = load_properties(path)
    with pytest.raises(InputError) as error:
        check_properties([spec])
    messages = [(problem.column, problem.name, problem.suggestion) for problem in error.value.problems]
    assert (19, "du2", "du1") in messages
    assert ("Instaled", "Installed") in [(name, suggestion) for _, name, suggestion in messages]
    assert ("Resolvd", "Resolved") in [(name, suggestion) for _, name, suggestion in messages]
    assert ("Updat", "Update") in [(name, suggestion) for _, name, suggestion in messages]
    assert "Bogus" in [name for _, name, _ in messages]
    assert all(problem.line == 4 for problem in error.value.problems)


def test_ctl_and_ltl_may_not_be_mixed():
    system = builtin("tr069-device")
    with pytest.raises(InputError, match="mixed"):
        bind(parse_formula("AG (du1 is Installing -> F du1 is Installed)"), system, "f.yaml")


def test_variables_and_children_domains_expand():
    system = builtin("tr069-device", m=3)
    bound = bind(parse_formula("forall u in du: forall e in u.eu: e is Absent"), system, "f")
    assert isinstance(bound, p.And) and len(bound.operands) == 1 and len(bound.operands[0].operands) == 3
    assert {atom.instance for atom in bound.operands[0].operands} == {2, 3, 4}
    with pytest.raises(InputError, match="not a variable"):
        bind(parse_formula("forall e in x.eu: e is Absent"), system, "f")


@pytest.mark.parametrize("text, kind", [
    ("AG du1 is Installed", "invariant"), ("G du1 is Installed", "invariant"),
    ("EF du1 is Installed", "reachability"), ("AF du1 is Installed", "ctl"),
    ("AG EF du1 is Installed", "ctl"), ("F du1 is Installed", "ltl"),
])
def test_classification_decides_the_engines(text, kind):
    assert classify(bind(parse_formula(text), builtin("tr069-device"), "f")) == kind


def test_file_validation_reports_all_problems(tmp_path):
    path = write(tmp_path, """\
        properties:
          - name: ok-one
            system: tr069-device
            formula: EF du1 is Installed
          - name: ok-one
            system: tr069-devise
            formula: EF du1 is Installed
            fairnes: [completions]
          - name: Bad Name
            system: tr069-device
            formula: EF du1 is Installed
          - name: no-formula
            system: tr069-device
          - name: bad-fairness
            system: tr069-device
            formula: EF du1 is Installed
            fairness: [always]
        """)
    with pytest.raises(InputError) as error:
        load_properties(path)
    rules = sorted((problem.line, problem.rule) for problem in error.value.problems)
    assert rules == [(5, "duplicate"), (6, "system"), (8, "unknown-key"), (9, "name"), (12, "missing-key"),
                     (17, "fairness")]
    suggestions = {problem.rule: problem.suggestion for problem in error.value.problems}
    assert suggestions["system"] == "tr069-device" and suggestions["unknown-key"] == "fairness"


# --- engines: safety ------------------------------------------------------------------------------


def test_invariant_proved_by_spacer_and_confirmed_by_explicit(tmp_path):
    (result,) = prove_text(tmp_path, """\
        properties:
          - name: eu-needs-du
            system: tr069-device
            formula: >-
              AG (forall u in du: forall e in u.eu: e is Active -> u in {Installed, Updating, Uninstalling})
        """)
    assert result.status == "holds" and result.engine.startswith("z3 spacer")
    assert "1 up to symmetry" in result.engine and result.evidence.startswith("inductive invariant")
    assert result.cross_checks == {"explicit": "holds"}


def test_violated_invariant_has_a_shortest_replayed_counterexample(tmp_path):
    (result,) = prove_text(tmp_path, """\
        properties:
          - name: never-delivered
            system: scomo-device
            formula: "AG !(exists d in dp: d is Delivered)"
        """)
    assert result.status == "violated" and result.engine.startswith("z3 bmc")
    assert result.cross_checks == {"explicit": "violated"}
    assert result.depth == 2 and len(result.witness) == 3
    assert [step.event for step in result.witness[1:]] == ["dp1.Download", "dp1.download_succeeded"]
    assert result.witness[-1].state["dp1"].startswith("Delivered")


def test_counterexample_names_the_instance_of_the_property_not_its_symmetric_twin(tmp_path):
    (result,) = prove_text(tmp_path, """\
        properties:
          - name: second-eu-never-active
            system: tr069-device
            formula: AG !(du1.eu2 is Active)
        """)
    assert result.status == "violated"
    assert result.witness[-1].state["du1.eu2"].startswith("Active")


def test_unreachable_target_is_a_violated_reachability_question(tmp_path):
    (result,) = prove_text(tmp_path, """\
        properties:
          - name: du-delivered-state
            system: tr069-device
            formula: "EF (exists u in du: u is stable & !(u in {Installed, Absent}))"
        """)
    assert result.kind == "reachability" and result.status == "violated" and result.witness is None


@pytest.mark.parametrize("engine", ["z3", "explicit"])
def test_each_engine_alone_gives_the_same_verdict(tmp_path, engine):
    (result,) = prove_text(tmp_path, """\
        properties:
          - name: reach-installed
            system: tr069-device
            formula: EF du1.eu1 is Active
        """, engine=engine)
    assert result.status == "holds" and result.depth == 4  # Install, success (EUs created), RequestActive, started
    assert result.engine.startswith("z3" if engine == "z3" else "explicit")
    assert result.cross_checks == {}


def test_explicit_engine_is_skipped_beyond_its_state_limit_and_says_so(tmp_path):
    (result,) = prove_text(tmp_path, """\
        properties:
          - name: eu-needs-du
            system: tr069-device
            formula: "AG (forall u in du: forall e in u.eu: e is Active -> u in {Installed, Updating, Uninstalling})"
        """, state_limit=100)
    assert result.status == "holds"
    assert result.cross_checks == {"explicit": "not run: more than 100 reachable states"}


def test_large_device_invariant_is_proved_on_one_cone(tmp_path):
    """n = 8 Deployment Units with m = 3 Execution Units each: far beyond explicit search."""
    (result,) = prove_text(tmp_path, """\
        properties:
          - name: eu-needs-du
            system: tr069-device
            parameters: {n: 8, m: 3}
            formula: "AG (forall u in du: forall e in u.eu: e is Active -> u in {Installed, Updating, Uninstalling})"
        """, engine="z3")
    assert result.status == "holds"
    assert "24 parts, 1 up to symmetry" in result.engine and "5 of 33 instances" in result.engine


def test_cone_of_influence_is_exact():
    system = builtin("tr069-device", n=2, m=1)
    du2 = next(i for i, instance in enumerate(system.instances) if instance.name == "du2")
    cone = closed_cone(system, {du2})
    assert {system.instances[i].name for i in cone} == {"ee", "cds", "du2", "du2.eu1"}
    restricted, kept = restrict(system, cone)
    whole = {tuple(state[i] for i in kept) for state in explore(system).states}
    assert set(explore(restricted).states) == whole


@st.composite
def machine_and_formula(draw):
    document = draw(machine_documents(max_states=7))
    states = [state["name"] for state in document["states"]]
    atoms = st.lists(st.sampled_from(states), min_size=1, max_size=3, unique=True).map(
        lambda names: f"m in {{{', '.join(names)}}}")
    formula = draw(st.recursive(atoms, lambda inner: st.one_of(
        inner.map(lambda f: f"!({f})"),
        st.tuples(inner, inner).map(lambda pair: f"({pair[0]}) & ({pair[1]})"),
        st.tuples(inner, inner).map(lambda pair: f"({pair[0]}) | ({pair[1]})"),
    ), max_leaves=4))
    return document, formula


def system_of_document(document):
    """A random machine on its own; its one instance is named m."""
    machine = machine_from_document({**document, "machine": "m"}, "random.yaml")
    return build_system(Composition.of_machine(machine))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machine_and_formula(), st.sampled_from(["AG", "EF"]))
def test_random_safety_properties_engines_agree(case, operator):
    document, formula = case
    system = system_of_document(document)
    from checker.propfile import PropertySpec

    spec = PropertySpec(name="random", file="random.yaml", line=1, system="random", system_path=None, parameters=(),
                        formula_text=f"{operator} ({formula})", formula=parse_formula(f"{operator} ({formula})"))
    results = {engine: check_property(spec, engine=engine, systems={(str(None), ()): system})
               for engine in ("z3", "explicit")}
    assert results["z3"].status == results["explicit"].status, (formula, results)
    assert results["z3"].depth == results["explicit"].depth
    both = check_property(spec, engine="both", systems={(str(None), ()): system})  # raises on disagreement
    assert both.status == results["z3"].status


# --- engines: CTL and LTL -------------------------------------------------------------------------


def naive_ctl(graph: StateGraph, formula) -> set[int]:
    """CTL without fairness by plain fixed-point iteration over sets (no SCCs, no BFS)."""
    states = set(range(graph.size))
    post = {s: {t for _, t in graph.succ[s]} for s in states}

    def sat(f):
        if isinstance(f, LocalIn):
            return {s for s in states if graph.states[s][f.instance] in f.configs}
        if isinstance(f, p.Bool):
            return set(states) if f.value else set()
        if isinstance(f, p.Not):
            return states - sat(f.operand)
        if isinstance(f, p.And):
            return set.intersection(*(sat(o) for o in f.operands))
        if isinstance(f, p.Or):
            return set.union(*(sat(o) for o in f.operands))
        if isinstance(f, p.Implies):
            return (states - sat(f.premise)) | sat(f.conclusion)
        if isinstance(f, p.Temporal):
            inner = sat(f.operand)
            ex = lambda target: {s for s in states if post[s] & target}  # noqa: E731
            ax = lambda target: {s for s in states if post[s] <= target}  # noqa: E731
            if f.operator in ("EX", "AX"):
                return (ex if f.operator == "EX" else ax)(inner)
            step = ex if f.operator[0] == "E" else ax
            if f.operator[1] == "F":  # least fixed point Z = inner | step(Z)
                z: set[int] = set()
                while (new := inner | step(z)) != z:
                    z = new
                return z
            z = set(states)  # G: greatest fixed point Z = inner & step(Z)
            while (new := inner & step(z)) != z:
                z = new
            return z
        raise TypeError(f)

    return sat(formula)


ctl_formulas = st.recursive(
    st.just("ATOM"),
    lambda inner: st.one_of(
        inner.map(lambda f: f"!({f})"),
        st.tuples(inner, inner).map(lambda pair: f"({pair[0]}) & ({pair[1]})"),
        st.tuples(st.sampled_from(["AG", "AF", "AX", "EG", "EF", "EX"]), inner).map(lambda pair: f"{pair[0]} ({pair[1]})"),
    ), max_leaves=3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machine_documents(max_states=7), ctl_formulas, st.data())
def test_ctl_labelling_agrees_with_naive_fixed_points(document, shape, data):
    system = system_of_document(document)
    states = [state["name"] for state in document["states"]]
    text = shape
    while "ATOM" in text:
        text = text.replace("ATOM", f"m is {data.draw(st.sampled_from(states))}", 1)
    bound = bind(parse_formula(text), system, "random.yaml")
    graph = StateGraph(explore(system))
    from checker.propexplicit import _Ctl

    assert set(_Ctl(graph).sat(bound)) == naive_ctl(graph, bound), text


# LTL formula -> the CTL formula with the same meaning on every structure (the A-prefixed
# versions of these shapes coincide with LTL).
EQUIVALENT_SHAPES = [
    ("G ({p})", "AG ({p})"), ("F ({p})", "AF ({p})"), ("X ({p})", "AX ({p})"),
    ("G (({p}) -> F ({q}))", "AG (({p}) -> AF ({q}))"), ("({p}) U ({q})", "A[ ({p}) U ({q}) ]"),
    ("G (({p}) -> X ({q}))", "AG (({p}) -> AX ({q}))"),
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machine_documents(max_states=7), st.sampled_from(EQUIVALENT_SHAPES), st.data(), st.booleans())
def test_ltl_tableau_agrees_with_ctl_where_they_coincide(document, shapes, data, fair):
    system = system_of_document(document)
    states = [state["name"] for state in document["states"]]
    p_atom = f"m is {data.draw(st.sampled_from(states))}"
    q_atom = f"m in {{{', '.join(data.draw(st.lists(st.sampled_from(states), min_size=1, max_size=2, unique=True)))}}}"
    ltl, ctl = (shape.format(p=p_atom, q=q_atom) for shape in shapes)
    graph = StateGraph(explore(system), ("completions",) if fair else ())
    ltl_holds, lasso, _ = check_ltl(graph, bind(parse_formula(ltl), system, "r"))
    ctl_holds, _, _ = check_ctl(graph, bind(parse_formula(ctl), system, "r"))
    assert ltl_holds == ctl_holds, (ltl, ctl, fair)
    if not ltl_holds:
        assert lasso.loop is not None and lasso.steps[-1][1] == lasso.steps[lasso.loop][1]


def test_liveness_needs_fairness_and_its_counterexample_is_a_lasso(tmp_path):
    fair, unfair = prove_text(tmp_path, """\
        properties:
          - name: settles-fairly
            system: tr069-device
            fairness: [completions]
            formula: G (du1 is Installing -> F !(du1 is Installing))
          - name: settles-unfairly
            system: tr069-device
            formula: G (du1 is Installing -> F !(du1 is Installing))
        """)
    assert fair.status == "holds" and fair.kind == "ltl"
    assert unfair.status == "violated" and unfair.loop_start is not None
    loop_state = unfair.witness[unfair.loop_start].state
    assert unfair.witness[-1].state == loop_state and loop_state["du1"].startswith("Installing")


def test_ctl_counterexample_for_af_is_a_fair_lasso(tmp_path):
    (result,) = prove_text(tmp_path, """\
        properties:
          - name: eu-active-eventually
            system: tr069-device
            fairness: [completions]
            formula: AF du1.eu1 is Active
        """)
    assert result.status == "violated" and result.kind == "ctl"
    assert result.loop_start is not None
    assert all(not step.state["du1.eu1"].startswith("Active") for step in result.witness)


def test_deadlock_stutters_so_af_cannot_hold_vacuously(tmp_path, write_model):
    machine = write_model("stop.yaml", """\
        machine: stop
        initial: A
        states: [{name: A}, {name: B}, {name: C}]
        transitions:
          - {trigger: go, source: A, dest: B, spec: test}
          - {trigger: other, source: A, dest: C, spec: test}
        """)
    (result,) = prove_text(tmp_path, f"""\
        properties:
          - name: reaches-c
            system: {machine}
            formula: AF stop is C
        """)
    assert result.status == "violated"
    assert result.witness[-1].event.startswith("(no step is possible")
