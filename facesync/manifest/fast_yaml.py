"""A fast reader for the plain block YAML that large manifests are written in.

Composing a 100,000-person manifest with libyaml costs seconds (a Python node
object, mark and resolver call per value). Most manifests use a small part of
YAML: block mappings with plain keys, block sequences, one-line plain or quoted
scalars and one-line flow lists of plain scalars (`targetFace: [1, 2, 3, 4]`).
This reader reads exactly that part, line by line, with the same values (PyYAML's
own resolver and constructors decide what a plain scalar means) and the same
lines as yaml_source.read_yaml. It answers None for anything else (anchors,
tags, block scalars, multi-line values, flow mappings, duplicate keys, odd
indentation, ...), and read_yaml then reads the document and reports its
problems: this reader never reports one.
"""

from __future__ import annotations

import re
from typing import Any

from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import ScalarNode
from yaml.reader import Reader
from yaml.resolver import Resolver

from .yaml_source import DocPath, YamlDocument

_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVERS: dict[Any, list[tuple[str, re.Pattern[str]]]] = Resolver.yaml_implicit_resolvers
_WILDCARD = _RESOLVERS.get(None, [])
_TYPED = frozenset(k for k in _RESOLVERS if isinstance(k, str) and k)
_CONSTRUCTABLE = frozenset(
    {"tag:yaml.org,2002:" + t for t in ("bool", "int", "float", "null", "timestamp")}
)
# A key as plain text that needs no quoting, then ':' and a space or the line's end.
_KEY = re.compile(r"([A-Za-z0-9_.][A-Za-z0-9_.-]*):(?: +|$)")
# Plain scalars that cannot mean anything but themselves in block context: no
# indicator first, no ':' or '#' anywhere (so no mapping and no comment), no
# trailing space. Checked on many items at once, joined by newlines.
_SIMPLE = r"[^-?:,\[\]{}#&*!|>'\"%@`\s][^:#\n]*(?<! )"
_SIMPLE_LINES = re.compile(rf"(?:{_SIMPLE}\n)*{_SIMPLE}")
_SIMPLE_ONE = re.compile(_SIMPLE)
_FLOW_ITEM = re.compile(r"-?[^-?:,\[\]{}#&*!|>'\"%@`\s][^,:#\[\]{}'\"]*")
_NON_PRINTABLE = Reader.NON_PRINTABLE
_OTHER_BREAKS = re.compile("[\t\r\x85\u2028\u2029\ufeff]")  # tabs, and line breaks YAML knows


class _Decline(Exception):
    """The document leaves the subset: read_yaml reads it."""


class _MapLines:
    __slots__ = ("keys", "children")

    def __init__(self) -> None:
        self.keys: dict[str, int] = {}
        self.children: dict[str, _MapLines | _SeqLines] = {}


class _SeqLines:
    __slots__ = ("items", "children")

    def __init__(self) -> None:
        self.items: list[int] = []
        self.children: dict[int, _MapLines | _SeqLines] = {}


class LineIndex:
    """The line of every key and item, kept as a tree beside the data (a dict
    keyed by every path costs more than the whole read)."""

    def __init__(self, root_line: int, root: _MapLines) -> None:
        self.root_line = root_line
        self.root = root

    def list_lines(self, path: DocPath, count: int) -> tuple[int, list[int]]:
        line, node = self._walk(path)
        found = node.items[:count] if isinstance(node, _SeqLines) else []
        return line, found + [line] * (count - len(found))

    def line_of(self, path: DocPath) -> int:
        return self._walk(path)[0]

    def _walk(self, path: DocPath) -> tuple[int, _MapLines | _SeqLines | None]:
        line: int = self.root_line
        node: _MapLines | _SeqLines | None = self.root
        for part in path:
            if isinstance(node, _MapLines) and isinstance(part, str) and part in node.keys:
                line = node.keys[part]
                node = node.children.get(part)  # type: ignore[assignment]
            elif isinstance(node, _SeqLines) and isinstance(part, int) and 0 <= part < len(
                node.items
            ):
                line = node.items[part]
                node = node.children.get(part)  # type: ignore[assignment]
            else:
                return line, None
        return line, node


def read_simple_yaml(text: bytes) -> YamlDocument | None:
    """The document if it stays inside the subset and has no problem, else None."""
    try:
        source = text.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _OTHER_BREAKS.search(source) or _NON_PRINTABLE.search(source):
        return None
    reader = _Reader(source.split("\n"))
    try:
        return reader.document()
    except (_Decline, RecursionError):
        return None


class _Reader:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.count = len(lines)
        self._constructor = SafeConstructor()

    def document(self) -> YamlDocument:
        start = self._skip(0)
        if start >= self.count:
            raise _Decline
        line = self.lines[start]
        if line[0] == " " or _KEY.match(line) is None:
            raise _Decline  # not a mapping at the top: read_yaml says what is wrong
        data, index, end = self._mapping(start, 0, line)
        if self._skip(end) < self.count:
            raise _Decline
        return YamlDocument(data, {}, [], index=LineIndex(start + 1, index))

    def _skip(self, i: int) -> int:
        """The next line at or after `i` that holds content (not blank, not a comment)."""
        lines, count = self.lines, self.count
        while i < count:
            content = lines[i].lstrip(" ")
            if content and content[0] != "#":
                return i
            i += 1
        return i

    def _mapping(self, i: int, indent: int, first: str) -> tuple[dict[str, Any], _MapLines, int]:
        """The mapping whose first key line is `i` (its content `first`, at `indent`)."""
        lines, result, index = self.lines, {}, _MapLines()
        content = first
        while True:
            match = _KEY.match(content)
            if match is None:
                raise _Decline
            key = match.group(1)
            if key in result:
                raise _Decline  # a duplicate: read_yaml reports it
            index.keys[key] = i + 1
            rest = content[match.end() :]
            if rest and rest[0] != "#":
                result[key] = self._inline(rest, i, index, key)
                i = self._skip(i + 1)
                if i < self.count and _indent(lines[i]) > indent:
                    raise _Decline  # a value over several lines
            else:
                result[key], i = self._block_value(i + 1, indent, index, key)
            if i >= self.count:
                return result, index, i
            line = lines[i]
            depth = _indent(line)
            if depth < indent:
                return result, index, i
            if depth > indent:
                raise _Decline
            content = line[depth:]

    def _block_value(self, i: int, indent: int, parent: _MapLines, key: str) -> tuple[Any, int]:
        """The value of a key written with nothing after its colon."""
        i = self._skip(i)
        if i >= self.count:
            return None, i
        line = self.lines[i]
        depth = _indent(line)
        content = line[depth:]
        if _is_item(content) and depth >= indent:  # `depth == indent`: YAML's indentless list
            value, child, i = self._sequence(i, depth)
        elif depth > indent:
            value, child, i = self._mapping(i, depth, content)
        else:
            return None, i
        parent.children[key] = child
        return value, i

    def _sequence(self, i: int, indent: int) -> tuple[list[Any], _SeqLines, int]:
        lines, count, items, index = self.lines, self.count, [], _SeqLines()
        prefix = " " * indent + "- "
        width = len(prefix)
        while True:  # here lines[i] is an item of this sequence
            start = i
            while i < count and lines[i].startswith(prefix):
                i += 1
            run = [line[width:] for line in lines[start:i]]
            if run and not _SIMPLE_LINES.fullmatch("\n".join(run)):
                simple = 0
                while simple < len(run) and _SIMPLE_ONE.fullmatch(run[simple]):
                    simple += 1
                del run[simple:]
                i = start + simple
            if run:  # the common case: plain one-line items, one per line
                items.extend(v if v[0] not in _TYPED else self._plain(v) for v in run)
                index.items.extend(range(start + 1, i + 1))
            else:
                i = self._item(i, indent, items, index)
            i = self._skip(i)
            if i >= count:
                return items, index, i
            line = lines[i]
            depth = _indent(line)
            if depth < indent:
                return items, index, i
            if depth > indent:
                raise _Decline  # a value over several lines, or a stray indentation
            if not _is_item(line[depth:]):
                return items, index, i

    def _item(self, i: int, indent: int, items: list[Any], index: _SeqLines) -> int:
        """Reads the item on line `i` into `items`; the line after it."""
        rest = self.lines[i][indent + 1 :]
        stripped = rest.lstrip(" ")
        if not stripped or stripped[0] == "#" or _is_item(stripped):
            raise _Decline  # the item on the next line, or a list in a list
        position = len(items)
        index.items.append(i + 1)
        if _KEY.match(stripped):
            column = indent + 1 + len(rest) - len(stripped)
            value, child, end = self._mapping(i, column, stripped)
            index.children[position] = child
            items.append(value)
            return end
        items.append(self._inline(stripped, i, index, position))
        following = self._skip(i + 1)
        if following < self.count and _indent(self.lines[following]) > indent:
            raise _Decline
        return i + 1

    def _inline(self, rest: str, i: int, parent: _MapLines | _SeqLines, key: str | int) -> Any:
        """A value written on its key's or item's line."""
        first = rest[0]
        if first == "'" or first == '"':
            return self._quoted(rest)
        if first == "[":
            return self._flow(rest, i, parent, key)
        value = _cut_comment(rest)
        if (
            first in "?:,]{}#&*!|>%@`"
            or first == "-" and rest[1:2] in ("", " ")
            or ": " in value
            or value.endswith(":")
            or value.startswith("<<")
        ):
            raise _Decline
        return self._plain(value)

    def _quoted(self, rest: str) -> str:
        quote = rest[0]
        if quote == '"':
            end = rest.find('"', 1)
            if end < 0 or "\\" in rest[:end]:
                raise _Decline
            value = rest[1:end]
        else:
            end, parts = 1, []
            while True:
                close = rest.find("'", end)
                if close < 0:
                    raise _Decline
                parts.append(rest[end:close])
                if rest[close + 1 : close + 2] != "'":
                    break
                parts.append("'")
                end = close + 2
            value, end = "".join(parts), close
        tail = rest[end + 1 :].lstrip(" ")
        if tail and tail[0] != "#" or tail and rest[end + 1 : end + 2] != " ":
            raise _Decline
        return value

    def _flow(
        self, rest: str, i: int, parent: _MapLines | _SeqLines, key: str | int
    ) -> list[Any]:
        body = _cut_comment(rest)
        if not body.endswith("]"):
            raise _Decline
        inner = body[1:-1].strip(" ")
        child = _SeqLines()
        parent.children[key] = child  # type: ignore[index]
        if not inner:
            return []
        values = []
        for part in inner.split(","):
            item = part.strip(" ")
            if not _FLOW_ITEM.fullmatch(item):
                raise _Decline
            values.append(self._plain(item))
            child.items.append(i + 1)
        return values

    def _plain(self, value: str) -> Any:
        """A plain scalar, resolved as PyYAML's safe loader resolves it."""
        resolvers = _RESOLVERS.get(value[0] if value else "", [])
        tag = next((t for t, regexp in resolvers + _WILDCARD if regexp.match(value)), None)
        if tag is None:
            return value
        if tag == _STR_TAG:
            return value
        if tag not in _CONSTRUCTABLE:
            raise _Decline
        try:
            return SafeConstructor.yaml_constructors[tag](
                self._constructor, ScalarNode(tag, value)
            )
        except (ConstructorError, ValueError) as exc:
            raise _Decline from exc


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_item(content: str) -> bool:
    return content[:1] == "-" and content[1:2] in ("", " ")


def _cut_comment(rest: str) -> str:
    cut = rest.find(" #")
    return (rest if cut < 0 else rest[:cut]).rstrip(" ")
