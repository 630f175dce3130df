"""A fast reader for the plain block YAML that large manifests are written in.

Composing a 100,000-person manifest with libyaml costs seconds (a Python node
object, mark and resolver call per value). Most manifests use a small part of
YAML: block mappings with plain keys, block sequences, one-line plain or quoted
scalars and one-line flow lists of plain scalars (`targetFace: [1, 2, 3, 4]`).
This reader reads exactly that part, line by line (and the usual block of a
person, its one-line keys and its list of one-line items, with one regular
expression per key), with the same values (PyYAML's own resolver and
constructors decide what a plain scalar means) and the same lines as
yaml_source.read_yaml. It answers None for anything else (anchors,
tags, block scalars, multi-line values, flow mappings, duplicate keys, odd
indentation, ...), and read_yaml then reads the document and reports its
problems: this reader never reports one.
"""

from __future__ import annotations

import functools
import re
from itertools import accumulate
from typing import Any

from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import ScalarNode
from yaml.reader import Reader
from yaml.resolver import Resolver

from .yaml_source import DocPath, YamlDocument, keys_and_items

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
# what an ASCII file may hold: the printable characters and the line feed
_PRINTABLE_ASCII = bytes([10, *range(32, 127)])
# a value on its key's line in _simple_mapping: a plain scalar _SIMPLE would take
# (nor a merge key's `<<`), or a quoted one without escapes
_VALUE = rf"(?!<){_SIMPLE}|'[^'\n]*'|" + r'"[^"\\\n]*"'
_OTHER_BREAKS = re.compile("[\t\r\x85\u2028\u2029\ufeff]")  # tabs, and line breaks YAML knows


class _Decline(Exception):
    """The document leaves the subset: read_yaml reads it."""


class _MapLines:
    __slots__ = ("keys", "children")

    def __init__(self) -> None:
        self.keys: dict[str, int] = {}
        self.children: dict[str, _MapLines | _SeqLines | _Simple] = {}


class _Simple:
    """The lines of a block _simple_mapping read, from its data: each key on the
    line after the one before and its items, each item on a line of its own (two
    numbers a person instead of two dicts)."""

    __slots__ = ("line", "data")

    def __init__(self, line: int, data: dict[str, Any]) -> None:
        self.line = line  # of its first key
        self.data = data

    def key(self, key: str) -> tuple[int, range | None] | None:
        """The line of `key` and those of its items (None: a scalar), or None."""
        line = self.line
        for name, value in self.data.items():
            items = type(value) is list
            if name == key:
                return line, range(line + 1, line + 1 + len(value)) if items else None
            line += 1 + len(value) if items else 1
        return None


class _SeqLines:
    __slots__ = ("items", "children")

    def __init__(self) -> None:
        self.items: list[int] = []
        self.children: dict[int, _MapLines | _SeqLines] = {}


# The lines of a list of one-line items on consecutive lines (the usual `faces`
# list): a range instead of a _SeqLines.
_Node = _MapLines | _SeqLines | _Simple | range | None


class LineIndex:
    """The line of every key and item, kept as a tree beside the data (a dict
    keyed by every path costs more than the whole read)."""

    def __init__(self, root_line: int, root: _Node) -> None:
        self.root_line = root_line
        self.root = root

    def below(self, path: DocPath) -> LineIndex:
        return LineIndex(*self._walk(path))

    def keys_and_items(
        self, keys: list[str], name: str, counts: list[int]
    ) -> tuple[list[int], list[int]]:
        """The usual case straight from the tree: keys of this mapping whose `name`
        items lie on consecutive lines (a range), as _simple_mapping records them."""
        root = self.root
        if not isinstance(root, _MapLines):
            return keys_and_items(self, keys, name, counts)
        key_lines, children = root.keys, root.children
        found = list(map(key_lines.get, keys))
        items: list[int] = []
        for key, count in zip(keys, counts, strict=True):
            child = children.get(key)
            entry = child.key(name) if isinstance(child, _Simple) else None
            if entry is not None and entry[1] is not None and len(entry[1]) >= count:
                items += entry[1][:count]
            else:
                items += self.list_lines((key, name), count)[1]
        if None in found:
            return [self.line_of((key,)) for key in keys], items
        return found, items  # type: ignore[return-value]

    def list_lines(self, path: DocPath, count: int) -> tuple[int, list[int]]:
        line, node = self._walk(path)
        if isinstance(node, range):
            found = list(node[:count])
        else:
            found = node.items[:count] if isinstance(node, _SeqLines) else []
        return line, found + [line] * (count - len(found))

    def line_of(self, path: DocPath) -> int:
        return self._walk(path)[0]

    def _walk(self, path: DocPath) -> tuple[int, _Node]:
        line: int = self.root_line
        node: _Node = self.root
        for part in path:
            if isinstance(node, _MapLines) and isinstance(part, str) and part in node.keys:
                line = node.keys[part]
                node = node.children.get(part)
            elif isinstance(node, _Simple) and isinstance(part, str) and part in node.data:
                line, node = node.key(part)  # type: ignore[misc]
            elif isinstance(node, range) and isinstance(part, int) and 0 <= part < len(node):
                return node[part], None  # a one-line item: nothing below it
            elif isinstance(node, _SeqLines) and isinstance(part, int) and 0 <= part < len(
                node.items
            ):
                line = node.items[part]
                node = node.children.get(part)
            else:
                return line, None
        return line, node


def read_simple_yaml(text: bytes) -> YamlDocument | None:
    """The document if it stays inside the subset and has no problem, else None."""
    try:
        source = text.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.isascii():  # the usual file: one C pass over its bytes instead of two regexes
        if text.translate(None, _PRINTABLE_ASCII):
            return None
    elif _OTHER_BREAKS.search(source) or _NON_PRINTABLE.search(source):
        return None
    reader = _Reader(source)
    try:
        return reader.document()
    except (_Decline, RecursionError):
        return None


class _Reader:
    def __init__(self, source: str) -> None:
        self.lines = source.split("\n")
        self.count = len(self.lines)
        self._constructor = SafeConstructor()
        # the text again, for regular expressions that read many lines at once, and
        # where each line starts in it
        self.text = source if source.endswith("\n") else source + "\n"
        self.starts = list(accumulate(map((1).__add__, map(len, self.lines)), initial=0))
        self._simple_indent = 0  # that of the last block _simple_mapping read
        self._simple_tries: dict[int, tuple[int, int]] = {}  # (read, left) by indentation

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
                if isinstance(index.children.get(key), _Simple):  # likely its siblings too
                    i = self._simple_siblings(i, indent, result, index)
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
            simple = self._simple_mapping(i, depth) if self._worth_trying(depth) else None
            if simple is None:
                value, child, i = self._mapping(i, depth, content)
            else:
                value, child, i = simple
        else:
            return None, i
        parent.children[key] = child
        return value, i

    def _worth_trying(self, indent: int) -> bool:
        """Whether _simple_mapping is still tried at `indent`: not once its blocks
        there mostly hold more than it reads (a small manifest of long-form faces)."""
        hits, misses = self._simple_tries.get(indent, (0, 0))
        return misses <= hits + 2

    def _simple_siblings(
        self, i: int, indent: int, result: dict[str, Any], index: _MapLines
    ) -> int:
        """Reads the keys from line `i` on whose values are blocks _simple_mapping reads
        at the indentation of the one before (the persons of a group, one after the
        other) into `result`; the line after them, where _mapping goes on."""
        key_line = _key_line_pattern(indent)
        text, starts, count = self.text, self.starts, self.count
        depth = self._simple_indent
        while i < count and (match := key_line.match(text, starts[i])) is not None:
            key = match.group(1)
            simple = self._simple_mapping(i + 1, depth) if key not in result else None
            if simple is None:
                break  # _mapping reads it, and says what is wrong
            index.keys[key] = i + 1
            result[key], index.children[key], i = simple
        return i

    def _simple_mapping(self, i: int, indent: int) -> tuple[dict[str, Any], _Simple, int] | None:
        """_mapping() of the usual block of a person (`name: ...`, `faces:` and its
        items, one line each, nothing else): a regular expression per key instead of
        a call per line. None when the block holds anything more (then _mapping reads it)."""
        entry = _entry_pattern(indent)
        text, pos, line = self.text, self.starts[i], i + 1
        result: dict[str, Any] = {}
        while (match := entry.match(text, pos)) is not None:
            key, value, run, items_indent = match.groups()
            if key in result:
                return None  # a duplicate: read_yaml reports it
            if run is None:
                first = value[0]
                if first == "'" or first == '"':
                    value = value[1:-1]
                elif first in _TYPED:
                    value = self._plain(value)
                result[key] = value
                line += 1
            else:
                prefix = f"\n{items_indent}- "
                items = run[len(prefix) : -1].split(prefix)
                if _typed_item(items_indent).search(run):
                    items = [v if v[0] not in _TYPED else self._plain(v) for v in items]
                result[key] = items
                line += 1 + len(items)
            pos = match.end()
        end = self._skip(line - 1)
        hits, misses = self._simple_tries.get(indent, (0, 0))
        if not result or end < self.count and _indent(self.lines[end]) >= indent:
            self._simple_tries[indent] = hits, misses + 1
            return None
        self._simple_tries[indent] = hits + 1, misses
        self._simple_indent = indent
        return result, _Simple(i + 1, result), end

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


@functools.cache
def _entry_pattern(indent: int) -> re.Pattern[str]:
    """One key of a block mapping at `indent`: `key: value` or `key:` with one-line
    plain items on the lines below it (at `indent` or deeper, all at one indentation)."""
    spaces, key = " " * indent, r"[A-Za-z0-9_.][A-Za-z0-9_.-]*"
    items = rf"( {{{indent},}})- {_SIMPLE}\n(?:\4- {_SIMPLE}\n)*"
    return re.compile(rf"{spaces}({key}):(?: +({_VALUE})\n|(\n{items}))")


@functools.cache
def _key_line_pattern(indent: int) -> re.Pattern[str]:
    """A line that holds only a key at `indent` and its colon."""
    return re.compile(rf"{' ' * indent}([A-Za-z0-9_.][A-Za-z0-9_.-]*):\n")


@functools.cache
def _typed_item(spaces: str) -> re.Pattern[str]:
    """An item at the indentation `spaces` whose first character may make it more
    than text (a number, a boolean, null...)."""
    return re.compile(f"\n{spaces}- [{re.escape(''.join(sorted(_TYPED)))}]")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_item(content: str) -> bool:
    return content[:1] == "-" and content[1:2] in ("", " ")


def _cut_comment(rest: str) -> str:
    cut = rest.find(" #")
    return (rest if cut < 0 else rest[:cut]).rstrip(" ")
