"""Image rules (Pillow) and real detection/recognition (dlib) on the shipped photos."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from facesync.emulator import errors
from facesync.emulator.images import ImageProblem, check_size, decode

PHOTOS = Path(__file__).resolve().parents[3] / "manifests" / "faces"


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def problem(data: bytes) -> str:
    with pytest.raises(ImageProblem) as caught:
        decode(data)
    return caught.value.spec.message


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP"])
def test_the_four_formats_decode(fmt: str) -> None:
    picture = decode(encoded(Image.new("RGB", (300, 200), "red"), fmt))

    assert (picture.width, picture.height, picture.rgb.mode) == (300, 200, "RGB")


def test_a_format_the_service_refuses_is_unsupported_whatever_its_name() -> None:
    assert problem(encoded(Image.new("RGB", (64, 64)), "TIFF")) == errors.IMAGE_UNSUPPORTED.message
    assert problem(b"GIF89a" + b"\0" * 2000) == errors.IMAGE_UNSUPPORTED.message


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    bomb = encoded(Image.new("1", (9000, 9000)), "PNG")  # 81 Mpx, over IMAGE_MAX_PIXELS

    assert len(bomb) < 100_000
    assert problem(bomb) == errors.IMAGE_UNSUPPORTED.message


def test_a_truncated_photo_is_a_decoding_error() -> None:
    data = (PHOTOS / "people/mike_pence/pence_2017-10-24_official-portrait.jpg").read_bytes()

    assert problem(data[: len(data) // 3]) == errors.IMAGE_UNSUPPORTED.message


def test_large_images_are_scaled_for_detection_only() -> None:
    picture = decode(encoded(Image.new("RGB", (3000, 1500)), "JPEG"))

    assert (picture.width, picture.height) == (3000, 1500)
    assert max(picture.rgb.size) == 1024 and picture.scale == pytest.approx(1024 / 3000, 1e-3)


def test_file_size_limits() -> None:
    with pytest.raises(ImageProblem):
        check_size(b"x" * 1023)
    with pytest.raises(ImageProblem):
        check_size(b"x" * (6 * 1024 * 1024 + 1))
    check_size(b"x" * 1024)


# -- real vision (the `local` extra) --------------------------------------------------------
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
