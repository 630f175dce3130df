"""A photo above the service's limits is accepted by the manifest's checks and marked
as sent downscaled; its identity stays the original's bytes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from facesync.limits import IMAGE_MAX_BYTES
from facesync.manifest.images import ImageInfo, check_image_bytes
from facesync.manifest.load import load_manifest
from facesync.manifest.model import DesiredFace
from tests.big_photos import phone_photo
from tests.lock_reading import image_key

from .support import age, one_person, write_image, write_manifest


@pytest.fixture(scope="module")
def seven_mb() -> bytes:
    data = phone_photo(long_side=4400)
    assert 7 * 2**20 <= len(data) <= 12 * 2**20
    return data


def _only_face(manifest_path: Path) -> DesiredFace:
    [group] = load_manifest(manifest_path).groups
    [person] = group.persons
    [face] = person.faces
    return face


def test_a_7_mb_photo_passes_the_image_checks(seven_mb: bytes) -> None:
    info = check_image_bytes(seven_mb)
    assert info == ImageInfo("JPEG", 3300, 4400)
    assert info.downscaled_from(len(seven_mb)) == (3300, 4400)


def test_a_photo_within_the_limits_is_not_marked(tmp_path: Path) -> None:
    write_image(tmp_path, "faces/a.png")
    face = _only_face(write_manifest(tmp_path, one_person("- faces/a.png")))
    assert not face.sent_downscaled and face.downscaled_from is None


def test_a_7_mb_photo_is_accepted_and_marked_as_sent_downscaled(
    tmp_path: Path, seven_mb: bytes
) -> None:
    write_image(tmp_path, "faces/big.jpg", seven_mb)
    manifest = write_manifest(tmp_path, one_person("- faces/big.jpg"))
    for run in ("cold", "warm"):  # the second load answers from the hash cache
        face = _only_face(manifest)
        assert face.sent_downscaled, run
        assert face.size == len(seven_mb) > IMAGE_MAX_BYTES
        assert face.sha256 == image_key(seven_mb)  # the original's identity


def test_a_7_mb_photo_in_a_person_folder_is_accepted(tmp_path: Path, seven_mb: bytes) -> None:
    write_image(tmp_path, "people/alice/big.jpg", seven_mb)
    manifest = write_manifest(tmp_path, """
        version: 1
        groups:
          staff:
            name: Staff
            personsFrom: {folder: people}
        """)
    face = _only_face(manifest)
    assert face.sent_downscaled and face.path == "people/alice/big.jpg"


def _wide_png(width: int = 5000, height: int = 600) -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize((width, height)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("form", ["plain", "targetFace"])
def test_a_photo_wider_than_the_service_takes_is_marked_with_its_size(
    tmp_path: Path, form: str
) -> None:
    data = _wide_png()
    assert len(data) < IMAGE_MAX_BYTES
    write_image(tmp_path, "faces/wide.png", data)
    entry = ("- faces/wide.png" if form == "plain"
             else "- path: faces/wide.png\n  targetFace: [10, 10, 300, 300]")
    manifest = write_manifest(tmp_path, one_person(entry))
    for run in ("cold", "warm"):
        face = _only_face(manifest)
        assert face.downscaled_from == (5000, 600) and face.sent_downscaled, run
        age(tmp_path / "faces" / "wide.png")
