"""The property language: its grammar, its syntax tree, and the parser.

A formula is read by a Lark LALR parser (never ``eval``) into the frozen dataclasses below.
The grammar, documented for users in docs/property-language.md:

    formula   := quantifier | iff
    quantifier:= ("forall" | "exists") VAR "in" domain ":" formula
    domain    := COMPONENT | VAR "." COMPONENT          (the children of VAR)
    iff       := implies ["<->" implies]
    implies   := or ["->" implies]
    or        := and {"|" and}
    and       := until {"&" until}
    until     := unary ["U" until]                     (LTL until, right-associative)
    unary     := "!" unary | ("AG"|"AF"|"AX"|"EG"|"EF"|"EX"|"G"|"F"|"X") unary
               | ("AX"|"EX") "[" PATH "]" unary       (next step by that trigger)
               | ("A"|"E") "[" formula "U" formula "]" | "(" formula ")" | atom
    atom      := PATH "is" NAME | PATH "in" "{" NAME {"," NAME} "}"
               | PATH ("=="|"!=") VALUE | "enabled" "(" PATH ")"
               | "deadlock" | "true" | "false"

PATH is a dotted name (``du1.eu2.Status``, ``e.Status``); which part of it names an instance
and which a state, observable or trigger is decided when the formula is checked against a
system (``checker.propbind``), because instance names contain dots themselves.

Every node keeps the line and column of its first token in the file the formula came from,
so that type errors point at the offending name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import VisitError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

__all__ = [
    "And", "Atom", "Bool", "Deadlock", "Enabled", "Formula", "FormulaSyntaxError", "InState", "Iff",
    "Implies", "Next", "Not", "Observe", "Or", "Quantified", "Temporal", "Until", "parse_formula",
]

# Words the grammar reserves: they cannot be used as names inside formulas. NAME refuses
# them, so that "AG forall u in du: ..." fails at "forall" (with a hint) rather than reading
# "forall" as an instance and failing at the next word.
KEYWORDS = frozenset({"forall", "exists", "in", "is", "enabled", "deadlock", "true", "false", "null", "U",
                      "AG", "AF", "AX", "EG", "EF", "EX", "G", "F", "X", "A", "E"})

# A name is words of letters, digits and "_" joined by single hyphens ("scomo-device"): a
# hyphen must be followed by a name character, so that "Active->du1" is "Active" and "->".
_WORD = r"[A-Za-z0-9_]"
NAME_PATTERN = (r"(?!(?:" + "|".join(sorted(KEYWORDS, key=lambda word: (-len(word), word))) + r")(?!" + _WORD
                + r"|-" + _WORD + r"))[A-Za-z_]" + _WORD + r"*(?:-" + _WORD + r"+)*")

GRAMMAR = r"""
?start: formula

?formula: quantified | iff
quantified: QUANT VAR "in" domain ":" formula
domain: NAME ("." NAME)?

?iff: implies ("<->" implies)?
?implies: or_ ("->" implies)?
?or_: and_ ("|" and_)*
?and_: until ("&" until)*
?until: unary ("U" until)?

?unary: "!" unary                              -> not_
      | UNARY_TEMPORAL unary                   -> temporal
      | NEXT_OP "[" path "]" unary             -> next_by
      | PATH_Q "[" formula "]"                 -> path_until
      | "(" formula ")"
      | atom

?atom: path "is" NAME                           -> in_state
     | path "in" "{" NAME ("," NAME)* "}"       -> in_states
     | path CMP value                           -> observe
     | "enabled" "(" path ")"                   -> enabled
     | "deadlock"                               -> deadlock
     | "true"                                   -> true_
     | "false"                                  -> false_

path: NAME ("." NAME)*
value: NAME | SIGNED_INT | "true" -> true_value | "false" -> false_value | "null" -> null_value

QUANT.3: "forall" | "exists"
UNARY_TEMPORAL.3: /(AG|AF|EG|EF|G|F)(?![A-Za-z0-9_])/ | /(AX|EX|X)(?![A-Za-z0-9_\[])/
NEXT_OP.3: /(AX|EX)(?=\s*\[)/
PATH_Q.3: /(A|E)(?=\s*\[)/
CMP: "==" | "!="
VAR: NAME
NAME: /{name}/
COMMENT: /#[^\n]*/

%import common.SIGNED_INT
%import common.WS
%ignore WS
%ignore COMMENT
""".replace("{name}", NAME_PATTERN)

CTL_OPERATORS = ("AG", "AF", "AX", "EG", "EF", "EX")
LTL_OPERATORS = ("G", "F", "X")


@dataclass(frozen=True)
class Node:
    line: int
    column: int


@dataclass(frozen=True)
class Bool(Node):
    value: bool


@dataclass(frozen=True)
class Deadlock(Node):
    """No step is enabled."""


@dataclass(frozen=True)
class InState(Node):
    """``path is S`` / ``path in {S1, S2}``: an instance is in one of the named states (or
    state kinds: stable, transient, terminal, absent)."""

    path: tuple[str, ...]
    states: tuple[str, ...]


@dataclass(frozen=True)
class Observe(Node):
    """``path == value`` or ``path != value`` on an observable of an instance."""

    path: tuple[str, ...]
    value: object
    equal: bool
    value_line: int = 0  # where the value is written (true, false and null: where "==" is)
    value_column: int = 0


@dataclass(frozen=True)
class Enabled(Node):
    """``enabled(path)``: the instance can take a step with that trigger now."""

    path: tuple[str, ...]


Atom = Union[Bool, Deadlock, InState, Observe, Enabled]


@dataclass(frozen=True)
class Not(Node):
    operand: "Formula"


@dataclass(frozen=True)
class And(Node):
    operands: tuple["Formula", ...]


@dataclass(frozen=True)
class Or(Node):
    operands: tuple["Formula", ...]


@dataclass(frozen=True)
class Implies(Node):
    premise: "Formula"
    conclusion: "Formula"


@dataclass(frozen=True)
class Iff(Node):
    left: "Formula"
    right: "Formula"


@dataclass(frozen=True)
class Quantified(Node):
    """``forall``/``exists`` VAR in COMPONENT (or in PARENT_VAR.COMPONENT): ``formula``."""

    universal: bool
    variable: str
    component: str
    parent: str | None
    body: "Formula"


@dataclass(frozen=True)
class Temporal(Node):
    """A unary temporal operator: one of AG AF AX EG EF EX (CTL) or G F X (LTL)."""

    operator: str
    operand: "Formula"


@dataclass(frozen=True)
class Next(Node):
    """``AX[path] f`` / ``EX[path] f``: after every (some) step whose leader is the path's
    instance taking the path's trigger, ``f`` holds. ``AX[...]`` holds vacuously when no such
    step is enabled."""

    universal: bool
    path: tuple[str, ...]
    operand: "Formula"


@dataclass(frozen=True)
class Until(Node):
    """``A[l U r]`` / ``E[l U r]`` (CTL, ``quantifier`` "A" or "E") or ``l U r`` (LTL,
    ``quantifier`` None)."""

    quantifier: str | None
    left: "Formula"
    right: "Formula"


Formula = Union[Atom, Not, And, Or, Implies, Iff, Quantified, Temporal, Next, Until]


class FormulaSyntaxError(ValueError):
    """A formula that does not parse: where, what was found, and what was expected."""

    def __init__(self, line: int, column: int, message: str):
        self.line = line
        self.column = column
        self.message = message
        super().__init__(f"{line}:{column}: {message}")


def _position(item) -> tuple[int, int]:
    if isinstance(item, Token):
        return item.line, item.column
    if isinstance(item, Node):
        return item.line, item.column
    if isinstance(item, tuple) and item and isinstance(item[0], Token):  # a path
        return item[0].line, item[0].column
    raise TypeError(item)


class _Path(tuple):
    """A dotted name that remembers where it starts."""

    line: int
    column: int


def _path(tokens) -> _Path:
    path = _Path(str(token) for token in tokens)
    path.line, path.column = tokens[0].line, tokens[0].column
    return path


@v_args(inline=True)
class _Build(Transformer):
    def __init__(self, line_offset: int, column_offset: int):
        super().__init__()
        self.line_offset = line_offset
        self.column_offset = column_offset

    def _at(self, line: int, column: int) -> tuple[int, int]:
        # A formula written on the line of its YAML key starts at that key's column.
        return line + self.line_offset, column + (self.column_offset if line == 1 else 0)

    def path(self, *tokens):
        path = _path(tokens)
        path.line, path.column = self._at(path.line, path.column)
        return path

    def domain(self, *tokens):
        return tokens

    def quantified(self, quant, variable, domain, body):
        line, column = self._at(quant.line, quant.column)
        parent, component = (None, str(domain[0])) if len(domain) == 1 else (str(domain[0]), str(domain[1]))
        return Quantified(line, column, quant == "forall", str(variable), component, parent, body)

    def iff(self, left, right):
        return Iff(left.line, left.column, left, right)

    def implies(self, premise, conclusion):
        return Implies(premise.line, premise.column, premise, conclusion)

    def or_(self, *operands):
        return Or(operands[0].line, operands[0].column, tuple(operands))

    def and_(self, *operands):
        return And(operands[0].line, operands[0].column, tuple(operands))

    def until(self, left, right):
        return Until(left.line, left.column, None, left, right)

    def not_(self, operand):
        # The position of "!" is not kept by Lark for anonymous tokens; the operand's is close.
        return Not(operand.line, operand.column, operand)

    def temporal(self, operator, operand):
        line, column = self._at(operator.line, operator.column)
        return Temporal(line, column, str(operator), operand)

    def next_by(self, operator, path, operand):
        line, column = self._at(operator.line, operator.column)
        return Next(line, column, str(operator) == "AX", tuple(path), operand)

    def path_until(self, quantifier, body):
        # "A[l U r]": the bracket holds one formula, which must be an until at its top (the
        # grammar's LTL until would otherwise take the U away from the path quantifier).
        line, column = self._at(quantifier.line, quantifier.column)
        if not isinstance(body, Until) or body.quantifier is not None:
            raise FormulaSyntaxError(body.line, body.column, f"expected 'l U r' inside {quantifier}[...]")
        return Until(line, column, str(quantifier), body.left, body.right)

    def in_state(self, path, name):
        return InState(path.line, path.column, tuple(path), (str(name),))

    def in_states(self, path, *names):
        return InState(path.line, path.column, tuple(path), tuple(str(name) for name in names))

    def observe(self, path, comparison, value):
        at = value if isinstance(value, Token) else comparison
        value_line, value_column = self._at(at.line, at.column)
        value = (int(value) if value.type == "SIGNED_INT" else str(value)) if isinstance(value, Token) else value
        return Observe(path.line, path.column, tuple(path), value, comparison == "==", value_line, value_column)

    def enabled(self, path):
        return Enabled(path.line, path.column, tuple(path))

    # Constants carry no token; they take the position of the formula (set by the caller).
    def deadlock(self):
        return Deadlock(0, 0)

    def true_(self):
        return Bool(0, 0, True)

    def false_(self):
        return Bool(0, 0, False)

    def value(self, token):
        return token  # converted by observe, which wants its position

    def true_value(self):
        return True

    def false_value(self):
        return False

    def null_value(self):
        return None


_PARSER = Lark(GRAMMAR, parser="lalr", propagate_positions=False, maybe_placeholders=False)

_EXPECTED_NAMES = {
    "NAME": "a name", "VAR": "a variable", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'",
    "LBRACE": "'{'", "RBRACE": "'}'", "COLON": "':'", "COMMA": "','", "DOT": "'.'", "CMP": "'==' or '!='",
    "SIGNED_INT": "a number", "UNARY_TEMPORAL": "a temporal operator", "QUANT": "'forall' or 'exists'",
    "IS": "'is'", "NEXT_OP": "'AX[' or 'EX['", "PATH_Q": "'A[' or 'E['", "IN": "'in'", "U": "'U'", "BANG": "'!'", "AMPERSAND": "'&'", "VBAR": "'|'",
    "__ANON_0": "'<->'", "__ANON_1": "'->'", "$END": "the end of the formula",
}


def _expected(expected) -> str:
    names = sorted({_EXPECTED_NAMES.get(name, name.lower().strip("_")) for name in expected})
    if len(names) > 6:
        names = names[:6] + ["..."]
    return ", ".join(names)


def parse_formula(text: str, line: int = 1, column: int = 1) -> Formula:
    """Parse ``text``; ``line`` and ``column`` say where it starts in its file (1-based).

    Raises ``FormulaSyntaxError`` at the file position of the first unexpected token.
    """
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as error:
        error_line = getattr(error, "line", 1) or 1
        error_column = getattr(error, "column", 1) or 1
        if isinstance(error, UnexpectedToken) and error.token.type == "$END":
            # Lark reports the end of input without a position: point just past the text.
            lines = text.rstrip().splitlines() or [""]
            error_line, error_column = len(lines), len(lines[-1]) + 1
        at_line = line + error_line - 1
        at_column = error_column + (column - 1 if error_line == 1 else 0)
        if isinstance(error, UnexpectedToken):
            found = "the end of the formula" if error.token.type == "$END" else repr(str(error.token))
            message = f"unexpected {found}; expected {_expected(error.expected)}"
            message += _hint(error)
        elif isinstance(error, UnexpectedCharacters):
            word = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[error.pos_in_stream:])
            if word and word.group() in KEYWORDS:
                message = f"unexpected {word.group()!r}"
            else:
                message = f"unexpected character {text_at(text, error.pos_in_stream)!r}"
            if error.allowed:
                message += f"; expected {_expected(error.allowed)}"
            if word and word.group() in KEYWORDS and {"NAME", "VAR"} & set(error.allowed):
                message += f" ({word.group()!r} is a reserved word and cannot be a name in a formula)"
        elif isinstance(error, UnexpectedEOF):
            message = f"unexpected end of the formula; expected {_expected(error.expected)}"
        else:
            message = str(error).splitlines()[0]
        raise FormulaSyntaxError(at_line, at_column, message) from None
    try:
        formula = _Build(line - 1, column - 1).transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, FormulaSyntaxError):
            raise error.orig_exc from None
        raise
    return _place_constants(formula, line, column)


def _hint(error: UnexpectedToken) -> str:
    """What to write instead, for the two mistakes a grammar message does not explain."""
    word = str(error.token)
    if error.token.type == "QUANT":
        # A quantifier's body extends as far right as possible, so it is a formula, not an
        # operand: an operator in front of it would take only part of the body.
        return (f" (a quantifier after a temporal operator or '!' needs parentheses: for example "
                f"AG ({word} u in du: ...))")
    if word in KEYWORDS and ("NAME" in error.expected or "VAR" in error.expected):
        return f" ({word!r} is a reserved word and cannot be a name in a formula)"
    return ""


def text_at(text: str, position: int) -> str:
    return text[position] if 0 <= position < len(text) else ""


def _place_constants(formula, line: int, column: int):
    """Give position-less constants (true, false, deadlock) the position of their parent."""
    import dataclasses

    def visit(node, at):
        if not isinstance(node, Node):
            return node
        here = (node.line, node.column) if node.line else at
        changes = {}
        for field in dataclasses.fields(node):
            value = getattr(node, field.name)
            if isinstance(value, Node):
                changes[field.name] = visit(value, here)
            elif isinstance(value, tuple) and value and isinstance(value[0], Node):
                changes[field.name] = tuple(visit(item, here) for item in value)
        if not node.line:
            changes["line"], changes["column"] = here
        return dataclasses.replace(node, **changes) if changes else node

    return visit(formula, (line, column))
