"""Output written for people: `facesync faces` lists the boxes of a photo in the
manifest's targetFace form, and `identify` names faces by the manifest's names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import Project, people

FACES = Path(__file__).resolve().parents[2] / "manifests" / "faces"
PAIR = FACES / "groups" / "group_obama-biden_2010-05-10_composite.jpg"  # 1126x661
CUP = FACES / "no_face" / "coffee-cup.jpg"
BIDEN_BOX, OBAMA_BOX = [788, 70, 172, 172], [240, 52, 171, 171]  # largest first


def _rectangle(box: list[int]) -> dict[str, int]:
    return dict(zip(("left", "top", "width", "height"), box, strict=True))


def test_faces_lists_every_box_largest_first_with_a_hint(embedded_project: Project) -> None:
    """Needs `faces` registered in cli.py."""
    project = embedded_project
    pair = project.add_photo("team", PAIR)
    result = project.cli("faces", pair)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"2 faces in {pair} (1126x661), largest first:"
    assert lines[1].split() == ["FACE", "(as", "targetFace)", "SIZE"]
    assert re.match(r"^  \[788, 70, 172, 172\]\s+172x172 px$", lines[2]), lines[2]
    assert re.match(r"^  \[240, 52, 171, 171\]\s+171x171 px$", lines[3]), lines[3]
    assert "targetFace" in lines[4]
    assert lines[5:] == [f"  - path: {pair}", f"    targetFace: {BIDEN_BOX}"]


def test_faces_as_json_is_a_list_of_boxes(embedded_project: Project) -> None:
    """Needs `faces` registered in cli.py."""
    pair = embedded_project.add_photo("team", PAIR)
    result = embedded_project.cli("faces", pair, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == [
        {"targetFace": box, "faceRectangle": _rectangle(box)}
        for box in (BIDEN_BOX, OBAMA_BOX)
    ]


@pytest.mark.parametrize(("photo", "expected"), [
    (CUP, "No face found in {path} (600x400)"),
    (FACES / "people" / "mike_pence" / "pence_2017-10-24_official-portrait.jpg",
     "1 face in {path} (819x1024):"),
])
def test_faces_on_a_photo_with_no_face_or_one(
    embedded_project: Project, photo: Path, expected: str
) -> None:
    """Needs `faces` registered in cli.py."""
    path = embedded_project.add_photo("x", photo)
    result = embedded_project.cli("faces", path)
    assert result.code == 0, result.err
    assert result.out.startswith(expected.format(path=path)), result.out


def test_faces_refuses_a_file_that_is_no_photo_in_one_line(embedded_project: Project) -> None:
    """Needs `faces` registered in cli.py."""
    (embedded_project.root / "notes.jpg").write_text("not a photo\n" * 200)
    result = embedded_project.cli("faces", "notes.jpg")
    assert result.code == 1
    assert len(result.err.strip().splitlines()) == 1 and "notes.jpg" in result.err
    assert "Traceback" not in result.err


@pytest.fixture
def leaders(project: Project, small_faces: Path, gid: str) -> Project:
    """Obama (named in the manifest) and Biden (no name: the key is his name), trained."""
    obama = [project.add_photo("obama", p) for p in people(small_faces, "barack_obama")[:3]]
    biden = [project.add_photo("biden", p) for p in people(small_faces, "joe_biden")[1:]]
    project.write_manifest({gid: {"name": "Leaders", "persons": {
        "obama": {"name": "Barack Obama", "faces": obama},
        "biden": {"faces": biden},
    }}})
    applied = project.cli("apply", "--yes")
    assert applied.code == 0, applied.err
    project.gid = gid  # type: ignore[attr-defined]
    return project


def test_identify_names_faces_by_the_manifest_with_a_header_and_percentages(
    leaders: Project,
) -> None:
    result = leaders.cli("identify", str(PAIR))
    assert result.code == 0, result.err
    header, columns, first, second = result.out.splitlines()
    gid = leaders.gid  # type: ignore[attr-defined]
    assert header == f"2 faces in {PAIR}, largest first (group {gid}, threshold 50%):"
    assert columns.split() == ["FACE", "[left,", "top,", "width,", "height]", "CONFIDENCE",
                               "PERSON"]
    assert re.match(r"^  \[788, 70, 172, 172\]\s+\d{1,3}%\s+biden$", first), first
    assert re.match(r"^  \[240, 52, 171, 171\]\s+\d{1,3}%\s+Barack Obama \(obama\)$", second)


def test_identify_says_unknown_for_a_stranger(leaders: Project, small_faces: Path) -> None:
    stranger = people(small_faces, "michelle_obama")[0]
    result = leaders.cli("identify", str(stranger))
    assert result.code == 0, result.err
    assert result.out.splitlines()[0].startswith(f"1 face in {stranger} (group ")
    assert re.match(r"^  \[\d+, \d+, \d+, \d+\]\s+unknown$", result.out.splitlines()[2])


def test_identify_json_adds_the_name_and_the_person_id(leaders: Project) -> None:
    result = leaders.cli("identify", str(PAIR), "--json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    gid = leaders.gid  # type: ignore[attr-defined]
    persons = leaders.lock_json()["groups"][gid]["persons"]
    assert document["group"] == gid and document["image"] == str(PAIR)
    biden, obama = document["faces"]
    assert biden["faceRectangle"] == _rectangle(BIDEN_BOX)
    assert (biden["person"], biden["name"]) == ("biden", "biden")
    assert (obama["person"], obama["name"]) == ("obama", "Barack Obama")
    assert obama["personId"] == persons["obama"]["personId"]
    assert 0.5 <= obama["confidence"] <= 1
    assert set(obama) == {"faceRectangle", "person", "name", "personId", "confidence"}


def test_identify_falls_back_to_keys_when_the_manifest_cannot_be_read(leaders: Project) -> None:
    text = leaders.manifest.read_text()
    leaders.manifest.write_text(text.replace("name: Barack Obama", "name: [broken"))
    result = leaders.cli("identify", str(PAIR))
    assert result.code == 0, result.err
    assert "Showing person keys, not names" in result.err
    assert re.search(r"%\s+obama$", result.out, re.MULTILINE), result.out


def _sideways_phone_photo(folder: Path) -> Path:
    """A photo above the service's largest side, stored on its side with the EXIF
    orientation a phone writes: facesync sends it as an upright downscaled copy."""
    from PIL import Image

    with Image.open(FACES / "people" / "barack_obama" / "obama_2010-05-10_blue-room.jpg") as img:
        upright = img.convert("RGB").resize((3666, 4400))  # the face: [290, 260, 268, 269] x 4.3
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter clockwise
    photo = folder / "phone.jpg"
    upright.transpose(Image.Transpose.ROTATE_90).save(photo, "JPEG", exif=exif.tobytes())
    return photo


def test_a_big_sideways_phone_photo_is_named_with_boxes_in_its_own_grid(
    leaders: Project,
) -> None:
    photo = _sideways_phone_photo(leaders.root)
    listed = leaders.cli("faces", str(photo), "--json")
    assert listed.code == 0, listed.err
    [face] = json.loads(listed.out)
    left, top, width, height = face["targetFace"]  # stored grid 4400x3666, turned back
    assert abs(left - 1118) < 100 and abs(top - 1267) < 100 and abs(width - 1153) < 150
    named = leaders.cli("identify", str(photo), "--json")
    assert named.code == 0, named.err
    [identified] = json.loads(named.out)["faces"]
    assert identified["person"] == "obama"
    box = identified["faceRectangle"]
    assert abs(box["left"] - left) < 30 and abs(box["top"] - top) < 30
