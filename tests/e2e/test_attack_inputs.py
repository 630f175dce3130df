"""Inputs that once slipped between facesync's checks and the service's, through
the real CLI against the real emulator over HTTP on 127.0.0.1.

- A photo copied over another with its size and mtime kept (`cp -p`, `rsync -a`)
  is seen as changed: plan does not say "No changes", and planning again after a
  refused apply helps.
- `validate`, `plan` and the emulator judge images and texts by the same code:
  an MPO (a phone camera's multi-picture JPEG) and a 16-bit grayscale PNG are
  accepted by all three; a name or userData too long in UTF-16 units (an emoji
  counts 2, as the service counts) is refused by validate, before any call.
- A NUL byte in a face path is one diagnostic among the others.
- A path written in NFC finds the file whose name is NFD on disk (macOS).
"""

from __future__ import annotations

import io
import os
import shutil
import unicodedata
from pathlib import Path

import pytest
from PIL import Image

from tests.lock_reading import file_key

from .conftest import Project, people

PAST_NS = 1_600_000_000 * 10**9  # well outside the hash cache's racy window


def _age(path: Path, ns: int = PAST_NS) -> None:
    os.utime(path, ns=(ns, ns))


def _jpeg_padded_to(data: bytes, size: int) -> bytes:
    """`data` (a JPEG) grown to exactly `size` bytes by a comment segment after its
    SOI marker: the same picture, other bytes."""
    body = size - len(data) - 4  # marker (2) + length (2) + body
    assert data[:2] == b"\xff\xd8" and 0 <= body <= 65533
    return data[:2] + b"\xff\xfe" + (body + 2).to_bytes(2, "big") + b"c" * body + data[2:]


def _same_size_pair(small_faces: Path) -> tuple[bytes, bytes]:
    """Two different photos of one person (Obama), padded to the same size."""
    first, second = (p.read_bytes() for p in people(small_faces, "barack_obama")[:2])
    size = max(len(first), len(second)) + 64
    return _jpeg_padded_to(first, size), _jpeg_padded_to(second, size)


def _one_face_project(project: Project, gid: str, faces: list, **person: object) -> None:
    project.write_manifest(
        {gid: {"name": "Attack", "persons": {"p": {"name": "P", "faces": faces, **person}}}}
    )


def _recorded_keys(project: Project, gid: str) -> set[str]:
    return {f["sha256"] for f in project.lock_json()["groups"][gid]["persons"]["p"]["faces"]}


def _copy_keeping_times(project_photo: Path, data: bytes) -> None:
    """What `cp -p` does to a photo that exists: same inode, same size, old mtime."""
    kept = project_photo.stat()
    assert len(data) == kept.st_size
    project_photo.write_bytes(data)
    os.utime(project_photo, ns=(kept.st_atime_ns, kept.st_mtime_ns))


def test_a_photo_copied_over_with_its_size_and_mtime_kept_is_planned_and_applied(
    project: Project, small_faces: Path, gid: str
) -> None:
    first, second = _same_size_pair(small_faces)
    photo = project.root / "faces" / "p" / "a.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(first)
    _age(photo)  # old enough for the hash cache to keep it
    _one_face_project(project, gid, ["faces/p/a.jpg"])
    assert project.cli("apply", "--yes").code == 0
    _copy_keeping_times(photo, second)

    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.code == 2, plan.out + plan.err
    assert "No changes" not in plan.out
    applied = project.cli("apply", "--yes")
    assert applied.code == 0, applied.err
    assert _recorded_keys(project, gid) == {file_key(photo)}
    assert project.cli("plan", "--detailed-exitcode").code == 0


def test_planning_again_after_a_kept_timestamp_copy_lets_apply_succeed(
    project: Project, small_faces: Path, gid: str
) -> None:
    """A saved plan made before the copy is refused; the plan made after it applies."""
    first, second = _same_size_pair(small_faces)
    photo = project.root / "faces" / "p" / "a.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(first)
    _age(photo)
    _one_face_project(project, gid, ["faces/p/a.jpg"])
    assert project.cli("plan", "-o", "saved.plan").code == 0
    _copy_keeping_times(photo, second)

    stale = project.cli("apply", "saved.plan")
    assert stale.code == 1
    assert "plan" in stale.err and "Traceback" not in stale.err
    assert project.cli("plan", "-o", "saved.plan").code == 0
    fresh = project.cli("apply", "saved.plan")
    assert fresh.code == 0, fresh.err
    assert _recorded_keys(project, gid) == {file_key(photo)}


def _portrait(small_faces: Path) -> Image.Image:
    with Image.open(people(small_faces, "christina_koch")[0]) as img:
        return img.convert("RGB")


def test_an_mpo_photo_passes_validate_and_is_added(
    project: Project, small_faces: Path, gid: str
) -> None:
    picture = _portrait(small_faces)
    out = io.BytesIO()
    picture.save(out, "MPO", save_all=True, append_images=[picture.rotate(90)])
    photo = project.root / "faces" / "p" / "camera.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(out.getvalue())
    with Image.open(photo) as check:
        assert check.format == "MPO" and check.n_frames == 2
    _one_face_project(project, gid, ["faces/p/camera.jpg"])

    validated = project.cli("validate", "--faces")
    assert validated.code == 0, validated.err
    applied = project.cli("apply", "--yes")
    assert applied.code == 0, applied.err
    [person] = project.server.persons(gid)
    assert len(person["persistedFaceIds"]) == 1


def test_a_16_bit_grayscale_png_passes_validate_and_its_face_is_found(
    project: Project, small_faces: Path, gid: str
) -> None:
    gray = _portrait(small_faces).convert("L")
    wide = gray.convert("I").point(lambda value: value * 257)  # 0..255 -> 0..65535
    photo = project.root / "faces" / "p" / "deep.png"
    photo.parent.mkdir(parents=True)
    wide.convert("I;16").save(photo, "PNG")
    with Image.open(photo) as check:
        assert check.mode == "I;16" and check.getextrema()[1] > 255
    _one_face_project(project, gid, ["faces/p/deep.png"])

    validated = project.cli("validate", "--faces")
    assert validated.code == 0, validated.err
    applied = project.cli("apply", "--yes")
    assert applied.code == 0, applied.err
    [person] = project.server.persons(gid)
    assert len(person["persistedFaceIds"]) == 1


EMOJI = "\U0001f600"  # 1 code point, 2 UTF-16 units


@pytest.mark.parametrize(
    ("field", "where", "limit"),
    [
        ("name", "groups.{gid}.persons.p.name", 128),
        ("userData", "groups.{gid}.persons.p.userData", 16384),
        ("face userData", "groups.{gid}.persons.p.faces[0].userData", 1024),
    ],
)
def test_a_text_too_long_in_utf16_units_is_refused_by_validate_before_any_call(
    project: Project, small_faces: Path, gid: str, field: str, where: str, limit: int
) -> None:
    face = project.add_photo("p", people(small_faces, "christina_koch")[0])
    text = EMOJI * (limit // 2 + 1)  # within the limit in code points, over it in units
    assert len(text) <= limit
    if field == "face userData":
        _one_face_project(project, gid, [{"path": face, "userData": text}])
    else:
        _one_face_project(project, gid, [face], **{field: text})

    result = project.cli("validate")
    assert result.code == 1
    assert "Traceback" not in result.err
    [line] = result.err.strip().splitlines()
    assert line.startswith("Error: facesync.yaml:") and where.format(gid=gid) in line
    assert f"{limit + 2:,} UTF-16 units" in line and f"limit of {limit:,}" in line
    assert project.cli("apply", "--yes").code == 1
    assert project.server.group(gid).status_code == 404  # nothing half-done


def test_a_name_exactly_at_the_limit_in_utf16_units_is_applied(
    project: Project, small_faces: Path, gid: str
) -> None:
    face = project.add_photo("p", people(small_faces, "christina_koch")[0])
    _one_face_project(project, gid, [face], name=EMOJI * 64)  # 128 units
    applied = project.cli("apply", "--yes")
    assert applied.code == 0, applied.err
    assert [p["name"] for p in project.server.persons(gid)] == [EMOJI * 64]


def test_a_nul_byte_in_a_face_path_is_one_diagnostic_among_the_others(
    project: Project, small_faces: Path, gid: str
) -> None:
    face = project.add_photo("p", people(small_faces, "christina_koch")[0])
    project.manifest.write_text(
        "version: 1\n"
        "groups:\n"
        f"  {gid}:\n"
        "    name: Attack\n"
        "    persons:\n"
        "      p:\n"
        "        faces:\n"
        f"          - {face}\n"
        '          - "faces/p/evil\\0.jpg"\n'
        "          - faces/p/missing.jpg\n"
        "      q:\n"
        '        faces: ["faces/q\\0/*.jpg"]\n'
    )
    result = project.cli("validate")
    assert result.code == 1
    assert "unexpected" not in result.err.lower() and "Traceback" not in result.err
    lines = [line.removeprefix("Error: ") for line in result.err.strip().splitlines()]
    assert len(lines) == 3, result.err
    assert lines[0].startswith(f"facesync.yaml:9: groups.{gid}.persons.p.faces[1]: ")
    assert "NUL byte" in lines[0]
    assert lines[1].startswith(f"facesync.yaml:10: groups.{gid}.persons.p.faces[2]: ")
    assert "does not exist" in lines[1]
    assert lines[2].startswith(f"facesync.yaml:12: groups.{gid}.persons.q.faces[0]: ")
    assert "NUL byte" in lines[2]


def test_an_nfc_path_finds_the_nfd_file_name_on_disk(
    project: Project, small_faces: Path, gid: str
) -> None:
    """macOS writes names in NFD; a manifest typed in an editor is NFC."""
    nfd = unicodedata.normalize("NFD", "José")
    nfc = unicodedata.normalize("NFC", "José")
    assert nfd != nfc
    photos = people(small_faces, "barack_obama")
    folder = project.root / "faces" / nfd
    folder.mkdir(parents=True)
    shutil.copyfile(photos[0], folder / f"{nfd}.jpg")
    shutil.copyfile(photos[1], folder / "second.jpg")
    shutil.copyfile(photos[2], folder / unicodedata.normalize("NFD", "crème.jpg"))
    _one_face_project(project, gid, [f"faces/{nfc}/{nfc}.jpg", f"faces/{nfc}/s*.jpg",
                                     f"faces/{nfc}/" + unicodedata.normalize("NFC", "crè*.jpg")])

    validated = project.cli("validate")
    assert validated.code == 0, validated.err
    assert "3 face image(s)" in validated.out
    applied = project.cli("apply", "--yes")
    assert applied.code == 0, applied.err
    [person] = project.server.persons(gid)
    assert len(person["persistedFaceIds"]) == 3


def test_a_control_character_in_a_path_is_one_diagnostic(project: Project) -> None:
    """It would reach the lock and every terminal that shows it."""
    project.manifest.write_text(
        'version: 1\ngroups:\n  g-ctl:\n    name: G\n    persons:\n'
        '      a:\n        faces: ["faces/a\\e]0;t\\a.jpg"]\n'
    )
    result = project.cli("validate")
    assert result.code == 1, result.out + result.err
    assert "holds the control character '\\x1b'" in result.err
    assert "\x1b" not in result.err and "Traceback" not in result.err
