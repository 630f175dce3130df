"""Help that lists what a command uses, destroy in its own words, and show
with the manifest's names, through the real CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from .conftest import Project, _base_env, people

COMMANDS = ("validate", "plan", "apply", "show", "destroy", "identify", "faces", "init",
            "serve", "force-unlock")  # fmt: skip
OPTION = re.compile(r"^  (-\w, )?(--[\w-]+)")


def _help(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "facesync", *args, "--help"], env=_base_env(),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def _options(text: str) -> set[str]:
    return {m.group(2) for line in text.splitlines() if (m := OPTION.match(line))}


@pytest.mark.parametrize(
    ("command", "used", "not_used"),
    [
        ("serve", {"--key-file", "--tier", "--debug", "--port"},
         {"--manifest", "--lock", "--endpoint", "--allow-outside", "--quiet"}),
        ("validate", {"--manifest", "--allow-outside", "--quiet", "--no-color"},
         {"--lock", "--endpoint", "--key-file", "--tier"}),
        ("show", {"--json", "--manifest", "--lock"}, {"--endpoint", "--key-file", "--tier"}),
        ("faces", {"--json", "--quiet", "--no-color", "--debug"}, {"--manifest", "--lock"}),
        ("init", {"--manifest", "--quiet"}, {"--lock", "--endpoint", "--allow-outside"}),
        ("force-unlock", {"--manifest", "--lock"}, {"--endpoint", "--tier", "--allow-outside"}),
        ("apply", {"--parallelism", "--endpoint", "--key-file", "--no-color", "--quiet"}, set()),
    ],
)
def test_each_command_lists_only_the_options_it_uses(
    command: str, used: set[str], not_used: set[str]
) -> None:
    listed = _options(_help(command))
    assert used <= listed, listed
    assert not (not_used & listed), not_used & listed


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_a_line_of_help_and_the_command_an_example(command: str) -> None:
    text = _help(command)
    options = text.split("\nOptions:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    for line in options:
        if OPTION.match(line):
            name_column = re.match(r"^  \S.*?(  +)\S", line)
            assert name_column, f"{command}: no help for {line.strip()!r}"
    assert "Examples:" in text and f"facesync {command}" in text


def _option_help(text: str, option: str) -> str:
    """The help column of `option`, its continuation lines joined."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if OPTION.match(line) and option in line)
    block = [lines[start]] + [x for x in lines[start + 1 :] if x.startswith("      ")][:3]
    return " ".join(" ".join(block).split()).split(option, 1)[1]


@pytest.mark.parametrize(
    ("command", "option", "words"),
    [("apply", "--parallelism", "Calls at once"), ("destroy", "--parallelism", "Calls at once"),
     ("show", "--json", "as JSON"), ("identify", "--json", "as JSON")],
)
def test_the_options_that_had_no_help_have_some_now(command: str, option: str, words: str):
    assert words in _option_help(_help(command), option)


def test_a_global_option_where_it_means_nothing_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "facesync", "serve", "--manifest", "x.yaml"], env=_base_env(),
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "No such option" in result.stderr and "--manifest" in result.stderr
    assert "Traceback" not in result.stderr


# --- destroy's wording, show's names -----------------------------------------------------


@pytest.fixture
def gallery(project: Project, small_faces: Path, gid: str) -> Project:
    obama = [project.add_photo("obama", p) for p in people(small_faces, "barack_obama")[:3]]
    biden = [project.add_photo("biden", p) for p in people(small_faces, "joe_biden")[:1]]
    with Image.open(project.root / biden[0]) as img:
        whole = [0, 0, img.width, img.height]
    project.write_manifest({gid: {"name": "Leaders", "persons": {
        "obama": {"name": "Barack Obama", "faces": obama},
        "biden": {"name": "Joe Biden", "faces": [{"path": biden[0], "targetFace": whole}]},
    }}})  # fmt: skip
    project.whole = whole  # type: ignore[attr-defined]
    project.gid = gid  # type: ignore[attr-defined]
    applied = project.cli("apply", "--yes")
    assert applied.code == 0, applied.err
    return project


def test_destroy_says_what_goes_with_the_group_and_ends_in_its_own_words(
    gallery: Project,
) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    result = gallery.cli("destroy", "--yes")
    assert result.code == 0, result.err
    assert f"- {gid}  (destroy: 2 persons, 4 faces)" in result.out.splitlines()
    assert "Destroy complete! Resources: 1 group, 2 persons, 4 faces destroyed." in result.out
    for apply_words in ("not in the manifest", "Apply complete!", "No changes."):
        assert apply_words not in result.out
    again = gallery.cli("destroy", "--yes")
    assert again.code == 0, again.err
    assert again.out.rstrip().endswith("\n\nNothing to destroy.") or again.out.strip() == (
        "Nothing to destroy."
    )  # after the server's other groups, listed as unmanaged (the emulator is shared)
    assert "No changes" not in again.out and "- " not in again.out


def test_destroying_one_person_counts_its_faces(gallery: Project) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    result = gallery.cli("destroy", "--yes", "--target", f"{gid}/obama")
    assert result.code == 0, result.err
    assert f"- {gid}/obama  (destroy: 3 faces)" in result.out.splitlines()
    assert "Destroy complete! Resources: 0 groups, 1 person, 3 faces destroyed." in result.out
    assert f"Training of {gid}: succeeded." in result.out


def test_show_names_everyone_from_the_manifest_and_shows_target_faces(gallery: Project) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    lock = gallery.lock_json()
    result = gallery.cli("show")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == (
        f"facesync.lock.json: version {lock['serial']} of this lock, endpoint "
        f"{lock['endpoint']}; names from facesync.yaml."
    )
    assert "serial" not in result.out
    assert any(line.startswith(f'{gid} "Leaders"  personGroup') for line in lines), lines
    assert any(line.startswith('  obama "Barack Obama"  personId ') for line in lines)
    box = ", ".join(str(n) for n in gallery.whole)  # type: ignore[attr-defined]
    assert any(line.startswith("    faces/biden/") and line.endswith(f", targetFace [{box}]")
               for line in lines), lines  # fmt: skip


def test_show_marks_what_the_manifest_no_longer_has_and_works_without_it(
    gallery: Project,
) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    doc = gallery.manifest.read_text()
    gallery.write_manifest({gid: {"name": "Leaders (new)", "persons": {}}})
    result = gallery.cli("show")
    assert result.code == 0, result.err
    assert f'{gid} "Leaders (new)" (not applied yet)  personGroup' in result.out
    assert "  biden (not in the manifest: no name)  personId " in result.out
    gallery.manifest.unlink()
    bare = gallery.cli("show")
    assert bare.code == 0, bare.err
    assert "no names (no manifest at facesync.yaml)." in bare.out.splitlines()[0]
    assert "  obama  personId " in bare.out
    gallery.manifest.write_text(doc)


def test_show_json_keeps_its_keys_and_adds_target_faces(gallery: Project) -> None:
    gid = gallery.gid  # type: ignore[attr-defined]
    doc = json.loads(gallery.cli("show", "--json").out)
    assert set(doc) == {"endpoint", "serial", "groups"}
    group = doc["groups"][gid]
    assert {"kind", "recognitionModel", "trainingStatus", "needsTraining", "persons"} <= set(
        group)  # fmt: skip
    face = group["persons"]["biden"]["faces"][0]
    assert {"path", "sha256", "persistedFaceId"} <= set(face)
    assert face["targetFace"] == gallery.whole  # type: ignore[attr-defined]


def test_global_options_still_work_before_and_after_the_command(gallery: Project) -> None:
    (gallery.root / "facesync.lock.json").rename(gallery.root / "other.lock.json")
    for args in (("--lock", "other.lock.json", "show"), ("show", "--lock", "other.lock.json")):
        result = gallery.cli(*args)
        assert result.code == 0, result.err
        assert result.out.startswith("other.lock.json: version ")
