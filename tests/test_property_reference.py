"""Every verdict of the property engines, confirmed by the plain evaluator of reference_checker.

* every shipped property (properties/general.yaml and both sides of every requirement in
  properties/requirements.yaml): ``check_properties`` gives the verdict the reference gives,
  for CTL (fairness and labelled next included) by its own fixed points, for LTL by the
  equivalent fair-CTL formula, for invariants and reachability by the same evaluator; every
  LTL counterexample lasso is evaluated on its own and is fair;
* generated machines and formulas (hypothesis): the CTL labelling gives the same set of
  states as the reference, with and without fairness, labelled next included; the LTL
  tableau gives the reference's verdict on generated LTL formulas, and its lassos refute
  them; the same on the shipped SCOMO device with generated formulas over its instances.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from checker import proplang as p
from checker.explicit import explore
from checker.propbind import bind, nodes
from checker.propexplicit import STUTTER, StateGraph, check_ltl, satisfying
from checker.propfile import builtin_property_paths, load_properties, load_requirements
from checker.proplang import parse_formula
from checker.prove import _system_for, check_properties
from checker.requirements import default_requirements_path

from reference_checker import ReferenceGraph, lasso_is_fair, ltl_as_ctl, ltl_on_lasso, sat
from test_engine_agreement import machine_documents
from test_properties import builtin, system_of_document


def shipped_specs():
    general = [spec for path in builtin_property_paths() for spec in load_properties(path)]
    requirements = [spec for requirement in load_requirements(default_requirements_path())
                    for side in requirement.sides.values() for spec in side.properties]
    return general + requirements


SPECS = shipped_specs()
_GRAPHS: dict = {}  # system -> (reference graph, engine graph)


def graphs(system):
    if id(system) not in _GRAPHS:
        _GRAPHS[id(system)] = (system, ReferenceGraph(system), StateGraph(explore(system)))
    return _GRAPHS[id(system)][1:]


def is_ltl(bound) -> bool:
    return any(isinstance(node, p.Temporal) and node.operator in p.LTL_OPERATORS
               or isinstance(node, p.Until) and node.quantifier is None for node in nodes(bound))


def reference_holds(graph: ReferenceGraph, bound, fairness) -> bool:
    """The reference's verdict: CTL as it is, LTL through its fair-CTL equivalent."""
    return 0 in sat(graph, ltl_as_ctl(bound) if is_ltl(bound) else bound, fairness)


def in_engine_numbering(graph: StateGraph, reference: ReferenceGraph, states: set[int]) -> set[int]:
    """Reference state numbers as the engine's (the two searches number states apart)."""
    position = {state: index for index, state in enumerate(graph.states)}
    return {position[reference.states[s]] for s in states}


def check_lasso(reference: ReferenceGraph, graph: StateGraph, bound, lasso, fairness) -> None:
    """A lasso claimed to refute the LTL ``bound``: a path of the system, fair, refuting it."""
    states = [graph.states[index] for _, index in lasso.steps]
    labels = [None if label == STUTTER else label for label, _ in lasso.steps[1:]]
    for k, label in enumerate(labels):
        assert (label, reference.index[states[k + 1]]) in reference.succ[reference.index[states[k]]], k
    assert lasso.loop is not None and lasso_is_fair(reference, states, labels, lasso.loop, fairness)
    assert not ltl_on_lasso(reference, bound, states, lasso.loop)


@pytest.fixture(scope="module")
def shipped_results():
    systems: dict = {}
    results = check_properties(SPECS)  # both engines: a disagreement on a safety property raises
    return {(spec.file, spec.name): (result, _system_for(spec, systems)) for spec, result in zip(SPECS, results)}


def test_the_shipped_properties_cover_every_kind(shipped_results):
    kinds = {result.kind for result, _ in shipped_results.values()}
    assert kinds == {"invariant", "reachability", "ctl", "ltl"}
    assert any(spec.file.endswith("requirements.yaml") for spec in SPECS)
    assert any(spec.fairness for spec in SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=[f"{spec.file.split('/')[-1]}:{spec.name}" for spec in SPECS])
def test_shipped_property_verdict_is_confirmed_by_the_reference(spec, shipped_results):
    result, system = shipped_results[(spec.file, spec.name)]
    reference, graph = graphs(system)
    # The formula as written (quantifiers expanded, not normalised): the reference also
    # confirms that the engines' rewriting changed no meaning.
    bound = bind(spec.formula, system, spec.file)
    expected = "holds" if reference_holds(reference, bound, spec.fairness) else "violated"
    assert result.status == expected, (spec.name, result.engine, result.evidence)
    if result.kind in ("invariant", "reachability"):
        assert result.cross_checks["explicit"].split(" (")[0] == expected, result.cross_checks
    if result.kind == "ltl" and expected == "violated":
        holds, lasso, _ = check_ltl(graph.with_fairness(spec.fairness), bound)
        assert not holds
        check_lasso(reference, graph, bound, lasso, spec.fairness)
    if result.witness is not None:
        assert len(result.witness) > 1 or result.kind in ("invariant", "reachability"), \
            "a CTL or LTL witness is a path, never the initial state alone"


# --- generated machines and formulas -----------------------------------------------------------


def fill(shape: str, draw_atom, draw_trigger) -> str:
    text = shape
    while "ATOM" in text:
        text = text.replace("ATOM", draw_atom(), 1)
    while "TRIGGER" in text:
        text = text.replace("TRIGGER", draw_trigger(), 1)
    return text


ctl_shapes = st.recursive(
    st.just("ATOM"),
    lambda inner: st.one_of(
        inner.map(lambda f: f"!({f})"),
        st.tuples(inner, inner).map(lambda pair: f"({pair[0]}) & ({pair[1]})"),
        st.tuples(inner, inner).map(lambda pair: f"({pair[0]}) -> ({pair[1]})"),
        st.tuples(st.sampled_from(["AG", "AF", "AX", "EG", "EF", "EX"]), inner).map(lambda pair: f"{pair[0]} ({pair[1]})"),
        st.tuples(st.sampled_from(["AX", "EX"]), inner).map(lambda pair: f"{pair[0]}[TRIGGER] ({pair[1]})"),
        st.tuples(st.sampled_from(["A", "E"]), inner, inner).map(lambda t: f"{t[0]}[ ({t[1]}) U ({t[2]}) ]"),
    ), max_leaves=4)

# LTL shapes of the fragment the reference decides by an equivalent CTL formula, nested.
ltl_shapes = st.recursive(
    st.just("ATOM"),
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(["G", "X"]), inner).map(lambda pair: f"{pair[0]} ({pair[1]})"),
        st.tuples(inner, inner).map(lambda pair: f"({pair[0]}) & ({pair[1]})"),
        inner.map(lambda f: f"(ATOM) -> ({f})"),
        st.just("F (ATOM)"), st.just("(ATOM) U (ATOM)"),
    ), max_leaves=4)


def machine_atoms(document, data):
    states = [state["name"] for state in document["states"]]
    triggers = sorted({transition["trigger"] for transition in document["transitions"]})

    def atom():
        names = data.draw(st.lists(st.sampled_from(states), min_size=1, max_size=2, unique=True))
        return f"m in {{{', '.join(names)}}}" if data.draw(st.booleans()) else \
            (f"enabled(m.{data.draw(st.sampled_from(triggers))})" if triggers else f"m is {names[0]}")

    def trigger():
        return f"m.{data.draw(st.sampled_from(triggers))}" if triggers else "m.nothing"

    return atom, trigger, bool(triggers)


def generated(document, shape, data, fair):
    """A generated machine's formula of ``shape``, bound, with both graphs of the machine."""
    atom, trigger, has_triggers = machine_atoms(document, data)
    if not has_triggers:
        shape = shape.replace("[TRIGGER]", "")
    system = system_of_document(document)
    text = fill(shape, atom, trigger)
    fairness = ("completions",) if fair else ()
    return (text, bind(parse_formula(text), system, "random.yaml"), fairness, StateGraph(explore(system), fairness),
            ReferenceGraph(system))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machine_documents(max_states=7), ctl_shapes, st.data(), st.booleans())
def test_ctl_labelling_agrees_with_the_reference_on_generated_machines(document, shape, data, fair):
    text, bound, fairness, graph, reference = generated(document, shape, data, fair)
    expected = in_engine_numbering(graph, reference, sat(reference, bound, fairness))
    assert set(satisfying(graph, bound)) == expected, (text, fairness)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machine_documents(max_states=7), ltl_shapes, st.data(), st.booleans())
def test_ltl_tableau_agrees_with_the_reference_on_generated_machines(document, shape, data, fair):
    text, bound, fairness, graph, reference = generated(document, shape, data, fair)
    holds, lasso, _ = check_ltl(graph, bound)
    assert holds == reference_holds(reference, bound, fairness), (text, fairness)
    if not holds:
        check_lasso(reference, graph, bound, lasso, fairness)


SCOMO = builtin("scomo-device")


def scomo_atoms(data):
    instances = [instance for instance in SCOMO.instances]

    def atom():
        instance = data.draw(st.sampled_from(instances))
        state = data.draw(st.sampled_from([state.name for state in instance.local.machine.states] + ["transient"]))
        return f"{instance.name} is {state}"

    def trigger():
        instance = data.draw(st.sampled_from(instances))
        triggers = sorted({transition.trigger for transition in instance.local.machine.transitions})
        return f"{instance.name}.{data.draw(st.sampled_from(triggers))}"

    return atom, trigger


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(ctl_shapes.map(lambda shape: ("ctl", shape)), ltl_shapes.map(lambda shape: ("ltl", shape))),
       st.data(), st.booleans())
def test_generated_formulas_on_the_shipped_scomo_device_agree_with_the_reference(case, data, fair):
    logic, shape = case
    atom, trigger = scomo_atoms(data)
    text = fill(shape, atom, trigger)
    bound = bind(parse_formula(text), SCOMO, "random.yaml")
    fairness = ("completions",) if fair else ()
    reference, graph = graphs(SCOMO)
    graph = graph.with_fairness(fairness)
    if logic == "ctl":
        assert set(satisfying(graph, bound)) == in_engine_numbering(graph, reference, sat(reference, bound, fairness)), text
    else:
        holds, lasso, _ = check_ltl(graph, bound)
        assert holds == reference_holds(reference, bound, fairness), text
        if not holds:
            check_lasso(reference, graph, bound, lasso, fairness)
