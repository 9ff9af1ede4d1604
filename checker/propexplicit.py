"""CTL and LTL by fixed points over the explicit reachable state graph, with weak fairness.

The graph is the explicit engine's breadth-first exploration (``checker.explicit``) with its
edges. Paths are infinite: a state with no step repeats forever (an implicit stutter step,
label ``STUTTER``), so a deadlock is a path like any other and ``AF`` cannot hold there
vacuously.

Fairness (docs/property-language.md): with ``completions``, a path is fair when, for every
instance, if from some point on a completion step led by that instance is enabled in every
state, such a step is taken infinitely often (weak fairness). On a finite graph a set of
states can be visited forever by a fair path exactly when it is a strongly connected
component with an edge inside it in which, for every instance, either some state enables
none of its completions or some edge inside is one of its completions (Emerson and Lei's
condition); every fair check below rests on that.

* CTL: the usual labelling algorithm; ``EG`` through fair SCCs; the path quantifiers range
  over fair paths only (``E`` over fair paths that exist, ``A`` over all fair paths).
* LTL: the negated formula's tableau (states are the truth values of its X and U
  subformulas, the elementary sets of Baier and Katoen's construction) composed on the fly
  with the graph; the formula holds unless the product has a reachable fair SCC that meets
  every until's acceptance set. Its counterexample is that lasso.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from itertools import product as cartesian

import networkx as nx

from . import proplang as p
from .explicit import Exploration
from .propbind import CanTake, LocalIn, NextBy

__all__ = ["STUTTER", "StateGraph", "Lasso", "check_ctl", "check_ltl"]

log = logging.getLogger(__name__)

STUTTER = -1  # the label of the implicit step of a state with no step


def shortest_path(successors, start, goals, allowed) -> list[tuple[int, object]] | None:
    """A shortest path from ``start`` to a node in ``goals`` through nodes ``allowed(node)``
    (goals need not be allowed), as [(label, node)] without ``start``; [] when ``start`` is a
    goal, None when no goal can be reached. ``successors(node)`` gives (label, node) pairs."""
    if start in goals:
        return []
    parent = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for label, target in successors(node):
            if target in parent or (target not in goals and not allowed(target)):
                continue
            parent[target] = (node, label)
            if target in goals:
                path = []
                while parent[target] is not None:
                    previous, via = parent[target]
                    path.append((via, target))
                    target = previous
                return list(reversed(path))
            queue.append(target)
    return None


@dataclass
class Lasso:
    """A path of the state graph: ``steps`` is [(label, state)], the first with label None;
    when ``loop`` is not None, the path goes on forever from ``steps[-1]`` back to
    ``steps[loop]`` (the last step's state is ``steps[loop]``'s state again)."""

    steps: list[tuple[int | None, int]]
    loop: int | None = None


class StateGraph:
    """The reachable states of a system with labelled edges, and what holds where."""

    def __init__(self, exploration: Exploration, fairness: tuple[str, ...] = ()):
        self.exploration = exploration
        self.system = system = exploration.system
        self.states = exploration.states
        self.size = len(self.states)
        successors = exploration.successors
        self.succ: list[list[tuple[int, int]]] = [list(out) if out else [(STUTTER, index)]
                                                  for index, out in enumerate(successors)]
        self.pred: list[list[int]] = [[] for _ in range(self.size)]
        self.pred_edges: list[list[tuple[int, int]]] = [[] for _ in range(self.size)]  # (label, source)
        for source, out in enumerate(self.succ):
            for label, target in out:
                self.pred[target].append(source)
                self.pred_edges[target].append((label, source))
        # label -> (leader instance, trigger, transition kind)
        self.label_info: dict[int, tuple[int, str, str]] = {}
        for instance_index, per_config in enumerate(system.moves):
            machine = system.instances[instance_index].local.machine
            for moves in per_config:
                for move in moves:
                    transition = machine.transitions[move.transition]
                    self.label_info[move.label] = (instance_index, transition.trigger, transition.kind)
        # Fairness constraints: per instance, the labels of its completions.
        self.fair_labels: list[frozenset[int]] = []
        if "completions" in fairness:
            per_instance: dict[int, set[int]] = {}
            for label, (instance, _, kind) in self.label_info.items():
                if kind == "completion":
                    per_instance.setdefault(instance, set()).add(label)
            self.fair_labels = [frozenset(labels) for _, labels in sorted(per_instance.items())]
        self._atoms: dict[object, frozenset[int]] = {}
        self._fair: frozenset[int] | None = None

    # -- atoms -----------------------------------------------------------------------------

    def atom(self, atom) -> frozenset[int]:
        cached = self._atoms.get(atom)
        if cached is not None:
            return cached
        if isinstance(atom, LocalIn):
            i, configs = atom.instance, atom.configs
            result = frozenset(s for s, state in enumerate(self.states) if state[i] in configs)
        elif isinstance(atom, CanTake):
            labels = {label for label, (i, trigger, _) in self.label_info.items()
                      if i == atom.instance and trigger == atom.trigger}
            result = frozenset(s for s, out in enumerate(self.succ) if any(label in labels for label, _ in out))
        elif isinstance(atom, p.Deadlock):
            result = frozenset(self.exploration.deadlocks)
        elif isinstance(atom, p.Bool):
            result = frozenset(range(self.size)) if atom.value else frozenset()
        else:
            raise TypeError(atom)
        self._atoms[atom] = result
        return result

    # -- fairness --------------------------------------------------------------------------

    def fair_sccs(self, allowed: frozenset[int] | set[int], edges=None) -> list[set[int]]:
        """The SCCs within ``allowed`` that a fair path can stay in forever."""
        graph = nx.DiGraph()
        graph.add_nodes_from(allowed)
        for s in allowed:
            for _, t in self.succ[s]:
                if t in allowed:
                    graph.add_edge(s, t)
        found = []
        for component in nx.strongly_connected_components(graph):
            if len(component) == 1:
                (only,) = component
                if not graph.has_edge(only, only):
                    continue
            if self.scc_is_fair(component):
                found.append(component)
        return found

    def scc_is_fair(self, component: set[int]) -> bool:
        for labels in self.fair_labels:
            enabled_everywhere = all(any(label in labels for label, _ in self.succ[s]) for s in component)
            if enabled_everywhere and not any(label in labels and t in component
                                              for s in component for label, t in self.succ[s]):
                return False
        return True

    def backward(self, targets: set[int], through: frozenset[int] | set[int] | None) -> set[int]:
        """States from which a path inside ``through`` reaches ``targets``."""
        reached = set(targets)
        queue = deque(targets)
        while queue:
            t = queue.popleft()
            for s in self.pred[t]:
                if s not in reached and (through is None or s in through):
                    reached.add(s)
                    queue.append(s)
        return reached

    @property
    def fair(self) -> frozenset[int]:
        """States from which some fair path starts."""
        if self._fair is None:
            everything = frozenset(range(self.size))
            if not self.fair_labels:
                self._fair = everything  # every state has a step, so an infinite path
            else:
                cores = set().union(*self.fair_sccs(everything)) if self.size else set()
                self._fair = frozenset(self.backward(cores, None))
        return self._fair


# -- CTL ---------------------------------------------------------------------------------------


class _Ctl:
    def __init__(self, graph: StateGraph):
        self.graph = graph
        self.everything = frozenset(range(graph.size))
        self._cache: dict[int, frozenset[int]] = {}
        self._keep: list = []

    def sat(self, f) -> frozenset[int]:
        key = id(f)
        if key in self._cache:
            return self._cache[key]
        result = frozenset(self._sat(f))
        self._cache[key] = result
        self._keep.append(f)  # the id stays valid while the node is alive
        return result

    def ex(self, target: frozenset[int], labels=None) -> set[int]:
        fair_target = target & self.graph.fair
        pred_edges = self.graph.pred_edges
        if labels is None:
            return {s for t in fair_target for _, s in pred_edges[t]}
        return {s for t in fair_target for label, s in pred_edges[t] if label in labels}

    def eu(self, left: frozenset[int], right: frozenset[int]) -> set[int]:
        return self.graph.backward(set(right & self.graph.fair), left)

    def eg(self, inside: frozenset[int]) -> set[int]:
        cores = self.graph.fair_sccs(inside)
        return self.graph.backward(set().union(*cores) if cores else set(), inside)

    def labels_of(self, f: NextBy) -> set[int]:
        return {label for label, (i, trigger, _) in self.graph.label_info.items()
                if i == f.instance and trigger == f.trigger}

    def _sat(self, f):
        g, everything = self.graph, self.everything
        if isinstance(f, (LocalIn, CanTake, p.Deadlock, p.Bool)):
            return g.atom(f)
        if isinstance(f, p.Not):
            return everything - self.sat(f.operand)
        if isinstance(f, p.And):
            result = set(everything)
            for operand in f.operands:
                result &= self.sat(operand)
            return result
        if isinstance(f, p.Or):
            result = set()
            for operand in f.operands:
                result |= self.sat(operand)
            return result
        if isinstance(f, p.Implies):
            return (everything - self.sat(f.premise)) | self.sat(f.conclusion)
        if isinstance(f, p.Iff):
            left, right = self.sat(f.left), self.sat(f.right)
            return (left & right) | ((everything - left) & (everything - right))
        if isinstance(f, NextBy):
            operand = self.sat(f.operand)
            labels = self.labels_of(f)
            if not f.universal:
                return self.ex(operand, labels)
            return everything - self.ex(everything - operand, labels)
        if isinstance(f, p.Temporal):
            operand = self.sat(f.operand)
            op = f.operator
            if op == "EX":
                return self.ex(operand)
            if op == "AX":
                return everything - self.ex(everything - operand)
            if op == "EF":
                return self.eu(everything, operand)
            if op == "AG":
                return everything - self.eu(everything, everything - operand)
            if op == "EG":
                return self.eg(operand)
            if op == "AF":
                return everything - self.eg(everything - operand)
        if isinstance(f, p.Until) and f.quantifier:
            left, right = self.sat(f.left), self.sat(f.right)
            if f.quantifier == "E":
                return self.eu(left, right)
            not_left, not_right = everything - left, everything - right
            return everything - (self.eu(frozenset(not_right), frozenset(not_left & not_right)) | self.eg(frozenset(not_right)))
        raise TypeError(f"not a CTL formula: {f!r}")

    # -- witnesses ---------------------------------------------------------------------------

    def witness(self, f, state: int, negated: bool = False) -> Lasso:
        """A path from ``state`` showing why ``f`` holds there (``negated``: why it fails),
        through the existential operators; a universal one needs no path and ends it."""
        steps: list[tuple[int | None, int]] = [(None, state)]
        loop = self._extend(f, negated, steps)
        return Lasso(steps, loop)

    def _holds(self, f, state: int, negated: bool) -> bool:
        return (state in self.sat(f)) != negated

    def _extend(self, f, negated: bool, steps) -> int | None:
        state = steps[-1][1]
        if isinstance(f, p.Not):
            return self._extend(f.operand, not negated, steps)
        if isinstance(f, p.Implies):
            if negated:  # the premise holds and the conclusion fails
                return self._extend(f.conclusion, True, steps)
            if not self._holds(f.premise, state, False):
                return self._extend(f.premise, True, steps)
            return self._extend(f.conclusion, False, steps)
        if isinstance(f, (p.And, p.Or)):
            needs_all = isinstance(f, p.And) != negated
            if not needs_all:  # one operand suffices: the first one that does
                for operand in f.operands:
                    if self._holds(operand, state, negated):
                        return self._extend(operand, negated, steps)
                return None
            for operand in f.operands:  # all are needed: show the first that has a path
                before = len(steps)
                loop = self._extend(operand, negated, steps)
                if len(steps) > before or loop is not None:
                    return loop
            return None
        step = self._existential_step(f, negated, state)
        if step is None:
            return None
        kind, through, targets, labels, then, then_negated = step
        g = self.graph
        if kind == "X":
            for label, t in g.succ[state]:
                if t in targets and t in g.fair and (labels is None or label in labels):
                    steps.append((label, t))
                    return self._extend(then, then_negated, steps)
            return None
        if kind == "U":
            steps.extend(self._path_within(state, through, targets & g.fair))
            return self._extend(then, then_negated, steps)
        return self._fair_lasso(state, through, steps)  # "G"

    def _existential_step(self, f, negated: bool, state: int):
        """What path ``f`` (or its negation) asks for, in existential form: ("X", _, targets,
        labels, then, then_negated), ("U", through, targets, _, then, then_negated) or ("G",
        inside, ...); None when it asks for none (a universal claim)."""
        everything = self.everything
        if isinstance(f, NextBy):
            if f.universal != negated:
                return None
            operand = self.sat(f.operand)
            targets = everything - operand if negated else operand
            return "X", None, targets, self.labels_of(f), f.operand, negated
        if isinstance(f, p.Temporal):
            operand = self.sat(f.operand)
            op = f.operator
            if negated:
                op = {"AX": "EX", "EX": "AX", "AF": "EG", "EG": "AF", "AG": "EF", "EF": "AG"}[op]
                operand = everything - operand
            if op == "EX":
                return "X", None, operand, None, f.operand, negated
            if op == "EF":
                return "U", everything, operand, None, f.operand, negated
            if op == "EG":
                return "G", operand, None, None, f.operand, negated
            return None
        if isinstance(f, p.Until) and f.quantifier:
            left, right = self.sat(f.left), self.sat(f.right)
            if f.quantifier == "E" and not negated:
                return "U", left, right, None, f.right, False
            if f.quantifier == "A" and negated:
                # not A[l U r] = EG not r, or E[not r U (not l and not r)]
                not_right = everything - right
                if state in self.eg(frozenset(not_right)):
                    return "G", not_right, None, None, f.right, True
                return "U", not_right, (everything - left) & not_right, None, f.left, True
        return None

    def _path_within(self, start: int, through, targets) -> list[tuple[int, int]]:
        """A shortest path from ``start`` through ``through`` into ``targets`` (empty when
        ``start`` is a target)."""
        path = shortest_path(lambda s: self.graph.succ[s], start, targets, through.__contains__)
        return path or []

    def _fair_lasso(self, start: int, inside, steps) -> int | None:
        cores = self.graph.fair_sccs(frozenset(inside))
        members = set().union(*cores) if cores else set()
        steps.extend(self._path_within(start, inside, members))
        return _close_loop(self.graph, steps, next(c for c in cores if steps[-1][1] in c))


def _close_loop(graph: StateGraph, steps, component: set[int]) -> int:
    """Append a cycle inside ``component`` from the last state back to it that meets every
    fairness constraint, and return the index where the loop starts."""
    loop = len(steps) - 1
    here = steps[-1][1]
    waypoints = []
    for labels in graph.fair_labels:
        calm = [s for s in sorted(component) if not any(label in labels for label, _ in graph.succ[s])]
        if calm:
            waypoints.append(("state", calm[0]))
        else:
            edge = min((s, label, t) for s in component for label, t in graph.succ[s] if label in labels and t in component)
            waypoints.append(("edge", edge))
    for kind, goal in waypoints:
        if kind == "state":
            here = _walk(graph, steps, here, {goal}, component)
        else:
            s, label, t = goal
            here = _walk(graph, steps, here, {s}, component)
            steps.append((label, t))
            here = t
    start = steps[loop][1]
    # Back to the loop's start, taking at least one step.
    if len(steps) - 1 == loop:
        label, t = next((label, t) for label, t in graph.succ[here] if t in component)
        steps.append((label, t))
        here = t
    _walk(graph, steps, here, {start}, component)
    return loop


def _walk(graph: StateGraph, steps, start: int, goals: set[int], component: set[int]) -> int:
    path = shortest_path(lambda s: graph.succ[s], start, goals, component.__contains__)
    if path is None:
        raise AssertionError("a strongly connected component is not connected")
    steps.extend(path)
    return path[-1][1] if path else start


def check_ctl(graph: StateGraph, formula) -> tuple[bool, Lasso | None, int]:
    """(holds in the initial state, a path showing why it fails, size of the fixed point)."""
    ctl = _Ctl(graph)
    holds_in = ctl.sat(formula)
    holds = 0 in holds_in
    witness = None if holds else ctl.witness(formula, 0, negated=True)
    return holds, witness, len(holds_in)


def example_ctl(graph: StateGraph, formula) -> Lasso:
    """A path showing why ``formula`` holds in the initial state (for EF-style successes)."""
    ctl = _Ctl(graph)
    ctl.sat(formula)
    return ctl.witness(formula, 0, negated=False)


# -- LTL -----------------------------------------------------------------------------------------


def _ltl_normal(f):
    """Rewrite into atoms, Not, And (binary or more), X and U only."""
    if isinstance(f, (LocalIn, CanTake, p.Deadlock, p.Bool)):
        return f
    if isinstance(f, p.Not):
        return ("not", _ltl_normal(f.operand))
    if isinstance(f, p.And):
        return ("and", tuple(_ltl_normal(o) for o in f.operands))
    if isinstance(f, p.Or):
        return ("not", ("and", tuple(("not", _ltl_normal(o)) for o in f.operands)))
    if isinstance(f, p.Implies):
        return ("not", ("and", (_ltl_normal(f.premise), ("not", _ltl_normal(f.conclusion)))))
    if isinstance(f, p.Iff):
        left, right = _ltl_normal(f.left), _ltl_normal(f.right)
        return ("and", (("not", ("and", (left, ("not", right)))), ("not", ("and", (right, ("not", left))))))
    if isinstance(f, p.Temporal):
        operand = _ltl_normal(f.operand)
        true = p.Bool(0, 0, True)
        if f.operator == "X":
            return ("X", operand)
        if f.operator == "F":
            return ("U", true, operand)
        if f.operator == "G":
            return ("not", ("U", true, ("not", operand)))
    if isinstance(f, p.Until) and f.quantifier is None:
        return ("U", _ltl_normal(f.left), _ltl_normal(f.right))
    raise TypeError(f"not an LTL formula: {f!r}")


def _subformulas(f, found: dict) -> None:
    if isinstance(f, tuple):
        if f[0] == "not":
            _subformulas(f[1], found)
        elif f[0] == "and":
            for o in f[1]:
                _subformulas(o, found)
        elif f[0] == "X":
            _subformulas(f[1], found)
        else:
            _subformulas(f[1], found)
            _subformulas(f[2], found)
    found.setdefault(f, len(found))


class _Tableau:
    """Truth values of the X and U subformulas (the elementary sets), composed with the graph.

    Everything here depends on a state only through the truth of the formula's atoms there
    (its *valuation*); there are few distinct valuations, so the consistent assignments and
    the transition test are memoised per valuation rather than per state."""

    def __init__(self, graph: StateGraph, formula):
        self.graph = graph
        self.formula = formula
        order: dict = {}
        _subformulas(formula, order)
        self.temporal = [f for f in order if isinstance(f, tuple) and f[0] in ("X", "U")]
        self.untils = [f for f in self.temporal if f[0] == "U"]
        self.position = {f: i for i, f in enumerate(self.temporal)}
        atoms = [f for f in order if not isinstance(f, tuple)]
        self.atom_position = {f: i for i, f in enumerate(atoms)}
        sets = [graph.atom(atom) for atom in atoms]
        self.valuation = [tuple(state in members for members in sets) for state in range(graph.size)]
        self._sets: dict[tuple, list[tuple[bool, ...]]] = {}
        self._follows: dict[tuple, bool] = {}
        self._accepting: dict[tuple, tuple[bool, ...]] = {}

    def value(self, f, valuation: tuple[bool, ...], assignment: tuple[bool, ...]) -> bool:
        if isinstance(f, tuple):
            head = f[0]
            if head == "not":
                return not self.value(f[1], valuation, assignment)
            if head == "and":
                return all(self.value(o, valuation, assignment) for o in f[1])
            return assignment[self.position[f]]
        return valuation[self.atom_position[f]]

    def sets(self, state: int) -> list[tuple[bool, ...]]:
        """Every consistent assignment for ``state``: each until agrees with its right side
        (true when it holds) and left side (false when neither holds); X is free here."""
        valuation = self.valuation[state]
        cached = self._sets.get(valuation)
        if cached is not None:
            return cached
        found = []
        for assignment in cartesian((False, True), repeat=len(self.temporal)):
            ok = True
            for f in self.untils:
                right = self.value(f[2], valuation, assignment)
                left = self.value(f[1], valuation, assignment)
                mine = assignment[self.position[f]]
                if (right and not mine) or (not right and not left and mine):
                    ok = False
                    break
            if ok:
                found.append(assignment)
        self._sets[valuation] = found
        return found

    def follows(self, state: int, now: tuple[bool, ...], target: int, then: tuple[bool, ...]) -> bool:
        key = (self.valuation[state], now, self.valuation[target], then)
        cached = self._follows.get(key)
        if cached is None:
            cached = self._follows[key] = self._follows_by_valuation(*key)
        return cached

    def _follows_by_valuation(self, here, now, there, then) -> bool:
        for f in self.temporal:
            mine = now[self.position[f]]
            if f[0] == "X":
                if mine != self.value(f[1], there, then):
                    return False
            else:
                right = self.value(f[2], here, now)
                left = self.value(f[1], here, now)
                later = then[self.position[f]]
                if mine and not right and not later:
                    return False
                if not mine and left and later:
                    return False
        return True

    def holds(self, f, state: int, assignment: tuple[bool, ...]) -> bool:
        return self.value(f, self.valuation[state], assignment)

    def accepting(self, state: int, assignment: tuple[bool, ...]) -> tuple[bool, ...]:
        key = (self.valuation[state], assignment)
        cached = self._accepting.get(key)
        if cached is None:
            cached = self._accepting[key] = tuple(not assignment[self.position[f]] or self.value(f[2], key[0], assignment)
                                                  for f in self.untils)
        return cached


def check_ltl(graph: StateGraph, formula) -> tuple[bool, Lasso | None, int]:
    """(holds on every fair path from the initial state, a fair lasso violating it, product size)."""
    negation = ("not", _ltl_normal(formula))
    tableau = _Tableau(graph, negation)
    nodes: dict[tuple[int, tuple[bool, ...]], int] = {}
    keys: list[tuple[int, tuple[bool, ...]]] = []
    edges: list[list[tuple[int, int]]] = []  # product node -> [(label, product node)]
    parent: list[tuple[int, int] | None] = []
    queue = deque()
    for assignment in tableau.sets(0):
        if tableau.holds(negation, 0, assignment):
            nodes[(0, assignment)] = len(keys)
            keys.append((0, assignment))
            parent.append(None)
            queue.append(len(keys) - 1)
    while queue:
        node = queue.popleft()
        state, now = keys[node]
        out = []
        for label, target in graph.succ[state]:
            for then in tableau.sets(target):
                if not tableau.follows(state, now, target, then):
                    continue
                key = (target, then)
                index = nodes.get(key)
                if index is None:
                    index = len(keys)
                    nodes[key] = index
                    keys.append(key)
                    parent.append((node, label))
                    queue.append(index)
                out.append((label, index))
        edges.append(out)
    product = nx.DiGraph()
    product.add_nodes_from(range(len(keys)))
    for source, out in enumerate(edges):
        for _, target in out:
            product.add_edge(source, target)
    for component in sorted(nx.strongly_connected_components(product), key=min):
        if len(component) == 1:
            (only,) = component
            if not product.has_edge(only, only):
                continue
        if not all(any(tableau.accepting(*keys[n])[u] for n in component) for u in range(len(tableau.untils))):
            continue
        if not _product_fair(graph, keys, edges, component):
            continue
        return False, _product_lasso(graph, tableau, keys, edges, parent, component), len(keys)
    return True, None, len(keys)


def _product_fair(graph: StateGraph, keys, edges, component) -> bool:
    for labels in graph.fair_labels:
        enabled_everywhere = all(any(label in labels for label, _ in graph.succ[keys[n][0]]) for n in component)
        if enabled_everywhere and not any(label in labels and m in component for n in component for label, m in edges[n]):
            return False
    return True


def _product_lasso(graph, tableau, keys, edges, parent, component) -> Lasso:
    entry = min(component)
    prefix = []
    at = entry
    while parent[at] is not None:
        previous, label = parent[at]
        prefix.append((label, at))
        at = previous
    nodes: list[tuple[int | None, int]] = [(None, at), *reversed(prefix)]
    loop = len(nodes) - 1
    here = entry
    goals = []
    for u in range(len(tableau.untils)):
        goals.append(("node", min(n for n in component if tableau.accepting(*keys[n])[u])))
    for labels in graph.fair_labels:
        calm = [n for n in sorted(component) if not any(label in labels for label, _ in graph.succ[keys[n][0]])]
        if calm:
            goals.append(("node", calm[0]))
        else:
            goals.append(("edge", min((n, label, m) for n in component for label, m in edges[n]
                                      if label in labels and m in component)))

    def walk(start, goal):
        path = shortest_path(lambda n: edges[n], start, {goal}, component.__contains__)
        if path is None:
            raise AssertionError("a strongly connected component is not connected")
        nodes.extend(path)
        return goal

    for kind, goal in goals:
        if kind == "node":
            here = walk(here, goal)
        else:
            n, label, m = goal
            here = walk(here, n)
            nodes.append((label, m))
            here = m
    if len(nodes) - 1 == loop:
        label, m = next((label, m) for label, m in edges[here] if m in component)
        nodes.append((label, m))
        here = m
    walk(here, entry)
    return Lasso([(label, keys[n][0]) for label, n in nodes], loop)
