"""The mapping diagram: both sides' paired machines side by side, the mapping edges, the gaps.

As in test_diagrams, the DOT source is parsed with pydot and its nodes, edges and attributes
checked; the layout tests read the coordinates ``dot -Tplain`` gives and are skipped without
Graphviz. Images are never compared.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import textwrap

import pytest

from checker import cli
from checker.catalog import builtin_models_dir
from checker.coverage import check_coverage
from checker.diagrams import mapping_dot, write_diagrams
from checker.mapping import load_mapping
from checker.outputs import OutputDirectory
from test_diagrams import all_subgraphs, cluster_names, edges_of, parse, styles, unquote

# pydot's parser calls pyparsing names that pyparsing 3.3 deprecates; nothing here to act on.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pydot.*")

MAPPINGS = builtin_models_dir() / "mappings"
PARAMETERS = {"k": 1, "m": 1}
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")


def compute(name: str):
    return check_coverage(load_mapping(MAPPINGS / f"{name}.yaml"), PARAMETERS)


# Module scope: the coverage takes about a second and pydot most of one per parse.
@pytest.fixture(scope="module")
def draft():
    return compute("gap-analysis-2012")


@pytest.fixture(scope="module")
def draft_source(draft) -> str:
    return mapping_dot(draft)


@pytest.fixture(scope="module")
def graph(draft_source):
    return parse(draft_source)


@pytest.fixture(scope="module")
def alternative_graph():
    # The other shipped mapping: it has conditions on images and sequences of operations.
    return parse(mapping_dot(compute("delivered-as-installed")))


@pytest.fixture(scope="module")
def layout(draft_source) -> dict[str, tuple[float, float, float]]:
    """Node name -> (x, y, width) in inches, as dot lays the diagram out (y grows upwards)."""
    plain = subprocess.run(["dot", "-Tplain"], input=draft_source, capture_output=True, text=True,
                           check=True, timeout=120).stdout
    nodes = {}
    for line in plain.splitlines():
        fields = shlex.split(line)
        if fields and fields[0] == "node":
            nodes[fields[1]] = (float(fields[2]), float(fields[3]), float(fields[4]))
    return nodes


def subgraph(graph, name: str):
    """The cluster called ``name``, at any depth."""
    (found,) = [each for each in all_subgraphs(graph) if unquote(each.get_name()) == name]
    return found


def cluster_label(graph, name: str) -> str:
    # pydot keeps a cluster's `graph [...]` statement as a node called "graph".
    (statement,) = [node for node in subgraph(graph, name).get_node_list() if node.get_name() == "graph"]
    return unquote(statement.get_attributes()["label"])


def nodes_of(graph) -> dict[str, dict[str, str]]:
    """Node name -> unquoted attributes, merged over every statement that names the node
    (the rank=same group names the top nodes again, without attributes)."""
    nodes: dict[str, dict[str, str]] = {}
    for each in [graph] + all_subgraphs(graph):
        for node in each.get_node_list():
            name = unquote(node.get_name())
            if name not in ("node", "edge", "graph"):
                attributes = {key: unquote(str(value)) for key, value in node.get_attributes().items()}
                nodes.setdefault(name, {}).update(attributes)
    return nodes


def state(side: str, name: str) -> str:
    return f"{side}:state:{name}"


def operation(side: str, name: str) -> str:
    return f"{side}:operation:{name}"


def mapping_edges(graph, source: str | None = None) -> list[tuple[str, str, dict[str, str]]]:
    """The visible edges between the two sides (not the legend's samples), in file order."""
    return [(s, d, attributes) for s, d, attributes in edges_of(graph)
            if attributes.get("style") != "invis" and not s.startswith("legend:")
            and (source is None or s == source)]


def machines(coverage):
    """(side, component, machine) for each paired component, in mapping order."""
    mapping = coverage.mapping
    for pair in mapping.machines:
        yield "scomo", pair.scomo, mapping.scomo.component(pair.scomo).machine
        yield "tr069", pair.tr069, mapping.tr069.component(pair.tr069).machine


def operations_of(machine) -> list[str]:
    return list(dict.fromkeys(t.trigger for t in machine.transitions if t.kind == "operation"))


# --- structure ------------------------------------------------------------------------------

def test_both_sides_are_clusters_holding_one_cluster_per_paired_component(graph):
    clusters = cluster_names(graph)
    assert {"cluster_scomo", "cluster_tr069", "cluster_legend"} <= clusters
    for side, component in (("scomo", "dp"), ("scomo", "dc"), ("tr069", "du"), ("tr069", "eu")):
        assert f"cluster_{side}/{component}" in clusters
        assert f"cluster_{side}/{component}/operations" in clusters
    # Only paired components: the TR-069 Execution Environment is not drawn.
    assert not any("/ee" in name for name in clusters)
    assert cluster_label(graph, "cluster_scomo").startswith("SCOMO")
    assert cluster_label(graph, "cluster_tr069").startswith("TR-069")


def test_every_state_and_operation_of_the_paired_components_is_a_node_of_its_cluster(draft, graph):
    for side, component, machine in machines(draft):
        cluster_nodes = nodes_of(subgraph(graph, f"cluster_{side}/{component}"))
        for each in machine.states:
            assert state(side, f"{component}.{each.name}") in cluster_nodes
        operation_nodes = nodes_of(subgraph(graph, f"cluster_{side}/{component}/operations"))
        assert list(operation_nodes) == [operation(side, f"{component}.{trigger}") for trigger in operations_of(machine)]
        assert all(attributes["shape"] == "cds" for attributes in operation_nodes.values())


def test_states_are_styled_by_kind_as_in_machine_diagrams(graph):
    nodes = nodes_of(graph)
    assert nodes[state("scomo", "dp.Installed")]["shape"] == "ellipse"
    assert "dashed" in styles(nodes[state("scomo", "dp.Downloading")])  # transient
    absent = nodes[state("tr069", "du.Absent")]
    assert absent["shape"] == "box" and "dotted" in styles(absent)


def test_each_state_maps_by_a_dashed_edge_to_each_of_its_images(draft, graph):
    installed = mapping_edges(graph, state("scomo", "dp.Installed"))
    assert [(dest, attributes["style"], attributes["constraint"]) for _, dest, attributes in installed] == [
        (state("tr069", "du.Installed"), "dashed", "false")]
    expected = {(state("scomo", f"{entry.scomo_component}.{entry.scomo_state}"),
                 state("tr069", f"{image.component}.{image.state}"))
                for entry in draft.mapping.states for image in entry.images}
    drawn = {(source, dest) for source, dest, _ in mapping_edges(graph) if ":state:" in source}
    assert drawn == expected


def test_unmappable_states_and_operations_are_red_bold_and_name_their_category(graph):
    nodes = nodes_of(graph)
    delivered = nodes[state("scomo", "dp.Delivered")]
    assert delivered["color"] == "red" and "bold" in styles(delivered)
    assert delivered["label"] == "Delivered\\nno-image"
    assert mapping_edges(graph, state("scomo", "dp.Delivered")) == []
    updating = nodes[state("tr069", "du.Updating")]
    assert updating["color"] == "red" and updating["label"] == "Updating\\nno-preimage"
    assert "dashed" in styles(updating)  # still drawn as a transient state
    download = nodes[operation("scomo", "dp.Download")]
    assert download["color"] == "red" and download["label"] == "Download\\nno-counterpart"
    for plain in (state("scomo", "dp.Installed"), state("tr069", "du.Installed"), operation("scomo", "dp.Remove")):
        assert nodes[plain].get("color") != "red" and "bold" not in styles(nodes[plain])
        assert "\\n" not in nodes[plain]["label"]


def test_an_operation_maps_to_each_of_its_alternatives(graph):
    install = [(dest, attributes.get("headlabel")) for _, dest, attributes in
               mapping_edges(graph, operation("scomo", "dp.Install"))]
    assert install == [(operation("tr069", "du.Install"), "alt 1"), (operation("tr069", "du.Update"), "alt 2")]
    remove = mapping_edges(graph, operation("scomo", "dp.Remove"))
    assert [(dest, attributes.get("headlabel")) for _, dest, attributes in remove] == [
        (operation("tr069", "du.Uninstall"), None)]
    assert mapping_edges(graph, operation("scomo", "dp.Download")) == []  # mapped to nothing


def test_sequences_are_numbered_and_conditions_label_the_image(alternative_graph):
    activate = [(dest, attributes.get("headlabel")) for _, dest, attributes in
                mapping_edges(alternative_graph, operation("scomo", "dc.Activate"))]
    assert activate == [(operation("tr069", "eu.SetAutoStart"), "1."), (operation("tr069", "eu.RequestActive"), "2.")]
    (inactive,) = mapping_edges(alternative_graph, state("scomo", "dc.Inactive"))
    assert inactive[1] == state("tr069", "eu.Idle") and inactive[2]["headlabel"] == "AutoStart=false"
    # This mapping gives Delivered an image: drawn plain, with its edge.
    delivered = nodes_of(alternative_graph)[state("scomo", "dp.Delivered")]
    assert delivered["label"] == "Delivered" and delivered.get("color") != "red"


def test_legend_explains_mapping_edges_and_the_highlight(graph):
    legend = subgraph(graph, "cluster_legend")
    legend_nodes = nodes_of(legend)
    assert legend_nodes["legend:unmappable"]["color"] == "red" and "bold" in styles(legend_nodes["legend:unmappable"])
    assert legend_nodes["legend:operation"]["shape"] == "cds"
    assert "dashed" in styles(legend_nodes["legend:transient"])
    labels = [attributes.get("label", "") for _, _, attributes in edges_of(legend) if attributes.get("style") != "invis"]
    assert any(label.startswith("state maps to state") for label in labels)
    assert any(label.startswith("operation maps to operation") and "alt n" in label for label in labels)


# --- determinism and layout -----------------------------------------------------------------

def test_output_is_identical_across_runs(draft_source):
    assert mapping_dot(compute("gap-analysis-2012")) == draft_source
    # Set order of strings changes with PYTHONHASHSEED: another interpreter shows any unsorted set.
    script = textwrap.dedent("""
        import sys
        from checker.catalog import builtin_models_dir
        from checker.coverage import check_coverage
        from checker.diagrams import mapping_dot
        from checker.mapping import load_mapping
        path = builtin_models_dir() / "mappings" / "gap-analysis-2012.yaml"
        sys.stdout.write(mapping_dot(check_coverage(load_mapping(path), {"k": 1, "m": 1})))
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                               env={**os.environ, "PYTHONHASHSEED": "7"})
    assert completed.stdout == draft_source


@needs_dot
def test_scomo_is_the_left_column_and_tr069_the_right(layout):
    scomo = [values for name, values in layout.items() if name.startswith("scomo:")]
    tr069 = [values for name, values in layout.items() if name.startswith("tr069:")]
    assert max(x + width / 2 for x, _, width in scomo) < min(x - width / 2 for x, _, width in tr069)


@needs_dot
def test_columns_keep_model_order_and_pairs_face_each_other(draft, layout):
    for side, component, machine in machines(draft):
        names = [state(side, f"{component}.{each.name}") for each in machine.states]
        names += [operation(side, f"{component}.{trigger}") for trigger in operations_of(machine)]
        heights = [layout[name][1] for name in names]
        assert heights == sorted(heights, reverse=True) and len(set(heights)) == len(heights), component
    for scomo, tr069 in (("dp.Absent", "du.Absent"), ("dc.Absent", "eu.Absent")):
        assert layout[state("scomo", scomo)][1] == layout[state("tr069", tr069)][1]
    assert layout[operation("scomo", "dp.Download")][1] == layout[operation("tr069", "du.Install")][1]


@needs_dot
def test_each_column_of_states_has_one_width(draft, layout):
    # The width given is an estimate; no label may need more, or a node would stick out of its
    # column and a mapping edge leaving a neighbour's east side could cut through it.
    for side in ("scomo", "tr069"):
        widths = {width for name, (_, _, width) in layout.items() if name.startswith(f"{side}:state:")}
        assert len(widths) == 1, side
        widths = {width for name, (_, _, width) in layout.items() if name.startswith(f"{side}:operation:")}
        assert len(widths) == 1, side


# --- files ----------------------------------------------------------------------------------

def test_write_diagrams_writes_one_diagram_per_mapping(draft, draft_source, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    output = OutputDirectory(tmp_path / "out")
    output.claim()

    notes = write_diagrams([], output, [draft, draft])

    directory = tmp_path / "out" / "diagrams"
    assert sorted(path.name for path in directory.iterdir()) == [
        "mapping-gap_analysis_2012.dot", "mapping-gap_analysis_2012_2.dot"]
    assert (directory / "mapping-gap_analysis_2012.dot").read_text() == draft_source
    assert len(notes) == 1 and "Graphviz 'dot' not found" in notes[0]


def test_check_writes_the_mapping_diagram_unless_told_not_to(tmp_path, capsys):
    model = str(builtin_models_dir() / "tr069-execution-environment.yaml")
    arguments = ["check", "--mapping", "gap-analysis-2012", "-k", "1", "-m", "1", model]

    cli.main(arguments + ["-o", str(tmp_path / "bare"), "--no-diagrams"])
    assert (tmp_path / "bare" / "report.json").exists()
    assert not (tmp_path / "bare" / "diagrams").exists()

    cli.main(arguments + ["-o", str(tmp_path / "out")])
    capsys.readouterr()
    directory = tmp_path / "out" / "diagrams"
    source = (directory / "mapping-gap_analysis_2012.dot").read_text()
    assert "cluster_scomo" in source and "cluster_tr069" in source
    assert (directory / "tr069_execution_environment.dot").exists()
    if shutil.which("dot") is not None:
        assert b"<svg" in (directory / "mapping-gap_analysis_2012.svg").read_bytes()
