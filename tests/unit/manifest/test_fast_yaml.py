"""fast_yaml reads the plain part of YAML exactly as yaml_source.read_yaml does
(the same values, types and lines) and leaves everything else to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from facesync.manifest.fast_yaml import read_simple_yaml
from facesync.manifest.yaml_source import read_yaml

REPO = Path(__file__).resolve().parents[3]

READ = [
    "version: 1\ngroups:\n  staff:\n    name: Staff\n    persons:\n      alice:\n"
    "        faces:\n          - faces/a.jpg\n          - faces/*.png\n",
    "a: 1\nb: true\nc: ~\nd: null\ne:\nf: 1.5\ng: 2001-12-14\nh: yes\ni: '007'\nj: \"x y\"\n"
    "k: 0o17\nl: 0x1f\nm: .inf\nn: -3\no: 1_000\np: 12:30:00\nq: off\nr: N\n",
    "a:\n- x\n- y\nb: 2\n",
    "a:\n  - x\n  - 'y'\n  - \"z\"\n  - [1, 2, 3, 4]\n  - path: p\n    targetFace: [1, 2, 3, 4]\n"
    "    userData: u # c\n  - q\n",
    "a: 1 # comment\n# full comment\n\n  # indented comment\nb: x#y\nc: http://x\n",
    "a: 'it''s'\nb: ''\nc: \"\"\nd: 'a' # c\ne: \"it's\" \n",
    "a: []\nb: [a b, c]\nc: [-1, +2, 3]\n",
    "a:\n  b:\n    c:\n      - d\n      - e\n  f: g\n",
    "a:\n  - x\n  -  y\n  -   z: 1\n      w: 2\n",
    "a:\n  - x\n   # c\n  - y\n",
    "a:\n  - x\n\n  - y\nb: 1\n",
    "a:   x   \nb: x \nc:\n  - x \n",
    "007: x\ntrue: y\n1.5: z\n",
    "a: Tom & Jerry\n",
    "\n\na: 1",
]
DECLINED = [
    "a: b: c\n", "a: - b\n", "a: &x 1\nb: *x\n", "a: !!str 1\n", "a: |\n  x\n", "a: x\n  y\n",
    "a:\n  b: 1\n c: 2\n", "a: 1\na: 2\n", "- a\n- b\n", "a: [1, 2\n", "a: 'x'y\n",
    'a: "x\\ny"\n', "a:\n-\n  b\n", "a:\n  - - b\n", "<<: {a: 1}\n", "a: <<\n", "a: =\n",
    "---\na: 1\n", "a: 1\n...\n", "a: [a, b, ]\n", "a: {}\n", "a: 2001-13-45\n", "a: 'a'#c\n",
    "a:\n- x\n  - y\n", "a: {x}\n", "a: x:\n", "a: 'x\n  y'\n", "a:\n  - 1\n  -\n", "a: @x\n",
    "a:\n  - b: 1\n  c: 2\n", "a:\n  - b: 1\n    - c\n", "a: b\u0085c\n", "a:\n  - x\n- y\n",
    "a:\n    - x\n  b: 1\n", " a: 1\n", "a:\tb\n", "a: 1\r\n", "", "# only a comment\n",
    "\ufeffa: 1\n",
]


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (True is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _assert_reads_as_read_yaml(text: bytes) -> None:
    fast, slow = read_simple_yaml(text), read_yaml(text)
    assert fast is not None and not slow.problems
    assert _same(fast.data, slow.data)
    for path, line in slow.lines.items():
        assert fast.line_of(path) == line, path
    for path in [("nowhere",), *[(*p, "deeper", 7) for p in slow.lines]]:
        assert fast.line_of(path) == slow.line_of(path), path


@pytest.mark.parametrize("text", READ)
def test_the_plain_part_reads_as_read_yaml_reads_it(text: str) -> None:
    _assert_reads_as_read_yaml(text.encode())


@pytest.mark.parametrize("text", DECLINED)
def test_everything_else_is_left_to_read_yaml(text: str) -> None:
    assert read_simple_yaml(text.encode()) is None


def test_the_example_manifest_reads_as_read_yaml_reads_it() -> None:
    _assert_reads_as_read_yaml((REPO / "manifests" / "example.yaml").read_bytes())


def test_item_lines_are_given_at_once() -> None:
    text = b"a:\n  - x\n\n  - y\n  - z: 1\n"
    fast, slow = read_simple_yaml(text), read_yaml(text)
    assert fast is not None
    assert fast.list_lines(("a",), 4) == slow.list_lines(("a",), 4) == (1, [2, 4, 5, 1])
