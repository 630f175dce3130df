"""One rule per fact: the manifest's checks (validate, plan) and the emulator judge
images, texts and paths by the same code (facesync.image_rules, text_rules,
face_rules), so what validate passes, add-face takes."""

from __future__ import annotations

import io
import os
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facesync import image_rules
from facesync.emulator import images as emulator_images
from facesync.emulator import validation
from facesync.emulator.errors import EmulatorError
from facesync.emulator.images import ImageRefused
from facesync.errors import ManifestError
from facesync.limits import FACE_USER_DATA_MAX_CHARS, NAME_MAX_CHARS, USER_DATA_MAX_CHARS
from facesync.manifest import paths as manifest_paths
from facesync.manifest.images import ImageProblem, check_image_bytes
from facesync.manifest.load import load_manifest
from facesync.text_rules import may_hold_astral, too_long, utf16_len

from .manifest.support import SAMPLE_PEOPLE, noise_image, one_person, write_image, write_manifest

EMOJI = "\U0001f600"


def _portrait() -> Image.Image:
    with Image.open(sorted((SAMPLE_PEOPLE / "christina_koch").glob("*.jpg"))[0]) as img:
        picture = img.convert("RGB")
    picture.thumbnail((300, 300))
    return picture


def _mpo() -> bytes:
    picture = _portrait()
    out = io.BytesIO()
    picture.save(out, "MPO", save_all=True, append_images=[picture.rotate(90)])
    return out.getvalue()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _sixteen_bit_png() -> tuple[bytes, Image.Image]:
    gray = _portrait().convert("L")
    return _png(gray.convert("I").point(lambda v: v * 257).convert("I;16")), gray


def _emulator_verdict(data: bytes) -> str | None:
    try:
        emulator_images.check_size(data)
        emulator_images.decode(data)
    except ImageRefused as exc:
        return exc.spec.message
    return None


def _manifest_verdict(data: bytes) -> str | None:
    try:
        check_image_bytes(data)
    except ImageProblem as exc:
        return exc.message
    return None


def _tiff() -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (64, 64), noise_image()[:64 * 64 * 3].ljust(64 * 64 * 3, b"x")).save(
        out, "TIFF"
    )
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "make", "accepted"),
    [
        ("MPO (a phone camera's JPEG)", _mpo, True),
        ("16-bit grayscale PNG", lambda: _sixteen_bit_png()[0], True),
        ("noise PNG", noise_image, True),
        ("TIFF", _tiff, False),
        ("truncated JPEG", lambda: _mpo()[:3000], False),
        ("text", lambda: b"hello\n" * 300, False),
        ("too small", lambda: noise_image()[:500], False),
    ],
)
def test_the_manifest_and_the_emulator_give_the_same_verdict(name, make, accepted) -> None:
    data = make()
    manifest, emulator = _manifest_verdict(data), _emulator_verdict(data)
    assert (manifest is None, emulator is None) == (accepted, accepted), (manifest, emulator)


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [
        *[("PNG", m) for m in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16")],
        *[("JPEG", m) for m in ("L", "RGB", "CMYK")],
        *[("BMP", m) for m in ("1", "L", "P", "RGB")],
        *[("GIF", m) for m in ("P", "L")],
    ],
)
def test_every_pixel_mode_a_file_can_have_is_accepted_by_both(fmt: str, mode: str) -> None:
    """The manifest decodes without converting; the emulator converts: no mode
    may pass the one and fail the other."""
    out = io.BytesIO()
    _portrait().convert(mode).save(out, fmt)
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.format == fmt
    assert (_manifest_verdict(data), _emulator_verdict(data)) == (None, None)
    assert emulator_images.decode(data).rgb.mode == "RGB"


def test_an_mpo_is_a_jpeg_to_both() -> None:
    data = _mpo()
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.format == "MPO" and opened.n_frames == 2
    assert check_image_bytes(data).format == "JPEG"
    assert image_rules.open_image(data)[1] == "JPEG"


def test_a_16_bit_png_is_scaled_to_8_bits_not_clipped_to_white() -> None:
    data, gray = _sixteen_bit_png()
    picture = emulator_images.decode(data, max_side=1000)
    seen = np.asarray(picture.rgb)[:, :, 0].astype(int)
    assert np.abs(seen - np.asarray(gray).astype(int)).max() <= 1
    clipped = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert clipped.mean() > 200  # what plain Pillow conversion gives: almost white


@pytest.mark.parametrize(
    ("text", "units"),
    [("", 0), ("abc", 3), ("é", 1), (EMOJI, 2), ("a" + EMOJI * 3, 7), ("\u4e2d", 1)],
)
def test_utf16_length_counts_as_the_service_does(text: str, units: int) -> None:
    assert utf16_len(text) == units
    assert too_long(text, units) is False
    assert too_long(text, units + 1) is False
    if units:
        assert too_long(text, units - 1) is True


@pytest.mark.parametrize("limit", [NAME_MAX_CHARS, USER_DATA_MAX_CHARS, FACE_USER_DATA_MAX_CHARS])
@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_the_manifest_and_the_emulator_agree_on_every_text_length(
    tmp_path: Path, limit: int, extra: int
) -> None:
    """The same text, too long or not, is refused by both or by neither."""
    text = "a" * ((limit + extra) % 2) + EMOJI * ((limit + extra) // 2)
    assert utf16_len(text) == limit + extra
    try:
        if limit == NAME_MAX_CHARS:
            validation.name(text)
        else:
            validation.user_data(text, limit)
        emulator_refuses = False
    except EmulatorError:
        emulator_refuses = True
    write_image(tmp_path, "faces/a.png")
    quoted = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    if limit == FACE_USER_DATA_MAX_CHARS:
        entry = f'- path: faces/a.png\n  userData: "{quoted}"'
        manifest = write_manifest(tmp_path, one_person(entry))
    else:
        field = "name" if limit == NAME_MAX_CHARS else "userData"
        manifest = write_manifest(tmp_path, one_person("- faces/a.png").replace(
            "      alice:\n", f'      alice:\n        {field}: "{quoted}"\n'
        ))
    try:
        load_manifest(manifest)
        manifest_refuses = False
    except ManifestError as exc:
        assert "UTF-16 units" in str(exc)
        manifest_refuses = True
    assert manifest_refuses is emulator_refuses is (extra > 0)


def test_a_details_row_too_long_in_utf16_units_is_refused(tmp_path: Path) -> None:
    write_image(tmp_path, "people/alice/a.png")
    (tmp_path / "people.csv").write_text(f"key,name\nalice,{EMOJI * 65}\n", encoding="utf-8")
    manifest = write_manifest(tmp_path, (
        "version: 1\ngroups:\n  staff:\n    name: Staff\n"
        "    personsFrom:\n      folder: people\n      details: people.csv\n"
    ))
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest)
    [problem] = caught.value.diagnostics
    assert problem.line == 2 and problem.path == "groups.staff.persons.alice.name"
    assert "130 UTF-16 units" in problem.message


def test_only_texts_that_may_hold_astral_characters_are_counted_again() -> None:
    assert not may_hold_astral("name: José Ñandú 中文\n".encode())
    assert may_hold_astral(f"name: {EMOJI}\n".encode())
    assert may_hold_astral(b'name: "\\U0001F600"\n')
    assert may_hold_astral("name: x\n".encode("utf-16"))


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('- "faces/a\\0.png"', "holds a NUL byte"),
        ('- "faces/\\0/*.png"', "holds a NUL byte"),
    ],
)
def test_a_name_no_file_can_have_is_a_diagnostic(tmp_path: Path, entry: str, expected) -> None:
    write_image(tmp_path, "faces/b.png")
    manifest = write_manifest(tmp_path, one_person(f"- faces/missing.png\n{entry}"))
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest)
    messages = [d.message for d in caught.value.diagnostics]
    assert len(messages) == 2 and "does not exist" in messages[0] and expected in messages[1]
    assert "\n" not in str(caught.value).split("\n")[1]


def test_a_nul_byte_in_a_persons_folder_is_a_diagnostic(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, (
        'version: 1\ngroups:\n  staff:\n    name: Staff\n    personsFrom:\n      folder: "p\\0"\n'
    ))
    with pytest.raises(ManifestError, match="holds a NUL byte"):
        load_manifest(manifest)


NFD = unicodedata.normalize("NFD", "Zoë")
NFC = unicodedata.normalize("NFC", "Zoë")


def test_an_nfc_path_resolves_an_nfd_name_a_glob_and_a_persons_folder(tmp_path: Path) -> None:
    write_image(tmp_path, f"faces/{NFD}/{NFD}.png", seed=1)
    write_image(tmp_path, f"faces/{NFD}/other.png", seed=2)
    write_image(tmp_path, f"people {NFD}/bob/a.png", seed=3)
    manifest = write_manifest(tmp_path, one_person(
        f"- faces/{NFC}/{NFC}.png\n- faces/{NFC}/o*.png",
        extra=f'    personsFrom:\n      folder: "people {NFC}"\n',
    ))
    [group] = load_manifest(manifest).groups
    faces = {f.path: f.abs_path for p in group.persons for f in p.faces}
    assert faces == {
        f"faces/{NFC}/{NFC}.png": str(tmp_path / "faces" / NFD / f"{NFD}.png"),
        f"faces/{NFC}/other.png": str(tmp_path / "faces" / NFD / "other.png"),
        f"people {NFC}/bob/a.png": str(tmp_path / f"people {NFD}" / "bob" / "a.png"),
    }


def test_a_name_found_as_written_lists_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The NFC comparison is the cold path only: an exact name costs no listing."""
    write_image(tmp_path, f"faces/{NFC}.png")
    manifest = write_manifest(tmp_path, one_person(f"- faces/{NFC}.png"))
    listed: list[str] = []
    real = os.listdir
    monkeypatch.setattr(manifest_paths.os, "listdir", lambda p=".": listed.append(p) or real(p))
    assert load_manifest(manifest).groups
    assert listed == []


def test_two_names_equal_under_nfc_are_not_guessed_between(tmp_path: Path) -> None:
    one, two = "e\u0323\u0301", "e\u0301\u0323"  # the marks in either order
    assert one != two and unicodedata.normalize("NFC", one) == unicodedata.normalize("NFC", two)
    write_image(tmp_path, f"faces/{one}.png", seed=1)
    write_image(tmp_path, f"faces/{two}.png", seed=2)
    written = unicodedata.normalize("NFC", one)
    manifest = write_manifest(tmp_path, one_person(f"- faces/{written}.png"))
    with pytest.raises(ManifestError, match="does not exist"):
        load_manifest(manifest)


def test_validate_faces_names_the_file_the_emulator_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the two ever to disagree again, the face check (validate, plan) says
    which file and why, with every other problem, instead of one line that names
    no file."""
    from facesync.commands.face_checks import check_faces
    from facesync.emulator import errors, vision

    write_image(tmp_path, "faces/a.png", seed=1)
    write_image(tmp_path, "faces/b.png", seed=2)
    manifest = load_manifest(write_manifest(tmp_path, one_person("- faces/a.png\n- faces/b.png")))

    def refuse(data: bytes) -> None:
        raise ImageRefused(errors.IMAGE_UNSUPPORTED)

    monkeypatch.setattr(vision, "analyse", refuse)
    with pytest.raises(ManifestError) as caught:
        check_faces(manifest, say=print)
    assert [d.message.split(":")[0] for d in caught.value.diagnostics] == [
        "faces/a.png", "faces/b.png"
    ]
    assert all(errors.IMAGE_UNSUPPORTED.message in d.message for d in caught.value.diagnostics)
