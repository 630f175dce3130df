"""The hash cache in .facesync/hashes.json: a re-load reads no unchanged photo."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from facesync.digest import image_key
from facesync.manifest import faces
from facesync.manifest.load import load_manifest
from facesync.workspace import LOCAL_DIR_NAME, hash_cache_path

from .support import PAST_NS, age, noise_image, one_person, write_image, write_manifest


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The name of every image file the loader reads."""
    seen: list[str] = []
    real = faces.read_image_bytes

    def counting(path: Path) -> bytes:
        seen.append(path.name)
        return real(path)

    monkeypatch.setattr(faces, "read_image_bytes", counting)
    return seen


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    for i in range(3):
        write_image(tmp_path, f"faces/{i}.png", seed=i)
    return write_manifest(tmp_path, one_person("- faces/*.png"))


def _cache(folder: Path) -> Path:
    return hash_cache_path(folder)


def test_a_second_load_reads_no_unchanged_photo(manifest: Path, reads: list[str]) -> None:
    first = load_manifest(manifest)
    assert sorted(reads) == ["0.png", "1.png", "2.png"]
    reads.clear()
    assert load_manifest(manifest) == first
    assert reads == []


def test_a_changed_mtime_rehashes_only_that_photo(manifest: Path, reads: list[str]) -> None:
    load_manifest(manifest)
    reads.clear()
    age(manifest.parent / "faces" / "1.png", PAST_NS + 10**9)
    load_manifest(manifest)
    assert reads == ["1.png"]


def test_changed_bytes_give_a_new_hash(manifest: Path) -> None:
    before = {f.path: f.sha256 for f in load_manifest(manifest).groups[0].persons[0].faces}
    write_image(manifest.parent, "faces/1.png", seed=99)
    age(manifest.parent / "faces" / "1.png", PAST_NS + 10**9)
    after = {f.path: f.sha256 for f in load_manifest(manifest).groups[0].persons[0].faces}
    assert after["faces/1.png"] != before["faces/1.png"]
    assert after["faces/0.png"] == before["faces/0.png"]


def test_the_cache_lives_in_the_local_folder_that_git_ignores(manifest: Path) -> None:
    load_manifest(manifest)
    body = json.loads(_cache(manifest.parent).read_text())
    assert body["version"] == 3
    assert sorted(body["entries"]) == ["faces/0.png", "faces/1.png", "faces/2.png"]
    size, mtime_ns, ctime_ns, inode, key, width, height, fmt = (
        body["entries"]["faces/0.png"].split(" ")
    )
    photo = (manifest.parent / "faces" / "0.png").stat()
    assert (int(size), int(mtime_ns)) == (photo.st_size, photo.st_mtime_ns)
    assert (int(ctime_ns), int(inode)) == (photo.st_ctime_ns, photo.st_ino)
    data = (manifest.parent / "faces" / "0.png").read_bytes()
    assert key == image_key(hashlib.sha256(data).hexdigest())
    assert (width, height, fmt) == ("64", "64", "PNG")
    assert (manifest.parent / LOCAL_DIR_NAME / ".gitignore").is_file()


@pytest.mark.parametrize("version", [1, 2])
def test_a_cache_of_an_older_format_is_rebuilt_in_format_3(
    manifest: Path, reads: list[str], version: int
) -> None:
    """Formats 1 and 2 recorded no ctime nor inode: their entries cannot tell a
    photo copied over with its size and mtime kept, so none is trusted."""
    expected = load_manifest(manifest)
    entries: dict[str, object] = {}
    for face in expected.groups[0].persons[0].faces:
        photo = Path(face.abs_path)
        found, sha256 = photo.stat(), hashlib.sha256(photo.read_bytes()).hexdigest()
        entries[face.path] = (
            {"size": found.st_size, "mtime_ns": found.st_mtime_ns, "sha256": sha256,
             "width": 64, "height": 64, "format": "PNG"}
            if version == 1
            else f"{found.st_size} {found.st_mtime_ns} {image_key(sha256)} 64 64 PNG"
        )
    _cache(manifest.parent).write_text(json.dumps({"version": version, "entries": entries}))
    reads.clear()
    assert load_manifest(manifest) == expected
    assert sorted(reads) == ["0.png", "1.png", "2.png"]
    assert json.loads(_cache(manifest.parent).read_text())["version"] == 3
    reads.clear()
    load_manifest(manifest)
    assert reads == []


def test_a_photo_copied_over_with_its_size_and_mtime_kept_is_read_again(
    manifest: Path, reads: list[str]
) -> None:
    """`cp -p` in place: same inode, same size, same mtime; only the ctime moves."""
    photo = manifest.parent / "faces" / "1.png"
    before = load_manifest(manifest).groups[0].persons[0].faces
    kept = photo.stat()
    other = noise_image(seed=7)  # noise does not compress: the same size as seed 1's
    assert len(other) == kept.st_size and other != photo.read_bytes()
    photo.write_bytes(other)
    os.utime(photo, ns=(kept.st_atime_ns, kept.st_mtime_ns))
    now = photo.stat()
    assert (now.st_size, now.st_mtime_ns, now.st_ino) == (kept.st_size, kept.st_mtime_ns,
                                                          kept.st_ino)
    reads.clear()
    after = load_manifest(manifest).groups[0].persons[0].faces
    assert reads == ["1.png"]
    assert {f.sha256 for f in after} - {f.sha256 for f in before} == {
        image_key(hashlib.sha256(other).hexdigest())
    }


def test_a_photo_renamed_over_with_size_mtime_and_ctime_kept_is_read_again(
    manifest: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`rsync -a` writes a temporary file and renames it over the photo: a new inode.
    The cache must not trust an entry whose inode differs, whatever else matches."""
    load_manifest(manifest)
    body = json.loads(_cache(manifest.parent).read_text())
    size, mtime_ns, ctime_ns, inode, rest = body["entries"]["faces/0.png"].split(" ", 4)
    body["entries"]["faces/0.png"] = f"{size} {mtime_ns} {ctime_ns} {int(inode) + 1} {rest}"
    _cache(manifest.parent).write_text(json.dumps(body))
    reads.clear()
    load_manifest(manifest)
    assert reads == ["0.png"]


def test_the_cache_is_written_only_when_something_changed(manifest: Path) -> None:
    load_manifest(manifest)
    cache = _cache(manifest.parent)
    os.utime(cache, ns=(1, 1))
    load_manifest(manifest)
    assert cache.stat().st_mtime_ns == 1


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"version": 4, "entries": {}}',
        b'{"version": 1, "entries": []}',
        b'{"version": 3, "entries": {"faces/0.png": 5, "faces/1.png": "1 2 3", "faces/2.png": ""}}',
        b'{"version": 3, "entries": {"faces/0.png": "1 2 3 4 short 5 6 PNG"}}',
        b'{"version": 1, "entries": {"faces/0.png": {"size": "x"}}}',
        b"\xff\xfe",
    ],
)
def test_a_corrupt_cache_is_ignored_and_rebuilt(
    manifest: Path, reads: list[str], content: bytes
) -> None:
    expected = load_manifest(manifest)
    _cache(manifest.parent).write_bytes(content)
    reads.clear()
    assert load_manifest(manifest) == expected
    assert len(reads) == 3
    reads.clear()
    load_manifest(manifest)
    assert reads == []


def test_a_lying_cache_entry_for_another_size_is_not_trusted(
    manifest: Path, reads: list[str]
) -> None:
    load_manifest(manifest)
    body = json.loads(_cache(manifest.parent).read_text())
    size, rest = body["entries"]["faces/0.png"].split(" ", 1)
    body["entries"]["faces/0.png"] = f"{int(size) + 1} {rest}"
    _cache(manifest.parent).write_text(json.dumps(body))
    reads.clear()
    load_manifest(manifest)
    assert reads == ["0.png"]


def test_without_the_cache_every_photo_is_read_and_nothing_written(
    manifest: Path, reads: list[str]
) -> None:
    load_manifest(manifest, use_cache=False)
    load_manifest(manifest, use_cache=False)
    assert len(reads) == 6
    assert not _cache(manifest.parent).exists()


def test_a_photo_modified_just_now_is_not_cached_yet(tmp_path: Path, reads: list[str]) -> None:
    # Its mtime could still tick without a size change; hashing it again is cheap insurance.
    write_image(tmp_path, "faces/a.png")
    os.utime(tmp_path / "faces" / "a.png")
    manifest = write_manifest(tmp_path, one_person("- faces/a.png"))
    load_manifest(manifest)
    load_manifest(manifest)
    assert reads == ["a.png", "a.png"]


def test_a_bad_image_is_never_cached(tmp_path: Path, reads: list[str]) -> None:
    write_image(tmp_path, "faces/a.jpg", b"text\n" * 300)
    manifest = write_manifest(tmp_path, one_person("- faces/a.jpg"))
    for _ in range(2):
        with pytest.raises(Exception, match="is not a JPEG"):
            load_manifest(manifest)
    assert reads == ["a.jpg", "a.jpg"]


def test_entries_of_deleted_photos_are_dropped_on_the_next_write(manifest: Path) -> None:
    load_manifest(manifest)
    (manifest.parent / "faces" / "2.png").unlink()
    write_image(manifest.parent, "faces/3.png", seed=3)
    load_manifest(manifest)
    entries = json.loads(_cache(manifest.parent).read_text())["entries"]
    assert sorted(entries) == ["faces/0.png", "faces/1.png", "faces/3.png"]


def test_an_unwritable_local_folder_is_not_an_error(manifest: Path) -> None:
    (manifest.parent / LOCAL_DIR_NAME).write_text("a file where the folder should be")
    assert load_manifest(manifest).groups


def test_forgotten_entries_are_read_again_and_the_others_kept(
    manifest: Path, reads: list[str]
) -> None:
    """What apply can call when a photo's bytes are not the ones its plan saw, for a
    file system whose ctime does not move: the next plan reads that photo again."""
    from facesync.manifest.hash_cache import forget_entries

    load_manifest(manifest)
    forget_entries(manifest.parent, ["faces/1.png", "faces/never-cached.png"])
    assert sorted(json.loads(_cache(manifest.parent).read_text())["entries"]) == [
        "faces/0.png", "faces/2.png"
    ]
    reads.clear()
    load_manifest(manifest)
    assert reads == ["1.png"]
