"""The format's rules (schemas/manifest.schema.json) as users meet them:
one clear `file:line: path: message` per problem."""

from __future__ import annotations

import pytest

from facesync.errors import ManifestError
from facesync.manifest.load import load_manifest

from .support import write_image, write_manifest

GOOD_PERSON = "        faces: [faces/a.png]\n"


def _errors(folder, text: str) -> list[str]:
    write_image(folder, "faces/a.png")
    manifest = write_manifest(folder, text)
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest)
    return [str(d).removeprefix(f"{manifest}:") for d in caught.value.diagnostics]


def _group(body: str, persons: str = "      alice:\n" + GOOD_PERSON) -> str:
    return f"version: 1\ngroups:\n  staff:\n{body}    persons:\n{persons}"


CASES = [
    (
        "unknown top-level key",
        "version: 1\ngroups: {}\ngroup: {}\n",
        ["3: unknown key 'group' (allowed: version, groups): did you mean 'groups'?"],
    ),
    (
        "unknown group key",
        _group("    name: Staff\n    nmae: x\n"),
        [
            "5: groups.staff: unknown key 'nmae' (allowed: name, userData, kind, "
            "recognitionModel, persons, personsFrom): did you mean 'name'?"
        ],
    ),
    (
        "unknown person key",
        _group("    name: Staff\n", "      alice:\n        colour: red\n" + GOOD_PERSON),
        [
            "7: groups.staff.persons.alice: unknown key 'colour' (allowed: name, userData, "
            "faces): remove it or correct its spelling"
        ],
    ),
    (
        "unknown face key",
        _group(
            "    name: Staff\n",
            "      alice:\n        faces:\n          - path: faces/a.png\n"
            "            target: [1]\n",
        ),
        [
            "9: groups.staff.persons.alice.faces[0]: unknown key 'target' (allowed: path, "
            "targetFace, userData, detectionModel): did you mean 'targetFace'?"
        ],
    ),
    (
        "missing version and groups",
        "groups_: {}\n",
        [
            "1: missing required key 'groups': add 'groups:' with at least one group, or "
            "'groups: {}'",
            "1: missing required key 'version': add 'version: 1' at the top",
            "1: unknown key 'groups_' (allowed: version, groups): did you mean 'groups'?",
        ],
    ),
    (
        "missing group name points at the group",
        _group(""),
        ["3: groups.staff: missing required key 'name': add the group's display name"],
    ),
    (
        "missing faces points at the person",
        _group("    name: Staff\n", "      alice:\n        name: Alice\n"),
        [
            "6: groups.staff.persons.alice: missing required key 'faces': list 1 to 248 "
            "images of the person"
        ],
    ),
    (
        "missing path in a long-form face",
        _group("    name: Staff\n", "      alice:\n        faces:\n          - userData: x\n"),
        [
            "8: groups.staff.persons.alice.faces[0]: missing required key 'path': "
            "add the image's path"
        ],
    ),
    (
        "wrong version",
        "version: 2\ngroups: {}\n",
        ["1: version: unsupported manifest version 2: this facesync reads version 1"],
    ),
    (
        "version as text",
        "version: '1'\ngroups: {}\n",
        ["1: version: 'version' must be 1: write 'version: 1'"],
    ),
    (
        "root is a list",
        "- version: 1\n",
        ["1: the manifest must be a mapping with 'version' and 'groups', not a list"],
    ),
    (
        "groups is a list",
        "version: 1\ngroups: [staff]\n",
        ["2: groups: 'groups' must be a mapping, not a list"],
    ),
    (
        "name is a number",
        _group("    name: 42\n"),
        ["4: groups.staff.name: 'name' must be text, not a number: put it in quotes"],
    ),
    (
        "name is a date",
        _group("    name: 2024-01-01\n"),
        ["4: groups.staff.name: 'name' must be text, not a date: put it in quotes"],
    ),
    (
        "person is empty",
        _group("    name: Staff\n", "      alice:\n"),
        ["6: groups.staff.persons.alice: the person is empty: give it a mapping with 'faces'"],
    ),
    (
        "group is text",
        "version: 1\ngroups:\n  staff: Staff\n",
        ["3: groups.staff: the group must be a mapping with 'name', not text"],
    ),
    (
        "faces is text",
        _group("    name: Staff\n", "      alice:\n        faces: faces/a.png\n"),
        ["7: groups.staff.persons.alice.faces: 'faces' must be a list, not text"],
    ),
    (
        "face entry is a number",
        _group("    name: Staff\n", "      alice:\n        faces: [7]\n"),
        [
            "7: groups.staff.persons.alice.faces[0]: the face entry must be an image path or "
            "a mapping with 'path', not a number"
        ],
    ),
    (
        "bad group id",
        "version: 1\ngroups:\n  Staff!:\n    name: Staff\n    persons: {}\n",
        ["3: groups: 'Staff!' is not a valid group id: use 1-64 of a-z, 0-9, _ and -"],
    ),
    (
        "group id too long",
        f"version: 1\ngroups:\n  {'g' * 65}:\n    name: G\n",
        [f"3: groups: '{'g' * 65}' is not a valid group id: use 1-64 of a-z, 0-9, _ and -"],
    ),
    (
        "bad person key",
        _group("    name: Staff\n", "      al ice:\n" + GOOD_PERSON),
        [
            "6: groups.staff.persons: 'al ice' is not a valid person key: use 1-64 of A-Z, "
            "a-z, 0-9, ., _ and -"
        ],
    ),
    (
        "bad kind",
        _group("    name: Staff\n    kind: personGrup\n"),
        [
            "5: groups.staff.kind: 'personGrup' is not a valid kind: use one of personGroup, "
            "largePersonGroup"
        ],
    ),
    (
        "bad recognition model",
        _group("    name: Staff\n    recognitionModel: recognition_05\n"),
        [
            "5: groups.staff.recognitionModel: 'recognition_05' is not a valid recognitionModel: "
            "use one of recognition_01, recognition_02, recognition_03, recognition_04"
        ],
    ),
    (
        "bad detection model",
        _group(
            "    name: Staff\n",
            "      alice:\n        faces:\n          - path: faces/a.png\n"
            "            detectionModel: detection_9\n",
        ),
        [
            "9: groups.staff.persons.alice.faces[0].detectionModel: 'detection_9' is not a valid "
            "detectionModel: use one of detection_01, detection_02, detection_03"
        ],
    ),
    (
        "name too long",
        _group(f"    name: {'n' * 129}\n"),
        ["4: groups.staff.name: 'name' is 129 characters long, above the limit of 128: shorten it"],
    ),
    (
        "empty name",
        _group("    name: ''\n"),
        ["4: groups.staff.name: 'name' is empty: write at least one character"],
    ),
    (
        "person userData too long",
        _group(
            "    name: Staff\n", f"      alice:\n        userData: {'u' * 16385}\n" + GOOD_PERSON
        ),
        [
            "7: groups.staff.persons.alice.userData: 'userData' is 16,385 characters long, "
            "above the limit of 16,384: shorten it"
        ],
    ),
    (
        "face userData too long",
        _group(
            "    name: Staff\n",
            f"      alice:\n        faces:\n          - path: faces/a.png\n"
            f"            userData: {'u' * 1025}\n",
        ),
        [
            "9: groups.staff.persons.alice.faces[0].userData: 'userData' is 1,025 characters "
            "long, above the limit of 1,024: shorten it"
        ],
    ),
    (
        "no faces",
        _group("    name: Staff\n", "      alice:\n        faces: []\n"),
        ["7: groups.staff.persons.alice.faces: the person lists no faces: add 1 to 248 images"],
    ),
    (
        "targetFace with 3 numbers",
        _group(
            "    name: Staff\n",
            "      alice:\n        faces:\n          - path: faces/a.png\n"
            "            targetFace: [1, 2, 3]\n",
        ),
        [
            "9: groups.staff.persons.alice.faces[0].targetFace: targetFace has 3 numbers: give "
            "exactly 4, [left, top, width, height]"
        ],
    ),
    (
        "targetFace negative left and zero width",
        _group(
            "    name: Staff\n",
            "      alice:\n        faces:\n          - path: faces/a.png\n"
            "            targetFace: [-1, 0, 0, 5]\n",
        ),
        [
            "9: groups.staff.persons.alice.faces[0].targetFace[0]: targetFace left is -1: it "
            "must be 0 or more",
            "9: groups.staff.persons.alice.faces[0].targetFace[2]: targetFace width is 0: it "
            "must be 1 or more",
        ],
    ),
    (
        "targetFace with text",
        _group(
            "    name: Staff\n",
            "      alice:\n        faces:\n          - path: faces/a.png\n"
            "            targetFace: [1, 2, x, 4]\n",
        ),
        [
            "9: groups.staff.persons.alice.faces[0].targetFace[2]: targetFace width must be a "
            "whole number, not text"
        ],
    ),
    (
        "empty path",
        _group("    name: Staff\n", "      alice:\n        faces: ['']\n"),
        [
            "7: groups.staff.persons.alice.faces[0]: the face entry is empty: "
            "write at least one character"
        ],
    ),
    (
        "keys with dots are quoted in paths",
        _group("    name: Staff\n", "      j.doe:\n        faces: []\n"),
        ['7: groups.staff.persons["j.doe"].faces: the person lists no faces: add 1 to 248 images'],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_breaks_with_a_clear_message(tmp_path, text: str, expected: list[str]) -> None:
    assert _errors(tmp_path, text) == expected


def test_more_than_248_faces_listed_is_an_error(tmp_path) -> None:
    faces = "".join(f"          - faces/{i}.png\n" for i in range(249))
    errors = _errors(
        tmp_path, _group("    name: Staff\n", "      alice:\n        faces:\n" + faces)
    )
    assert (
        "7: groups.staff.persons.alice.faces: the person lists 249 faces, more than the limit "
        "of 248: remove some" in errors
    )


def test_a_valid_manifest_without_persons_loads(tmp_path) -> None:
    manifest = load_manifest(write_manifest(tmp_path, "version: 1\ngroups:\n  g:\n    name: G\n"))
    assert [g.group_id for g in manifest.groups] == ["g"]
    assert manifest.groups[0].persons == ()


def test_no_groups_at_all_is_a_valid_manifest(tmp_path) -> None:
    assert load_manifest(write_manifest(tmp_path, "version: 1\ngroups: {}\n")).groups == ()
