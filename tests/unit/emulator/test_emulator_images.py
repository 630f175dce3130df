"""The image rules (Pillow), safe against hostile files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from facesync.emulator import errors
from facesync.emulator.images import ImageRefused, check_size, decode

PHOTOS = Path(__file__).resolve().parents[3] / "manifests" / "faces"


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def problem(data: bytes) -> str:
    with pytest.raises(ImageRefused) as caught:
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
    with pytest.raises(ImageRefused):
        check_size(b"x" * 1023)
    with pytest.raises(ImageRefused):
        check_size(b"x" * (6 * 1024 * 1024 + 1))
    check_size(b"x" * 1024)
