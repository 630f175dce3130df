"""Photos above the service's limits are sent as a deterministic downscaled JPEG."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from facesync import image_fit
from facesync.image_fit import (
    SEND_BUDGET_BYTES,
    SEND_MAX_SIDE,
    SERVICE_MAX_SIDE,
    bytes_to_send,
    needs_downscale,
    to_send,
)
from facesync.limits import IMAGE_MAX_BYTES
from facesync.manifest.images import check_image_bytes
from tests.big_photos import SAMPLES, phone_photo

SAMPLE = SAMPLES / "christina_koch" / "koch_2023-03-29_nasa-portrait.jpg"


@pytest.fixture(scope="module")
def big_photo() -> bytes:
    data = phone_photo()
    assert len(data) > IMAGE_MAX_BYTES
    return data


def _opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    ("size_bytes", "width", "height", "expected"),
    [
        (IMAGE_MAX_BYTES, 4032, 3024, False),
        (IMAGE_MAX_BYTES + 1, 640, 480, True),
        (100_000, SERVICE_MAX_SIDE, SERVICE_MAX_SIDE, False),
        (100_000, SERVICE_MAX_SIDE + 1, 100, True),
        (100_000, 100, SERVICE_MAX_SIDE + 1, True),
    ],
)
def test_only_photos_above_the_limits_need_downscaling(
    size_bytes: int, width: int, height: int, expected: bool
) -> None:
    assert needs_downscale(size_bytes, width, height) is expected


def test_a_photo_within_the_limits_is_sent_as_it_is() -> None:
    data = SAMPLE.read_bytes()
    sendable = to_send(data)
    assert sendable.data is data and not sendable.downscaled
    assert sendable.target_face((1, 2, 3, 4)) == (1, 2, 3, 4)


def test_an_oversized_photo_becomes_a_jpeg_the_service_takes(big_photo: bytes) -> None:
    sent = bytes_to_send(big_photo)
    assert len(sent) <= SEND_BUDGET_BYTES < IMAGE_MAX_BYTES
    info = check_image_bytes(sent)
    assert (info.format, info.width, info.height) == ("JPEG", 1440, SEND_MAX_SIDE)
    assert not needs_downscale(len(sent), info.width, info.height)


def test_the_copy_is_the_same_bytes_every_time(big_photo: bytes) -> None:
    assert bytes_to_send(big_photo) == bytes_to_send(bytes(big_photo))


def test_the_copy_carries_no_metadata() -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # a GPS position
    data = phone_photo(exif=exif.tobytes(), comment=b"holiday", icc_profile=b"\0" * 200)
    with _opened(data) as original:
        assert original.getexif() and "comment" in original.info
    with _opened(bytes_to_send(data)) as copy:
        assert not copy.getexif()
        assert not {"exif", "comment", "icc_profile"} & set(copy.info)


def test_a_photo_wider_than_the_service_takes_is_downscaled_although_it_is_small() -> None:
    picture = Image.new("L", (SERVICE_MAX_SIDE + 904, 500), 128)
    out = io.BytesIO()
    picture.save(out, "PNG")
    assert len(out.getvalue()) < 100_000
    with _opened(bytes_to_send(out.getvalue())) as copy:
        assert copy.format == "JPEG" and copy.size == (SEND_MAX_SIDE, 192)


def test_a_copy_still_above_the_budget_is_made_smaller_again(
    big_photo: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    at_full_side = len(bytes_to_send(big_photo))
    monkeypatch.setattr(image_fit, "SEND_BUDGET_BYTES", at_full_side // 3)
    sendable = to_send(big_photo)
    assert len(sendable.data) <= at_full_side // 3
    with _opened(sendable.data) as copy:
        assert max(copy.size) < SEND_MAX_SIDE
    assert sendable.data == to_send(big_photo).data


def test_transparency_is_laid_on_white() -> None:
    picture = Image.new("RGBA", (SERVICE_MAX_SIDE * 2, 400), (0, 0, 0, 0))
    out = io.BytesIO()
    picture.save(out, "PNG")
    with _opened(bytes_to_send(out.getvalue())) as copy:
        assert copy.mode == "RGB" and min(copy.getextrema()[0]) >= 250


def test_what_cannot_be_opened_is_left_for_the_service_to_refuse() -> None:
    data = b"not a photo" * 1_000_000
    assert bytes_to_send(data) is data


# EXIF orientation -> where the top-left corner of the stored pixels ends up, upright
_CORNER_AFTER = {1: "top-left", 2: "top-right", 3: "bottom-right", 4: "bottom-left",
                 5: "top-left", 6: "top-right", 7: "bottom-right", 8: "bottom-left"}


def _oriented(orientation: int, box: tuple[int, int, int, int]) -> bytes:
    """A wide dark photo (above the side limit) with a white box, tagged `orientation`."""
    left, top, width, height = box
    picture = Image.new("RGB", (6000, 3000), (20, 20, 20))
    ImageDraw.Draw(picture).rectangle((left, top, left + width - 1, top + height - 1),
                                      fill=(255, 255, 255))
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


def _white_box(data: bytes) -> tuple[int, int, int, int]:
    with _opened(data) as copy:
        bright = np.argwhere(np.asarray(copy.convert("L")) > 128)
    (top, left), (bottom, right) = bright.min(axis=0), bright.max(axis=0)
    return int(left), int(top), int(right - left + 1), int(bottom - top + 1)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_the_copy_stands_upright_and_its_target_face_follows_the_pixels(orientation: int) -> None:
    box = (300, 200, 900, 600)  # near the stored image's top-left corner
    sendable = to_send(_oriented(orientation, box))
    with _opened(sendable.data) as copy:
        width, height = copy.size
    assert (width, height) == ((1920, 960) if orientation <= 4 else (960, 1920))
    found = _white_box(sendable.data)
    corner = _CORNER_AFTER[orientation]
    centre_x, centre_y = found[0] + found[2] / 2, found[1] + found[3] / 2
    assert (centre_x < width / 2) == corner.endswith("left")
    assert (centre_y < height / 2) == corner.startswith("top")
    mapped = sendable.target_face(box)
    assert mapped is not None
    assert all(abs(a - b) <= 2 for a, b in zip(mapped, found, strict=True)), (mapped, found)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_box_found_in_the_copy_maps_back_onto_the_original(orientation: int) -> None:
    box = (1200, 700, 1500, 900)
    sendable = to_send(_oriented(orientation, box))
    found = _white_box(sendable.data)
    back = sendable.box_in_original(found)
    assert all(abs(a - b) <= 8 for a, b in zip(back, box, strict=True)), (back, box)
