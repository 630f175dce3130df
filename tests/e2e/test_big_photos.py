"""A phone photo above the Face API's 6 MB is enrolled, not refused: the plan says it is
sent downscaled, apply sends the copy, and the lock names the original's bytes."""

from __future__ import annotations

import json

import pytest

from facesync.limits import IMAGE_MAX_BYTES
from tests.big_photos import SAMPLES, phone_photo, two_portraits
from tests.lock_reading import image_key

from .conftest import Project


@pytest.fixture(scope="module")
def big_photo() -> bytes:
    data = phone_photo("christina_koch")
    assert len(data) > IMAGE_MAX_BYTES
    return data


def _gallery(project: Project, gid: str, big: bytes) -> None:
    (project.root / "photos").mkdir()
    (project.root / "photos" / "koch.jpg").write_bytes(big)
    koch = {"faces": ["photos/koch.jpg"]}
    project.write_manifest({gid: {"name": "Crew", "persons": {"koch": koch}}})


def test_validate_accepts_a_photo_above_6_mb(project: Project, gid: str, big_photo: bytes) -> None:
    _gallery(project, gid, big_photo)
    result = project.cli("validate")
    assert result.code == 0, result.err
    assert "1 face image(s)" in result.out


def test_the_plan_says_the_photo_is_sent_downscaled(
    project: Project, gid: str, big_photo: bytes
) -> None:
    _gallery(project, gid, big_photo)
    result = project.cli("plan")
    assert result.code == 0, result.err
    size = f"{len(big_photo) / 2**20:.1f} MB"
    assert f"photos/koch.jpg ({size}" in result.out
    assert "is sent downscaled to fit the service's limits" in result.out
    assert f"+ {gid}/koch/photos/koch.jpg" in result.out


def test_apply_enrols_it_and_the_lock_names_the_original(
    project: Project, gid: str, big_photo: bytes
) -> None:
    _gallery(project, gid, big_photo)
    result = project.cli("apply", "--yes")
    assert result.code == 0, result.err + result.out
    [face] = project.lock_json()["groups"][gid]["persons"]["koch"]["faces"]
    assert face["sha256"] == image_key(big_photo)
    [person] = project.server.persons(gid)
    assert person["persistedFaceIds"] == [face["persistedFaceId"]]
    again = project.cli("plan", "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
    assert "No changes." in again.out


def test_a_target_face_in_the_original_grid_picks_its_face_in_the_copy(
    project: Project, gid: str
) -> None:
    """The right half of a 4032 px photo of two people lies beyond the copy's 1920 px:
    the box is mapped onto the copy, and the face inside it is the one enrolled."""
    data, (width, height) = two_portraits("christina_koch", "jeremy_hansen")
    assert len(data) > IMAGE_MAX_BYTES
    half = width // 2
    (project.root / "photos").mkdir()
    (project.root / "photos" / "pair.jpg").write_bytes(data)
    entry = {"path": "photos/pair.jpg", "targetFace": [half, 0, width - half, height]}
    project.write_manifest({gid: {"name": "Crew", "persons": {"hansen": {"faces": [entry]}}}})
    result = project.cli("apply", "--yes")
    assert result.code == 0, result.err + result.out
    [person] = project.server.persons(gid)
    assert len(person["persistedFaceIds"]) == 1
    portrait = sorted((SAMPLES / "jeremy_hansen").glob("*.jpg"))[0]
    named = project.cli("identify", "--json", str(portrait))
    assert named.code == 0, named.err
    [face] = json.loads(named.out)["faces"]
    assert face["person"] == "hansen"
