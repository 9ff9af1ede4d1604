"""Safe YAML loading that remembers the line of every mapping and list.

PyYAML's ``SafeLoader`` constructs no Python objects beyond plain data. On top of it this
module bounds the input size and the number of aliases (so that a "billion laughs" file
cannot expand without limit) and records, for every mapping and list, the line it starts on
and the line of each of its keys, so that validation can point at file:line.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, Problem

__all__ = ["Located", "LocatedDict", "LocatedList", "load_yaml", "line_of", "MAX_FILE_BYTES"]

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 2 * 1024 * 1024  # far above any real model; refuses huge files early
MAX_ALIASES = 100  # models have no reason to use many aliases


class Located:
    """Mixin giving a mapping or list the line it starts on (1-based)."""

    line: int = 0


class LocatedDict(dict, Located):
    """A mapping that also knows the line of each of its keys."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LocatedList(list, Located):
    """A list that also knows the line of each of its items."""

    def __init__(self, *args):
        super().__init__(*args)
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


def line_of(container: Any, key: Any = None) -> int:
    """The line of ``container[key]`` (or of the container itself), 0 if unknown."""
    if key is not None and isinstance(container, (LocatedDict, LocatedList)):
        return container.line_of(key)
    return getattr(container, "line", 0)


# libyaml's parser is several times faster than the pure-Python one; both are safe.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LocatingLoader(_BaseLoader):
    """A safe loader that builds Located containers and rejects duplicate keys."""

    def __init__(self, stream, source_name: str):
        super().__init__(stream)
        self.source_name = source_name

    def construct_located_mapping(self, node):
        mapping = LocatedDict()
        mapping.line = node.start_mark.line + 1
        yield mapping
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise InputError(
                    Problem(
                        file=self.source_name,
                        line=key_node.start_mark.line + 1,
                        rule="yaml-syntax",
                        message="a mapping key must be a plain value",
                    )
                ) from None
            if key in mapping:
                raise InputError(
                    Problem(
                        file=self.source_name,
                        line=key_node.start_mark.line + 1,
                        rule="duplicate-key",
                        message=f"key {key!r} appears twice in the same mapping",
                        name=str(key),
                    )
                )
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_lines[key] = key_node.start_mark.line + 1

    def construct_located_sequence(self, node):
        sequence = LocatedList()
        sequence.line = node.start_mark.line + 1
        yield sequence
        for item_node in node.value:
            sequence.append(self.construct_object(item_node, deep=True))
            sequence.item_lines.append(item_node.start_mark.line + 1)


_LocatingLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LocatingLoader.construct_located_mapping
)
_LocatingLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LocatingLoader.construct_located_sequence
)


def load_yaml(path: Path, display_name: str | None = None) -> Any:
    """Load one YAML document safely; every failure is an InputError naming file and line."""
    name = display_name or str(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise InputError(
            Problem(file=name, line=0, rule="file", message=f"cannot read: {error.strerror}")
        ) from None
    if size > MAX_FILE_BYTES:
        raise InputError(
            Problem(
                file=name,
                line=0,
                rule="file-size",
                message=f"{size} bytes is over the limit of {MAX_FILE_BYTES} bytes",
            )
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(
            Problem(file=name, line=0, rule="file", message=f"cannot read as UTF-8: {error}")
        ) from None

    try:
        aliases = _count_aliases(text, name)
        loader = _LocatingLoader(text, name)
        try:
            document = loader.get_single_data()
        finally:
            loader.dispose()
        if document is None:
            raise InputError(Problem(file=name, line=1, rule="yaml-syntax", message="empty file"))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 0
        raise InputError(
            Problem(file=name, line=line, rule="yaml-syntax", message=str(error.problem))
        ) from None
    except yaml.YAMLError as error:
        raise InputError(Problem(file=name, line=0, rule="yaml-syntax", message=str(error))) from None
    log.debug("loaded %s (%d bytes, %d aliases)", name, size, aliases)
    return document


def _count_aliases(text: str, name: str) -> int:
    """Count aliases before building anything, so that expansion stays bounded."""
    count = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent):
            count += 1
            if count > MAX_ALIASES:
                raise InputError(
                    Problem(
                        file=name,
                        line=event.start_mark.line + 1,
                        rule="yaml-aliases",
                        message=f"more than {MAX_ALIASES} aliases; refusing to expand them",
                    )
                )
    return count
