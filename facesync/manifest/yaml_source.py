"""Safe YAML reading that remembers where every value came from.

PyYAML composes the document into nodes (which carry line numbers) with its
safe loader; the Python data is built here instead of by PyYAML's constructor
so that duplicate keys become errors (PyYAML silently keeps the last one), every
value's line is known for diagnostics, and aliases cannot expand into a memory
bomb: before anything is built, the number of values the aliases would produce
is counted on the composed node graph (linear in the document's size), and a
document whose aliases produce more than ALIAS_EXPANSION_MAX is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

DocPath = tuple[str | int, ...]

# Far above what any sensible use of anchors produces (a shared list of faces
# reused by a thousand persons stays well below), far below a memory problem.
ALIAS_EXPANSION_MAX = 100_000

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    line: int
    path: DocPath
    message: str


class LineLookup(Protocol):
    def line_of(self, path: DocPath) -> int: ...

    def list_lines(self, path: DocPath, count: int) -> tuple[int, list[int]]: ...

    def below(self, path: DocPath) -> LineLookup:
        """The lines of what lies under `path`: below(p).line_of(q) == line_of((*p, *q))."""
        ...

    def keys_and_items(
        self, keys: list[str], name: str, counts: list[int]
    ) -> tuple[list[int], list[int]]:
        """line_of((key,)) of each key, and list_lines((key, name), count)'s item lines
        of each, one list after the other (a batch of persons and their faces)."""
        ...


def keys_and_items(
    lines: LineLookup, keys: list[str], name: str, counts: list[int]
) -> tuple[list[int], list[int]]:
    """LineLookup.keys_and_items, one key at a time."""
    items: list[int] = []
    for key, count in zip(keys, counts, strict=True):
        items += lines.list_lines((key, name), count)[1]
    return [lines.line_of((key,)) for key in keys], items


@dataclass
class YamlDocument:
    """The data, the line of every path in it, and what was wrong.

    `data` is None when nothing usable could be read (`fatal`). The lines are
    in `lines` (read_yaml) or in `index` (fast_yaml's tree of lines).
    """

    data: Any
    lines: dict[DocPath, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    fatal: bool = False
    index: LineLookup | None = None

    def line_of(self, path: DocPath) -> int:
        """The line of `path`, or of its nearest ancestor that has one."""
        if self.index is not None:
            return self.index.line_of(path)
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                return line
        return 1

    def list_lines(self, path: DocPath, count: int) -> tuple[int, list[int]]:
        """line_of(path) and line_of((*path, i)) for i in range(count), at once."""
        if self.index is not None:
            return self.index.list_lines(path, count)
        return self.line_of(path), [self.line_of((*path, i)) for i in range(count)]

    def below(self, path: DocPath) -> LineLookup:
        """The lines under `path`, without walking down to it again for each (a loop
        over 100,000 persons asks for theirs)."""
        if self.index is not None:
            return self.index.below(path)
        return _Below(self, path)


class _Below:
    def __init__(self, doc: YamlDocument, path: DocPath) -> None:
        self.doc = doc
        self.path = path

    def line_of(self, path: DocPath) -> int:
        return self.doc.line_of((*self.path, *path))

    def list_lines(self, path: DocPath, count: int) -> tuple[int, list[int]]:
        return self.doc.list_lines((*self.path, *path), count)

    def below(self, path: DocPath) -> LineLookup:
        return _Below(self.doc, (*self.path, *path))

    def keys_and_items(
        self, keys: list[str], name: str, counts: list[int]
    ) -> tuple[list[int], list[int]]:
        return keys_and_items(self, keys, name, counts)


class _Fatal(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def read_yaml(text: bytes) -> YamlDocument:
    """Compose `text` safely and build its data; never raises for bad input."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        return _fatal(_mark_line(exc), _syntax_message(exc, text))
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count(b"\n") + 1
        return _fatal(
            line,
            f"the file holds a character YAML does not allow ({exc.reason}): "
            "remove it, and save the file as UTF-8 text",
        )
    except yaml.YAMLError as exc:
        return _fatal(1, f"the file is not readable YAML ({exc}): fix it".replace("\n", " "))
    if root is None:
        return _fatal(1, "the manifest is empty: start it with 'version: 1' and 'groups:'")
    builder = _Builder()
    try:
        _check_alias_expansion(root)
        data = builder.build(root, (), via_alias=False)
    except _Fatal as exc:
        return _fatal(exc.line, exc.message)
    except RecursionError:
        return _fatal(_line(root), "the manifest nests too deeply: flatten it")
    builder.lines[()] = _line(root)
    return YamlDocument(data, builder.lines, builder.problems)


def _fatal(line: int, message: str) -> YamlDocument:
    return YamlDocument(None, {}, [Problem(line, (), message)], fatal=True)


def _mark_line(exc: yaml.MarkedYAMLError) -> int:
    mark = exc.problem_mark or exc.context_mark
    return mark.line + 1 if mark is not None else 1


def _syntax_message(exc: yaml.MarkedYAMLError, text: bytes) -> str:
    problem = exc.problem or "malformed YAML"
    context = exc.context or ""
    if "single document" in context:
        return "the file holds more than one YAML document: keep only one (remove the '---')"
    if "duplicate anchor" in context and exc.context_mark is not None:
        first = exc.context_mark.line + 1
        return f"the same anchor is defined twice (first on line {first}): rename one"
    mark = exc.problem_mark
    if mark is not None and _char_at(text, mark.line, mark.column) == b"\t":
        return "invalid YAML: tabs cannot indent YAML: use spaces"
    context = f" ({exc.context})" if exc.context else ""
    return f"invalid YAML: {problem}{context}: fix the syntax here"


def _char_at(text: bytes, line: int, column: int) -> bytes:
    lines = text.split(b"\n")
    return lines[line][column : column + 1] if line < len(lines) else b""


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return node.value
    return []


def _check_alias_expansion(root: Node) -> None:
    """Refuse a document whose aliases would produce too many values, before building it."""
    sizes: dict[int, int] = {}  # values a node expands to, capped
    active: set[int] = set()
    cap = ALIAS_EXPANSION_MAX * 1000

    def size(node: Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise _Fatal(_line(node), "an alias refers to a node that contains it: remove the loop")
        active.add(key)
        total = 1
        for child in _children(node):
            total = min(total + size(child), cap)
        active.discard(key)
        sizes[key] = total
        return total

    # Each distinct node is built once for free; everything beyond comes from aliases.
    if size(root) - len(sizes) <= ALIAS_EXPANSION_MAX:
        return
    node = root
    while big := [c for c in _children(node) if sizes[id(c)] > ALIAS_EXPANSION_MAX]:
        node = big[0]
    raise _Fatal(
        _line(node),
        f"aliases expand to more than {ALIAS_EXPANSION_MAX:,} values "
        "(an alias bomb?): write the content out or use fewer aliases",
    )


class _Builder:
    """Turns composed nodes into dicts, lists and scalars, recording lines."""

    def __init__(self) -> None:
        self.lines: dict[DocPath, int] = {}
        self.problems: list[Problem] = []
        self._constructor = SafeConstructor()
        self._seen: set[int] = set()
        self._active: set[int] = set()

    def build(self, node: Node, path: DocPath, *, via_alias: bool) -> Any:
        key = id(node)
        if key in self._active:
            raise _Fatal(_line(node), "an alias refers to a node that contains it: remove the loop")
        # A node met a second time can only have been reached through an alias.
        via_alias = via_alias or key in self._seen
        self._seen.add(key)
        if isinstance(node, ScalarNode):
            return self._scalar(node, path, via_alias)
        self._active.add(key)
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path, via_alias)
            return self._sequence(node, path, via_alias)
        finally:
            self._active.discard(key)

    def _problem(self, line: int, path: DocPath, message: str, via_alias: bool) -> None:
        # What an alias repeats was already reported where its anchor stands.
        if not via_alias:
            self.problems.append(Problem(line, path, message))

    def _scalar(self, node: ScalarNode, path: DocPath, via_alias: bool) -> Any:
        construct = SafeConstructor.yaml_constructors.get(node.tag)
        if construct is None:
            self._problem(_line(node), path, _tag_message(node.tag), via_alias)
            return None
        try:
            return construct(self._constructor, node)
        except (ConstructorError, ValueError) as exc:
            detail = getattr(exc, "problem", None) or str(exc)
            self._problem(_line(node), path, f"unreadable value ({detail}): fix it", via_alias)
            return None

    def _sequence(self, node: SequenceNode, path: DocPath, via_alias: bool) -> Any:
        if node.tag != _SEQ_TAG:
            self._problem(_line(node), path, _tag_message(node.tag), via_alias)
            return None
        items = []
        for index, item in enumerate(node.value):
            self.lines[(*path, index)] = _line(item)
            items.append(self.build(item, (*path, index), via_alias=via_alias))
        return items

    def _mapping(self, node: MappingNode, path: DocPath, via_alias: bool) -> Any:
        if node.tag != _MAP_TAG:
            self._problem(_line(node), path, _tag_message(node.tag), via_alias)
            return None
        result: dict[str, Any] = {}
        key_lines: dict[str, int] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            if not isinstance(key_node, ScalarNode):
                message = "a key must be plain text, not a list or mapping: rewrite it"
                self._problem(_line(key_node), path, message, via_alias)
                continue
            # The key's text as written: a person key `007` stays "007", not the number 7.
            key, line = key_node.value, _line(key_node)
            if key in key_lines:
                message = f"duplicate key '{key}' (first on line {key_lines[key]}): keep only one"
                self._problem(line, (*path, key), message, via_alias)
                continue
            key_lines[key] = line
            self.lines[(*path, key)] = line
            result[key] = self.build(value_node, (*path, key), via_alias=via_alias)
        for merge in merges:
            self._merge(result, merge, path, via_alias)
        return result

    def _merge(self, result: dict[str, Any], node: Node, path: DocPath, via_alias: bool) -> None:
        """YAML merge keys (`<<: *base`): keys written here win over merged ones."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, MappingNode):
                message = "'<<' must refer to a mapping or a list of mappings: fix the merge"
                self._problem(_line(source), path, message, via_alias)
                continue
            outer = self.lines
            self.lines = {}
            try:
                merged = self.build(source, path, via_alias=via_alias)
                merged_lines = self.lines
            finally:
                self.lines = outer
            added = {key for key in merged or {} if key not in result}
            for key in added:
                result[key] = merged[key]
            depth = len(path)
            for sub, line in merged_lines.items():
                if len(sub) > depth and sub[depth] in added:
                    self.lines[sub] = line


def _tag_message(tag: str) -> str:
    return f"the YAML tag '{tag}' is not supported here: remove it"
