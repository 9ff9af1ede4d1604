"""Draw analysed systems as Graphviz diagrams, with the findings marked on the states.

A single machine becomes one graph of its states and transitions; a composition becomes one
cluster per component instance, joined by the synchronizations (dashed blue) and the guards
(dotted teal). States are styled by kind and by finding (unreachable, deadlock, never
settles), transitions by trigger kind and outcome; every diagram carries a legend. A mapping
becomes two columns, SCOMO and TR-069, of the paired machines' states and operations, joined
by the mapping's dashed edges, with what its coverage finds unmappable outlined in red; each
mismatch of its behaviour becomes two lanes, the witnesses of both sides move by move, ending
in the step that cannot be followed.

The DOT text is written here directly rather than through ``graphviz.Digraph`` so that every
line is under our control: nodes and edges come out in a fixed order (machine order for
states and instances, sorted order for merged edges), with no timestamps, absolute paths or
object ids, so that the same model always gives byte-identical files that diff cleanly.
SVG is rendered by the ``dot`` executable when it is installed; DOT files are written
regardless.
"""

from __future__ import annotations

import html
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .analysis import SystemAnalysis
from .coverage import MappingCoverage, Verdict
from .model import Machine, State, Transition, format_value
from .outputs import OutputDirectory
from .system import System

__all__ = [
    "dot_name",
    "machine_dot",
    "composition_dot",
    "mapping_dot",
    "witness_dot",
    "diagram_dot",
    "render_svg",
    "find_renderer",
    "diagram_file_name",
    "write_diagrams",
    "RenderError",
    "DIAGRAM_DIRECTORY",
]

log = logging.getLogger(__name__)

DIAGRAM_DIRECTORY = "diagrams"
# Tried in order; graphviz-pure is a stand-in some systems ship that reads the same options.
RENDERERS = ("dot", "graphviz-pure")
# dot can take minutes on a large composition; past this the DOT file alone is kept.
RENDER_TIMEOUT_SECONDS = 120
START_NODE = "(start)"  # parentheses cannot occur in a state name, so no state collides with it
FONT = "Helvetica"

# Node attributes by state kind. Findings add colours on top of these (see _state_attributes).
KIND_ATTRIBUTES: dict[str, dict[str, str]] = {
    "stable": {"shape": "ellipse"},
    "transient": {"shape": "ellipse", "style": "dashed"},
    "terminal": {"shape": "ellipse", "peripheries": "2"},
    "absent": {"shape": "box", "style": "dotted", "color": "grey50", "fontcolor": "grey40"},
}
KIND_LEGEND = {
    "stable": "stable",
    "transient": "transient (operation running)",
    "terminal": "terminal",
    "absent": "absent (no instance)",
}

# Edge attributes by edge class; the class comes from the outcome first, then the trigger kind.
EDGE_ATTRIBUTES: dict[str, dict[str, str]] = {
    "operation": {"color": "black"},
    "completion": {"color": "darkgreen", "fontcolor": "darkgreen"},
    "failure": {"color": "red3", "fontcolor": "red3"},
    "refused": {"style": "dotted", "color": "grey40", "fontcolor": "grey40"},
    "autonomous": {"style": "dashed", "color": "black"},
    "lifecycle": {"style": "bold", "color": "grey50", "fontcolor": "grey40"},
}
EDGE_LEGEND = {
    "operation": "operation (server request)",
    "completion": "completion, success",
    "failure": "failure (dashed if autonomous)",
    "refused": "refused (fault, no change)",
    "autonomous": "autonomous (device on its own)",
    "lifecycle": "lifecycle (forced by another machine)",
}
SYNCHRONIZATION_ATTRIBUTES = {"style": "dashed", "color": "blue", "fontcolor": "blue", "penwidth": "1.5"}
# Guards do not order the instances, so they must not pull the layout around (constraint=false).
GUARD_ATTRIBUTES = {"style": "dotted", "color": "cyan4", "fontcolor": "cyan4", "arrowhead": "odot",
                    "constraint": "false"}


class RenderError(Exception):
    """The renderer is installed but did not produce an SVG."""


def dot_name(text: object) -> str:
    """``text`` as a double-quoted DOT string: quotes and backslashes escaped, newlines as ``\\n``.

    Every identifier and attribute value goes through here, so no name can break the syntax.
    """
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _attributes(attributes: dict[str, str]) -> str:
    """A DOT attribute list; keys keep the order the code gives them, which is fixed."""
    return "[" + ", ".join(f"{key}={dot_name(value)}" for key, value in attributes.items()) + "]"


@dataclass(frozen=True)
class _Marks:
    """The (instance, state) pairs each kind of finding points at."""

    unreachable: frozenset[tuple[str, str]]
    deadlock: frozenset[tuple[str, str]]
    stuck: frozenset[tuple[str, str]]


def _marks(analysis: SystemAnalysis) -> _Marks:
    # None means no engine decided the state; only a decided "unreachable" is drawn as one.
    unreachable = {(verdict.instance, verdict.target.name) for verdict in analysis.verdicts
                   if verdict.target.kind == "state" and verdict.reachable is False}
    deadlock = set()
    stuck = set()
    for finding in analysis.findings:
        if finding.kind == "deadlock" and finding.witness:
            # The witness describes each instance as "State (Observable=value, ...)"; state
            # names are identifiers, so the state is the text up to the first space.
            for instance, description in finding.witness[-1].state.items():
                deadlock.add((instance, description.split(" ")[0]))
        elif finding.kind == "stuck-transient" and finding.instance is not None:
            stuck.add((finding.instance, finding.subject))
    return _Marks(frozenset(unreachable), frozenset(deadlock), frozenset(stuck))


def _state_attributes(kind: str, unreachable: bool = False, deadlock: bool = False,
                      stuck: bool = False) -> dict[str, str]:
    """Node attributes (without the label) for a state of ``kind`` with the given findings."""
    attributes = dict(KIND_ATTRIBUTES[kind])
    styles = [attributes.pop("style")] if "style" in attributes else []
    if unreachable:
        attributes.update(color="red", fillcolor="grey85", fontcolor="grey30")
        styles.append("filled")
    else:
        # Deadlock fills and stuck outlines, so a state that is both shows both.
        if deadlock:
            attributes["fillcolor"] = "orange"
            styles.append("filled")
        if stuck:
            attributes.update(color="purple", penwidth="2")
            if not deadlock:
                attributes["fillcolor"] = "thistle"
                styles.append("filled")
    if styles:
        attributes["style"] = ",".join(styles)
    return attributes


def _state_label(state: State, unreachable: bool, deadlock: bool, stuck: bool) -> str:
    lines = [state.name] + [f"{name}={format_value(value)}" for name, value in state.observe]
    # Findings are also spelled out, so that the diagram reads in black and white.
    if unreachable:
        lines.append("(unreachable)")
    if deadlock:
        lines.append("(deadlock)")
    if stuck:
        lines.append("(never settles)")
    return "\n".join(lines)


def _edge_class(transition: Transition) -> str:
    if transition.outcome in ("refused", "failure"):
        return transition.outcome
    return transition.kind


def _edge_attributes(transition: Transition) -> tuple[tuple[str, str], ...]:
    attributes = dict(EDGE_ATTRIBUTES[_edge_class(transition)])
    if transition.outcome == "failure" and transition.kind == "autonomous":
        attributes["style"] = "dashed"
    return tuple(attributes.items())


def _machine_lines(machine: Machine, instance: str, node_id: Callable[[str], str], marks: _Marks,
                   indent: str) -> list[str]:
    """Nodes, initial marker and transition edges of one machine (one instance of it)."""
    lines = []
    for state in machine.states:
        key = (instance, state.name)
        flags = (key in marks.unreachable, key in marks.deadlock, key in marks.stuck)
        attributes = {"label": _state_label(state, *flags), **_state_attributes(state.kind, *flags)}
        lines.append(f"{indent}{dot_name(node_id(state.name))} {_attributes(attributes)};")
    start = node_id(START_NODE)
    lines.append(f"{indent}{dot_name(start)} {_attributes({'shape': 'point', 'style': 'invis'})};")
    lines.append(f"{indent}{dot_name(start)} -> {dot_name(node_id(machine.initial))} "
                 f"{_attributes({'tooltip': 'initial state'})};")

    # Transitions that share source, destination and style become one edge with one label line
    # each; a set drops the exact duplicates that guarded variants of one trigger produce.
    grouped: dict[tuple[int, int, tuple[tuple[str, str], ...]], set[str]] = {}
    for transition in machine.transitions:
        key = (machine.state_index(transition.source), machine.state_index(transition.dest),
               _edge_attributes(transition))
        grouped.setdefault(key, set()).add(transition.label)
    for (source, dest, style), labels in sorted(grouped.items()):
        attributes = {"label": "\n".join(sorted(labels)), **dict(style)}
        lines.append(f"{indent}{dot_name(node_id(machine.states[source].name))} -> "
                     f"{dot_name(node_id(machine.states[dest].name))} {_attributes(attributes)};")
    return lines


def _legend_lines(composition: bool) -> list[str]:
    """The legend of a machine or composition diagram: node styles, then edge styles."""
    samples = [(f"legend:{kind}", text, _state_attributes(kind)) for kind, text in KIND_LEGEND.items()]
    samples += [
        ("legend:unreachable", "unreachable", _state_attributes("stable", unreachable=True)),
        ("legend:deadlock", "deadlock: where the shortest\ndeadlock witness ends",
         _state_attributes("stable", deadlock=True)),
        ("legend:stuck", "never settles\n(stuck transient)", _state_attributes("transient", stuck=True)),
        ("legend:initial", "initial state", _state_attributes("stable")),
    ]
    start = _attributes({"shape": "point", "style": "invis"})
    initial = [f"    {{ rank=same; {dot_name('legend:start')} {start}; {dot_name('legend:initial')}; }}",
               f"    {dot_name('legend:start')} -> {dot_name('legend:initial')};"]
    edge_samples = [(edge_class, text, EDGE_ATTRIBUTES[edge_class])
                    for edge_class, text in EDGE_LEGEND.items()]
    if composition:
        edge_samples += [("synchronization", "synchronization (one atomic step)", SYNCHRONIZATION_ATTRIBUTES),
                         ("guard", "guard: requires that state", GUARD_ATTRIBUTES)]
    return _legend_cluster(samples, edge_samples, initial)


def _legend_cluster(node_samples: list[tuple[str, str, dict[str, str]]],
                    edge_samples: list[tuple[str, str, dict[str, str]]],
                    after_nodes: Iterable[str] = ()) -> list[str]:
    """A cluster with one sample node per node style and one sample edge per edge style.

    ``node_samples`` are (node name, label, attributes), ``edge_samples`` (edge class, label,
    attributes); ``after_nodes`` are lines added after the node samples. Node samples form one
    column and edge samples another, each stacked by invisible edges; each edge sample is laid
    flat (rank=same) so that its label reads beside it.
    """
    lines = ["  subgraph cluster_legend {",
             f"    graph {_attributes({'label': 'Legend', 'style': 'rounded', 'color': 'grey60'})};"]
    invisible = _attributes({"style": "invis"})
    for name, text, attributes in node_samples:
        lines.append(f"    {dot_name(name)} {_attributes({'label': text, **attributes})};")
    for (upper, _, _), (lower, _, _) in zip(node_samples, node_samples[1:]):
        lines.append(f"    {dot_name(upper)} -> {dot_name(lower)} {invisible};")
    lines += after_nodes

    point = _attributes({"shape": "point", "width": "0.06", "color": "grey40"})
    for edge_class, text, attributes in edge_samples:
        source, dest = dot_name(f"legend:{edge_class}:from"), dot_name(f"legend:{edge_class}:to")
        lines.append(f"    {{ rank=same; {source} {point}; {dest} {point}; }}")
        # constraint=false would let a flat sample edge drift; the legend keeps the default.
        kept = {key: value for key, value in attributes.items() if key != "constraint"}
        edge_attributes = {"label": text, **kept}
        lines.append(f"    {source} -> {dest} {_attributes(edge_attributes)};")
    for (upper, _, _), (lower, _, _) in zip(edge_samples, edge_samples[1:]):
        upper_node, lower_node = dot_name(f"legend:{upper}:from"), dot_name(f"legend:{lower}:from")
        lines.append(f"    {upper_node} -> {lower_node} {invisible};")
    lines.append("  }")
    return lines


def _header(system: System) -> list[str]:
    return _graph_header(system.name, f"{system.composition.title} ({system.name})")


def _graph_header(name: str, title: str, graph: dict[str, str] | None = None) -> list[str]:
    """The opening of a digraph: its title and default fonts, and any further graph attributes."""
    return [
        f"digraph {dot_name(name)} {{",
        f"  graph {_attributes({'label': title, 'labelloc': 't', 'fontname': FONT, **(graph or {})})};",
        f"  node {_attributes({'fontname': FONT, 'fontsize': '11'})};",
        f"  edge {_attributes({'fontname': FONT, 'fontsize': '9'})};",
    ]


def machine_dot(analysis: SystemAnalysis) -> str:
    """DOT source for a single machine: its states and transitions, findings marked, and a legend."""
    system = analysis.system
    if not system.composition.is_single_machine or len(system.instances) != 1:
        raise ValueError(f"{system.name} is a composition; use composition_dot")
    instance = system.instances[0]
    lines = _header(system)
    machine = instance.local.machine
    lines += _machine_lines(machine, instance.name, lambda state: state, _marks(analysis), "  ")
    lines += _legend_lines(composition=False)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _instance_node(instance: str, state: str) -> str:
    # Instance names are dotted identifiers and state names identifiers: "/" separates them
    # unambiguously, and no legend name (which contains ":") can collide.
    return f"{instance}/{state}"


def _synchronization_edges(system: System) -> list[tuple[str, str, str]]:
    """(leader node, follower node, label) for each step a synchronization drags along.

    Read from the compiled moves rather than recomputed from the composition, so the diagram
    shows exactly which follower instances each leader instance drives. Synchronizations that
    join the same two states (an EE's Enable and restart both starting an EU) share one edge.
    """
    found: dict[tuple[int, int, int, int], set[str]] = {}
    for leader_index, leader in enumerate(system.instances):
        leader_machine = leader.local.machine
        for moves in system.moves[leader_index]:
            for move in moves:
                if not move.followers:
                    continue
                leader_state = leader_machine.state_index(leader.local.state_of(move.target))
                trigger = leader_machine.transitions[move.transition].trigger
                for step in move.followers:
                    follower = system.instances[step.instance]
                    label = f"sync: {leader.name}.{trigger} → {follower.name}.{step.trigger}"
                    for target in step.table.values():
                        follower_state = follower.local.machine.state_index(follower.local.state_of(target))
                        key = (leader_index, leader_state, step.instance, follower_state)
                        found.setdefault(key, set()).add(label)
    edges = []
    for (leader_index, leader_state, follower_index, follower_state), labels in sorted(found.items()):
        leader, follower = system.instances[leader_index], system.instances[follower_index]
        edges.append((
            _instance_node(leader.name, leader.local.machine.states[leader_state].name),
            _instance_node(follower.name, follower.local.machine.states[follower_state].name),
            "\n".join(sorted(labels)),
        ))
    return edges


def _guard_edges(system: System) -> list[tuple[str, str, str]]:
    """(required state node, guarded source node, label) for each guard, from the compiled moves."""
    found: dict[tuple[int, int, int, int], set[str]] = {}
    for guarded_index, guarded in enumerate(system.instances):
        local = guarded.local
        for config, moves in enumerate(system.moves[guarded_index]):
            source_state = local.machine.state_index(local.state_of(config))
            for move in moves:
                trigger = local.machine.transitions[move.transition].trigger
                for required_index, allowed in move.requires:
                    required = system.instances[required_index].local
                    for required_config in allowed:
                        required_state = required.machine.state_index(required.state_of(required_config))
                        key = (required_index, required_state, guarded_index, source_state)
                        found.setdefault(key, set()).add(trigger)
    edges = []
    for (required_index, required_state, guarded_index, source_state), triggers in sorted(found.items()):
        required, guarded = system.instances[required_index], system.instances[guarded_index]
        edges.append((
            _instance_node(required.name, required.local.machine.states[required_state].name),
            _instance_node(guarded.name, guarded.local.machine.states[source_state].name),
            "requires: " + ", ".join(sorted(triggers)),
        ))
    return edges


def composition_dot(analysis: SystemAnalysis) -> str:
    """DOT source for a composition: one cluster per instance, synchronizations, guards, legend."""
    system = analysis.system
    marks = _marks(analysis)
    lines = _header(system)
    for instance in system.instances:
        machine = instance.local.machine
        lines.append(f"  subgraph {dot_name('cluster_' + instance.name)} {{")
        cluster = {"label": f"{instance.name}: {machine.title}", "style": "rounded", "color": "grey40"}
        lines.append(f"    graph {_attributes(cluster)};")
        def node_id(state: str, instance_name: str = instance.name) -> str:
            return _instance_node(instance_name, state)

        lines += _machine_lines(machine, instance.name, node_id, marks, "    ")
        lines.append("  }")
    for source, dest, label in _synchronization_edges(system):
        lines.append(f"  {dot_name(source)} -> {dot_name(dest)} "
                     f"{_attributes({'label': label, **SYNCHRONIZATION_ATTRIBUTES})};")
    for source, dest, label in _guard_edges(system):
        lines.append(f"  {dot_name(source)} -> {dot_name(dest)} "
                     f"{_attributes({'label': label, **GUARD_ATTRIBUTES})};")
    lines += _legend_lines(composition=True)
    lines.append("}")
    return "\n".join(lines) + "\n"


def diagram_dot(analysis: SystemAnalysis) -> str:
    """The diagram that suits the system: a machine diagram or a composition diagram."""
    system = analysis.system
    if system.composition.is_single_machine and len(system.instances) == 1:
        return machine_dot(analysis)
    return composition_dot(analysis)


# --- mapping diagrams --------------------------------------------------------------------------

MAPPING_SIDES = (("scomo", "SCOMO"), ("tr069", "TR-069"))
# Mapping edges are straight lines from the east of a SCOMO node to the west of a TR-069 node
# across the gap between the two columns. The rows are set by the stacking edges alone, so
# mapping edges must not move nodes between ranks (constraint=false). Their labels sit by the
# arrowhead (a mid-edge label would sit where the edges cross, beside the wrong one).
MAPPING_EDGE_ATTRIBUTES = {"style": "dashed", "tailport": "e", "headport": "w", "constraint": "false"}
STATE_MAPPING_ATTRIBUTES = {"color": "blue", "fontcolor": "blue", **MAPPING_EDGE_ATTRIBUTES}
OPERATION_MAPPING_ATTRIBUTES = {"color": "darkorange3", "fontcolor": "darkorange3", **MAPPING_EDGE_ATTRIBUTES}
MAPPING_LABEL = "headlabel"
MAPPING_LABEL_ATTRIBUTES = {"labeldistance": "4", "labelangle": "-12"}  # just above the line
# The side clusters' margin is the gap the mapping edges cross; a light fill tells the sides
# apart without outlines across the edge labels. The clusters inside set their own margin and
# fill, since a cluster's graph attributes pass on to the clusters it holds.
SIDE_CLUSTER_ATTRIBUTES = {"style": "rounded,filled", "color": "grey75", "fillcolor": "grey97", "fontsize": "16",
                           "margin": "36,8"}
COMPONENT_CLUSTER_ATTRIBUTES = {"style": "rounded,filled", "color": "grey60", "fillcolor": "white", "fontsize": "14",
                                "margin": "8"}
OPERATIONS_CLUSTER_ATTRIBUTES = {"label": "operations", "style": "dashed,rounded", "color": "grey60",
                                 "fontcolor": "grey40", "fontsize": "10", "margin": "8"}
OPERATION_NODE_ATTRIBUTES = {"shape": "cds", "style": "filled", "fillcolor": "grey95", "fontsize": "10",
                             "height": "0.3"}
# Unmappable: a red bold outline (the category is also written in the label).
UNMAPPABLE_ATTRIBUTES = {"color": "red", "penwidth": "2"}
# Heavy stacking edges keep each column straight, so that mapping edges run across the gap.
STACK_WEIGHT = "100"


def _level(attributes: dict[str, str]) -> dict[str, str]:
    """Mapping edge attributes for an edge between two nodes of one row: without ports.

    Clipped at the node outlines, a level edge starts and ends where it should without them;
    with them, dot 2.43 puts a level edge's tail port as if the tail were as wide as the head.
    """
    return {key: value for key, value in attributes.items() if key not in ("tailport", "headport")}


def _mapping_node(side: str, what: str, component: str, name: str) -> str:
    # The verdict id. Side and kind are spelled out, so a state and a trigger of one name, or
    # components of one name on both sides, never collide; legend names start with "legend:".
    return f"{side}:{what}:{component}.{name}"


def _highlighted(attributes: dict[str, str], verdict: Verdict | None) -> dict[str, str]:
    """``attributes`` with the highlight of an unmappable (red bold) or unreachable (grey) node."""
    attributes = dict(attributes)
    if verdict is None or verdict.category == "mapped":
        return attributes
    styles = [style for style in attributes.pop("style", "").split(",") if style]
    if not verdict.mappable:
        attributes.update(UNMAPPABLE_ATTRIBUTES)
        styles.append("bold")
    else:  # unreachable on its side: nothing to map, so neither a gap nor a plain state
        attributes.update(fillcolor="grey85", fontcolor="grey30")
        if "filled" not in styles:
            styles.append("filled")
    attributes["style"] = ",".join(styles)
    return attributes


def _verdict_label(name: str, verdict: Verdict | None) -> str:
    # The category spells the highlight out, so that the diagram reads in black and white.
    if verdict is None or verdict.category == "mapped":
        return name
    return f"{name}\n{verdict.category}"


def _operation_triggers(machine: Machine) -> list[str]:
    """Triggers with a transition of kind ``operation``, in order of appearance (as coverage has them)."""
    return list(dict.fromkeys(t.trigger for t in machine.transitions if t.kind == "operation"))


def _condition_text(when: tuple[tuple[str, object], ...]) -> str:
    return ", ".join(f"{name}={format_value(value)}" for name, value in when)


def _step_label(alternative: int, alternatives: int, step: int, steps: int) -> str:
    """``alt 2``, ``1.`` or ``alt 2: 1.``; empty for the one step of the one alternative."""
    parts = []
    if alternatives > 1:
        parts.append(f"alt {alternative}")
    if steps > 1:
        parts.append(f"{step}.")
    return ": ".join(parts)


def _mapping_rows(coverage: MappingCoverage) -> dict[str, list[tuple[int, str]]]:
    """(row, node) for each side, top to bottom in model order.

    The two machines of a pair start their states on one row and their operations on
    another, one row after the longer list of states (room for the operations' cluster
    label), so that the machines of a pair face each other; one row separates the pairs.
    """
    mapping = coverage.mapping
    compositions = {"scomo": mapping.scomo, "tr069": mapping.tr069}
    rows: dict[str, list[tuple[int, str]]] = {side: [] for side, _ in MAPPING_SIDES}
    row = 0
    for pair in mapping.machines:
        machines = {side: compositions[side].component(getattr(pair, side)).machine for side, _ in MAPPING_SIDES}
        state_rows = max(len(machine.states) for machine in machines.values())
        operation_rows = max(len(_operation_triggers(machine)) for machine in machines.values())
        for side, _ in MAPPING_SIDES:
            component, machine = getattr(pair, side), machines[side]
            for offset, state in enumerate(machine.states):
                rows[side].append((row + offset, _mapping_node(side, "state", component, state.name)))
            for offset, trigger in enumerate(_operation_triggers(machine)):
                rows[side].append((row + state_rows + 1 + offset, _mapping_node(side, "operation", component, trigger)))
        row += state_rows + 1 + operation_rows + 1
    return rows


def _estimated_width(label: str, fontsize: float, shape: str) -> float:
    """A generous estimate, in inches, of the width Graphviz gives a node with ``label``.

    Graphviz widens a node to fit its label but never narrows it below ``width``; giving every
    node of a column the largest estimate makes the column's edges line up, so that a mapping
    edge leaving one node's east side cannot cut through a wider node above or below it.
    """
    lines = label.split("\n")
    width = max(len(line) for line in lines) * 0.55 * fontsize / 72 + 0.22  # text and its margins
    if shape == "ellipse":
        return width * 1.42 * (1.2 if len(lines) > 1 else 1.0)  # taller ellipses are also wider
    if shape == "cds":
        return width + 0.3  # the arrow point
    return width


def _node_line(node: str, attributes: dict[str, str], width: float, indent: str) -> str:
    return f"{indent}{dot_name(node)} {_attributes({**attributes, 'width': f'{width:.2f}'})};"


def _mapping_side_lines(coverage: MappingCoverage, side: str, label: str) -> list[str]:
    """The cluster of one side: a cluster per paired component, its operations in a cluster below.

    All states of the side share one width, and so do all its operations (see _estimated_width).
    """
    mapping = coverage.mapping
    verdicts = {verdict.id: verdict for verdict in coverage.verdicts}
    composition = mapping.scomo if side == "scomo" else mapping.tr069
    # component -> ([(state node, attributes)], [(operation node, attributes)])
    nodes: dict[str, tuple[list[tuple[str, dict[str, str]]], list[tuple[str, dict[str, str]]]]] = {}
    for pair in mapping.machines:
        component = getattr(pair, side)
        machine = composition.component(component).machine
        states, operations = [], []
        for state in machine.states:
            node = _mapping_node(side, "state", component, state.name)
            verdict = verdicts.get(node)
            states.append((node, {"label": _verdict_label(state.name, verdict),
                                  **_highlighted(_state_attributes(state.kind), verdict)}))
        for trigger in _operation_triggers(machine):
            node = _mapping_node(side, "operation", component, trigger)
            verdict = verdicts.get(node)
            operations.append((node, {"label": _verdict_label(trigger, verdict),
                                      **_highlighted(OPERATION_NODE_ATTRIBUTES, verdict)}))
        nodes[component] = (states, operations)
    state_width = max((_estimated_width(attributes["label"], 11, attributes["shape"])
                       for states, _ in nodes.values() for _, attributes in states), default=0.0)
    operation_width = max((_estimated_width(attributes["label"], float(OPERATION_NODE_ATTRIBUTES["fontsize"]),
                                            attributes["shape"])
                           for _, operations in nodes.values() for _, attributes in operations), default=0.0)

    lines = [f"  subgraph {dot_name('cluster_' + side)} {{",
             f"    graph {_attributes({'label': f'{label} ({composition.id})', **SIDE_CLUSTER_ATTRIBUTES})};"]
    for component, (states, operations) in nodes.items():
        title = composition.component(component).machine.title
        lines.append(f"    subgraph {dot_name(f'cluster_{side}/{component}')} {{")
        lines.append(f"      graph {_attributes({'label': f'{component}: {title}', **COMPONENT_CLUSTER_ATTRIBUTES})};")
        lines += [_node_line(node, attributes, state_width, "      ") for node, attributes in states]
        if operations:
            lines.append(f"      subgraph {dot_name(f'cluster_{side}/{component}/operations')} {{")
            lines.append(f"        graph {_attributes(OPERATIONS_CLUSTER_ATTRIBUTES)};")
            lines += [_node_line(node, attributes, operation_width, "        ") for node, attributes in operations]
            lines.append("      }")
        lines.append("    }")
    lines.append("  }")
    return lines


def _mapping_edges(coverage: MappingCoverage) -> list[tuple[str, str, str, dict[str, str]]]:
    """(source node, dest node, label, style) for each mapping edge, in model order."""
    mapping = coverage.mapping
    edges = []
    for pair in mapping.machines:
        machine = mapping.scomo.component(pair.scomo).machine
        for state in machine.states:
            entry = mapping.state_entry(pair.scomo, state.name)
            source = _mapping_node("scomo", "state", pair.scomo, state.name)
            for image in dict.fromkeys(entry.images if entry else ()):
                dest = _mapping_node("tr069", "state", image.component, image.state)
                edges.append((source, dest, _condition_text(image.when), STATE_MAPPING_ATTRIBUTES))
        for trigger in _operation_triggers(machine):
            entry = mapping.operation_entry(pair.scomo, trigger)
            source = _mapping_node("scomo", "operation", pair.scomo, trigger)
            alternatives = entry.alternatives if entry else ()
            for number, alternative in enumerate(alternatives, 1):
                for step, (component, tr069_trigger) in enumerate(alternative, 1):
                    dest = _mapping_node("tr069", "operation", component, tr069_trigger)
                    label = _step_label(number, len(alternatives), step, len(alternative))
                    edges.append((source, dest, label, OPERATION_MAPPING_ATTRIBUTES))
    return edges


def mapping_dot(coverage: MappingCoverage) -> str:
    """DOT source for a mapping: both sides' paired machines, the mapping edges, the gaps marked.

    SCOMO is the left column and TR-069 the right. In each, every paired component is a
    cluster of its states (styled by kind as in the machine diagrams) above a cluster of its
    operations, in model order from top to bottom, the two machines of a pair side by side.
    Dashed edges go from each SCOMO state to each of its images (labelled with the image's
    condition, if any) and from each SCOMO operation to the TR-069 operations of its
    alternatives (labelled ``alt n`` when there are several, and with the step number in a
    sequence of several). A state or operation whose verdict is unmappable has a red bold
    outline and its category as a second label line.
    """
    mapping = coverage.mapping
    lines = _graph_header(f"mapping_{mapping.id}", f"Mapping {mapping.id}: {mapping.title}",
                          {"newrank": "true", "splines": "line", "ranksep": "0.25", "nodesep": "0.3"})
    for side, label in MAPPING_SIDES:
        lines += _mapping_side_lines(coverage, side, label)

    # Invisible stacking edges put each node on its row; the tops of the columns share a rank,
    # and an invisible edge there puts SCOMO on the left.
    rows = _mapping_rows(coverage)
    for side, _ in MAPPING_SIDES:
        for (upper_row, upper), (lower_row, lower) in zip(rows[side], rows[side][1:]):
            stack = {"style": "invis", "weight": STACK_WEIGHT, "minlen": str(lower_row - upper_row)}
            lines.append(f"  {dot_name(upper)} -> {dot_name(lower)} {_attributes(stack)};")
    scomo_top, tr069_top = rows["scomo"][0][1], rows["tr069"][0][1]
    lines.append(f"  {{ rank=same; {dot_name(scomo_top)}; {dot_name(tr069_top)}; }}")
    lines.append(f"  {dot_name(scomo_top)} -> {dot_name(tr069_top)} {_attributes({'style': 'invis'})};")

    row_of = {node: row for side, _ in MAPPING_SIDES for row, node in rows[side]}
    for source, dest, label, style in _mapping_edges(coverage):
        if row_of[source] == row_of[dest]:
            style = _level(style)
        attributes = {MAPPING_LABEL: label, **MAPPING_LABEL_ATTRIBUTES, **style} if label else dict(style)
        lines.append(f"  {dot_name(source)} -> {dot_name(dest)} {_attributes(attributes)};")

    lines += _mapping_legend_lines()
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mapping_legend_lines() -> list[str]:
    unmappable = Verdict(id="legend", side="", what="", component="", name="", mappable=False,
                         category="category", rule="")
    unreachable = Verdict(id="legend", side="", what="", component="", name="", mappable=True,
                          category="unreachable", rule="")
    samples = [(f"legend:{kind}", text, _state_attributes(kind)) for kind, text in KIND_LEGEND.items()]
    samples += [
        ("legend:operation", "operation (server request)", dict(OPERATION_NODE_ATTRIBUTES)),
        ("legend:unmappable", ("unmappable state or operation;\nsecond line: its category\n"
                               "(no-image, no-preimage, no-counterpart, ...)"),
         _highlighted(_state_attributes("stable"), unmappable)),
        ("legend:unreachable", "unreachable on its side:\nnothing to map",
         _highlighted(_state_attributes("stable"), unreachable)),
    ]
    edge_samples = [
        ("state-mapping", "state maps to state\n(label: condition on the image)",
         _level(STATE_MAPPING_ATTRIBUTES)),
        ("operation-mapping", ("operation maps to operation\n(alt n: one of several sequences;\n"
                               "k.: step k of a sequence)"), _level(OPERATION_MAPPING_ATTRIBUTES)),
    ]
    return _legend_cluster(samples, edge_samples)


# --- witness diagrams ---------------------------------------------------------------------------

# The simulated side leads the game and the following side answers each of its moves; each lane
# is that side's witness from left to right, one box per move, move i of both lanes in one column.
WITNESS_LANE_ATTRIBUTES = {"style": "rounded,filled", "color": "grey75", "fillcolor": "grey97", "fontsize": "14",
                           "margin": "12"}
WITNESS_STATE_ATTRIBUTES = {"shape": "box", "style": "rounded,filled", "fillcolor": "white"}
WITNESS_MOVE_ATTRIBUTES = {"color": "black"}
WITNESS_NO_STEP_ATTRIBUTES = {"style": "dashed", "color": "grey50", "fontcolor": "grey40"}
# Corresponding moves share a column through rank=same; the edge only shows the pairing.
WITNESS_CORRESPONDS_ATTRIBUTES = {"style": "dotted", "color": "grey50", "fontcolor": "grey40", "dir": "none",
                                  "constraint": "false"}
WITNESS_OFFENDING_ATTRIBUTES = {"shape": "box", "style": "rounded,filled,bold", "color": "red", "fillcolor": "mistyrose",
                                "fontcolor": "red3"}
WITNESS_OFFENDING_EDGE_ATTRIBUTES = {"color": "red", "fontcolor": "red3", "penwidth": "2"}
WITNESS_OFFENDING_NODE = "offending"
WITNESS_REPORT_POINT_SIZE = "7"
WITNESS_DETAIL_POINT_SIZE = "9"


def _html(text: object) -> str:
    """``text`` escaped for a Graphviz HTML-like label."""
    return html.escape(str(text), quote=True)


def _html_attribute(lines: list[str]) -> str:
    """An HTML-like label of the given (already escaped) lines; not quoted, unlike dot_name."""
    return "<" + "<BR/>".join(lines) + ">"


def _witness_attributes(attributes: dict[str, str], label_lines: list[str]) -> str:
    """A DOT attribute list whose label is HTML-like and the other values quoted as usual."""
    rest = _attributes(attributes)[1:-1]
    return f"[label={_html_attribute(label_lines)}{', ' + rest if rest else ''}]"


def _witness_state_lines(state: dict[str, str], instances: Iterable[str]) -> list[str]:
    """One line per instance, ``instance: State``, with its observables smaller below."""
    lines = []
    for instance in instances:
        text = state[instance]
        name, _, observables = text.partition(" ")
        lines.append(f"{_html(instance)}: <B>{_html(name)}</B>")
        if observables:
            lines.append(f'<FONT POINT-SIZE="{WITNESS_DETAIL_POINT_SIZE}">{_html(observables)}</FONT>')
    return lines


def _witness_event_lines(step) -> list[str]:
    """The event of a move, the steps it drags along, and its reports (smaller)."""
    lines = [_html(step.event)]
    lines += [f"+ {_html(follower)}" for follower in step.followers]
    lines += [f'<FONT POINT-SIZE="{WITNESS_REPORT_POINT_SIZE}">{_html(report)}</FONT>' for report in step.reports]
    return lines


def _witness_node(side: str, move: int) -> str:
    return f"{side}:move {move}"


def _witness_lane_lines(side: str, witness, indent: str) -> list[str]:
    """The nodes and move edges of one lane: the initial state in full, then what each move changed."""
    lines = []
    for move, step in enumerate(witness):
        if move == 0:
            state_lines = ["<I>initial state</I>"] + _witness_state_lines(step.state, step.state)
        else:
            state_lines = [f"<I>after move {move}</I>"]
            state_lines += _witness_state_lines(step.state, step.changed) or ["(no change)"]
        lines.append(f"{indent}{dot_name(_witness_node(side, move))} "
                     f"{_witness_attributes(WITNESS_STATE_ATTRIBUTES, state_lines)};")
    for move, step in enumerate(witness[1:], 1):
        style = WITNESS_MOVE_ATTRIBUTES if step.changed or step.followers else WITNESS_NO_STEP_ATTRIBUTES
        lines.append(f"{indent}{dot_name(_witness_node(side, move - 1))} -> {dot_name(_witness_node(side, move))} "
                     f"{_witness_attributes(style, _witness_event_lines(step))};")
    return lines


def witness_dot(coverage: MappingCoverage, mismatch) -> str:
    """DOT source for one mismatch of a mapping's behaviour: both witnesses, move by move.

    Two lanes, SCOMO above TR-069, each labelled as the simulated side (whose moves lead) or
    the following side (which answers each of them); each lane is a chain of boxes from left to
    right: the whole initial state, then for each move the instances it changed and their
    states. The edges between boxes carry the move's event(s), the steps they drag along
    ("+ ...") and, smaller, the reports. Move i of both lanes shares a column (rank=same) and a
    dotted grey "corresponds" edge. The simulated lane ends with a red edge, the offending step,
    to a red box: "cannot be followed: <reason>" and what the step would change.
    """
    from .simulation import SCOMO_BY_TR069  # simulation imports much of the checker; only needed here

    mapping = coverage.mapping
    simulated_side = "scomo" if mismatch.direction == SCOMO_BY_TR069 else "tr069"
    witnesses = {simulated_side: mismatch.simulated_witness,
                 ("tr069" if simulated_side == "scomo" else "scomo"): mismatch.simulating_witness}
    title = (f"Mapping {mapping.id}, {mismatch.direction}: mismatch {mismatch.id}\n"
             f"{mismatch.reason}, after {mismatch.depth} moves")
    lines = _graph_header(f"witness_{mapping.id}_{mismatch.id}", title,
                          {"rankdir": "LR", "newrank": "true", "nodesep": "0.4", "ranksep": "0.6"})
    # With rankdir=LR, dot stacks the lanes bottom-up in the order the clusters are written:
    # TR-069's lane first puts SCOMO's above it, as SCOMO is left of TR-069 in the mapping diagram.
    for side, label in reversed(MAPPING_SIDES):
        role = "simulated: its moves lead" if side == simulated_side else "following: answers each move"
        lines.append(f"  subgraph {dot_name('cluster_' + side)} {{")
        # The lower lane's title goes below it, clear of the corresponds edges between the lanes.
        lane = {"label": f"{label} ({role})", **WITNESS_LANE_ATTRIBUTES, **({"labelloc": "b"} if side == "tr069" else {})}
        lines.append(f"    graph {_attributes(lane)};")
        lines += _witness_lane_lines(side, witnesses[side], "    ")
        if side == simulated_side:
            step = mismatch.offending_step
            offending = [f"<B>cannot be followed: {_html(mismatch.reason)}</B>"]
            if step is None:
                offending = [f"<B>initial states do not correspond: {_html(mismatch.reason)}</B>"]
            else:
                offending += _witness_state_lines(step.state, step.changed)
            offending += [f"no image: {_html(each)}" for each in mismatch.no_correspondent]
            lines.append(f"    {dot_name(WITNESS_OFFENDING_NODE)} "
                         f"{_witness_attributes(WITNESS_OFFENDING_ATTRIBUTES, offending)};")
            last = _witness_node(side, len(witnesses[side]) - 1)
            event = ["(initial state)"] if step is None else _witness_event_lines(step)
            lines.append(f"    {dot_name(last)} -> {dot_name(WITNESS_OFFENDING_NODE)} "
                         f"{_witness_attributes(WITNESS_OFFENDING_EDGE_ATTRIBUTES, event)};")
        lines.append("  }")

    # Move i of both lanes in one column; the dotted edge (constraint=false, so that it cannot
    # move nodes between columns) shows the pairing.
    for move in range(len(mismatch.simulated_witness)):
        scomo, tr069 = dot_name(_witness_node("scomo", move)), dot_name(_witness_node("tr069", move))
        lines.append(f"  {{ rank=same; {scomo}; {tr069}; }}")
        lines.append(f"  {scomo} -> {tr069} {_attributes({'label': 'corresponds', **WITNESS_CORRESPONDS_ATTRIBUTES})};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def find_renderer() -> str | None:
    """The path of an installed Graphviz renderer, or None."""
    for name in RENDERERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run_renderer(renderer: str, dot_source: str) -> bytes:
    try:
        completed = subprocess.run([renderer, "-Tsvg"], input=dot_source.encode("utf-8"), capture_output=True,
                                   timeout=RENDER_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as error:
        raise RenderError(f"{Path(renderer).name} took longer than {RENDER_TIMEOUT_SECONDS} s") from error
    except OSError as error:
        raise RenderError(f"{Path(renderer).name} could not be run: {error}") from error
    messages = completed.stderr.decode("utf-8", "replace").strip()
    if completed.returncode != 0 or not completed.stdout:
        first = messages.splitlines()[0] if messages else "no message"
        raise RenderError(f"{Path(renderer).name} exited with status {completed.returncode}: {first}")
    if messages:
        log.debug("%s: %s", Path(renderer).name, messages)
    return completed.stdout


def render_svg(dot_source: str) -> bytes | None:
    """Render ``dot_source`` to SVG; None when no renderer is installed, RenderError when it fails."""
    renderer = find_renderer()
    if renderer is None:
        return None
    return _run_renderer(renderer, dot_source)


def diagram_file_name(system_name: str) -> str:
    """A file-name-safe form of a system name: ``tr069_device[m=2,n=1]`` -> ``tr069_device_m=2,n=1_``."""
    name = re.sub(r"[^A-Za-z0-9_.=,-]", "_", system_name)
    return "_" if name in ("", ".", "..") else name


def write_diagrams(analyses: list[SystemAnalysis], output: OutputDirectory,
                   coverages: Iterable[MappingCoverage] = ()) -> list[str]:
    """Write ``diagrams/<system>.dot`` for each analysis, ``diagrams/mapping-<mapping id>.dot``
    for each mapping coverage and ``diagrams/witness-<mapping id>-<mismatch id>.dot`` for each
    mismatch of its behaviour (file-name-safe) and, with Graphviz, ``.svg`` beside each; return
    notes for stderr."""
    notes = []
    renderer = find_renderer()
    used: set[str] = set()
    named_sources = []  # (what it draws, for messages; file name; DOT source)
    subjects = [(analysis.system.name, analysis.system.name, diagram_dot, analysis) for analysis in analyses]
    coverages = list(coverages)
    subjects += [(f"mapping {coverage.mapping.id}", f"mapping-{coverage.mapping.id}", mapping_dot, coverage)
                 for coverage in coverages]
    # After every other diagram, so that a witness can never take another diagram's file name.
    subjects += [(f"mismatch {mismatch.id} of mapping {coverage.mapping.id}",
                  f"witness-{coverage.mapping.id}-{mismatch.id}",
                  lambda drawn: witness_dot(*drawn), (coverage, mismatch))
                 for coverage in coverages
                 for result in coverage.behaviour.values() for mismatch in result.mismatches]
    for subject, file_name, draw, drawn in subjects:
        base = diagram_file_name(file_name)
        name, number = base, 1
        while name in used:  # two models with one id must not overwrite each other's diagrams
            number += 1
            name = f"{base}_{number}"
        used.add(name)
        source = draw(drawn)
        output.write(f"{DIAGRAM_DIRECTORY}/{name}.dot", source)
        named_sources.append((subject, name, source))

    def render(source: str) -> tuple[bytes | None, RenderError | None]:
        if renderer is None:
            return None, None
        try:
            return _run_renderer(renderer, source), None
        except RenderError as error:
            return None, error

    # Each rendering is a separate `dot` process: threads let them use every core.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        rendered = list(pool.map(render, [source for _, _, source in named_sources]))
    for (subject, name, _), (svg, error) in zip(named_sources, rendered):
        if error is not None:
            notes.append(f"swmc: note: no SVG for {subject}: {error}; the DOT file is written")
        svg_path = output.root / DIAGRAM_DIRECTORY / f"{name}.svg"
        if svg is None:
            # An SVG left from an earlier run would no longer match the DOT file beside it.
            svg_path.unlink(missing_ok=True)
        else:
            output.write(f"{DIAGRAM_DIRECTORY}/{name}.svg", svg)
        log.info("diagram of %s: %s.dot%s", subject, name, "" if svg is None else " and .svg")
    if renderer is None and named_sources:
        directory = output.root / DIAGRAM_DIRECTORY
        notes.append(f"swmc: note: Graphviz 'dot' not found; DOT files written to {directory}, "
                     "install Graphviz (apt-get install graphviz) to get SVG")
    return notes
