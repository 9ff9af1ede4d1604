"""A second, deliberately plain evaluator of the property language, for the tests.

It shares nothing with ``checker.propexplicit`` or ``checker.explicit`` but the compiled
system's step function (``System.successors``) and the bound formula: its own breadth-first
search builds the state graph, and every temporal operator is a fixed point computed by
iteration over sets of states, as in a textbook.

* Paths are infinite; a state with no step repeats forever (a self-loop labelled None).
* Fairness ``completions`` is weak fairness per instance (docs/property-language.md): a path
  is fair when, for every instance with completions, infinitely often one of its completions
  is taken or none of them is enabled. That is a generalised Büchi condition on edges, and
  fair ``EG f`` is the Emerson-Lei fixed point
  ``nu Z. AND_i mu Y. f & (pre_i(Z) | pre(Y))``, where ``pre_i(Z)`` are the states with an
  edge into Z that meets constraint i. No strongly connected components are computed.
* The path quantifiers range over fair paths: ``E X f`` is a step into a state satisfying
  ``f`` from which a fair path starts, and so on; ``A`` is the dual of ``E``.
* LTL is decided through an equivalent fair-CTL formula (``ltl_as_ctl``), for the fragment
  in which the two coincide (G, X, conjunctions, implications with a propositional premise,
  F and U over propositional operands); any other LTL formula raises ``Unsupported``. And a
  lasso claimed to refute an LTL formula is checked by evaluating the formula on the lasso
  itself (``ltl_on_lasso``).
"""

from __future__ import annotations

from checker import proplang as p
from checker.propbind import CanTake, LocalIn, NextBy, is_propositional

__all__ = ["ReferenceGraph", "Unsupported", "ltl_as_ctl", "ltl_on_lasso", "sat"]


class Unsupported(ValueError):
    """A formula outside what the reference can decide."""


class ReferenceGraph:
    """The reachable states of a system, found by a breadth-first search of its own."""

    def __init__(self, system):
        self.system = system
        self.index = {system.initial: 0}
        self.states = [system.initial]
        self.succ: list[list[tuple[int | None, int]]] = []
        position = 0
        while position < len(self.states):
            out = []
            for label, successor in system.successors(self.states[position]):
                target = self.index.setdefault(successor, len(self.states))
                if target == len(self.states):
                    self.states.append(successor)
                out.append((label, target))
            # A state with no step repeats forever.
            self.succ.append(out or [(None, position)])
            position += 1
        self.everything = frozenset(range(len(self.states)))
        self.pred: list[list[tuple[int | None, int]]] = [[] for _ in self.states]
        for source, out in enumerate(self.succ):
            for label, target in out:
                self.pred[target].append((label, source))
        # label -> (leader instance, trigger, transition kind), from the compiled moves
        self.info = {}
        for i, per_config in enumerate(system.moves):
            machine = system.instances[i].local.machine
            for moves in per_config:
                for move in moves:
                    transition = machine.transitions[move.transition]
                    self.info[move.label] = (i, transition.trigger, transition.kind)

    def deadlocks(self) -> set[int]:
        """No step, and not every instance rests in a terminal state."""
        return {s for s, out in enumerate(self.succ) if out[0][0] is None and not self.system.is_terminal(self.states[s])}

    def constraints(self, fairness) -> list:
        """One acceptance test per fairness constraint, on edges (source, label): the edge is
        a completion of that instance, or its source enables none."""
        if "completions" not in fairness:
            return [lambda source, label: True]  # every infinite path is fair
        instances = sorted({i for i, _, kind in self.info.values() if kind == "completion"})
        tests = []
        for i in instances:
            completions = {label for label, (j, _, kind) in self.info.items() if j == i and kind == "completion"}
            calm = {s for s, out in enumerate(self.succ) if not any(label in completions for label, _ in out)}
            tests.append(lambda source, label, completions=completions, calm=calm: label in completions or source in calm)
        return tests or [lambda source, label: True]


def _least(base: set[int], step) -> set[int]:
    """mu Y. base | step(Y), by iteration; ``step`` is given only the states new in the last
    round (its result depends on each state on its own, so this is the same fixed point)."""
    reached = set(base)
    new = set(base)
    while new:
        new = step(new) - reached
        reached |= new
    return reached


class _Evaluator:
    def __init__(self, graph: ReferenceGraph, fairness):
        self.graph = graph
        self.constraints = graph.constraints(fairness)
        self._fair = None

    @property
    def fair(self) -> set[int]:
        """The states from which a fair path starts."""
        if self._fair is None:
            self._fair = self.eg(set(self.graph.everything))
        return self._fair

    def pre(self, targets, inside, labels=None) -> set[int]:
        """States in ``inside`` with a step (with one of ``labels``, if given) into ``targets``."""
        return {s for t in targets for label, s in self.graph.pred[t]
                if s in inside and (labels is None or label in labels)}

    def eg(self, inside: set[int]) -> set[int]:
        """Fair EG: nu Z. AND_i mu Y. inside & (pre_i(Z) | pre(Y))."""
        z = set(inside)
        while True:
            new = set(inside)
            for accepts in self.constraints:
                hits = {s for t in z for label, s in self.graph.pred[t] if s in inside and accepts(s, label)}
                new &= _least(hits, lambda frontier: self.pre(frontier, inside))
            if new == z:
                return z
            z = new

    def eu(self, left: set[int], right: set[int]) -> set[int]:
        return _least(right & self.fair, lambda frontier: self.pre(frontier, left))

    def ex(self, targets: set[int], labels=None) -> set[int]:
        return self.pre(targets & self.fair, self.graph.everything, labels)

    def labels(self, instance: int, trigger: str) -> set[int]:
        return {label for label, (i, name, _) in self.graph.info.items() if i == instance and name == trigger}

    def sat(self, f) -> set[int]:
        g, everything = self.graph, set(self.graph.everything)
        if isinstance(f, LocalIn):
            return {s for s, state in enumerate(g.states) if state[f.instance] in f.configs}
        if isinstance(f, CanTake):
            wanted = self.labels(f.instance, f.trigger)
            return {s for s, out in enumerate(g.succ) if any(label in wanted for label, _ in out)}
        if isinstance(f, p.Deadlock):
            return g.deadlocks()
        if isinstance(f, p.Bool):
            return everything if f.value else set()
        if isinstance(f, p.Not):
            return everything - self.sat(f.operand)
        if isinstance(f, p.And):
            return set.intersection(everything, *(self.sat(o) for o in f.operands))
        if isinstance(f, p.Or):
            return set().union(*(self.sat(o) for o in f.operands))
        if isinstance(f, p.Implies):
            return (everything - self.sat(f.premise)) | self.sat(f.conclusion)
        if isinstance(f, p.Iff):
            left, right = self.sat(f.left), self.sat(f.right)
            return {s for s in everything if (s in left) == (s in right)}
        if isinstance(f, NextBy):
            labels = self.labels(f.instance, f.trigger)
            if f.universal:
                return everything - self.ex(everything - self.sat(f.operand), labels)
            return self.ex(self.sat(f.operand), labels)
        if isinstance(f, p.Temporal) and f.operator in p.CTL_OPERATORS:
            inner = self.sat(f.operand)
            if f.operator == "EX":
                return self.ex(inner)
            if f.operator == "AX":
                return everything - self.ex(everything - inner)
            if f.operator == "EF":
                return self.eu(everything, inner)
            if f.operator == "AG":
                return everything - self.eu(everything, everything - inner)
            if f.operator == "EG":
                return self.eg(inner)
            return everything - self.eg(everything - inner)  # AF
        if isinstance(f, p.Until) and f.quantifier:
            left, right = self.sat(f.left), self.sat(f.right)
            if f.quantifier == "E":
                return self.eu(left, right)
            not_left, not_right = everything - left, everything - right
            return everything - (self.eu(not_right, not_left & not_right) | self.eg(not_right))
        raise Unsupported(f"not a CTL formula: {f!r}")


def sat(graph: ReferenceGraph, formula, fairness=()) -> set[int]:
    """The states of ``graph`` satisfying the CTL ``formula`` under ``fairness``."""
    return _Evaluator(graph, fairness).sat(formula)


def ltl_as_ctl(f):
    """The fair-CTL formula equivalent to the LTL formula ``f`` (claimed of every fair path),
    for the fragment where one exists by replacing each operator with its A-form."""
    if is_propositional(f):
        return f
    if isinstance(f, p.Temporal) and f.operator in ("G", "X"):
        return p.Temporal(0, 0, "A" + f.operator, ltl_as_ctl(f.operand))
    if isinstance(f, p.Temporal) and f.operator == "F" and is_propositional(f.operand):
        return p.Temporal(0, 0, "AF", f.operand)
    if isinstance(f, p.Until) and f.quantifier is None and is_propositional(f.left) and is_propositional(f.right):
        return p.Until(0, 0, "A", f.left, f.right)
    if isinstance(f, p.And):
        return p.And(0, 0, tuple(ltl_as_ctl(o) for o in f.operands))
    if isinstance(f, p.Implies) and is_propositional(f.premise):
        return p.Implies(0, 0, f.premise, ltl_as_ctl(f.conclusion))
    raise Unsupported(f"no equivalent CTL formula known for this LTL shape: {f!r}")


def ltl_on_lasso(graph: ReferenceGraph, formula, states: list[tuple[int, ...]], loop: int) -> bool:
    """Whether the infinite path ``states[0] ... states[-1]``, which goes on from
    ``states[-1]`` (the same state as ``states[loop]``) as from ``states[loop]``, satisfies
    the LTL ``formula``; by fixed points over the path's positions."""
    assert states[-1] == states[loop]
    positions = range(len(states) - 1)
    after = [k + 1 for k in positions]
    after[-1] = loop
    everywhere = set(positions)

    def holds(f) -> set[int]:
        if is_propositional(f):
            members = sat(graph, f)
            return {k for k in positions if graph.index[states[k]] in members}
        if isinstance(f, p.Not):
            return everywhere - holds(f.operand)
        if isinstance(f, p.And):
            return set.intersection(everywhere, *(holds(o) for o in f.operands))
        if isinstance(f, p.Or):
            return set().union(*(holds(o) for o in f.operands))
        if isinstance(f, p.Implies):
            return (everywhere - holds(f.premise)) | holds(f.conclusion)
        if isinstance(f, p.Temporal) and f.operator == "X":
            inner = holds(f.operand)
            return {k for k in positions if after[k] in inner}
        if isinstance(f, p.Temporal) and f.operator in ("F", "G") or isinstance(f, p.Until):
            if isinstance(f, p.Until):
                left, right = holds(f.left), holds(f.right)
            elif f.operator == "F":
                left, right = everywhere, holds(f.operand)
            else:  # G f = !(true U !f)
                left, right = everywhere, everywhere - holds(f.operand)
            until = set(right)
            while True:
                new = until | {k for k in left if after[k] in until}
                if new == until:
                    break
                until = new
            return until if not (isinstance(f, p.Temporal) and f.operator == "G") else everywhere - until
        raise Unsupported(f"not an LTL formula: {f!r}")

    return 0 in holds(formula)


def lasso_is_fair(graph: ReferenceGraph, states, labels, loop: int, fairness) -> bool:
    """Whether the loop of a lasso (the steps from ``states[loop]`` on, ``labels[k]`` leading
    from ``states[k]`` to ``states[k + 1]``) meets every fairness constraint."""
    edges = [(graph.index[states[k]], labels[k]) for k in range(loop, len(states) - 1)]
    return all(any(accepts(source, label) for source, label in edges) for accepts in graph.constraints(fairness))
