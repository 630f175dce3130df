"""`validate --faces` and the emulator's add-face agree on every image.

validate exists to catch, before any network call, the images apply would then
fail on; if its idea of "which face does targetFace pick" drifts from the
service's, it either passes images apply refuses or refuses images apply
takes. Each row below feeds the same photo (and target) to both: add-face over
HTTP on the real emulator, and `facesync validate --faces` through the CLI's
entry point. They must give the same verdict, and the row's expected one.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from facesync.cli import main
from facesync.emulator.server import RunningEmulator
from tests.emulator.support import PERSON_GROUP, Api, api_for, create_group, create_person

FACES = Path(__file__).resolve().parents[2] / "manifests" / "faces"
CREW = "groups/group_artemis2-crew_2023-03-29.jpg"  # 1151x1440, four faces
PAIR = "groups/group_obama-biden_2010-05-10_composite.jpg"  # two faces
APOLLO = "groups/group_apollo11-crew_1969.jpg"  # three faces
KOCH = "people/christina_koch/koch_2023-03-29_nasa-portrait.jpg"
OBAMA = "people/barack_obama/obama_2012-12-06_official-portrait.jpg"
CUP = "no_face/coffee-cup.jpg"

NO_FACE = ("InvalidImage", "No face detected in the image.")
SEVERAL = ("InvalidImage", "There is more than 1 face in the image.")
OUT_OF_RANGE = ("BadArgument", "Argument targetFace out of range.")
DIAGNOSTIC = re.compile(r"^facesync\.yaml:\d+: groups\.\S+\.persons\.p\.faces(?:\[0\])?: (.+)$")


@dataclass(frozen=True)
class Case:
    """One image (and target); `refusal` is None when both must accept it, else
    the emulator's (code, message) and a piece of validate's diagnostic."""

    name: str
    photo: str
    target: list[int] | None
    refusal: tuple[tuple[str, str], str] | None = None


CASES = [
    Case("portrait", KOCH, None),
    Case("another portrait", OBAMA, None),
    Case("portrait with a box around its face", KOCH, [150, 150, 250, 250]),
    # the four targets of manifests/example.yaml
    Case("crew: Koch", CREW, [245, 353, 159, 159]),
    Case("crew: Hansen", CREW, [783, 377, 158, 159]),
    Case("crew: Wiseman", CREW, [472, 521, 159, 158]),
    Case("crew: Glover", CREW, [520, 246, 159, 158]),
    Case("crew: a found box copied as targetFace", CREW, [543, 265, 107, 105]),
    Case("crew: a small box on one face's centre", CREW, [590, 310, 20, 20]),
    Case("apollo crew: one face", APOLLO, [560, 80, 200, 200]),
    Case("crew without targetFace", CREW, None, (SEVERAL, "4 faces detected in faces/")),
    Case(
        "two faces without targetFace",
        PAIR,
        None,
        (SEVERAL, "found faces at [788, 70, 172, 172], [240, 52, 171, 171]"),
    ),
    Case(
        "crew: a box around two faces",
        CREW,
        [480, 250, 180, 420],
        (SEVERAL, "2 faces detected inside targetFace [480, 250, 180, 420]"),
    ),
    Case(
        "crew: a box around no face",
        CREW,
        [0, 1000, 300, 300],
        (NO_FACE, "no face detected inside targetFace [0, 1000, 300, 300]"),
    ),
    Case(
        "crew: a box partly outside the image",
        CREW,
        [1000, 1300, 300, 300],
        (OUT_OF_RANGE, "reaches outside the 1151x1440 image"),
    ),
    Case("photo with no face", CUP, None, (NO_FACE, "no face detected in faces/")),
    Case(
        "photo with no face, with targetFace",
        CUP,
        [0, 0, 200, 200],
        (NO_FACE, "no face detected inside targetFace [0, 0, 200, 200]"),
    ),
]


@pytest.fixture(scope="module")
def person(emulator: RunningEmulator) -> tuple[Api, str, str]:
    """One person of a fresh group on the session's emulator, to add faces to."""
    api = api_for(emulator.url, emulator.key)
    group_id = create_group(api, PERSON_GROUP)
    return api, group_id, create_person(api, PERSON_GROUP, group_id)


def add_face_over_http(person: tuple[Api, str, str], case: Case) -> tuple[str, str] | None:
    """None when the emulator enrols a face, else its error (code, message)."""
    api, group_id, person_id = person
    params = {"targetFace": ",".join(map(str, case.target))} if case.target else {}
    path = PERSON_GROUP.path(group_id, "persons", person_id, "persistedfaces")
    resp = api.post_image(path, (FACES / case.photo).read_bytes(), **params)
    if resp.status_code == 200:
        assert set(resp.json()) == {"persistedFaceId"}, resp.text
        return None
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    return error["code"], error["message"]


def validate_faces(
    case: Case, root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    """The messages of `facesync validate --faces` on a one-face manifest ([] if valid)."""
    root.mkdir()
    photo = f"faces/{Path(case.photo).name}"
    (root / "faces").mkdir()
    shutil.copyfile(FACES / case.photo, root / photo)
    entry: object = photo if case.target is None else {"path": photo, "targetFace": case.target}
    group = {"name": "Agreement", "persons": {"p": {"faces": [entry]}}}
    manifest = {"version": 1, "groups": {"g-" + uuid.uuid4().hex[:12]: group}}
    (root / "facesync.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    for name in [name for name in os.environ if name.startswith("FACESYNC_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(root)
    capsys.readouterr()
    code = main(["validate", "--faces"])
    out, err = capsys.readouterr()
    if code == 0:
        assert "facesync.yaml is valid: 1 group(s), 1 person(s), 1 face image(s)." in out, out
        return []
    assert code == 1, (code, out, err)
    messages = []
    for line in err.rstrip("\n").removeprefix("Error: ").split("\n"):
        found = DIAGNOSTIC.match(line)
        assert found, f"not a file:line: path: message diagnostic: {line!r}"
        messages.append(found.group(1))
    return messages


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_validate_accepts_exactly_what_add_face_accepts(
    case: Case,
    person: tuple[Api, str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service_error = add_face_over_http(person, case)
    messages = validate_faces(case, tmp_path / "project", monkeypatch, capsys)

    assert (service_error is None) == (not messages), (service_error, messages)
    if case.refusal is None:
        assert service_error is None and messages == []
        return
    expected_error, fragment = case.refusal
    assert service_error == expected_error
    assert len(messages) == 1, messages
    assert fragment in messages[0], messages[0]
    assert Path(case.photo).name in messages[0]


def test_the_table_has_both_verdicts_and_every_refusal() -> None:
    """A table of only passes (or only one kind of refusal) would prove little."""
    refusals = {case.refusal[0] for case in CASES if case.refusal}
    assert refusals == {NO_FACE, SEVERAL, OUT_OF_RANGE}
    assert any(case.refusal is None and case.target for case in CASES)
    assert any(case.refusal is None and case.target is None for case in CASES)
