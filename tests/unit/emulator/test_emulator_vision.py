"""Real detection and recognition (dlib) on the repository's own sample photos."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PHOTOS = Path(__file__).resolve().parents[3] / "manifests" / "faces"

vision = pytest.importorskip("facesync.emulator.vision")
pytest.importorskip("dlib")


def photo(relative: str) -> bytes:
    return (PHOTOS / relative).read_bytes()


def test_a_portrait_has_one_face_with_a_128_value_embedding() -> None:
    faces = vision.find_faces(photo("people/barack_obama/obama_2012-12-06_official-portrait.jpg"))

    assert len(faces) == 1
    left, top, width, height = faces[0].rectangle
    assert 150 < width < 300 and 150 < height < 300 and left >= 0 and top >= 0
    assert faces[0].embedding.shape == (128,)


def test_a_group_photo_lists_faces_largest_first_in_original_pixels() -> None:
    data = photo("groups/group_artemis2-crew_2023-03-29.jpg")  # 1151x1440: detected scaled down

    boxes = vision.analyse(data).boxes

    areas = [box.rectangle[2] * box.rectangle[3] for box in boxes]
    assert len(boxes) == 4 and areas == sorted(areas, reverse=True)
    assert all(100 <= box.rectangle[2] <= 115 for box in boxes)


def test_a_photo_without_people_has_no_face() -> None:
    assert vision.find_faces(photo("no_face/coffee-cup.jpg")) == []


def test_the_same_person_is_nearer_than_a_stranger() -> None:
    import numpy as np

    def embedding(relative: str) -> np.ndarray:
        return vision.find_faces(photo(relative))[0].embedding

    obama = embedding("people/barack_obama/obama_2012-12-06_official-portrait.jpg")
    obama_again = embedding("people/barack_obama/obama_2009-09-09_congress-address.jpg")
    pence = embedding("people/mike_pence/pence_2017-10-24_official-portrait.jpg")

    assert np.linalg.norm(obama - obama_again) < 0.6 < np.linalg.norm(obama - pence)


def test_results_are_cached_by_content() -> None:
    data = photo("people/mark_kelly/kelly_2010-01-15_nasa-portrait.jpg")

    assert vision.analyse(data) is vision.analyse(bytes(data))


def test_the_minimum_face_grows_with_very_large_images() -> None:
    assert vision.min_face_px(1920, 1080) == 36
    assert vision.min_face_px(3840, 2160) == 72


def test_a_missing_extra_is_one_sentence_naming_the_install_command() -> None:
    code = (
        "import sys; sys.modules['dlib'] = None\n"
        "from facesync.emulator import server\n"
        "try:\n"
        "    server.vision.require_vision()\n"
        "except server.vision.VisionUnavailableError as error:\n"
        "    print(error)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout

    assert shown.strip() == (
        "The local Face API emulator needs dlib: run pip install 'facesync[local]'."
    )
