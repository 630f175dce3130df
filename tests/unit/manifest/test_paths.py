"""Face entries -> files: globs in sorted order, and no way out of the manifest's folder."""

from __future__ import annotations

import os

import pytest

from facesync.errors import ManifestError
from facesync.manifest.load import load_manifest
from facesync.schemas_dir import json_path

from .support import one_person, write_image, write_manifest


def _paths(folder, faces_yaml: str, **options) -> list[str]:
    manifest = load_manifest(write_manifest(folder, one_person(faces_yaml)), **options)
    [face_paths] = [[f.path for f in p.faces] for p in manifest.groups[0].persons]
    return sorted(face_paths)


def _errors(folder, faces_yaml: str, **options) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_manifest(write_manifest(folder, one_person(faces_yaml)), **options)
    return [f"{d.line}: {d.path}: {d.message}" for d in caught.value.diagnostics]


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), ""),
        (
            ("groups", "staff", "persons", "alice", "faces", 2),
            "groups.staff.persons.alice.faces[2]",
        ),
        (("groups", "staff", "persons", "j.doe"), 'groups.staff.persons["j.doe"]'),
        (("groups", 'a"b'), 'groups["a\\"b"]'),
    ],
)
def test_document_paths_read_like_the_yaml(path: tuple, text: str) -> None:
    assert json_path(path) == text


def test_globs_expand_in_sorted_order_with_their_own_relative_paths(tmp_path) -> None:
    for i, name in enumerate(["b.png", "a.png", "c.jpg", "sub/d.png", "sub/deeper/e.png"]):
        write_image(tmp_path, f"faces/{name}", seed=i)
    manifest = load_manifest(write_manifest(tmp_path, one_person("- faces/**/*.png")))
    faces = manifest.groups[0].persons[0].faces
    assert sorted(f.path for f in faces) == [
        "faces/a.png",
        "faces/b.png",
        "faces/sub/d.png",
        "faces/sub/deeper/e.png",
    ]
    assert all(f.abs_path == str((tmp_path / f.path).resolve()) for f in faces)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("faces/?.png", ["faces/a.png", "faces/b.png"]),
        ("faces/[a]*.png", ["faces/a.png", "faces/ab.png"]),
        ("faces/*", ["faces/a.png", "faces/ab.png", "faces/b.png"]),
    ],
)
def test_glob_wildcards(tmp_path, pattern: str, expected: list[str]) -> None:
    for i, name in enumerate(["a.png", "b.png", "ab.png", ".hidden.png"]):
        write_image(tmp_path, f"faces/{name}", seed=i)
    (tmp_path / "faces" / "folder").mkdir()
    assert _paths(tmp_path, f"- {pattern}") == expected


def test_the_glob_order_is_independent_of_creation_order(tmp_path) -> None:
    for i, name in enumerate(["z.png", "m.png", "a.png"]):
        write_image(tmp_path, f"faces/{name}", seed=i)
    manifest = load_manifest(write_manifest(tmp_path, one_person("- faces/*.png")))
    lines = sorted((f.line, f.path) for f in manifest.groups[0].persons[0].faces)
    assert [p for _, p in lines] == ["faces/a.png", "faces/m.png", "faces/z.png"]


def test_a_glob_that_matches_nothing_is_an_error(tmp_path) -> None:
    write_image(tmp_path, "faces/a.png")
    assert _errors(tmp_path, "- faces/a.png\n- faces/*.gif") == [
        "9: groups.staff.persons.alice.faces[1]: the glob 'faces/*.gif' matches no files: "
        "fix the pattern or add the images"
    ]


def test_a_glob_that_matches_only_folders_is_an_error(tmp_path) -> None:
    (tmp_path / "faces" / "alice").mkdir(parents=True)
    [error] = _errors(tmp_path, "- faces/*")
    assert "the glob 'faces/*' matches no files" in error


def test_a_file_name_with_brackets_is_named_by_escaping_them(tmp_path) -> None:
    write_image(tmp_path, "faces/photo[1].png")
    write_image(tmp_path, "faces/photo1.png", seed=2)
    assert _paths(tmp_path, "- faces/photo[[]1].png") == ["faces/photo[1].png"]


def test_written_paths_are_normalised(tmp_path) -> None:
    write_image(tmp_path, "faces/a.png")
    assert _paths(tmp_path, "- ./faces//a.png") == ["faces/a.png"]


ESCAPES = [
    ("dot-dot", "- ../outside.png", "'../outside.png' leaves the manifest's folder"),
    ("hidden dot-dot", "- faces/../../outside.png", "leaves the manifest's folder"),
    ("dot-dot glob", "- ../*.png", "'../*.png' leaves the manifest's folder"),
    ("absolute", "- {outside}", "the absolute path '{outside}' is not allowed"),
    ("absolute glob", "- {outside_dir}/*.png", "the absolute path"),
    ("symlink out", "- faces/link.png", "'faces/link.png' is a symlink to {outside}, outside"),
    ("symlinked folder out", "- faces/linked/*.png", "is a symlink to {outside}, outside"),
]


@pytest.mark.parametrize(
    ("entry", "expected"), [c[1:] for c in ESCAPES], ids=[c[0] for c in ESCAPES]
)
def test_paths_may_not_leave_the_manifest_folder(tmp_path, entry: str, expected: str) -> None:
    outside = write_image(tmp_path, "outside.png")
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "faces").mkdir()
    os.symlink(outside, folder / "faces" / "link.png")
    os.symlink(tmp_path, folder / "faces" / "linked")
    names = {"outside": str(outside), "outside_dir": str(tmp_path)}
    [error] = _errors(folder, entry.format(**names))
    assert expected.format(**names) in error
    assert error.endswith("or pass --allow-outside")


@pytest.mark.parametrize("entry", ["- ../outside.png", "- {outside}", "- faces/link.png"])
def test_allow_outside_lets_paths_leave_the_folder(tmp_path, entry: str) -> None:
    outside = write_image(tmp_path, "outside.png")
    folder = tmp_path / "project"
    (folder / "faces").mkdir(parents=True)
    os.symlink(outside, folder / "faces" / "link.png")
    [path] = _paths(folder, entry.format(outside=outside), allow_outside=True)
    assert path in ("../outside.png", str(outside), "faces/link.png")


def test_a_symlink_that_stays_inside_is_fine(tmp_path) -> None:
    write_image(tmp_path, "photos/a.png")
    (tmp_path / "faces").mkdir()
    os.symlink(tmp_path / "photos" / "a.png", tmp_path / "faces" / "a.png")
    manifest = load_manifest(write_manifest(tmp_path, one_person("- faces/a.png")))
    face = manifest.groups[0].persons[0].faces[0]
    assert (face.path, face.abs_path) == ("faces/a.png", str((tmp_path / "photos/a.png").resolve()))


def test_a_manifest_folder_reached_through_a_symlink_still_works(tmp_path) -> None:
    real = tmp_path / "real"
    write_image(real, "faces/a.png")
    os.symlink(real, tmp_path / "alias")
    write_manifest(real, one_person("- faces/a.png"))
    manifest = load_manifest(tmp_path / "alias" / "facesync.yaml")
    assert manifest.groups[0].persons[0].faces[0].path == "faces/a.png"


@pytest.mark.parametrize(
    "pattern",
    ["faces/*.jpg", "faces/*", "faces/?.png", "faces/[ab]*.jpg", "faces/.*", "./faces/*.jpg",
     "faces/../faces/*.jpg", "*.jpg", "missing/*.jpg", "faces/**", "faces/**/*.jpg", "fa*/*.jpg"],
)
def test_a_glob_names_exactly_the_files_python_glob_names(tmp_path, pattern: str) -> None:
    """The one-folder fast path must agree with glob.glob on hidden files,
    folders, symlinks and character classes."""
    import glob

    from facesync.manifest.paths import ImagePaths

    faces = tmp_path / "faces"
    (faces / "sub.jpg").mkdir(parents=True)  # a folder whose name matches
    (faces / "deep").mkdir()
    for name in ["a.jpg", "b1.jpg", "c.png", ".hidden.jpg", "A.JPG", "deep/d.jpg", "top.jpg"]:
        target = faces / name if name != "top.jpg" else tmp_path / name
        target.write_bytes(b"x")
    os.symlink(faces / "a.jpg", faces / "link.jpg")
    os.symlink(tmp_path / "nowhere.jpg", faces / "dangling.jpg")
    want = sorted(m for m in glob.glob(pattern, root_dir=tmp_path, recursive=True)
                  if os.path.isfile(tmp_path / m))
    paths = ImagePaths(tmp_path, allow_outside=False)
    fast = paths._one_folder_glob(pattern)
    if fast is not None:
        assert fast == want
    if want:
        files, _ = paths.expand(pattern)
        assert [f.path for f in files] == [os.path.normpath(m) for m in want]
