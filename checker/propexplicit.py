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

import copy
import logging
from collections import deque
from dataclasses import dataclass
from itertools import compress, product as cartesian

from . import proplang as p
from .explicit import Exploration
from .propbind import CanTake, LocalIn, NextBy, describe

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
    # What holds where the path ends, when it ends in a claim about every path rather than in
    # a loop: (formula, negated), the formula holding there (negated: failing there).
    claim: tuple[object, bool] | None = None


def strongly_connected(succ, inside: bytearray, roots=None) -> list[list[int]]:
    """The strongly connected components of the graph ``succ`` (node -> [(label, node)])
    restricted to the nodes with ``inside[node]`` set, that a path can stay in forever: those
    with an edge inside (a single node needs a self-loop). An iterative Tarjan search, in the
    order of ``roots`` (default: every node), so the result is deterministic."""
    size = len(succ)
    number = [0] * size  # 0: not visited yet; otherwise the order of the visit, from 1
    low = [0] * size
    on_stack = bytearray(size)
    stack: list[int] = []
    found: list[list[int]] = []
    counter = 1
    for root in range(size) if roots is None else roots:
        if number[root] or not inside[root]:
            continue
        number[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = 1
        work = [(root, iter(succ[root]))]
        while work:
            node, edges = work[-1]
            descended = False
            for _, target in edges:
                if not inside[target]:
                    continue
                if not number[target]:
                    number[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack[target] = 1
                    work.append((target, iter(succ[target])))
                    descended = True
                    break
                if on_stack[target] and number[target] < low[node]:
                    low[node] = number[target]
            if descended:
                continue
            work.pop()
            if work and low[node] < low[work[-1][0]]:
                low[work[-1][0]] = low[node]
            if low[node] == number[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = 0
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or any(target == node for _, target in succ[node]):
                    found.append(component)
    return found


def mask(size: int, members) -> bytearray:
    """A membership table of ``members`` among ``size`` nodes."""
    table = bytearray(size)
    for member in members:
        table[member] = 1
    return table


class StateGraph:
    """The reachable states of a system with labelled edges, and what holds where.

    Everything but the fairness constraints depends on the system alone, so one graph serves
    every property of a system (``with_fairness`` gives a view sharing its edges); the
    predecessor lists and the edges by label are built on first use."""

    def __init__(self, exploration: Exploration, fairness: tuple[str, ...] = ()):
        self.exploration = exploration
        self.system = system = exploration.system
        self.size = len(exploration.codes)
        # A state with no step repeats forever: its stutter is a self-loop.
        self.succ: list[list[tuple[int, int]]] = [out or [(STUTTER, index)]
                                                  for index, out in enumerate(exploration.successors)]
        # label -> (leader instance, trigger, transition kind)
        self.label_info: dict[int, tuple[int, str, str]] = {}
        for instance_index, per_config in enumerate(system.moves):
            machine = system.instances[instance_index].local.machine
            for moves in per_config:
                for move in moves:
                    transition = machine.transitions[move.transition]
                    self.label_info[move.label] = (instance_index, transition.trigger, transition.kind)
        # Built on first use and shared with every view of other fairness (hence a dict).
        self._shared: dict[str, object] = {}
        self._atoms: dict[object, frozenset[int]] = {}
        self._set_fairness(fairness)

    def with_fairness(self, fairness: tuple[str, ...]) -> "StateGraph":
        """This graph under other fairness assumptions; edges, predecessors and atoms are shared."""
        view = copy.copy(self)
        view._set_fairness(fairness)
        return view

    def _set_fairness(self, fairness: tuple[str, ...]) -> None:
        self.fairness = tuple(sorted(fairness))
        # Fairness constraints: per instance, the labels of its completions.
        self.fair_labels: list[frozenset[int]] = []
        if "completions" in fairness:
            per_instance: dict[int, set[int]] = {}
            for label, (instance, _, kind) in self.label_info.items():
                if kind == "completion":
                    per_instance.setdefault(instance, set()).add(label)
            self.fair_labels = [frozenset(labels) for _, labels in sorted(per_instance.items())]
        self.constraint_of = {label: k for k, labels in enumerate(self.fair_labels) for label in labels}
        self._enables: list[bytearray] | None = None
        self._fair: frozenset[int] | None = None

    # -- edges -----------------------------------------------------------------------------

    @property
    def pred(self) -> list[list[int]]:
        """For each state, the states with a step into it."""
        pred = self._shared.get("pred")
        if pred is None:
            pred = [[] for _ in range(self.size)]
            for source, out in enumerate(self.succ):
                for _, target in out:
                    pred[target].append(source)
            self._shared["pred"] = pred
        return pred

    def edges_labelled(self, label: int) -> list[tuple[int, int]]:
        """Every (source, target) step with ``label``, found among the states in which the
        label's leader is in a configuration that has such a move (few, compared with all)."""
        by_label = self._shared.setdefault("by_label", {})
        edges = by_label.get(label)
        if edges is None:
            instance, configs = self._label_sources()[label]
            candidates = compress(range(self.size), map(configs.__contains__, self.columns[instance]))
            succ = self.succ
            edges = by_label[label] = [(source, target) for source in candidates
                                       for step, target in succ[source] if step == label]
        return edges

    def _label_sources(self) -> dict[int, tuple[int, frozenset[int]]]:
        """label -> (its leader instance, the leader's configurations with a move of that label)."""
        sources = self._shared.get("label_sources")
        if sources is None:
            found: dict[int, tuple[int, set[int]]] = {}
            for instance_index, per_config in enumerate(self.system.moves):
                for config, moves in enumerate(per_config):
                    for move in moves:
                        found.setdefault(move.label, (instance_index, set()))[1].add(config)
            sources = self._shared["label_sources"] = {label: (i, frozenset(c)) for label, (i, c) in found.items()}
        return sources

    @property
    def states(self) -> list[tuple[int, ...]]:
        """Every state as a tuple of configurations (decoded on first use: the labelling
        itself needs only ``columns``)."""
        return self.exploration.states

    @property
    def columns(self) -> list[list[int]]:
        """The configurations of each instance, state by state, read off the integer codes of
        the states (``checker.explicit``: mixed radix), one instance at a time."""
        columns = self._shared.get("columns")
        if columns is None:
            coding, codes = self.exploration.coding, self.exploration.codes
            columns = self._shared["columns"] = [[code // weight % size for code in codes]
                                                 for weight, size in zip(coding.weights, coding.sizes)]
        return columns

    def labels_of(self, instance: int, trigger: str) -> set[int]:
        """The labels of the steps led by ``instance`` taking ``trigger``."""
        return {label for label, (i, name, _) in self.label_info.items() if i == instance and name == trigger}

    # -- atoms -----------------------------------------------------------------------------

    def atom(self, atom) -> frozenset[int]:
        cached = self._atoms.get(atom)
        if cached is not None:
            return cached
        if isinstance(atom, LocalIn):
            result = frozenset(compress(range(self.size), map(atom.configs.__contains__, self.columns[atom.instance])))
        elif isinstance(atom, CanTake):
            labels = self.labels_of(atom.instance, atom.trigger)
            result = frozenset(source for label in labels for source, _ in self.edges_labelled(label))
        elif isinstance(atom, p.Deadlock):
            result = frozenset(self.exploration.deadlocks)
        elif isinstance(atom, p.Bool):
            result = frozenset(range(self.size)) if atom.value else frozenset()
        else:
            raise TypeError(atom)
        self._atoms[atom] = result
        return result

    # -- fairness --------------------------------------------------------------------------

    @property
    def enables(self) -> list[bytearray]:
        """For each fairness constraint, the states in which one of its completions is enabled."""
        if self._enables is None:
            self._enables = [mask(self.size, {source for label in labels for source, _ in self.edges_labelled(label)})
                             for labels in self.fair_labels]
        return self._enables

    def fair_sccs(self, allowed) -> list[set[int]]:
        """The SCCs within ``allowed`` that a fair path can stay in forever."""
        inside = mask(self.size, allowed)
        return [set(component) for component in strongly_connected(self.succ, inside, sorted(allowed))
                if self.scc_is_fair(component)]

    def scc_is_fair(self, component) -> bool:
        """Emerson and Lei's condition for weak fairness: every constraint whose completions are
        enabled in every state of the component has one of them inside it."""
        return component_is_fair(self, component, lambda node: node, self.succ)

    def backward(self, targets, through) -> set[int]:
        """States from which a path inside ``through`` (None: anywhere) reaches ``targets``."""
        reached = set(targets)
        pending = list(reached)
        pred = self.pred
        if through is None:
            while pending:
                for s in pred[pending.pop()]:
                    if s not in reached:
                        reached.add(s)
                        pending.append(s)
            return reached
        while pending:
            for s in pred[pending.pop()]:
                if s not in reached and s in through:
                    reached.add(s)
                    pending.append(s)
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


def component_is_fair(graph: StateGraph, component, state_of, succ) -> bool:
    """Whether a fair path can stay in ``component`` (nodes of ``succ``, each standing for
    the state ``state_of(node)`` of ``graph``) forever: for every fairness constraint, some
    node enables none of its completions, or one of them is a step inside the component."""
    if not graph.fair_labels:
        return True
    waiting = [k for k, enables in enumerate(graph.enables) if all(enables[state_of(node)] for node in component)]
    if not waiting:
        return True
    members = set(component)
    taken = set()
    constraint_of = graph.constraint_of
    for node in component:
        for label, target in succ[node]:
            k = constraint_of.get(label)
            if k is not None and target in members:
                taken.add(k)
    return all(k in taken for k in waiting)


# -- CTL ---------------------------------------------------------------------------------------


class _Ctl:
    def __init__(self, graph: StateGraph):
        self.graph = graph
        self.everything = frozenset(range(graph.size))
        self._cache: dict[int, frozenset[int]] = {}
        self._keep: list = []
        self._claim: tuple[object, bool] | None = None

    def sat(self, f) -> frozenset[int]:
        key = id(f)
        if key in self._cache:
            return self._cache[key]
        result = frozenset(self._sat(f))
        self._cache[key] = result
        self._keep.append(f)  # the id stays valid while the node is alive
        return result

    def ex(self, target: frozenset[int], labels=None) -> set[int]:
        graph = self.graph
        fair_target = target & graph.fair
        if labels is None:
            pred = graph.pred
            return {s for t in fair_target for s in pred[t]}
        return {s for label in labels for s, t in graph.edges_labelled(label) if t in fair_target}

    def eu(self, left: frozenset[int], right: frozenset[int]) -> set[int]:
        return self.graph.backward(set(right & self.graph.fair), left)

    def eg(self, inside: frozenset[int]) -> set[int]:
        cores = self.graph.fair_sccs(inside)
        return self.graph.backward(set().union(*cores) if cores else set(), inside)

    def labels_of(self, f: NextBy) -> set[int]:
        return self.graph.labels_of(f.instance, f.trigger)

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
        self._claim = None
        loop = self._extend(f, negated, steps)
        return Lasso(steps, loop, None if loop is not None else self._claim)

    def fixed_points(self, formula) -> list[tuple[str, int]]:
        """Each temporal subformula of ``formula`` (innermost first, each once, ``formula``
        itself last) with the number of states satisfying it: the fixed points the verdict
        rests on."""
        found: dict[str, int] = {}

        def visit(f):
            for child in _children(f):
                visit(child)
            if isinstance(f, (p.Temporal, NextBy)) or (isinstance(f, p.Until) and f.quantifier):
                found.setdefault(describe(f), len(self.sat(f)))

        visit(formula)
        found.pop(describe(formula), None)
        found[describe(formula)] = len(self.sat(formula))
        return list(found.items())

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
                self._claim = (f, negated)
                return None
            for operand in f.operands:  # all are needed: show the first that has a path
                before = len(steps)
                loop = self._extend(operand, negated, steps)
                if len(steps) > before or loop is not None:
                    return loop
            self._claim = (f, negated)  # every part holds here, with no path to show
            return None
        step = self._existential_step(f, negated, state)
        if step is None:
            self._claim = (f, negated)
            return None
        kind, through, targets, labels, then, then_negated = step
        g = self.graph
        if kind == "X":
            for label, t in g.succ[state]:
                if t in targets and t in g.fair and (labels is None or label in labels):
                    steps.append((label, t))
                    return self._extend(then, then_negated, steps)
            self._claim = (f, negated)
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


def _children(f) -> list:
    """The subformulas directly below ``f``."""
    if isinstance(f, (p.Not, p.Temporal, NextBy)):
        return [f.operand]
    if isinstance(f, (p.And, p.Or)):
        return list(f.operands)
    if isinstance(f, p.Implies):
        return [f.premise, f.conclusion]
    if isinstance(f, (p.Iff, p.Until)):
        return [f.left, f.right]
    return []


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


def check_ctl(graph: StateGraph, formula, example: bool = False) -> tuple[bool, Lasso | None, list[tuple[str, int]]]:
    """(holds in the initial state, a path showing why it fails, the fixed points of its
    temporal subformulas with the number of states in each). With ``example``, a formula that
    holds comes with a path showing why (for existential formulas)."""
    ctl = _Ctl(graph)
    holds = 0 in ctl.sat(formula)
    witness = None
    if not holds:
        witness = ctl.witness(formula, 0, negated=True)
    elif example:
        witness = ctl.witness(formula, 0, negated=False)
    return holds, witness, ctl.fixed_points(formula)


def satisfying(graph: StateGraph, formula) -> frozenset[int]:
    """The states in which the CTL ``formula`` holds."""
    return _Ctl(graph).sat(formula)


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
    the transition test are memoised per valuation rather than per state. Valuations and
    assignments are numbered, so that a product node is a pair of small integers."""

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
        self.assignments = list(cartesian((False, True), repeat=len(self.temporal)))
        valuations: dict[tuple[bool, ...], int] = {}
        sets = [graph.atom(atom) for atom in atoms]
        self.valuation_of = [valuations.setdefault(tuple(state in members for members in sets), len(valuations))
                             for state in range(graph.size)]
        self.valuations = list(valuations)
        self._sets: dict[int, list[int]] = {}
        self._next: dict[tuple[int, int, int], list[int]] = {}
        self._accepting: dict[tuple[int, int], tuple[bool, ...]] = {}

    def value(self, f, valuation: tuple[bool, ...], assignment: tuple[bool, ...]) -> bool:
        if isinstance(f, tuple):
            head = f[0]
            if head == "not":
                return not self.value(f[1], valuation, assignment)
            if head == "and":
                return all(self.value(o, valuation, assignment) for o in f[1])
            return assignment[self.position[f]]
        return valuation[self.atom_position[f]]

    def sets(self, state: int) -> list[int]:
        """Every consistent assignment for ``state``: each until agrees with its right side
        (true when it holds) and left side (false when neither holds); X is free here."""
        valuation_id = self.valuation_of[state]
        cached = self._sets.get(valuation_id)
        if cached is not None:
            return cached
        valuation = self.valuations[valuation_id]
        found = []
        for number, assignment in enumerate(self.assignments):
            ok = True
            for f in self.untils:
                right = self.value(f[2], valuation, assignment)
                left = self.value(f[1], valuation, assignment)
                mine = assignment[self.position[f]]
                if (right and not mine) or (not right and not left and mine):
                    ok = False
                    break
            if ok:
                found.append(number)
        self._sets[valuation_id] = found
        return found

    def following(self, state: int, now: int, target: int) -> list[int]:
        """The consistent assignments of ``target`` that may follow ``now`` in ``state``."""
        key = (self.valuation_of[state], now, self.valuation_of[target])
        cached = self._next.get(key)
        if cached is None:
            here, there = self.valuations[key[0]], self.valuations[key[2]]
            cached = self._next[key] = [then for then in self.sets(target)
                                        if self._follows(here, self.assignments[now], there, self.assignments[then])]
        return cached

    def _follows(self, here, now, there, then) -> bool:
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

    def holds(self, f, state: int, assignment: int) -> bool:
        return self.value(f, self.valuations[self.valuation_of[state]], self.assignments[assignment])

    def accepting(self, state: int, assignment: int) -> tuple[bool, ...]:
        key = (self.valuation_of[state], assignment)
        cached = self._accepting.get(key)
        if cached is None:
            valuation, values = self.valuations[key[0]], self.assignments[assignment]
            cached = self._accepting[key] = tuple(not values[self.position[f]] or self.value(f[2], valuation, values)
                                                  for f in self.untils)
        return cached


def check_ltl(graph: StateGraph, formula) -> tuple[bool, Lasso | None, int]:
    """(holds on every fair path from the initial state, a fair lasso violating it, product size)."""
    negation = ("not", _ltl_normal(formula))
    tableau = _Tableau(graph, negation)
    width = len(tableau.assignments)
    nodes: dict[int, int] = {}  # state * width + assignment -> product node
    keys: list[tuple[int, int]] = []  # product node -> (state, assignment)
    edges: list[list[tuple[int, int]]] = []  # product node -> [(label, product node)]
    parent: list[tuple[int, int] | None] = []
    for assignment in tableau.sets(0):
        if tableau.holds(negation, 0, assignment):
            nodes[assignment] = len(keys)
            keys.append((0, assignment))
            parent.append(None)
    succ = graph.succ
    valuation_of, following = tableau.valuation_of, tableau._next  # the hot loop reads the memo itself
    node = 0
    while node < len(keys):  # breadth first: the parent pointers give shortest prefixes
        state, now = keys[node]
        here = valuation_of[state]
        out = []
        for label, target in succ[state]:
            base = target * width
            thens = following.get((here, now, valuation_of[target]))
            if thens is None:
                thens = tableau.following(state, now, target)
            for then in thens:
                index = nodes.get(base + then)
                if index is None:
                    index = nodes[base + then] = len(keys)
                    keys.append((target, then))
                    parent.append((node, label))
                out.append((label, index))
        edges.append(out)
        node += 1
    everything = bytearray(b"\x01") * len(keys)
    for component in sorted(strongly_connected(edges, everything), key=min):
        if not all(any(tableau.accepting(*keys[n])[u] for n in component) for u in range(len(tableau.untils))):
            continue
        if not component_is_fair(graph, component, lambda n: keys[n][0], edges):
            continue
        return False, _product_lasso(graph, tableau, keys, edges, parent, set(component)), len(keys)
    return True, None, len(keys)


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
