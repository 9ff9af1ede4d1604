"""Property checking: the language, its errors, the engines and their agreement.

* the parser accepts the documented grammar and points at file:line:column with what it
  expected; binding names every unknown instance, state, observable and trigger with the
  closest valid name; CTL and LTL may not be mixed;
* Z3 (cone of influence, symmetry) and the explicit engine agree on invariants and
  reachability, on shipped systems and on random machines with random formulas;
* the LTL tableau agrees with the CTL labelling on formulas where the two logics coincide,
  with and without fairness (both engines are checked against an independent evaluator in
  test_property_reference);
* counterexamples are shortest, replayed, and lasso-shaped for liveness;
* the cone of influence is exact: the restriction's reachable states are the projections of
  the whole system's.
"""

from __future__ import annotations

import re
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
from checker.propbind import LocalIn, bind, classify, normalise
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
    formula = parse_formula("a is P | b is Q & c is R -> d is S")
    assert isinstance(formula, p.Implies)
    assert isinstance(formula.premise, p.Or) and isinstance(formula.premise.operands[1], p.And)
    chained = parse_formula("a is P -> b is Q -> c is R")  # right-associative
    assert isinstance(chained.conclusion, p.Implies)
    temporal = parse_formula("AG a is P | b is Q")  # unary operators bind tighter than |
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


def test_an_arrow_needs_no_spaces_and_names_keep_their_hyphens():
    formula = parse_formula("du1 is Active->du1 is Idle")
    assert isinstance(formula, p.Implies)
    assert formula.premise.states == ("Active",) and formula.conclusion.path == ("du1",)
    assert parse_formula("AG (in-progress is ok-now<->x is y)").operand.left.path == ("in-progress",)
    assert parse_formula("AG island is Installed").operand.path == ("island",)  # "is" only as a whole word


def test_a_quantifier_after_a_temporal_operator_is_an_error_with_a_hint():
    with pytest.raises(FormulaSyntaxError) as error:
        parse_formula("AG forall u in du: u is Idle", line=7, column=12)
    assert (error.value.line, error.value.column) == (7, 15)
    assert "unexpected 'forall'" in error.value.message and "needs parentheses" in error.value.message
    with pytest.raises(FormulaSyntaxError, match="needs parentheses"):
        parse_formula("!exists u in du: u is Idle")
    assert isinstance(parse_formula("AG (forall u in du: u is Idle)").operand, p.Quantified)


@pytest.mark.parametrize("text, word", [("AG du1 is G", "G"), ("forall in in du: in is Idle", "in"),
                                         ("AG du1 is A", "A")])
def test_reserved_words_cannot_be_names(text, word):
    with pytest.raises(FormulaSyntaxError) as error:
        parse_formula(text)
    assert f"{word!r} is a reserved word" in error.value.message


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


def test_a_number_is_not_a_boolean(tmp_path):
    path = write(tmp_path, """\
        properties:
          - name: typed
            system: tr069-device
            formula: AG (du1.Resolved == 1 -> du1 is Installed)
        """)
    (spec,) = load_properties(path)
    with pytest.raises(InputError) as error:
        check_properties([spec])
    (problem,) = error.value.problems
    assert (problem.file.endswith("props.yaml"), problem.line, problem.column) == (True, 4, 34)  # at the "1"
    assert problem.name == "1" and "never takes the value 1" in problem.message
    assert "expected one of true, false" in problem.message
    system = builtin("tr069-device")
    equal = bind(parse_formula("du1.Resolved == true"), system, "f")
    assert all(system.instances[equal.instance].local.values_of(c)["Resolved"] is True for c in equal.configs)


def test_ctl_and_ltl_may_not_be_mixed():
    system = builtin("tr069-device")
    with pytest.raises(InputError, match="mixed"):
        bind(parse_formula("AG (du1 is Installing -> F du1 is Installed)"), system, "f.yaml")


def test_variables_and_children_domains_expand():
    system = builtin("tr069-device", m=3)
    bound = bind(parse_formula("forall u in du: forall e in u.eu: e is Absent"), system, "f")
    # One Deployment Unit: its quantifier leaves no one-operand conjunction behind.
    assert isinstance(bound, p.And) and len(bound.operands) == 3
    assert {system.instances[atom.instance].name for atom in bound.operands} == {"du1.eu1", "du1.eu2", "du1.eu3"}
    with pytest.raises(InputError, match="not a variable"):
        bind(parse_formula("forall e in x.eu: e is Absent"), system, "f")


@pytest.mark.parametrize("text, kind", [
    ("AG du1 is Installed", "invariant"), ("G du1 is Installed", "invariant"),
    ("EF du1 is Installed", "reachability"), ("AF du1 is Installed", "ctl"),
    ("AG EF du1 is Installed", "ctl"), ("F du1 is Installed", "ltl"),
])
def test_classification_decides_the_engines(text, kind):
    assert classify(bind(parse_formula(text), builtin("tr069-device"), "f")) == kind


@pytest.mark.parametrize("text, kind", [
    ("forall u in du: AG (u is Installed -> u.Resolved != null)", "invariant"),
    ("AG du1 is Installed & AG !(ee is Disabled)", "invariant"),
    ("G du1 is Installed & G !(ee is Disabled)", "invariant"),
    ("exists u in du: EF u is Installed", "reachability"),
    ("EF du1 is Installed | EF ee is Disabled", "reachability"),
    ("AG du1 is Installed & EF ee is Disabled", "ctl"),  # mixed: no single question
    ("EF du1 is Installed & EF ee is Disabled", "ctl"),  # a conjunction of EF is no EF
])
def test_where_a_quantifier_is_written_does_not_decide_the_engine(text, kind):
    system = builtin("tr069-device", n=2)
    bound = bind(parse_formula(text), system, "f")
    assert classify(bound) == kind
    normal = normalise(bound)
    if kind != "ctl":
        assert isinstance(normal, p.Temporal) and isinstance(normal.operand, p.And if kind == "invariant" else p.Or)
    else:
        assert normal is bound


def test_a_quantified_invariant_is_proved_by_z3_at_n_8(tmp_path):
    """forall written outside AG: still an invariant, proved on one cone, not CTL over the system."""
    (result,) = prove_text(tmp_path, """\
        properties:
          - name: eu-needs-du
            system: tr069-device
            parameters: {n: 8, m: 3}
            formula: "forall u in du: AG (forall e in u.eu: e is Active -> u in {Installed, Updating, Uninstalling})"
        """, engine="z3")
    assert result.kind == "invariant" and result.status == "holds" and result.engine.startswith("z3")
    assert "24 parts, 1 up to symmetry" in result.engine


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
    assert list(result.cross_checks) == ["explicit"]
    assert result.cross_checks["explicit"].startswith("holds (breadth-first search over all ")


def test_k_induction_states_its_k_and_cone(tmp_path):
    (result,) = prove_text(tmp_path, """\
        properties:
          - name: busy-refuses
            system: scomo-device
            formula: "AG (forall d in dp: d is transient -> !enabled(d.Download) & !enabled(d.Remove))"
        """)
    assert result.status == "holds" and "k-induction" in result.engine
    assert re.search(r"k-induction with k = \d+ on the cone of influence \{[^}]*dp1[^}]*\}", result.evidence)
    assert re.search(r"the property is \d+-inductive for the cone's transition relation", result.evidence)
    assert re.search(r"^\d+-inductive on the cone \{", result.summary)


def test_violated_invariant_has_a_shortest_replayed_counterexample(tmp_path):
    (result,) = prove_text(tmp_path, """\
        properties:
          - name: never-delivered
            system: scomo-device
            formula: "AG !(exists d in dp: d is Delivered)"
        """)
    assert result.status == "violated" and result.engine.startswith("z3 bmc")
    assert result.cross_checks["explicit"].startswith("violated (breadth-first search")
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
    assert result.cross_checks == {"explicit": "not run: the system has more than 100 reachable states"}


EU_NEEDS_DU_AT_8 = """\
    properties:
      - name: eu-needs-du
        system: tr069-device
        parameters: {n: 8, m: 3}
        formula: "AG (forall u in du: forall e in u.eu: e is Active -> u in {Installed, Updating, Uninstalling})"
    """


def test_large_device_invariant_is_proved_on_one_cone(tmp_path):
    """n = 8 Deployment Units with m = 3 Execution Units each: far beyond explicit search."""
    (result,) = prove_text(tmp_path, EU_NEEDS_DU_AT_8, engine="z3")
    assert result.status == "holds"
    cone = re.search(r"\((\d+) of (\d+) instances\)", result.engine)
    # One Deployment Unit with its three Execution Units and what they depend on: a cone
    # whose size does not grow with n.
    assert "24 parts, 1 up to symmetry" in result.engine and cone and 4 <= int(cone.group(1)) <= 8
    assert int(cone.group(2)) == len(builtin("tr069-device", n=8, m=3).instances)


def test_large_device_invariant_is_confirmed_by_the_explicit_engine_on_the_cone(tmp_path):
    """n = 8, m = 3: Z3 proves it on one cone, and the explicit engine explores that cone (not
    the whole system, far beyond its limit) and must agree."""
    (result,) = prove_text(tmp_path, EU_NEEDS_DU_AT_8)
    assert result.status == "holds" and result.engine.startswith("z3")
    check = result.cross_checks["explicit"]
    match = re.match(r"holds \(breadth-first search over all (\d+) reachable states of the cone of influence "
                     r"\{([^}]*)\} \((\d+) of (\d+) instances\)\)$", check)
    assert match, check
    names = match.group(2).split(", ")
    assert {"du1", "du1.eu1", "du1.eu2", "du1.eu3"} <= set(names) and not {"du2", "du8"} & set(names)
    assert int(match.group(3)) == len(names) and f"({len(names)} of" in result.engine  # Z3's cone
    assert int(match.group(4)) == len(builtin("tr069-device", n=8, m=3).instances)


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


def test_an_unreachable_ctl_target_is_violated_in_the_initial_state_without_a_path(tmp_path):
    (result,) = prove_text(tmp_path, """\
        properties:
          - name: never-installed-then-refused
            system: tr069-device
            formula: "EF (du1 is Installed & EX[du1.Install] du1 is Installing)"
        """)
    assert result.kind == "ctl" and result.status == "violated"
    assert result.witness is None and result.depth is None
    assert result.evidence.startswith("violated in the initial state: no state reachable from it satisfies "
                                      "du1 is Installed & (EX[du1.Install] du1 is Installing)")
    assert "0 steps" not in result.evidence


def test_a_ctl_counterexample_ends_in_what_it_shows(tmp_path):
    (result,) = prove_text(tmp_path, """\
        properties:
          - name: install-refused-when-disabled
            system: tr069-device
            formula: "AG (ee is Disabled -> AX[du1.Install] du1 is Absent)"
        """)
    assert result.status == "violated" and result.depth == 2 and len(result.witness) == 3
    assert [step.event for step in result.witness[1:]] == ["ee.Disable", "du1.Install"]
    assert result.evidence.startswith("after the 2 steps below, du1 is Absent fails in the last state")


def test_ctl_evidence_lists_the_fixed_points(tmp_path):
    (result,) = prove_text(tmp_path, """\
        properties:
          - name: installing-can-end
            system: tr069-device
            fairness: [completions]
            formula: "AG (du1 is Installing -> AF !(du1 is Installing) & EX[du1.install_failed] du1 is Absent)"
        """)
    assert result.status == "holds" and result.states > 0
    texts = [text for text, _ in result.fixed_points]
    assert texts == ["AF !(du1 is Installing)", "EX[du1.install_failed] du1 is Absent",
                     "AG (du1 is Installing -> (AF !(du1 is Installing) & (EX[du1.install_failed] du1 is Absent)))"]
    counts = dict(result.fixed_points)
    assert counts[texts[-1]] == counts[texts[0]] == result.states  # holds everywhere
    assert 0 < counts[texts[1]] < result.states  # only where the install can fail


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
