"""Property files and the requirements file: loading and validation.

A property file (docs/property-language.md) is a YAML mapping with a ``properties`` list; the
requirements file (``properties/requirements.yaml``) lists the 2012 draft's requirements, each
with the properties that decide it on the SCOMO side and on the TR-069 side. Every problem is
reported with file:line (and column, inside a formula), all of them in one ``InputError``.
"""

from __future__ import annotations

import importlib.resources
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import builtin_model_paths
from .errors import InputError, Problem
from .loader import ProblemCollector
from .proplang import FormulaSyntaxError, parse_formula
from .yamlsource import LocatedDict, LocatedList, line_of, load_yaml

__all__ = ["FAIRNESS", "PropertySpec", "Requirement", "RequirementSide", "builtin_properties_dir",
           "builtin_property_paths", "interpret_draft_gap", "load_properties", "load_property_files",
           "load_requirements", "resolve_property_path"]

FAIRNESS = ("completions",)
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
PROPERTY_KEYS = ("name", "system", "parameters", "formula", "fairness", "description", "spec")
REQUIREMENT_KEYS = ("id", "text", "draft", "scope", "reason", "question", "scomo", "tr069", "explanation")
SIDES = ("scomo", "tr069")


@dataclass(frozen=True)
class PropertySpec:
    """One property as written: where it is, what it says, and on which system."""

    name: str
    file: str
    line: int
    system: str  # a built-in model name or a path
    system_path: Path | None  # the model file, resolved
    parameters: tuple[tuple[str, int], ...]
    formula_text: str
    formula: Any  # the proplang tree
    fairness: tuple[str, ...] = ()
    description: str = ""
    spec: str = ""


@dataclass(frozen=True)
class RequirementSide:
    properties: tuple[PropertySpec, ...]


@dataclass(frozen=True)
class Requirement:
    id: str
    line: int
    text: str
    draft: dict[str, str]
    scope: str  # behaviour | out-of-scope
    reason: str = ""
    question: str = ""
    explanation: str = ""
    sides: dict[str, RequirementSide] = field(default_factory=dict)


def interpret_draft_gap(text: str) -> str | None:
    """The draft's "Gap?" column ("Gap in TR69", "GAP in TR69", "Gap in SCOMO", or empty) as
    "gap in TR-069", "gap in SCOMO" or "no gap"; None when it names neither side, since
    reading such a text as "no gap" would turn a typing slip into an agreement or a
    disagreement."""
    words = " ".join(text.split()).lower().replace("tr69", "tr-069").replace("tr 69", "tr-069")
    if not words:
        return "no gap"
    if "tr-069" in words:
        return "gap in TR-069"
    if "scomo" in words:
        return "gap in SCOMO"
    return None


def builtin_properties_dir() -> Path:
    """The shipped property files (``properties/`` in the source tree)."""
    return Path(str(importlib.resources.files("checker.properties")))


def builtin_property_paths() -> list[Path]:
    """The shipped property files except the requirements file, sorted by name."""
    return [path for path in sorted(builtin_properties_dir().glob("*.yaml")) if path.name != "requirements.yaml"]


def resolve_property_path(path: Path) -> Path:
    """A path as given, or a shipped property file named by its file name or stem."""
    if path.exists():
        return path
    for candidate in sorted(builtin_properties_dir().glob("*.yaml")):
        if path.name in (candidate.name, candidate.stem):
            return candidate
    return path


def _display(path: Path) -> str:
    try:
        return "properties/" + path.resolve().relative_to(builtin_properties_dir().resolve()).as_posix()
    except ValueError:
        return str(path)


def _formula_position(path: Path, key_line: int) -> tuple[str | None, int, int]:
    """The raw text of the formula whose key is on ``key_line``, and where it starts.

    Parsing the raw lines (rather than YAML's folded value) keeps every token's own line and
    column; the grammar ignores line breaks, so both give the same tree."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None, key_line, 1
    if not 0 < key_line <= len(lines):
        return None, key_line, 1
    line = lines[key_line - 1]
    match = re.search(r"formula\s*:\s*", line)
    if match is None:
        return None, key_line, 1
    rest = line[match.end():]
    if rest and rest[0] not in "|>":
        column = match.end() + 1
        if rest[0] in "'\"":
            return None, key_line, column + 1  # quoted: positions hold while no escape is used
        return None, key_line, column
    # A block scalar: the indented lines after the key.
    key_indent = len(line) - len(line.lstrip())
    block = []
    first = None
    for number in range(key_line, len(lines)):
        text = lines[number]
        if text.strip() and len(text) - len(text.lstrip()) <= key_indent:
            break
        if first is None and text.strip():
            first = number + 1
        block.append(text)
    if first is None:
        return None, key_line, 1
    # The lines keep their indentation, so that every column is the file's own.
    raw = "\n".join(block[first - key_line - 1:])
    return raw, first, 1


def _parse(path: Path, file: str, value: str, key_line: int, problems: ProblemCollector):
    raw, line, column = _formula_position(path, key_line)
    text = raw if raw is not None else value
    try:
        return parse_formula(text, line, column)
    except FormulaSyntaxError as error:
        problems.problems.append(Problem(file=file, line=error.line, column=error.column, rule="formula-syntax",
                                         message=error.message))
        return None


def _resolve_system(name: str, base: Path, builtin: list[Path]) -> Path | None:
    for candidate in builtin:
        if name in (candidate.stem, candidate.name):
            return candidate
    path = (base.parent / name) if not Path(name).is_absolute() else Path(name)
    return path if path.is_file() else None


def _property(item: Any, line: int, path: Path, file: str, problems: ProblemCollector, seen: dict,
              builtin: list[Path]) -> PropertySpec | None:
    """One property; ``builtin`` lists the built-in models (listing them reads every model
    file, so a file's properties share one list)."""
    if not isinstance(item, LocatedDict):
        problems.add(line, "property", "a property is a mapping with name, system and formula")
        return None
    for key in item:
        if key not in PROPERTY_KEYS:
            problems.add(item.line_of(key), "unknown-key", f"unknown key {key!r} in a property", name=str(key),
                         candidates=PROPERTY_KEYS)
    missing = [key for key in ("name", "system", "formula") if key not in item]
    for key in missing:
        problems.add(item.line, "missing-key", f"a property needs {key!r}", name=key)
    if missing:
        return None
    name = item["name"]
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        problems.add(item.line_of("name"), "name", f"property name {name!r} is not lower-case words joined by '-'",
                     name=str(name))
        return None
    if name in seen:
        problems.add(item.line_of("name"), "duplicate", f"property {name!r} is already defined on line {seen[name]}",
                     name=name)
    seen[name] = item.line_of("name")
    system = item["system"]
    system_path = _resolve_system(system, path, builtin) if isinstance(system, str) else None
    if system_path is None:
        problems.add(item.line_of("system"), "system", f"no built-in model and no file named {system!r}",
                     name=str(system), candidates=[candidate.stem for candidate in builtin])
    parameters = item.get("parameters", {}) or {}
    if not isinstance(parameters, dict) or not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                                                    and v >= 0 for k, v in parameters.items()):
        problems.add(item.line_of("parameters"), "parameters", "parameters map names to counts (0 or more)")
        parameters = {}
    fairness = item.get("fairness", []) or []
    if isinstance(fairness, str):
        fairness = [fairness]
    for entry in fairness:
        if entry not in FAIRNESS:
            problems.add(item.line_of("fairness"), "fairness", f"unknown fairness assumption {entry!r}",
                         name=str(entry), candidates=FAIRNESS)
    formula_text = item["formula"]
    if not isinstance(formula_text, str):
        problems.add(item.line_of("formula"), "formula", "a formula is a string")
        return None
    formula = _parse(path, file, formula_text, item.line_of("formula"), problems)
    if formula is None:
        return None
    return PropertySpec(name=name, file=file, line=item.line_of("name"), system=system, system_path=system_path,
                        parameters=tuple(sorted(parameters.items())), formula_text=" ".join(formula_text.split()),
                        formula=formula, fairness=tuple(fairness), description=str(item.get("description", "") or ""),
                        spec=str(item.get("spec", "") or ""))


def _load_document(path: Path, file: str):
    """The YAML document, with a hint for the commonest mistake: a quantifier's ': ' in an
    unquoted formula, which YAML reads as a nested mapping."""
    try:
        return load_yaml(path, file)
    except InputError as error:
        problems = []
        for problem in error.problems:
            if problem.rule == "yaml-syntax" and "mapping values are not allowed" in problem.message:
                problem = Problem(file=problem.file, line=problem.line, rule=problem.rule,
                                  message=problem.message + " (a formula with a quantifier's ': ' must be quoted or "
                                          "written as a block scalar: 'formula: >-' and the formula on the next lines)")
            problems.append(problem)
        raise InputError(problems) from None


def load_properties(path: Path, display_name: str | None = None) -> list[PropertySpec]:
    """Every property of one file; ``InputError`` lists every problem. ``display_name`` is the
    name the file is reported under (the gate gives repository-relative names, so that a
    property keeps its identity at another revision)."""
    file = display_name or _display(path)
    document = _load_document(path, file)
    problems = ProblemCollector(file)
    if isinstance(document, LocatedDict) and "requirements" in document and "properties" not in document:
        # The requirements file: its properties are those of every requirement, both sides.
        return [spec for requirement in _requirements(path, file, document) for side in SIDES
                if side in requirement.sides for spec in requirement.sides[side].properties]
    if not isinstance(document, LocatedDict) or "properties" not in document:
        raise InputError(Problem(file=file, line=1, rule="properties",
                                 message="expected a mapping with a 'properties' list (a property file) or a "
                                         "'requirements' list (the requirements file)"))
    for key in document:
        if key != "properties":
            problems.add(document.line_of(key), "unknown-key", f"unknown key {key!r}", name=str(key),
                         candidates=("properties",))
    items = document["properties"]
    if not isinstance(items, LocatedList):
        raise InputError(Problem(file=file, line=document.line_of("properties"), rule="properties",
                                 message="'properties' must be a list"))
    seen: dict[str, int] = {}
    builtin = builtin_model_paths()
    found = []
    for index, item in enumerate(items):
        spec = _property(item, items.line_of(index), path, file, problems, seen, builtin)
        if spec is not None:
            found.append(spec)
    problems.raise_if_any()
    return found


def load_property_files(paths: list[Path], names: list[str] | None = None) -> list[PropertySpec]:
    """The properties of several files (``names``: what each is reported as), each file read
    once however often it is named. A property name must be unique in the run: the same name
    in two files is an error naming both places, since a property's verdict is found by its
    name. ``InputError`` lists every problem of every file."""
    names = names if names is not None else [None] * len(paths)
    specs: list[PropertySpec] = []
    problems: list[Problem] = []
    read: set[Path] = set()
    for path, name in zip(paths, names):
        if not path.is_file():
            problems.append(Problem(file=name or str(path), line=0, rule="file", message="no such property file"))
            continue
        if path.resolve() in read:
            continue
        read.add(path.resolve())
        try:
            specs.extend(load_properties(path, name))
        except InputError as error:
            problems.extend(error.problems)
    first: dict[str, PropertySpec] = {}
    for spec in specs:
        earlier = first.setdefault(spec.name, spec)
        if earlier is not spec and earlier.file != spec.file:  # within one file, load_properties said so
            problems.append(Problem(file=spec.file, line=spec.line, rule="duplicate", name=spec.name,
                                    message=f"property {spec.name!r} is also defined at {earlier.file}:{earlier.line}; "
                                            "a property name must be unique among the files of a run"))
    if problems:
        raise InputError(problems)
    return specs


def load_requirements(path: Path, display_name: str | None = None) -> list[Requirement]:
    """The requirements table; ``InputError`` lists every problem."""
    file = display_name or _display(path)
    return _requirements(path, file, _load_document(path, file))


def _requirements(path: Path, file: str, document) -> list[Requirement]:
    problems = ProblemCollector(file)
    if not isinstance(document, LocatedDict) or not isinstance(document.get("requirements"), LocatedList):
        raise InputError(Problem(file=file, line=1, rule="requirements",
                                 message="expected a mapping with a 'requirements' list"))
    items = document["requirements"]
    builtin = builtin_model_paths()
    requirements = []
    seen_ids: set[str] = set()
    seen_names: dict[str, int] = {}
    for index, item in enumerate(items):
        line = items.line_of(index)
        if not isinstance(item, LocatedDict) or not isinstance(item.get("id"), str):
            problems.add(line, "requirement", "a requirement is a mapping with an 'id'")
            continue
        for key in item:
            if key not in REQUIREMENT_KEYS:
                problems.add(item.line_of(key), "unknown-key", f"unknown key {key!r} in a requirement", name=str(key),
                             candidates=REQUIREMENT_KEYS)
        if item["id"] in seen_ids:
            problems.add(item.line_of("id"), "duplicate", f"requirement {item['id']!r} appears twice", name=item["id"])
        seen_ids.add(item["id"])
        scope = item.get("scope")
        if scope not in ("behaviour", "out-of-scope"):
            problems.add(item.line_of("scope") if "scope" in item else item.line, "scope",
                         "scope is 'behaviour' or 'out-of-scope'", name=str(scope), candidates=("behaviour", "out-of-scope"))
            continue
        draft = item.get("draft") or {}
        if not isinstance(draft, dict):
            problems.add(item.line_of("draft"), "draft", "draft is a mapping of the draft's columns")
            draft = {}
        gap_text = " ".join(str(draft.get("gap", "") or "").split())
        if scope == "behaviour" and interpret_draft_gap(gap_text) is None:
            gap_line = draft.line_of("gap") if isinstance(draft, LocatedDict) else item.line
            problems.add(gap_line, "draft-gap", f"requirement {item['id']}: the draft's gap {gap_text!r} names neither "
                         "TR-069 (TR69) nor SCOMO; leave it empty for no gap", name=gap_text)
        sides: dict[str, RequirementSide] = {}
        if scope == "out-of-scope":
            if not str(item.get("reason", "") or "").strip():
                problems.add(item.line, "reason", f"out-of-scope requirement {item['id']} needs a reason", name=item["id"])
        else:
            for side in SIDES:
                block = item.get(side)
                if not isinstance(block, LocatedDict) or not isinstance(block.get("properties"), LocatedList) \
                        or not block["properties"]:
                    problems.add(item.line_of(side) if side in item else item.line, "side",
                                 f"requirement {item['id']} needs '{side}: properties: [...]'", name=side)
                    continue
                specs = []
                for position, entry in enumerate(block["properties"]):
                    spec = _property(entry, block["properties"].line_of(position), path, file, problems, seen_names,
                                     builtin)
                    if spec is not None:
                        specs.append(spec)
                sides[side] = RequirementSide(properties=tuple(specs))
        requirements.append(Requirement(
            id=item["id"], line=item.line_of("id"), text=" ".join(str(item.get("text", "")).split()),
            draft={str(k): " ".join(str(v if v is not None else "").split()) for k, v in draft.items()},
            scope=scope, reason=" ".join(str(item.get("reason", "") or "").split()),
            question=" ".join(str(item.get("question", "") or "").split()),
            explanation=" ".join(str(item.get("explanation", "") or "").split()), sides=sides))
    problems.raise_if_any()
    return requirements


def line_in(container: Any, key: Any) -> int:
    return line_of(container, key)
