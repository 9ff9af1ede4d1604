"""The witness diagram of a behaviour mismatch: both sides' witnesses, move by move, in two lanes.

As in test_diagrams, the DOT source is parsed with pydot and its nodes, edges and attributes
checked; the layout test reads the coordinates ``dot -Tplain`` gives and is skipped without
Graphviz. Images are never compared.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from checker.catalog import builtin_models_dir
from checker.coverage import add_behaviour, check_coverage
from checker.diagrams import diagram_file_name, mapping_dot, witness_dot, write_diagrams
from checker.mapping import load_mapping
from checker.outputs import OutputDirectory
from checker.simulation import SCOMO_BY_TR069
from test_diagrams import edges_of, parse, styles, unquote
from test_mapping_diagram import cluster_label, nodes_of, subgraph

# pydot's parser calls pyparsing names that pyparsing 3.3 deprecates; nothing here to act on.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pydot.*")

MAPPINGS = builtin_models_dir() / "mappings"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")


def compute():
    coverage = check_coverage(load_mapping(MAPPINGS / "delivered-as-installed.yaml"), {"k": 1, "m": 1})
    return add_behaviour(coverage, 1, 1)


def all_mismatches(coverage):
    return [mismatch for result in coverage.behaviour.values() for mismatch in result.mismatches]


def all_witnesses(coverage):
    """Every mismatch, then every unmappable element's own witness, followed (those whose
    side-by-side witness is not a mismatch): each gets a diagram."""
    followed = [verdict.side_by_side for verdict in coverage.verdicts
                if verdict.side_by_side is not None and hasattr(verdict.side_by_side, "conclusion")]
    assert followed, "the coverage has unmappable elements shown by their own witness"
    return all_mismatches(coverage) + followed


# Module scope: the coverage and its behaviour take a couple of seconds.
@pytest.fixture(scope="module")
def coverage():
    return compute()


@pytest.fixture(scope="module")
def mismatch(coverage):
    # The first mismatch at least two moves deep, so that both lanes are real chains.
    return next(mismatch for mismatch in all_mismatches(coverage) if mismatch.depth >= 2)


@pytest.fixture(scope="module")
def source(coverage, mismatch) -> str:
    return witness_dot(coverage, mismatch)


@pytest.fixture(scope="module")
def graph(source):
    return parse(source)


def step_nodes(graph, side: str) -> list[str]:
    return [name for name in nodes_of(subgraph(graph, f"cluster_{side}")) if name.startswith(f"{side}:move ")]


def simulated_side(mismatch) -> str:
    return "scomo" if mismatch.direction == SCOMO_BY_TR069 else "tr069"


def test_both_lanes_exist_and_say_which_side_is_simulated(graph, mismatch):
    simulated = simulated_side(mismatch)
    following = "tr069" if simulated == "scomo" else "scomo"
    assert cluster_label(graph, "cluster_scomo").startswith("SCOMO")
    assert cluster_label(graph, "cluster_tr069").startswith("TR-069")
    assert "simulated" in cluster_label(graph, f"cluster_{simulated}")
    assert "following" in cluster_label(graph, f"cluster_{following}")


def test_each_lane_has_one_box_per_move_chained_by_the_events(graph, mismatch):
    witnesses = {simulated_side(mismatch): mismatch.simulated_witness}
    witnesses["tr069" if "scomo" in witnesses else "scomo"] = mismatch.simulating_witness
    nodes = nodes_of(graph)
    edges = {(source, dest): attributes for source, dest, attributes in edges_of(graph)}
    for side in ("scomo", "tr069"):
        names = step_nodes(graph, side)
        assert names == [f"{side}:move {move}" for move in range(mismatch.depth + 1)]
        assert all(nodes[name]["shape"] == "box" for name in names)
        # The first box shows the whole initial state, the others what their move changed.
        initial = witnesses[side][0]
        assert all(f"{instance}: " in nodes[names[0]]["label"] for instance in initial.state)
        for move, (upper, lower) in enumerate(zip(names, names[1:]), 1):
            step = witnesses[side][move]
            label = edges[(upper, lower)]["label"]
            assert step.event in label
            assert all(report in label for report in step.reports)
            assert all(f"{instance}: " in nodes[lower]["label"] for instance in step.changed)


def test_the_offending_step_ends_the_simulated_lane_in_red(graph, mismatch):
    simulated = simulated_side(mismatch)
    offending = nodes_of(subgraph(graph, f"cluster_{simulated}"))["offending"]
    assert offending["color"] == "red" and "bold" in styles(offending)
    assert f"cannot be followed: {mismatch.reason}" in offending["label"]
    (edge,) = [attributes for source, dest, attributes in edges_of(graph) if dest == "offending"]
    assert edge["color"] == "red"
    assert mismatch.offending_step.event in edge["label"]
    assert [source for source, dest, _ in edges_of(graph) if dest == "offending"] == [
        f"{simulated}:move {mismatch.depth}"]


def test_corresponding_moves_share_a_column_and_a_dotted_edge(graph, source, mismatch):
    corresponds = [(source, dest, attributes) for source, dest, attributes in edges_of(graph)
                   if attributes.get("label") == "corresponds"]
    assert [(source, dest) for source, dest, _ in corresponds] == [
        (f"scomo:move {move}", f"tr069:move {move}") for move in range(mismatch.depth + 1)]
    assert all(attributes["style"] == "dotted" and attributes["constraint"] == "false"
               and attributes["color"].startswith("grey") for _, _, attributes in corresponds)
    for move in range(mismatch.depth + 1):
        assert f'{{ rank=same; "scomo:move {move}"; "tr069:move {move}"; }}' in source


def test_every_mismatch_of_both_directions_draws(coverage):
    for mismatch in all_mismatches(coverage):
        graph = parse(witness_dot(coverage, mismatch))
        assert len(step_nodes(graph, "scomo")) == len(step_nodes(graph, "tr069")) == mismatch.depth + 1
        assert "offending" in nodes_of(graph)


def test_output_is_identical_across_runs(coverage, mismatch, source):
    assert witness_dot(coverage, mismatch) == source
    again = compute()
    (same,) = [each for each in all_mismatches(again) if each.id == mismatch.id]
    assert witness_dot(again, same) == source


@needs_dot
def test_scomo_lane_is_above_and_moves_line_up(source, mismatch):
    plain = subprocess.run(["dot", "-Tplain"], input=source, capture_output=True, text=True,
                           check=True, timeout=120).stdout
    position = {}
    for line in plain.splitlines():
        fields = shlex.split(line)
        if fields and fields[0] == "node":
            position[fields[1]] = (float(fields[2]), float(fields[3]))
    for move in range(mismatch.depth + 1):
        (scomo_x, scomo_y), (tr069_x, tr069_y) = position[f"scomo:move {move}"], position[f"tr069:move {move}"]
        assert scomo_x == tr069_x and scomo_y > tr069_y


def test_write_diagrams_writes_one_witness_per_mismatch(coverage, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    output = OutputDirectory(tmp_path / "out")
    output.claim()

    write_diagrams([], output, [coverage])

    directory = tmp_path / "out" / "diagrams"
    mapping_id = coverage.mapping.id
    expected = {diagram_file_name(f"witness-{mapping_id}-{mismatch.id}") + ".dot": mismatch
                for mismatch in all_witnesses(coverage)}
    assert len(expected) == len(all_witnesses(coverage))
    written = sorted(path.name for path in directory.iterdir())
    assert written == sorted([f"mapping-{diagram_file_name(mapping_id)}.dot", *expected])
    assert all("/" not in name for name in written)
    # The mapping diagram is unchanged by the witnesses beside it.
    assert (directory / f"mapping-{diagram_file_name(mapping_id)}.dot").read_text() == mapping_dot(coverage)
    for name, mismatch in expected.items():
        assert (directory / name).read_text() == witness_dot(coverage, mismatch)


@needs_dot
def test_write_diagrams_renders_witnesses_with_dot(coverage, tmp_path):
    output = OutputDirectory(tmp_path / "out")
    output.claim()

    assert write_diagrams([], output, [coverage]) == []

    directory = tmp_path / "out" / "diagrams"
    witnesses = sorted(directory.glob("witness-*.svg"))
    assert len(witnesses) == len(all_witnesses(coverage))
    assert all(b"<svg" in path.read_bytes() for path in witnesses)


def test_graph_is_named_after_the_mismatch(coverage, mismatch):
    assert unquote(parse(witness_dot(coverage, mismatch)).get_name()) == \
        f"witness_{coverage.mapping.id}_{mismatch.id}"
