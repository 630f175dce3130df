"""The loader's fast lane (many persons' photos stat-ed, looked up and built at once)
gives exactly what the one-face-at-a-time path gives: the same model, the same
diagnostics and the same hash cache, cold and warm, whatever a gallery holds."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facesync.errors import FacesyncError, ManifestError
from facesync.manifest import load as load_module
from facesync.manifest.faces import FaceChecker
from facesync.manifest.load import load_manifest
from facesync.workspace import hash_cache_path

from .support import PAST_NS, age, noise_image

BYTES = [noise_image(seed=seed) for seed in range(3)]  # distinct photos; "b2" repeats 0's
FILES = {"a.png": 0, "b.png": 1, "c.jpg": 2, "b2.png": 0}
# What a `faces` entry can be: plain paths (good, missing, to normalise, a folder,
# a symlink in or out, the same bytes again), globs, and the long form.
ENTRIES = [
    "faces/a.png", "faces/b.png", "faces/c.jpg", "faces/b2.png", "faces/missing.png",
    "./faces/a.png", "faces//b.png", "faces/sub.png", "faces/in.png", "out/a.png",
    "faces/*.png", "faces/[ab].png", "faces/*.gif", "/etc/passwd", "../m/faces/a.png",
    {"path": "faces/c.jpg", "userData": "u"}, {"path": "faces/a.png", "detectionModel":
                                               "detection_01"},
]
# What a person folder of personsFrom can hold besides photos
EXTRAS = ["hidden", "text", "subfolder", "symlink", "empty-file", "copy"]


@st.composite
def galleries(draw: st.DrawFn) -> dict[str, Any]:
    persons = draw(st.dictionaries(
        st.sampled_from(["p1", "p2", "p3", "shared"]),
        st.lists(st.sampled_from(range(len(ENTRIES))), min_size=1, max_size=4),
        max_size=3,
    ))
    folders = draw(st.dictionaries(
        st.sampled_from(["f1", "f2", "f3", "shared"]),
        st.tuples(
            st.lists(st.sampled_from(sorted(FILES)), unique=True, max_size=3),
            st.lists(st.sampled_from(EXTRAS), unique=True, max_size=2),
        ),
        max_size=3,
    ))
    return {
        "persons": persons,
        "folders": folders if draw(st.booleans()) else None,
        "racy": draw(st.sets(st.sampled_from(sorted(FILES)), max_size=2)),  # just written
    }


def _build(root: Path, gallery: dict[str, Any]) -> Path:
    """The gallery under root/m, with root/out beside it (outside the manifest's folder)."""
    folder, outside = root / "m", root / "out"
    (folder / "faces" / "sub.png").mkdir(parents=True)
    outside.mkdir()
    for name, index in FILES.items():
        (folder / "faces" / name).write_bytes(BYTES[index])
        (outside / name).write_bytes(BYTES[index])
        age(outside / name)
        if name not in gallery["racy"]:
            age(folder / "faces" / name)
    os.symlink(folder / "faces" / "a.png", folder / "faces" / "in.png")
    os.symlink(outside, folder / "out")
    lines = ["version: 1", "groups:", "  staff:", "    name: Staff"]
    if gallery["persons"]:
        lines.append("    persons:")
    for key, entries in gallery["persons"].items():
        lines += [f"      {key}:", f"        name: Person {key}", "        faces:"]
        lines += [f"          - {json.dumps(ENTRIES[i])}" for i in entries]
    if gallery["folders"] is not None:
        lines += ["    personsFrom:", "      folder: people"]
        (folder / "people").mkdir()
        for key, (names, extras) in gallery["folders"].items():
            _person_folder(folder / "people" / key, names, extras)
    manifest = folder / "facesync.yaml"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def _person_folder(path: Path, names: list[str], extras: list[str]) -> None:
    path.mkdir()
    for name in names:
        shutil.copyfile(path.parent.parent / "faces" / name, path / name)
        age(path / name, PAST_NS)
    if "hidden" in extras:
        (path / ".hidden.png").write_bytes(BYTES[1])
        age(path / ".hidden.png")
    if "text" in extras:
        (path / "notes.txt").write_text("not a photo")
    if "subfolder" in extras:
        (path / "raw.png").mkdir()
    if "symlink" in extras:
        os.symlink(path.parent.parent / "faces" / "c.jpg", path / "link.jpg")
    if "empty-file" in extras:
        (path / "empty.png").write_bytes(b"")
    if "copy" in extras and names:
        shutil.copyfile(path / names[0], path / "again.png")
        age(path / "again.png")


@contextmanager
def _one_at_a_time() -> Iterator[None]:
    """Every person through the general path: the fast lane takes none."""

    def none_listed(self: FaceChecker, written: list, lines: list, ends: list) -> list:
        return [None] * len(ends)

    def none_folders(self: Any, folders: list, line: int) -> list:
        return [None] * len(folders)

    with mock.patch.object(FaceChecker, "listed_faces", none_listed), mock.patch.object(
        load_module._ModelBuilder, "_folder_batch", none_folders
    ):
        yield


def _outcome(manifest: Path) -> tuple[Any, Any]:
    """What a load gives (the model, or every diagnostic) and the hash cache it leaves."""
    try:
        result: Any = load_manifest(manifest)
    except ManifestError as exc:
        result = [str(d) for d in exc.diagnostics]
    except FacesyncError as exc:
        result = str(exc)
    cache = hash_cache_path(manifest.parent)
    return result, json.loads(cache.read_text()) if cache.exists() else None


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(galleries())
def test_the_fast_lane_gives_what_the_general_path_gives(gallery: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        manifest = _build(Path(scratch), gallery)
        cache = hash_cache_path(manifest.parent)
        with _one_at_a_time():
            cold = _outcome(manifest)
        cache.unlink(missing_ok=True)
        assert _outcome(manifest) == cold  # cold: the lane leaves each uncached photo
        warm = _outcome(manifest)  # the cache now holds what the first load stored
        with _one_at_a_time():
            assert _outcome(manifest) == warm
        assert warm[0] == cold[0]
        _outcome(_every_file(manifest.parent))  # a cache that knows more than is asked
        with _one_at_a_time():
            known = _outcome(manifest)
        assert _outcome(manifest) == known
        assert known[0] == cold[0]


def _every_file(folder: Path) -> Path:
    """A manifest beside `folder`'s that lists each of its regular files (hidden ones
    and those of no person too): its load caches every photo."""
    files = sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*")
        if p.is_file() and not p.is_symlink() and ".facesync" not in p.parts
    )
    lines = ["version: 1", "groups:", "  every:", "    name: Every", "    persons:"]
    for i, path in enumerate(files):
        lines += [f"      f{i}:", "        faces:", f"          - {json.dumps(path)}"]
    every = folder / "every.yaml"
    every.write_text("\n".join(lines) + "\n")
    return every


def test_the_lane_takes_the_persons_of_a_warm_gallery(tmp_path: Path) -> None:
    """Not a vacuous comparison: a warm load of good photos goes through the lane and
    builds no face one at a time."""
    manifest = _build(tmp_path, {
        "persons": {"p1": [0, 1], "p2": [2, 11]}, "folders": {"f1": (["a.png"], ["text"])},
        "racy": set(),
    })
    expected = load_manifest(manifest)
    with mock.patch.object(FaceChecker, "_face", side_effect=AssertionError("one at a time")):
        assert load_manifest(manifest) == expected


def _many_folders_manifest(root: Path, count: int) -> Path:
    folder = root / "m"
    for i in range(count):
        (folder / "faces" / f"p{i:03d}").mkdir(parents=True)
        (folder / "faces" / f"p{i:03d}" / "a.png").write_bytes(noise_image(seed=100 + i))
        age(folder / "faces" / f"p{i:03d}" / "a.png")
    lines = ["version: 1", "groups:", "  staff:", "    name: Staff", "    persons:"]
    for i in range(count + 2):
        lines += [f"      p{i:03d}:", "        faces:", f"          - faces/p{i:03d}/a.png"]
    (folder / "facesync.yaml").write_text("\n".join(lines) + "\n")
    return folder / "facesync.yaml"


def test_a_symlinked_folder_among_many_is_refused_or_resolved(tmp_path: Path) -> None:
    """Past a few dozen folders in one folder, the loader lists it once instead of an
    lstat each: a symlink among them still leads where it points, and not outside."""
    manifest = _many_folders_manifest(tmp_path, 100)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "a.png").write_bytes(noise_image(seed=7))
    faces = manifest.parent / "faces"
    os.symlink(outside, faces / "p100")
    os.symlink(faces / "p003", faces / "p101")
    for _ in ("cold", "warm"):
        try:
            load_manifest(manifest)
        except ManifestError as exc:
            assert [str(d).split(": ", 1)[1] for d in exc.diagnostics] == [
                f"groups.staff.persons.p100.faces[0]: 'faces/p100/a.png' is a symlink to "
                f"{outside}/a.png, outside the manifest's folder: copy the image into the "
                "folder or pass --allow-outside"
            ]
        else:
            raise AssertionError("the symlink out was not refused")
    (faces / "p100").unlink()
    os.symlink(faces / "p004", faces / "p100")
    persons = {p.key: p for p in load_manifest(manifest).groups[0].persons}
    assert persons["p101"].faces[0].abs_path == str(faces / "p003" / "a.png")
    assert persons["p101"].faces[0].sha256 == persons["p003"].faces[0].sha256


def test_a_symlink_to_the_folder_above_cannot_vouch_for_its_other_files(tmp_path: Path) -> None:
    """`up/m` is the manifest's own folder seen through a symlink to the folder above
    it; that says nothing about `up/secret.png`, which lies outside."""
    folder = tmp_path / "m"
    folder.mkdir()
    (tmp_path / "secret.png").write_bytes(noise_image(seed=9))
    age(tmp_path / "secret.png")
    os.symlink(tmp_path, folder / "up")
    (folder / "facesync.yaml").write_text(
        "version: 1\ngroups:\n  staff:\n    name: Staff\n    persons:\n      alice:\n"
        "        faces:\n          - up/m\n          - up/secret.png\n"
    )
    try:
        load_manifest(folder / "facesync.yaml")
    except ManifestError as exc:
        messages = [d.message for d in exc.diagnostics]
    assert any("'up/secret.png' is a symlink to" in m and "outside" in m for m in messages)


def test_keys_of_many_files_answer_as_lookup_does_for_each(tmp_path: Path) -> None:
    """The hash cache's batch lookup, whatever mix of hits and misses a batch holds;
    a hit on a photo sent downscaled, or on an entry too damaged to tell, is left to
    the one by one path (which marks the one and reads the other again)."""
    from facesync.manifest.hash_cache import HashCache
    from facesync.manifest.images import ImageInfo

    names = [f"{i}.png" for i in range(6)]
    for i, name in enumerate(names):
        (tmp_path / name).write_bytes(noise_image(seed=i))
        age(tmp_path / name)
    stats = [os.lstat(tmp_path / name) for name in names]
    cache = HashCache(tmp_path)
    for name, found in zip(names[:4], stats, strict=False):
        cache.store(name, found, "ab" * 32, ImageInfo("PNG", 64, 64))
    cache.store(names[4], stats[4], "cd" * 32, ImageInfo("PNG", 5000, 600))  # sent downscaled
    cache._entries[names[3]] = cache._entries[names[3]].replace(" PNG", "")  # damaged
    cache._entries[names[2]] = "1 2 3 4 " + cache._entries[names[2]].split(" ", 4)[4]
    batch_stats = [*stats[:5], None]
    expected = [cache.lookup(n, s) if s is not None else None for n, s in zip(
        names, batch_stats, strict=True)]
    assert expected[:2] == [expected[0], expected[0]] and expected[0] is not None
    assert expected[2] is None and expected[3] == expected[0]  # another stamp; damaged
    assert cache.keys(names, batch_stats) == [*expected[:3], None, None, None]
    assert cache.keys(names[:2], stats[:2]) == expected[:2]
