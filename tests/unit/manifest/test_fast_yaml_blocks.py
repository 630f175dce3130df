"""fast_yaml's reading of whole person blocks at once (a key, its scalars and its
list of items) gives read_yaml's values, types and lines, or leaves the file to it."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from facesync.manifest.fast_yaml import read_simple_yaml
from facesync.manifest.yaml_source import DocPath, read_yaml

SCALARS = [
    "Person 1", "'quoted'", '"double"', "''", "'it''s'", '"a\\tb"', "007", "true", "~", "null",
    "1.5", "2001-12-14", "x # comment", "a: b", "http://x", "x#y", "-3", "- x", "<<", "=",
    "[1, 2]", "{}", "&a x", "*a", "!!str 1", "|", "a   b", "trailing ", "é", "Tom & Jerry",
]
ITEMS = [
    "faces/a.jpg", "faces/*.png", "'q.jpg'", "1", "yes", "null", "- nested", "a: b", "[1, 2]",
    "x # c", "~", ".inf", "path with spaces.jpg", "-1", "%x", "é.jpg",
]
KEYS = ["name", "userData", "faces", "007", "true", "a.b", "name"]  # "name" twice: a duplicate


@st.composite
def blocks(draw: st.DrawFn) -> str:
    """A mapping of persons, each a block of scalars and lists, with the odd blank
    line, comment and indentation YAML allows (or does not)."""
    step = draw(st.sampled_from([2, 2, 2, 4, 1]))
    lines = ["version: 1", "persons:"]
    for person in range(draw(st.integers(1, 4))):
        indent = " " * step
        lines.append(f"{indent}p{person}:" + draw(st.sampled_from(["", "", " # c", " "])))
        inner = indent + " " * draw(st.sampled_from([step, step, step + 1]))
        for key in draw(st.lists(st.sampled_from(KEYS), min_size=0, max_size=3)):
            if draw(st.booleans()):
                lines.append(f"{inner}{key}: {draw(st.sampled_from(SCALARS))}")
            else:
                lines.append(f"{inner}{key}:")
                deeper = inner + " " * draw(st.sampled_from([0, 2, 2, 3]))
                for _ in range(draw(st.integers(0, 3))):
                    lines.append(f"{deeper}- {draw(st.sampled_from(ITEMS))}")
                    if draw(st.integers(0, 9)) == 0:
                        lines.append(draw(st.sampled_from(["", f"{deeper}# c", "  # c"])))
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.sampled_from(["", "# between", f"{indent} odd: 1"])))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


def _paths(data: Any, path: DocPath = ()) -> list[DocPath]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*path, index))
    return found


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=400, deadline=None)
@given(blocks())
def test_person_blocks_read_as_read_yaml_reads_them(text: str) -> None:
    fast, slow = read_simple_yaml(text.encode()), read_yaml(text.encode())
    if fast is None:
        return  # left to read_yaml, which reads or refuses it
    assert not slow.problems
    assert _same(fast.data, slow.data)
    for path in _paths(slow.data):
        assert fast.line_of(path) == slow.line_of(path), path
        assert fast.line_of((*path, "deeper", 3)) == slow.line_of((*path, "deeper", 3))
    persons = fast.data.get("persons")
    if isinstance(persons, dict):
        keys = list(persons)
        counts = [4] * len(keys)
        assert fast.below(("persons",)).keys_and_items(keys, "faces", counts) == (
            slow.below(("persons",)).keys_and_items(keys, "faces", counts)
        )


def test_a_plain_gallery_is_read_by_the_fast_reader() -> None:
    """Not a vacuous property: the usual block shape stays inside the subset."""
    text = (
        "version: 1\ngroups:\n  g:\n    name: G\n    persons:\n"
        + "".join(
            f"      p{i}:\n        name: Person {i}\n        userData: 'x'\n        faces:\n"
            f"          - faces/p{i}/a.jpg\n          - faces/p{i}/b.jpg\n"
            for i in range(3)
        )
    )
    fast = read_simple_yaml(text.encode())
    assert fast is not None
    assert fast.data == read_yaml(text.encode()).data
    assert fast.below(("groups", "g", "persons")).keys_and_items(
        ["p0", "p2"], "faces", [2, 3]
    ) == ([6, 18], [10, 11, 22, 23, 21])  # a missing item: the line of its list
