"""Diagrams: the DOT source is parsed (with pydot) and its nodes, edges and attributes checked.

Images are never compared; only the SVG test needs Graphviz, and it is skipped without it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pydot
import pytest

from checker import diagrams
from checker.analysis import SystemAnalysis, analyse
from checker.composition import load_model
from checker.diagrams import (
    RenderError,
    composition_dot,
    diagram_file_name,
    dot_name,
    machine_dot,
    render_svg,
    write_diagrams,
)
from checker.outputs import OutputDirectory
from checker.system import build_system

# pydot's parser calls pyparsing names that pyparsing 3.3 deprecates; nothing here to act on.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pydot.*")

# A: start; B: transient that completes or fails; C: stable and without a way out (deadlock);
# D: no transition leads to it (unreachable); E: terminal; S: transient that only spins (stuck).
TINY_MACHINE = """\
machine: tiny
title: Tiny machine
observables:
  Status:
    values: [a, b, c]
initial: A
states:
  - name: A
    observe: {Status: a}
  - name: B
    kind: transient
    observe: {Status: b}
  - name: C
    observe: {Status: c}
  - D
  - name: E
    kind: terminal
  - name: S
    kind: transient
transitions:
  - trigger: go
    source: A
    dest: B
  - trigger: done
    kind: completion
    source: B
    dest: C
  - trigger: oops
    kind: completion
    outcome: failure
    source: B
    dest: A
  - trigger: poke
    outcome: refused
    source: A
    dest: "="
  - trigger: prod
    outcome: refused
    source: A
    dest: "="
  - trigger: retire
    source: A
    dest: E
  - trigger: hang
    source: A
    dest: S
  - trigger: spin
    kind: autonomous
    source: S
    dest: S
  - trigger: drift
    kind: autonomous
    source: D
    dest: C
"""

PARENT_MACHINE = """\
machine: parent
states: [Idle, Made]
transitions:
  - trigger: make
    source: Idle
    dest: Made
  - trigger: remake
    source: Idle
    dest: Made
"""

CHILD_MACHINE = """\
machine: child
initial: Absent
states:
  - name: Absent
    kind: absent
  - Alive
transitions:
  - trigger: born
    kind: lifecycle
    source: Absent
    dest: Alive
  - trigger: die
    source: Alive
    dest: Absent
"""

TINY_COMPOSITION = """\
composition: family
title: Parent and children
components:
  - name: p
    machine: parent.yaml
  - name: c
    machine: child.yaml
    count: 2
    parent: p
synchronizations:
  - leader: p.make
    followers: [c.born]
  - leader: p.remake
    followers: [c.born]
guards:
  - trigger: c.die
    requires: {component: p, states: [Made]}
"""


def analysed(path: Path, engine: str = "explicit") -> SystemAnalysis:
    return analyse(build_system(load_model(path)), engine=engine)


# Module scope: pydot takes most of a second per parse, and the models never change.
@pytest.fixture(scope="module")
def machine_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("machine") / "tiny.yaml"
    path.write_text(TINY_MACHINE)
    return path


@pytest.fixture(scope="module")
def composition_file(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("composition")
    (directory / "parent.yaml").write_text(PARENT_MACHINE)
    (directory / "child.yaml").write_text(CHILD_MACHINE)
    path = directory / "family.yaml"
    path.write_text(TINY_COMPOSITION)
    return path


@pytest.fixture(scope="module")
def machine_graph(machine_file) -> pydot.Dot:
    return parse(machine_dot(analysed(machine_file)))


@pytest.fixture(scope="module")
def composition_graph(composition_file) -> pydot.Dot:
    return parse(composition_dot(analysed(composition_file)))


def unquote(text: str) -> str:
    """A pydot name or value without its DOT quotes; escapes such as ``\\n`` stay as written."""
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        text = text[1:-1]
    return text.replace('\\"', '"')


def parse(source: str) -> pydot.Dot:
    graphs = pydot.graph_from_dot_data(source)
    assert graphs is not None and len(graphs) == 1, "the DOT source must parse as one graph"
    return graphs[0]


def all_subgraphs(graph) -> list:
    found = []
    for subgraph in graph.get_subgraph_list():
        found.append(subgraph)
        found.extend(all_subgraphs(subgraph))
    return found


def nodes_of(graph, recursive: bool = True) -> dict[str, dict[str, str]]:
    """Node name -> unquoted attributes, without the default-attribute statements."""
    graphs = [graph] + (all_subgraphs(graph) if recursive else [])
    nodes = {}
    for each in graphs:
        for node in each.get_node_list():
            name = unquote(node.get_name())
            if name in ("node", "edge", "graph"):
                continue
            nodes[name] = {key: unquote(str(value)) for key, value in node.get_attributes().items()}
    return nodes


def edges_of(graph, recursive: bool = True) -> list[tuple[str, str, dict[str, str]]]:
    graphs = [graph] + (all_subgraphs(graph) if recursive else [])
    return [
        (unquote(str(edge.get_source())), unquote(str(edge.get_destination())),
         {key: unquote(str(value)) for key, value in edge.get_attributes().items()})
        for each in graphs for edge in each.get_edge_list()
    ]


def edge_between(graph, source: str, dest: str, **expected: str) -> dict[str, str]:
    """The one edge from ``source`` to ``dest`` whose attributes include ``expected``."""
    matches = [attributes for s, d, attributes in edges_of(graph)
               if s == source and d == dest and all(attributes.get(k) == v for k, v in expected.items())]
    assert len(matches) == 1, f"expected one edge {source} -> {dest} with {expected}, got {matches}"
    return matches[0]


def styles(attributes: dict[str, str]) -> set[str]:
    return set(filter(None, attributes.get("style", "").split(",")))


def cluster_names(graph) -> set[str]:
    names = {unquote(subgraph.get_name()) for subgraph in all_subgraphs(graph)}
    return {name for name in names if name.startswith("cluster")}  # not the anonymous rank=same groups


# --- single machine -------------------------------------------------------------------------

def test_every_state_is_a_node_labelled_with_its_observables(machine_graph):
    graph = machine_graph
    nodes = nodes_of(graph, recursive=False)
    for state in ("A", "B", "C", "D", "E", "S"):
        assert state in nodes, f"state {state} is not drawn"
    assert nodes["A"]["label"] == "A\\nStatus=a"
    assert nodes["B"]["label"] == "B\\nStatus=b"
    assert nodes["E"]["label"] == "E"  # fixes no observable


def test_state_kinds_have_their_styles(machine_graph):
    nodes = nodes_of(machine_graph)
    assert nodes["A"]["shape"] == "ellipse" and "dashed" not in styles(nodes["A"])
    assert "dashed" in styles(nodes["B"])
    assert nodes["E"]["peripheries"] == "2"


def test_unreachable_state_is_red_grey_and_says_so(machine_graph):
    nodes = nodes_of(machine_graph)
    unreachable = nodes["D"]
    assert unreachable["color"] == "red"
    assert unreachable["fillcolor"] == "grey85"
    assert "filled" in styles(unreachable)
    assert unreachable["label"].endswith("(unreachable)")
    for reachable in ("A", "B", "C", "E", "S"):
        assert nodes[reachable].get("color") != "red", f"{reachable} is reachable but drawn unreachable"
        assert "(unreachable)" not in nodes[reachable]["label"]


def test_deadlock_and_stuck_transient_are_marked(machine_graph):
    nodes = nodes_of(machine_graph)
    assert nodes["C"]["fillcolor"] == "orange" and "filled" in styles(nodes["C"])
    assert "(deadlock)" in nodes["C"]["label"]
    assert nodes["S"]["color"] == "purple"
    assert styles(nodes["S"]) >= {"dashed", "filled"}  # still drawn as a transient state
    assert "(never settles)" in nodes["S"]["label"]
    assert nodes["A"].get("fillcolor") is None


def test_findings_are_marked_with_the_z3_engine_alone(machine_file):
    nodes = nodes_of(parse(machine_dot(analysed(machine_file, engine="z3"))))
    assert nodes["D"]["color"] == "red"
    assert nodes["C"]["fillcolor"] == "orange"


def test_initial_state_has_an_invisible_start_arrow(machine_graph):
    graph = machine_graph
    start = nodes_of(graph, recursive=False)["(start)"]
    assert start["style"] == "invis"
    starts = [dest for source, dest, _ in edges_of(graph, recursive=False) if source == "(start)"]
    assert starts == ["A"]


def test_edges_carry_trigger_labels_and_kind_styles(machine_graph):
    graph = machine_graph
    assert edge_between(graph, "A", "B", label="go")["color"] == "black"
    assert edge_between(graph, "B", "C", label="done")["color"] == "darkgreen"
    assert edge_between(graph, "B", "A", label="oops [failure]")["color"] == "red3"
    assert "dotted" in styles(edge_between(graph, "A", "A", label="poke [refused]\\nprod [refused]"))
    assert "dashed" in styles(edge_between(graph, "S", "S", label="spin"))
    edge_between(graph, "A", "E", label="retire")
    edge_between(graph, "D", "C", label="drift")


def test_transitions_between_the_same_states_share_one_sorted_edge(tmp_path):
    path = tmp_path / "pair.yaml"
    path.write_text("states: [X, Y]\ntransitions:\n"
                    "  - {trigger: zeta, source: X, dest: Y}\n"
                    "  - {trigger: alpha, source: X, dest: Y}\n"
                    "  - {trigger: back, source: Y, dest: X}\n")
    graph = parse(machine_dot(analysed(path)))
    edges = [(s, d, a["label"]) for s, d, a in edges_of(graph, recursive=False) if s != "(start)"]
    assert edges == [("X", "Y", "alpha\\nzeta"), ("Y", "X", "back")]


def test_legend_explains_node_and_edge_styles(machine_graph):
    graph = machine_graph
    (legend,) = graph.get_subgraph("cluster_legend")
    legend_nodes = nodes_of(legend)
    assert legend_nodes["legend:unreachable"]["color"] == "red"
    assert legend_nodes["legend:deadlock"]["fillcolor"] == "orange"
    assert legend_nodes["legend:stuck"]["color"] == "purple"
    assert "dashed" in styles(legend_nodes["legend:transient"])
    legend_labels = {attributes.get("label") for _, _, attributes in edges_of(legend)}
    expected = {"operation (server request)", "completion, success", "refused (fault, no change)"}
    assert expected <= legend_labels
    # Synchronizations and guards exist only in compositions.
    assert not any("synchronization" in (label or "") for label in legend_labels)


def test_output_is_identical_across_runs(machine_file, composition_file):
    assert machine_dot(analysed(machine_file)) == machine_dot(analysed(machine_file))
    assert composition_dot(analysed(composition_file)) == composition_dot(analysed(composition_file))


def test_output_does_not_depend_on_string_hashing(machine_file, composition_file):
    # Set order of strings changes with PYTHONHASHSEED; separate interpreters with different
    # seeds show any iteration over a set or dict that was not sorted.
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from checker.analysis import analyse
        from checker.composition import load_model
        from checker.diagrams import diagram_dot
        from checker.system import build_system
        for path in sys.argv[1:]:
            sys.stdout.write(diagram_dot(analyse(build_system(load_model(Path(path))), engine="explicit")))
    """)
    outputs = set()
    for seed in ("1", "2", "3"):
        completed = subprocess.run([sys.executable, "-c", script, str(machine_file), str(composition_file)],
                                   capture_output=True, text=True, check=True,
                                   env={**os.environ, "PYTHONHASHSEED": seed})
        outputs.add(completed.stdout)
    assert len(outputs) == 1
    assert "sync: p.make" in outputs.pop()


def test_machine_dot_refuses_a_composition(composition_file):
    with pytest.raises(ValueError):
        machine_dot(analysed(composition_file))


# --- composition ----------------------------------------------------------------------------

def test_composition_has_one_cluster_per_instance(composition_graph):
    graph = composition_graph
    assert cluster_names(graph) == {"cluster_p", "cluster_p.c1", "cluster_p.c2", "cluster_legend"}
    for cluster_name, states in (("cluster_p", ("Idle", "Made")), ("cluster_p.c2", ("Absent", "Alive"))):
        (cluster,) = graph.get_subgraph(dot_name(cluster_name))
        instance = cluster_name.removeprefix("cluster_")
        cluster_nodes = nodes_of(cluster)
        for state in states:
            assert f"{instance}/{state}" in cluster_nodes
        assert f"{instance}/(start)" in cluster_nodes


def test_composition_draws_local_transitions_synchronizations_and_guards(composition_graph):
    graph = composition_graph
    nodes = nodes_of(graph)
    absent = nodes["p.c1/Absent"]
    assert absent["shape"] == "box" and "dotted" in styles(absent)
    assert edge_between(graph, "p.c1/Absent", "p.c1/Alive", label="born")["style"] == "bold"
    for child in ("p.c1", "p.c2"):
        # Both synchronizations join the same two states, so they share one edge.
        label = f"sync: p.make → {child}.born\\nsync: p.remake → {child}.born"
        sync = edge_between(graph, "p/Made", f"{child}/Alive", label=label)
        assert sync["style"] == "dashed" and sync["color"] == "blue"
        guard = edge_between(graph, "p/Made", f"{child}/Alive", label="requires: die")
        assert guard["style"] == "dotted"
    legend_labels = {attributes.get("label") for source, _, attributes in edges_of(graph)
                     if source.startswith("legend:")}
    assert "synchronization (one atomic step)" in legend_labels


# --- helpers and files ----------------------------------------------------------------------

def test_dot_name_escapes_quotes_backslashes_and_newlines():
    assert dot_name("plain") == '"plain"'
    assert dot_name('say "hi"') == '"say \\"hi\\""'
    assert dot_name("back\\slash") == '"back\\\\slash"'
    assert dot_name("two\nlines") == '"two\\nlines"'


def test_diagram_file_name_is_safe():
    assert diagram_file_name("tr069_device[m=2,n=1]") == "tr069_device_m=2,n=1_"
    assert diagram_file_name("a/b c") == "a_b_c"
    assert diagram_file_name("..") == "_"


def test_write_diagrams_without_renderer_writes_dot_and_one_note(machine_file, composition_file, tmp_path,
                                                                monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    output = OutputDirectory(tmp_path / "out")
    output.claim()
    stale = tmp_path / "out" / "diagrams" / "tiny.svg"
    stale.parent.mkdir(parents=True)
    stale.write_text("<svg>from an earlier run</svg>")
    machine_analysis, composition_analysis = analysed(machine_file), analysed(composition_file)

    notes = write_diagrams([machine_analysis, composition_analysis], output)

    directory = tmp_path / "out" / "diagrams"
    assert notes == [f"swmc: note: Graphviz 'dot' not found; DOT files written to {directory}, "
                     "install Graphviz (apt-get install graphviz) to get SVG"]
    assert (directory / "tiny.dot").read_text() == machine_dot(machine_analysis)
    assert (directory / "family.dot").read_text() == composition_dot(composition_analysis)
    assert not stale.exists(), "an SVG that no longer matches its DOT file must go"
    assert sorted(path.name for path in directory.iterdir()) == ["family.dot", "tiny.dot"]
    assert render_svg("digraph { a }") is None


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_write_diagrams_with_dot_writes_svg(machine_file, composition_file, tmp_path):
    output = OutputDirectory(tmp_path / "out")
    output.claim()
    notes = write_diagrams([analysed(machine_file), analysed(composition_file)], output)
    assert notes == []
    for name in ("tiny", "family"):
        svg = (tmp_path / "out" / "diagrams" / f"{name}.svg").read_bytes()
        assert b"<svg" in svg
        assert b"(unreachable)" in svg or name == "family"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_render_svg_reports_a_renderer_failure():
    with pytest.raises(RenderError):
        render_svg("this is not DOT {")


def test_renderer_search_order(monkeypatch):
    # graphviz-pure is the fallback when dot is missing.
    installed = {"graphviz-pure": "/opt/bin/graphviz-pure"}
    monkeypatch.setattr(shutil, "which", installed.get)
    assert diagrams.find_renderer() == "/opt/bin/graphviz-pure"
