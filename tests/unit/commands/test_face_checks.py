"""The local face checks of validate, plan and apply: add-face's rule on what the
emulator's detector finds, every refusal a `file:line: path: message` line,
and a cache that spares a warm run the detector."""

from __future__ import annotations

import io
import re
import shutil
import stat
from pathlib import Path

import pytest
from PIL import Image

from facesync.commands import face_checks
from facesync.commands.face_checks import (
    DETECTOR,
    NOT_CHECKED,
    FaceCache,
    Found,
    check_faces,
    face_problem,
)
from facesync.errors import ManifestError
from facesync.face_rules import min_face_px
from facesync.manifest.load import load_manifest
from facesync.manifest.model import DesiredFace
from facesync.workspace import face_cache_path

from ..manifest.support import REPO, age, one_person, write_manifest

FACES = REPO / "manifests" / "faces"
PAIR = FACES / "groups" / "group_obama-biden_2010-05-10_composite.jpg"  # 1126x661, two faces
PAIR_BOXES = "[788, 70, 172, 172], [240, 52, 171, 171]"
CUP = FACES / "no_face" / "coffee-cup.jpg"
PORTRAIT = FACES / "people" / "christina_koch" / "koch_2023-03-29_nasa-portrait.jpg"
LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<path>[^:]+): (?P<message>.+)$")


def _face(target: tuple[int, int, int, int] | None = None) -> DesiredFace:
    return DesiredFace("faces/p.jpg", "/x/faces/p.jpg", "k" * 22, 2000, target_face=target)


SIZE = (1000, 800)
A, B = (100, 100, 100, 100), (600, 100, 120, 120)
TINY = (400, 400, 20, 20)  # below the 36 px minimum of a 1000x800 image


@pytest.mark.parametrize(
    ("faces", "target", "fragment"),
    [
        ([A], None, None),
        ([A, B], (550, 50, 250, 250), None),
        ([], None, "no face detected in faces/p.jpg; use a photo with one clear face"),
        ([A, B], None, "2 faces detected in faces/p.jpg; add targetFace: [left, top, width, "
         "height] to pick one (found faces at [100, 100, 100, 100], [600, 100, 120, 120])"),
        ([A, B], (0, 0, 1000, 800), "2 faces detected inside targetFace [0, 0, 1000, 800]"),
        ([A, B], (0, 500, 100, 100), "found faces at [100, 100, 100, 100], [600, 100, 120, 120]:"
         " move targetFace"),
        ([], (0, 0, 100, 100), "the photo has no face at all"),
        ([A], (900, 700, 200, 200), "reaches outside the 1000x800 image"),
        ([TINY], None, "the face at [400, 400, 20, 20] is narrower than 36 px, the service's "
         "minimum in a 1000x800 image"),
        ([TINY], (380, 380, 60, 60), "narrower than 36 px"),
        # a face below the minimum is no second face
        ([A, TINY], None, None),
    ],
)
def test_each_refusal_says_what_to_fix(
    faces: list, target: tuple[int, int, int, int] | None, fragment: str | None
) -> None:
    message = face_problem(_face(target), Found(*SIZE, tuple(faces)))
    if fragment is None:
        assert message is None
    else:
        assert message is not None and fragment in message, message


def _project(tmp_path: Path, entries: str, photos: dict[str, Path]) -> Path:
    for rel, src in photos.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        age(target)
    return write_manifest(tmp_path, one_person(entries))


def _bad_gallery(tmp_path: Path) -> Path:
    return _project(
        tmp_path,
        """
        - faces/cup.jpg
        - faces/pair.jpg
        - path: faces/pair2.jpg
          targetFace: [0, 400, 200, 200]
        - faces/koch.jpg
        """,
        {"faces/cup.jpg": CUP, "faces/pair.jpg": PAIR, "faces/koch.jpg": PORTRAIT,
         "faces/pair2.jpg": _copy_with_other_bytes(tmp_path, PAIR)},
    )


def _copy_with_other_bytes(tmp_path: Path, src: Path) -> Path:
    """The same picture in other bytes (one person may not list the same bytes twice)."""
    out = tmp_path / "other" / src.name
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(src.read_bytes() + b"\0")  # trailing bytes: the same JPEG to decoders
    return out


def _messages(caught: pytest.ExceptionInfo[ManifestError]) -> list[str]:
    return [str(d) for d in caught.value.diagnostics]


def test_every_refused_face_is_a_file_line_diagnostic_naming_the_boxes(tmp_path: Path) -> None:
    manifest = load_manifest(_bad_gallery(tmp_path))
    with pytest.raises(ManifestError) as caught:
        check_faces(manifest, say=pytest.fail)
    lines = _messages(caught)
    assert len(lines) == 3, lines
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert {m["file"] for m in parsed if m} == {str(manifest.path)}
    assert [int(m["line"]) for m in parsed if m] == [8, 9, 10]
    assert {m["path"] for m in parsed if m} == {"groups.staff.persons.alice.faces"}
    assert "no face detected in faces/cup.jpg" in lines[0]
    assert "2 faces detected in faces/pair.jpg; add targetFace" in lines[1]
    assert PAIR_BOXES in lines[1]
    assert "no face detected inside targetFace [0, 400, 200, 200] of faces/pair2.jpg" in lines[2]
    assert PAIR_BOXES in lines[2]


def test_a_warm_check_of_a_passing_manifest_runs_no_detector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = load_manifest(
        _project(tmp_path, "- faces/koch.jpg\n- path: faces/pair.jpg\n  targetFace: [700, 0, "
                 "300, 300]", {"faces/koch.jpg": PORTRAIT, "faces/pair.jpg": PAIR})
    )
    check_faces(manifest, say=pytest.fail)
    assert stat.S_IMODE(face_cache_path(tmp_path).stat().st_mode) == 0o600

    def no_detector(*_args: object) -> None:
        raise AssertionError("a warm check must not detect nor look for dlib")

    monkeypatch.setattr(face_checks, "detect_file", no_detector)
    monkeypatch.setattr(face_checks, "_vision_ready", no_detector)
    monkeypatch.setattr(FaceCache, "_read_entries", no_detector)  # only the header is read
    check_faces(load_manifest(manifest.path), say=pytest.fail)


def test_a_failing_manifest_is_judged_again_from_the_cache_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = load_manifest(_bad_gallery(tmp_path))
    with pytest.raises(ManifestError) as first:
        check_faces(manifest, say=pytest.fail)
    monkeypatch.setattr(face_checks, "detect_file", pytest.fail)
    with pytest.raises(ManifestError) as again:
        check_faces(load_manifest(manifest.path), say=pytest.fail)
    assert _messages(again) == _messages(first)


def test_a_new_target_on_a_cached_photo_is_judged_without_the_detector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _project(tmp_path, "- path: faces/pair.jpg\n  targetFace: [700, 0, 300, 300]",
                    {"faces/pair.jpg": PAIR})
    check_faces(load_manifest(path), say=pytest.fail)
    path.write_text(path.read_text().replace("[700, 0, 300, 300]", "[0, 0, 1126, 661]"))
    monkeypatch.setattr(face_checks, "detect_file", pytest.fail)
    with pytest.raises(ManifestError) as caught:
        check_faces(load_manifest(path), say=pytest.fail)
    assert "2 faces detected inside targetFace [0, 0, 1126, 661]" in _messages(caught)[0]


def test_without_the_local_extra_it_says_so_once_and_lets_the_service_judge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(face_checks, "_vision_ready", lambda: False)
    manifest = load_manifest(_bad_gallery(tmp_path))
    said: list[str] = []
    check_faces(manifest, say=said.append)
    assert said == [NOT_CHECKED]
    assert "pip install 'facesync[local]'" in NOT_CHECKED and "\n" not in NOT_CHECKED
    check_faces(manifest, say=said.append)  # nothing was marked as passed
    assert said == [NOT_CHECKED] * 2


def test_a_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    path = _project(tmp_path, "- faces/koch.jpg", {"faces/koch.jpg": PORTRAIT})
    face_cache_path(tmp_path).parent.mkdir(exist_ok=True)
    face_cache_path(tmp_path).write_bytes(b'{"version": 1, "detector": "x"\n\xff\xfe junk\n')
    check_faces(load_manifest(path), say=pytest.fail)
    header, *entries = face_cache_path(tmp_path).read_text().splitlines()
    assert DETECTOR in header and len(entries) == 1
    assert entries[0].endswith(" detection_03 576 768 180 180 187 187")


def test_a_photo_changed_after_loading_is_named(tmp_path: Path) -> None:
    path = _project(tmp_path, "- faces/koch.jpg", {"faces/koch.jpg": PORTRAIT})
    manifest = load_manifest(path)
    (tmp_path / "faces" / "koch.jpg").write_bytes(PAIR.read_bytes())
    with pytest.raises(ManifestError, match="changed while it was being checked"):
        check_faces(manifest, say=pytest.fail)


def test_the_process_pool_finds_what_this_process_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos = {"faces/cup.jpg": CUP, "faces/pair.jpg": PAIR, "faces/koch.jpg": PORTRAIT}
    _project(tmp_path, "- faces/koch.jpg", photos)
    faces = [
        DesiredFace(rel, str(tmp_path / rel), _key(tmp_path / rel), 1) for rel in sorted(photos)
    ]
    here = face_checks._analyse(faces)
    monkeypatch.setattr(face_checks, "PARALLEL_FROM", 1)
    assert face_checks._analyse(faces) == here
    assert [len(found.faces) for found in here] == [0, 1, 2]  # type: ignore[union-attr]


def _key(path: Path) -> str:
    from facesync.digest import bytes_key

    return bytes_key(path.read_bytes())


def test_the_cache_names_the_detector_settings_it_was_made_with() -> None:
    from facesync.emulator import vision
    from facesync.image_fit import SEND_MAX_SIDE
    from facesync.image_rules import DETECTION_MAX_SIDE

    assert (
        f"dlib-hog upsample={vision.DETECTION_UPSAMPLE} min-score={vision.DETECTION_MIN_SCORE}"
        f" max-side={DETECTION_MAX_SIDE} max-faces={vision.MAX_FACES} send-side={SEND_MAX_SIDE}"
    ) == DETECTOR


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920), (3840, 2160), (4000, 4000),
                                  (100, 100), (2000, 1100)])
def test_the_checks_and_the_emulators_detector_share_the_minimum_face(size) -> None:
    from facesync.emulator import vision

    assert min_face_px(*size) == vision.min_face_px(*size)


def _oriented(size: tuple[int, int], orientation: int) -> bytes:
    """A JPEG of `size` stored pixels that asks to be shown turned (EXIF orientation)."""
    picture = Image.new("RGB", size, (90, 120, 150))
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    picture.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_boxes_of_a_downscaled_copy_land_where_the_target_was(orientation: int) -> None:
    from facesync.image_fit import to_send

    sendable = to_send(_oriented((4400, 1300), orientation))
    assert sendable.geometry is not None
    target = (3000, 200, 400, 500)
    back = face_checks.box_in_original(sendable.target_face(target), sendable.geometry)
    assert all(abs(a - b) <= 5 for a, b in zip(back, target, strict=True)), back


def test_a_big_phone_photo_stored_sideways_is_judged_as_it_is_sent(tmp_path: Path) -> None:
    """Above the service's limits a photo goes as an upright downscaled copy: its
    face counts although the stored pixels lie on their side."""
    with Image.open(PORTRAIT) as img:
        upright = img.convert("RGB").resize((3300, 4400))
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter clockwise
    photo = tmp_path / "faces" / "phone.jpg"
    photo.parent.mkdir()
    upright.transpose(Image.Transpose.ROTATE_90).save(photo, "JPEG", exif=exif.tobytes())
    age(photo)
    found = face_checks.found_in(photo.read_bytes())
    assert (found.width, found.height) == (4400, 3300) and len(found.faces) == 1
    left, top, width, height = found.faces[0]
    # the portrait's face (180, 180, 187, 187 of 576x768), turned and scaled
    assert abs(left - 1031) < 120 and abs(top - 1198) < 120 and abs(width - 1071) < 150
    check_faces(load_manifest(write_manifest(tmp_path, one_person("- faces/phone.jpg"))),
                say=pytest.fail)
