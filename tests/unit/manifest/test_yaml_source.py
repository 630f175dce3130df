"""The YAML layer: safe loading, line numbers, duplicate keys, aliases."""

from __future__ import annotations

import time

import pytest

from facesync.errors import ManifestError
from facesync.manifest.load import load_manifest
from facesync.manifest.yaml_source import ALIAS_EXPANSION_MAX, read_yaml

from .support import one_person, write_image, write_manifest


def _problems(text: str) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in read_yaml(text.encode()).problems]


def test_values_remember_the_line_of_their_key_or_item() -> None:
    doc = read_yaml(b"version: 1\ngroups:\n  staff:\n    persons:\n      - a\n      -\n        b\n")
    assert doc.lines[("groups", "staff", "persons")] == 4
    assert doc.lines[("groups", "staff", "persons", 0)] == 5
    assert doc.lines[("groups", "staff", "persons", 1)] == 7
    assert doc.line_of(("groups", "staff", "nowhere", 3)) == 3


def test_a_duplicate_key_is_an_error_that_names_both_lines() -> None:
    assert _problems("a: 1\nb: 2\na: 3\n") == [
        (3, "duplicate key 'a' (first on line 1): keep only one")
    ]


def test_the_first_of_two_duplicate_keys_is_kept() -> None:
    assert read_yaml(b"a: 1\na: 2\n").data == {"a": 1}


def test_keys_keep_their_text_as_written() -> None:
    assert read_yaml(b"007: x\ntrue: y\n1.5: z\n").data == {"007": "x", "true": "y", "1.5": "z"}


def test_a_key_that_is_a_list_is_an_error() -> None:
    assert _problems("? [a, b]\n: 1\n") == [
        (1, "a key must be plain text, not a list or mapping: rewrite it")
    ]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: 1\n b: 2\n", 2, "invalid YAML: mapping values are not allowed"),
        ("a: [1, 2\n", 2, "invalid YAML:"),
        ("a: 1\n---\nb: 2\n", 2, "the file holds more than one YAML document"),
        ("", 1, "the manifest is empty: start it with 'version: 1' and 'groups:'"),
        ("# only a comment\n", 1, "the manifest is empty"),
        ("a: *nowhere\n", 1, "invalid YAML: found undefined alias"),
        ("a:\n  b: 1\n\tc: 2\n", 3, "invalid YAML: tabs cannot indent YAML: use spaces"),
        ("a: &x 1\nb: &x 2\n", 2, "the same anchor is defined twice (first on line 1)"),
    ],
)
def test_unreadable_yaml_is_one_fatal_problem(text: str, line: int, message: str) -> None:
    doc = read_yaml(text.encode())
    assert doc.fatal and doc.data is None
    [problem] = doc.problems
    assert problem.line == line
    assert problem.message.startswith(message)


def test_bytes_that_are_not_utf8_are_a_clear_error() -> None:
    [problem] = read_yaml(b"a: \xff\xfe\n").problems
    assert (problem.line, problem.message) == (
        1,
        "the file holds a character YAML does not allow (invalid leading UTF-8 octet): "
        "remove it, and save the file as UTF-8 text",
    )


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object:os.system {}\n",
        "a: !!python/name:os.system ''\n",
        "a: !custom x\n",
        "a: !!set {x, y}\n",
    ],
)
def test_unsafe_and_unknown_tags_are_refused(text: str) -> None:
    [(line, message)] = _problems(text)
    assert line == 1
    assert message.startswith("the YAML tag '") and message.endswith(
        "is not supported here: remove it"
    )


def test_aliases_share_content_and_their_lines() -> None:
    doc = read_yaml(b"a: &x\n  k: 1\nb: *x\n")
    assert doc.data == {"a": {"k": 1}, "b": {"k": 1}}
    assert doc.data["a"] is not doc.data["b"]
    assert doc.lines[("b", "k")] == 2


def test_merge_keys_fill_in_what_the_mapping_leaves_out() -> None:
    doc = read_yaml(b"base: &b\n  x: 1\n  y: 2\nitem:\n  <<: *b\n  y: 3\n")
    assert doc.data["item"] == {"x": 1, "y": 3}
    assert doc.lines[("item", "x")] == 2
    assert doc.lines[("item", "y")] == 6


def test_a_merge_of_something_other_than_a_mapping_is_an_error() -> None:
    assert _problems("item:\n  <<: 5\n") == [
        (2, "'<<' must refer to a mapping or a list of mappings: fix the merge")
    ]


def test_a_problem_inside_an_anchor_is_reported_once() -> None:
    problems = _problems("a: &x {k: 1, k: 2}\nb: *x\nc: *x\n")
    assert problems == [(1, "duplicate key 'k' (first on line 1): keep only one")]


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_an_alias_bomb_fails_fast(tmp_path) -> None:
    manifest = write_manifest(tmp_path, BILLION_LAUGHS)
    start = time.perf_counter()
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest)
    # Generous bound: unbounded expansion would take hours and gigabytes.
    assert time.perf_counter() - start < 5
    [diagnostic] = caught.value.diagnostics
    assert f"aliases expand to more than {ALIAS_EXPANSION_MAX:,} values" in diagnostic.message


def test_a_recursive_alias_is_refused() -> None:
    [(line, message)] = _problems("a: &a [1, *a]\n")
    assert line == 1
    assert message == "an alias refers to a node that contains it: remove the loop"


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    doc = read_yaml(("a: " + "[" * 990 + "]" * 990 + "\n").encode())
    assert doc.fatal
    assert "nests too deeply" in doc.problems[0].message or "nesting" in doc.problems[0].message


def test_faces_may_be_shared_through_an_alias(tmp_path) -> None:
    write_image(tmp_path, "faces/a.png", seed=1)
    write_image(tmp_path, "faces/b.png", seed=2)
    text = one_person("- &shared faces/a.png") + (
        "      bob:\n        faces:\n          - *shared\n          - faces/b.png\n"
    )
    manifest = load_manifest(write_manifest(tmp_path, text))
    alice, bob = manifest.groups[0].persons
    assert alice.faces[0].sha256 in {f.sha256 for f in bob.faces}


def test_the_pure_python_loader_gives_the_same_result(monkeypatch) -> None:
    import yaml

    from facesync.manifest import yaml_source

    text = b"a: &x\n  k: [1, 2]\nb: *x\nc: {d: 1, d: 2}\ne: !!python/object:x {}\n"
    fast = read_yaml(text)
    monkeypatch.setattr(yaml_source, "_Loader", yaml.SafeLoader)
    slow = read_yaml(text)
    assert (slow.data, slow.lines, slow.problems) == (fast.data, fast.lines, fast.problems)
    assert read_yaml(BILLION_LAUGHS.encode()).fatal
