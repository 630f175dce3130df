"""Image checks as the Face API applies them, done locally with Pillow."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from facesync.errors import FacesyncError
from facesync.limits import IMAGE_MIN_BYTES
from facesync.manifest.images import ImageInfo, ImageProblem, check_image_bytes, check_target_face

from .support import SAMPLE_PEOPLE, noise_image, png_declaring


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP"])
def test_each_accepted_format_is_recognised_by_its_content(fmt: str) -> None:
    assert check_image_bytes(noise_image(80, 60, fmt)) == ImageInfo(fmt, 80, 60)


def test_a_real_photo_passes() -> None:
    photo = sorted(SAMPLE_PEOPLE.glob("*/*.jpg"))[0].read_bytes()
    info = check_image_bytes(photo)
    assert info.format == "JPEG" and info.width > 100 and info.height > 100


def _jpeg_truncated() -> bytes:
    data = noise_image(200, 200, "JPEG")
    return data[: len(data) // 2]


def _tiff() -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (64, 64), noise_image(64, 64, "BMP")[-64 * 64 * 3 :]).save(out, "TIFF")
    return out.getvalue()


BAD_IMAGES = [
    ("zero bytes", b"", "the file is empty (0 bytes)"),
    ("undersized", noise_image(8, 8), "bytes, below the Face API's minimum of 1,024 bytes"),
    ("text named .jpg", b"not a photo\n" * 200, "the content is not a JPEG, PNG, GIF or BMP"),
    ("TIFF", _tiff(), "the content is not a JPEG, PNG, GIF or BMP"),
    ("truncated JPEG", _jpeg_truncated(), "the image cannot be decoded (truncated or corrupt)"),
    ("truncated PNG", noise_image(200, 200)[:5000], "the image cannot be decoded"),
    ("too few pixels", noise_image(30, 30), "the image is 30x30 pixels, too small"),
    ("above facesync's pixel limit", png_declaring(9000, 9000), "the image is 9000x9000 pixels"),
    ("Pillow's bomb warning", png_declaring(10000, 10000), "guard against decompression bombs"),
    ("Pillow's bomb error", png_declaring(50000, 50000), "guard against decompression bombs"),
]


@pytest.mark.parametrize(
    ("data", "expected"), [c[1:] for c in BAD_IMAGES], ids=[c[0] for c in BAD_IMAGES]
)
def test_each_bad_image_is_refused_with_a_clear_reason(data: bytes, expected: str) -> None:
    with pytest.raises(ImageProblem) as caught:
        check_image_bytes(data)
    assert expected in caught.value.message
    assert ": " in caught.value.message  # a reason, then what to do


def test_an_image_problem_is_a_facesync_error() -> None:
    assert issubclass(ImageProblem, FacesyncError)


def test_the_size_limits_are_inclusive() -> None:
    smallest = noise_image(40, 40)
    assert len(smallest) >= IMAGE_MIN_BYTES
    check_image_bytes(smallest)


def test_a_gif_is_checked_by_its_first_frame() -> None:
    assert check_image_bytes(noise_image(50, 40, "GIF")) == ImageInfo("GIF", 50, 40)


INFO = ImageInfo("JPEG", 640, 480)


@pytest.mark.parametrize(
    "target", [(0, 0, 640, 480), (10, 10, 100, 100), (600, 400, 40, 80), (0, 0, 1, 1)]
)
def test_a_target_face_inside_the_image_is_fine(target: tuple[int, int, int, int]) -> None:
    assert check_target_face(INFO, target) is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ((600, 0, 41, 10), "reaches outside the 640x480 image: keep left + width <= 640"),
        ((0, 400, 10, 81), "reaches outside the 640x480 image"),
        ((700, 500, 10, 10), "reaches outside the 640x480 image"),
        ((-1, 0, 10, 10), "is invalid"),
        ((0, 0, 0, 10), "is invalid"),
    ],
)
def test_a_target_face_outside_the_image_is_refused(
    target: tuple[int, int, int, int], expected: str
) -> None:
    problem = check_target_face(INFO, target)
    assert problem is not None and expected in problem
