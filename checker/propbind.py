"""Binding a parsed formula to a compiled system: names resolved, quantifiers expanded, types checked.

``bind`` turns a ``proplang`` formula into the same tree over *bound atoms* that name instance
indices and configuration sets of a ``System``, so that the engines never see a name. Every
problem (an unknown instance, state, observable, trigger or variable, a value of the wrong
type, CTL and LTL operators mixed) is reported with its file:line:column and the closest
valid name, all of them in one ``InputError``.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field

from . import proplang as p
from .errors import InputError, Problem
from .model import format_value
from .system import System

__all__ = ["CanTake", "LocalIn", "NextBy", "Bound", "bind", "classify", "describe", "is_propositional", "nodes", "normalise",
           "KINDS"]

STATE_KINDS = ("stable", "transient", "terminal", "absent")

# What a bound property is, which decides the engines that check it.
KINDS = ("invariant", "reachability", "ctl", "ltl")


@dataclass(frozen=True)
class LocalIn:
    """Instance ``instance`` is in one of ``configs`` (a state, a state kind, an observable value)."""

    instance: int
    configs: frozenset[int]
    text: str = field(compare=False)  # names the instance: symmetric images must compare equal


@dataclass(frozen=True)
class CanTake:
    """Instance ``instance`` can take a step with ``trigger`` now (guards hold, followers can follow)."""

    instance: int
    trigger: str
    text: str = field(compare=False)


@dataclass(frozen=True)
class NextBy:
    """``AX[i.trigger] f`` / ``EX[i.trigger] f`` with the instance resolved."""

    universal: bool
    instance: int
    trigger: str
    operand: object
    text: str = field(compare=False)  # "du1.Install"


Bound = object  # a proplang node whose atoms are LocalIn / CanTake / Bool / Deadlock, or NextBy


def _same_value(a, b) -> bool:
    """Equal as values of one type: true is not 1, and 1 is not "1"."""
    return type(a) is type(b) and a == b


def _written(value) -> str:
    """A value as a formula writes it: true, false, null, a number, a name."""
    if value is None:
        return "null"
    return format_value(value)


def _closest(name: str, candidates) -> str | None:
    found = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.5)
    return found[0] if found else None


class _Binder:
    def __init__(self, system: System, file: str):
        self.system = system
        self.file = file
        self.problems: list[Problem] = []
        self.names = {instance.name: index for index, instance in enumerate(system.instances)}

    def problem(self, node, message: str, name: str | None = None, candidates=()) -> None:
        suggestion = _closest(name, candidates) if name is not None else None
        self.problems.append(Problem(file=self.file, line=node.line, column=node.column, rule="property",
                                     message=message, name=name, suggestion=suggestion))

    # -- names ---------------------------------------------------------------------------

    def instance_of(self, node, path: tuple[str, ...], env: dict[str, int], rest_wanted: int):
        """Split ``path`` into an instance and ``rest_wanted`` trailing names."""
        head = len(path) - rest_wanted
        if head < 1:
            self.problem(node, f"expected an instance before {'.'.join(path)!r}", name=".".join(path))
            return None, ()
        if path[0] in env:
            if head != 1:
                self.problem(node, f"variable {path[0]!r} names an instance; {'.'.join(path[1:head])!r} is not expected "
                                   "after it", name=".".join(path))
                return None, ()
            return env[path[0]], path[head:]
        name = ".".join(path[:head])
        if name in self.names:
            return self.names[name], path[head:]
        self.problem(node, f"no instance or variable named {name!r} in {self.system.name}", name=name,
                     candidates=[*self.names, *env])
        return None, ()

    def domain(self, node: p.Quantified, env: dict[str, int]) -> list[int] | None:
        components = {instance.component for instance in self.system.instances}
        if node.component not in components:
            self.problem(node, f"no component named {node.component!r} in {self.system.name}", name=node.component,
                         candidates=components)
            return None
        if node.parent is None:
            return [i for i, instance in enumerate(self.system.instances) if instance.component == node.component]
        if node.parent not in env:
            self.problem(node, f"{node.parent!r} is not a variable bound by an enclosing quantifier", name=node.parent,
                         candidates=env)
            return None
        parent = env[node.parent]
        children = [i for i, instance in enumerate(self.system.instances)
                    if instance.parent == parent and instance.component == node.component]
        if not children:
            self.problem(node, f"instances of {self.system.instances[parent].component!r} have no {node.component!r} "
                               "children", name=node.component)
            return None
        return children

    # -- atoms ---------------------------------------------------------------------------

    def in_state(self, node: p.InState, env) -> Bound:
        instance, _ = self.instance_of(node, node.path, env, 0)
        if instance is None:
            return p.Bool(node.line, node.column, False)
        local = self.system.instances[instance].local
        machine = local.machine
        wanted_states: set[int] = set()
        for name in node.states:
            indices = [i for i, state in enumerate(machine.states) if state.name == name]
            if not indices and name in STATE_KINDS:
                indices = [i for i, state in enumerate(machine.states) if state.kind == name]
            if not indices and name not in STATE_KINDS:
                self.problem(node, f"machine {machine.id} has no state {name!r}", name=name,
                             candidates=[state.name for state in machine.states] + list(STATE_KINDS))
            wanted_states.update(indices)
        configs = frozenset(c for c, (state, _) in enumerate(local.configs) if state in wanted_states)
        instance_name = self.system.instances[instance].name
        states = node.states[0] if len(node.states) == 1 else "{" + ", ".join(node.states) + "}"
        return LocalIn(instance, configs, f"{instance_name} {'is' if len(node.states) == 1 else 'in'} {states}")

    def observe(self, node: p.Observe, env) -> Bound:
        instance, rest = self.instance_of(node, node.path, env, 1)
        if instance is None:
            return p.Bool(node.line, node.column, False)
        local = self.system.instances[instance].local
        machine = local.machine
        (observable,) = rest
        declared = {item.name: item for item in machine.observables}
        if observable not in declared:
            reports = {item.name for item in machine.reports}
            extra = " (a report belongs to a step, not to a state)" if observable in reports else ""
            self.problem(node, f"machine {machine.id} has no observable {observable!r}{extra}", name=observable,
                         candidates=list(declared))
            return p.Bool(node.line, node.column, False)
        allowed = list(declared[observable].values)
        value = node.value
        if value is not None and not any(_same_value(value, v) for v in allowed):
            # A bare name in a formula is a string; the model may declare booleans or numbers.
            # Python's 1 == True must not let a number stand for a boolean, hence _same_value.
            at = p.Bool(node.value_line or node.line, node.value_column or node.column, False)  # the value's place
            self.problem(at, f"{observable} of {machine.id} never takes the value {_written(value)}; expected one "
                               f"of {', '.join(_written(v) for v in allowed)}, or null",
                         name=str(value), candidates=[_written(v) for v in allowed])
            return p.Bool(node.line, node.column, False)
        configs = frozenset(c for c in range(len(local.configs))
                            if _same_value(local.values_of(c).get(observable), value) == node.equal)
        name = self.system.instances[instance].name
        return LocalIn(instance, configs, f"{name}.{observable} {'==' if node.equal else '!='} {format_value(value)}")

    def trigger(self, node, path, env):
        instance, rest = self.instance_of(node, path, env, 1)
        if instance is None:
            return None, None
        machine = self.system.instances[instance].local.machine
        (trigger,) = rest
        triggers = {transition.trigger for transition in machine.transitions}
        if trigger not in triggers:
            self.problem(node, f"machine {machine.id} has no trigger {trigger!r}", name=trigger, candidates=triggers)
            return None, None
        return instance, trigger

    # -- the tree ------------------------------------------------------------------------

    def bind(self, node, env: dict[str, int]) -> Bound:
        if isinstance(node, (p.Bool, p.Deadlock)):
            return node
        if isinstance(node, p.InState):
            return self.in_state(node, env)
        if isinstance(node, p.Observe):
            return self.observe(node, env)
        if isinstance(node, p.Enabled):
            instance, trigger = self.trigger(node, node.path, env)
            if instance is None:
                return p.Bool(node.line, node.column, False)
            return CanTake(instance, trigger, f"enabled({self.system.instances[instance].name}.{trigger})")
        if isinstance(node, p.Quantified):
            if node.variable in self.names or node.variable in env:
                self.problem(node, f"variable {node.variable!r} hides an instance or variable of that name",
                             name=node.variable)
            members = self.domain(node, env)
            if members is None:
                return p.Bool(node.line, node.column, node.universal)
            bodies = tuple(self.bind(node.body, {**env, node.variable: member}) for member in members)
            if not bodies:  # a count of 0: the empty conjunction or disjunction
                return p.Bool(node.line, node.column, node.universal)
            if len(bodies) == 1:  # one instance: its body, with no one-operand And or Or around it
                return bodies[0]
            return (p.And if node.universal else p.Or)(node.line, node.column, bodies)
        if isinstance(node, p.Next):
            instance, trigger = self.trigger(node, node.path, env)
            operand = self.bind(node.operand, env)
            if instance is None:
                return p.Bool(node.line, node.column, False)
            return NextBy(node.universal, instance, trigger, operand, f"{self.system.instances[instance].name}.{trigger}")
        changes = {}
        for attribute in dataclasses.fields(node):
            value = getattr(node, attribute.name)
            if isinstance(value, p.Node):
                changes[attribute.name] = self.bind(value, env)
            elif isinstance(value, tuple) and value and isinstance(value[0], p.Node):
                changes[attribute.name] = tuple(self.bind(item, env) for item in value)
        return dataclasses.replace(node, **changes)


def nodes(tree):
    """Every node of a formula tree (parsed or bound), the root first, depth first."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        children = []
        for attribute in dataclasses.fields(node) if dataclasses.is_dataclass(node) else ():
            value = getattr(node, attribute.name)
            for item in value if isinstance(value, tuple) else (value,):
                if dataclasses.is_dataclass(item):
                    children.append(item)
        pending.extend(reversed(children))


def _temporal_style(tree, found: list) -> None:
    """Collect (style, node) for every temporal operator: style "ctl" or "ltl"."""
    for node in nodes(tree):
        if isinstance(node, p.Temporal):
            found.append(("ctl" if node.operator in p.CTL_OPERATORS else "ltl", node))
        elif isinstance(node, (p.Next, NextBy)):
            found.append(("ctl", node))
        elif isinstance(node, p.Until):
            found.append(("ctl" if node.quantifier else "ltl", node))


def is_propositional(node) -> bool:
    found: list = []
    _temporal_style(node, found)
    return not found


def bind(formula, system: System, file: str) -> Bound:
    """Resolve every name of ``formula`` in ``system``; ``InputError`` lists every problem."""
    binder = _Binder(system, file)
    styles: list = []
    _temporal_style(formula, styles)
    if {style for style, _ in styles} == {"ctl", "ltl"}:
        ltl = next(node for style, node in styles if style == "ltl")
        binder.problem(ltl, "CTL and LTL operators are mixed: an LTL operator (G, F, X, U) may not appear in a "
                            "formula with path quantifiers (AG, EF, A[..U..], ...)")
    bound = binder.bind(formula, {})
    if binder.problems:
        raise InputError(binder.problems)
    return bound


def _operands(bound, kind) -> list:
    """The operands of nested ``kind`` (And or Or) nodes, flattened."""
    if isinstance(bound, kind):
        return [part for operand in bound.operands for part in _operands(operand, kind)]
    return [bound]


def normalise(bound):
    """``bound`` with a top-level conjunction of invariants written as one invariant, and a
    disjunction of reachability questions as one question: AG p & AG q is AG (p & q) (and
    G p & G q is G (p & q)), EF p | EF q is EF (p | q). Where a quantifier is written must not
    decide the engine: ``forall u in du: AG p(u)`` expands to such a conjunction, and as an
    invariant it goes to Z3 on one cone per part rather than to CTL over the whole system."""
    for kind, operators in ((p.And, ("AG", "G")), (p.Or, ("EF",))):
        parts = _operands(bound, kind)
        if len(parts) < 2 or not all(isinstance(part, p.Temporal) for part in parts):
            continue
        operator = parts[0].operator
        if operator in operators and all(part.operator == operator and is_propositional(part.operand)
                                         for part in parts):
            inner = kind(bound.line, bound.column, tuple(part.operand for part in parts))
            return p.Temporal(bound.line, bound.column, operator, inner)
    return bound


def classify(bound) -> str:
    """invariant (AG p / G p), reachability (EF p), otherwise ctl or ltl; decided on the
    ``normalise``d formula, which the engines are then to be given."""
    bound = normalise(bound)
    if isinstance(bound, p.Temporal) and bound.operator in ("AG", "G") and is_propositional(bound.operand):
        return "invariant"
    if isinstance(bound, p.Temporal) and bound.operator == "EF" and is_propositional(bound.operand):
        return "reachability"
    styles: list = []
    _temporal_style(bound, styles)
    return "ltl" if any(style == "ltl" for style, _ in styles) else "ctl"


def describe(bound) -> str:
    """The bound formula as text, with quantifiers expanded (for reports)."""
    if isinstance(bound, (LocalIn, CanTake)):
        return bound.text
    if isinstance(bound, p.Bool):
        return "true" if bound.value else "false"
    if isinstance(bound, p.Deadlock):
        return "deadlock"
    if isinstance(bound, p.Not):
        operand = describe(bound.operand)
        return f"!{operand}" if isinstance(bound.operand, (p.Bool, p.Deadlock)) else f"!({operand})"
    if isinstance(bound, p.And):
        return " & ".join(_wrap(o) for o in bound.operands)
    if isinstance(bound, p.Or):
        return " | ".join(_wrap(o) for o in bound.operands)
    if isinstance(bound, p.Implies):
        return f"{_wrap(bound.premise)} -> {_wrap(bound.conclusion)}"
    if isinstance(bound, p.Iff):
        return f"{_wrap(bound.left)} <-> {_wrap(bound.right)}"
    if isinstance(bound, p.Temporal):
        return f"{bound.operator} {_wrap(bound.operand)}"
    if isinstance(bound, NextBy):
        return f"{'AX' if bound.universal else 'EX'}[{bound.text}] {_wrap(bound.operand)}"
    if isinstance(bound, p.Until):
        inner = f"{_wrap(bound.left)} U {_wrap(bound.right)}"
        return f"{bound.quantifier}[{inner}]" if bound.quantifier else inner
    raise TypeError(bound)


def _wrap(bound) -> str:
    text = describe(bound)
    simple = isinstance(bound, (LocalIn, CanTake, p.Bool, p.Deadlock, p.Not, p.Temporal))
    return text if simple else f"({text})"
