"""personsFrom: a group's persons from a folder layout, with names and userData
from a CSV file; every bad input is one `file:line: path: message` line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from facesync.errors import ManifestError
from facesync.manifest.load import load_manifest

from .support import noise_image, write_image, write_manifest

HEAD = "version: 1\ngroups:\n  staff:\n    name: Staff\n"
FROM = HEAD + "    personsFrom:\n      folder: people\n"
WITH_DETAILS = FROM + "      details: people.csv\n"


def _people(root: Path, counts: dict[str, int]) -> None:
    seed = 0
    for key, count in counts.items():
        for i in range(count):
            seed += 1
            write_image(root, f"people/{key}/{i:02d}.png", seed=seed)


def _errors(root: Path, text: str) -> list[str]:
    manifest = write_manifest(root, text)
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest)
    return [str(d).replace(str(root) + "/", "") for d in caught.value.diagnostics]


def test_each_subfolder_is_a_person_and_its_images_are_the_faces(tmp_path: Path) -> None:
    _people(tmp_path, {"alice": 2, "bob": 1})
    (tmp_path / "people.csv").write_text('key,name,userData\nalice,Alice Example,"team, a"\n')
    manifest = load_manifest(write_manifest(tmp_path, WITH_DETAILS))
    [group] = manifest.groups
    assert [(p.key, p.name, p.user_data, p.line) for p in group.persons] == [
        ("alice", "Alice Example", "team, a", 6),
        ("bob", "bob", None, 6),
    ]
    alice = group.person("alice")
    assert sorted(f.path for f in alice.faces) == ["people/alice/00.png", "people/alice/01.png"]
    assert all(f.line == 6 and f.abs_path == str(tmp_path / f.path) for f in alice.faces)


def test_the_folder_form_gives_the_same_persons_as_the_inline_form(tmp_path: Path) -> None:
    _people(tmp_path, {"alice": 2, "bob": 1})
    (tmp_path / "people.csv").write_text("key,name\nalice,Alice\n")
    folder = load_manifest(write_manifest(tmp_path, WITH_DETAILS))
    inline = load_manifest(write_manifest(tmp_path, HEAD + (
        "    persons:\n"
        "      alice:\n        name: Alice\n        faces: [people/alice/*.png]\n"
        "      bob:\n        faces: [people/bob/00.png]\n"
    ), name="inline.yaml"))

    def faces(manifest):  # everything but the lines, which differ
        return [(p.key, p.name, p.user_data, [(f.path, f.sha256, f.size) for f in p.faces])
                for p in manifest.groups[0].persons]

    assert faces(folder) == faces(inline)


def test_hidden_names_other_files_and_subfolders_are_skipped(tmp_path: Path) -> None:
    write_image(tmp_path, "people/alice/a.JPG", noise_image(fmt="JPEG"))
    write_image(tmp_path, "people/alice/.hidden.png", seed=2)
    write_image(tmp_path, "people/alice/raw/b.png", seed=3)
    write_image(tmp_path, "people/.git/c.png", seed=4)
    (tmp_path / "people" / "alice" / "notes.txt").write_text("not a photo")
    (tmp_path / "people" / "README.md").write_text("one folder per person")
    [alice] = load_manifest(write_manifest(tmp_path, FROM)).groups[0].persons
    assert [f.path for f in alice.faces] == ["people/alice/a.JPG"]


def test_inline_persons_and_folder_persons_combine(tmp_path: Path) -> None:
    _people(tmp_path, {"alice": 1})
    write_image(tmp_path, "faces/carol.png", seed=50)
    text = FROM + "    persons:\n      carol:\n        faces: [faces/carol.png]\n"
    persons = load_manifest(write_manifest(tmp_path, text)).groups[0].persons
    assert [p.key for p in persons] == ["alice", "carol"]


def test_an_empty_top_folder_gives_no_persons(tmp_path: Path) -> None:
    (tmp_path / "people").mkdir()
    assert load_manifest(write_manifest(tmp_path, FROM)).groups[0].persons == ()


def test_folder_problems_are_reported_at_the_folder_line(tmp_path: Path) -> None:
    _people(tmp_path, {"alice": 1, "Jo Doe": 1})
    (tmp_path / "people" / "empty").mkdir()
    write_image(tmp_path, "people/stray.png", seed=60)
    (tmp_path / "people" / "alice" / "01.png").write_bytes(b"")
    text = FROM + "    persons:\n      alice:\n        faces: [people/alice/00.png]\n"
    where = "facesync.yaml:6: groups.staff.personsFrom.folder:"
    assert _errors(tmp_path, text) == [
        f"{where} 'people/stray.png' is an image directly in 'people', which holds one folder "
        "per person: move it into its person's folder (people/<person key>/)",
        f"{where} the folder 'people/Jo Doe' is not named by a valid person key: rename it to "
        "1-64 of A-Z, a-z, 0-9, ., _ and -",
        f"{where} the folder 'people/empty' holds no images (.jpg, .jpeg, .png, .gif, .bmp): "
        "add photos of the person or remove the folder",
        "facesync.yaml:8: groups.staff.persons.alice: the person 'alice' is also the folder "
        "'people/alice' of personsFrom: keep the person in one place",
    ]


def test_an_image_problem_names_the_file_inside_the_folder(tmp_path: Path) -> None:
    _people(tmp_path, {"alice": 2})
    (tmp_path / "people" / "alice" / "01.png").write_bytes(b"")
    (tmp_path / "people" / "alice" / "02.png").write_bytes(
        (tmp_path / "people" / "alice" / "00.png").read_bytes()
    )
    assert _errors(tmp_path, FROM) == [
        "facesync.yaml:6: groups.staff.personsFrom.folder: 'people/alice/02.png' has the same "
        "bytes as 'people/alice/00.png': delete one of them",
        "facesync.yaml:6: groups.staff.personsFrom.folder: people/alice/01.png: the file is "
        "empty (0 bytes): replace it with a JPEG, PNG, GIF or BMP photo",
    ]


@pytest.mark.parametrize(
    ("folder", "message"),
    [
        ("people", "the folder 'people' does not exist: create it with one subfolder per "
         "person, or fix the path (it is relative to the manifest's folder)"),
        ("../people", "'../people' leaves the manifest's folder: keep images inside it or pass "
         "--allow-outside"),
        ("facesync.yaml", "'facesync.yaml' is not a folder: name a folder that holds one "
         "subfolder per person"),
    ],
)
def test_a_folder_that_cannot_be_used_is_one_error(
    tmp_path: Path, folder: str, message: str
) -> None:
    text = HEAD + f"    personsFrom:\n      folder: {folder}\n"
    assert _errors(tmp_path, text) == [
        f"facesync.yaml:6: groups.staff.personsFrom.folder: {message}"
    ]


def test_a_person_folder_that_is_a_symlink_out_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "project"
    write_image(tmp_path, "elsewhere/00.png")
    (root / "people").mkdir(parents=True)
    os.symlink(tmp_path / "elsewhere", root / "people" / "alice")
    [error] = _errors(root, FROM)
    assert error.startswith("facesync.yaml:6: groups.staff.personsFrom.folder: 'people/alice' is "
                            "a symlink to ")
    assert error.endswith("outside the manifest's folder: copy the image into the folder or pass "
                          "--allow-outside")
    [alice] = load_manifest(root / "facesync.yaml", allow_outside=True).groups[0].persons
    assert [f.path for f in alice.faces] == ["people/alice/00.png"]


@pytest.mark.parametrize(
    ("csv_text", "expected"),
    [
        ("key,nmae\nalice,A\n", ["people.csv:1: groups.staff.personsFrom.details: unknown column "
                                 "'nmae' (allowed: key, name, userData): did you mean 'name'?"]),
        ("name\nA\n", ["people.csv:1: groups.staff.personsFrom.details: the header row has no "
                       "'key' column: add it (the person key, the name of the person's folder)"]),
        ("key,name\nalice,A\nbob,B\n", ["people.csv:3: groups.staff.persons.bob: no person "
                                        "folder 'bob' in 'people' for this row: add the folder "
                                        "with the person's photos or remove the row"]),
        ("key,name\nalice,A\n\nalice,B\n", ["people.csv:4: groups.staff.personsFrom.details: "
                                            "duplicate row for 'alice' (first on line 2): keep "
                                            "only one"]),
        ("key\nal ice\n", ["people.csv:2: groups.staff.personsFrom.details: 'al ice' is not a "
                           "valid person key: use 1-64 of A-Z, a-z, 0-9, ., _ and -"]),
        (",name\n,A\n", ["people.csv:1: groups.staff.personsFrom.details: the header row has no "
                         "'key' column: add it (the person key, the name of the person's folder)",
                         "people.csv:1: groups.staff.personsFrom.details: unknown column '' "
                         "(allowed: key, name, userData): remove it or correct its spelling"]),
        ("key,name\nalice,Doe, Jane\n", ["people.csv:2: groups.staff.personsFrom.details: the "
                                         "row has 3 cells, the header 2: quote a value that "
                                         'holds a comma ("Doe, Jane")']),
        ("key,name\nalice," + "x" * 129 + "\n", ["people.csv:2: groups.staff.persons.alice.name: "
                                                 "'name' is 129 characters long, above the limit "
                                                 "of 128: shorten it"]),
        ('key,name\nalice,"A\n', ["people.csv:2: groups.staff.personsFrom.details: the file is "
                                  "not valid CSV (unexpected end of data): fix the quoting (a "
                                  "value with a comma, quote or line break goes in double "
                                  'quotes, a quote inside it doubled: "say ""hi""")']),
        ("", ["people.csv:1: groups.staff.personsFrom.details: the file is empty: start it with "
              "the header row key,name,userData"]),
    ],
)
def test_every_problem_of_the_details_file_names_its_own_line(
    tmp_path: Path, csv_text: str, expected: list[str]
) -> None:
    _people(tmp_path, {"alice": 1})
    (tmp_path / "people.csv").write_text(csv_text)
    assert _errors(tmp_path, WITH_DETAILS) == expected


def test_a_details_file_that_is_not_utf8_is_one_error(tmp_path: Path) -> None:
    _people(tmp_path, {"alice": 1})
    (tmp_path / "people.csv").write_bytes(b"key,name\nalice,Jos\xe9\n")
    assert _errors(tmp_path, WITH_DETAILS) == [
        "people.csv:2: groups.staff.personsFrom.details: the file is not UTF-8 text (byte 0xe9): "
        "save it as UTF-8"
    ]


def test_a_missing_details_file_is_reported_at_its_manifest_line(tmp_path: Path) -> None:
    _people(tmp_path, {"alice": 1})
    assert _errors(tmp_path, WITH_DETAILS) == [
        "facesync.yaml:7: groups.staff.personsFrom.details: the details file 'people.csv' does "
        "not exist: create it (a CSV file with the columns key, name and userData) or fix the path"
    ]


def test_a_row_over_several_lines_keeps_its_first_line(tmp_path: Path) -> None:
    _people(tmp_path, {"alice": 1, "bob": 1})
    (tmp_path / "people.csv").write_text(
        'key,userData\nalice,"two\nlines"\nbob,' + "u" * 16385 + "\n"
    )
    assert _errors(tmp_path, WITH_DETAILS) == [
        "people.csv:4: groups.staff.persons.bob.userData: 'userData' is 16,385 characters long, "
        "above the limit of 16,384: shorten it"
    ]


def test_unknown_and_missing_keys_of_personsfrom_are_schema_errors(tmp_path: Path) -> None:
    text = HEAD + "    personsFrom:\n      fodler: people\n"
    assert _errors(tmp_path, text) == [
        "facesync.yaml:5: groups.staff.personsFrom: missing required key 'folder': add the "
        "folder that holds one subfolder per person",
        "facesync.yaml:6: groups.staff.personsFrom: unknown key 'fodler' (allowed: folder, "
        "details): did you mean 'folder'?",
    ]


def test_the_digest_changes_with_the_details_file(tmp_path: Path) -> None:
    _people(tmp_path, {"alice": 1})
    (tmp_path / "people.csv").write_text("key,name\nalice,A\n")
    manifest = write_manifest(tmp_path, WITH_DETAILS)
    first = load_manifest(manifest).digest
    (tmp_path / "people.csv").write_text("key,name\nalice,B\n")
    assert load_manifest(manifest).digest != first
