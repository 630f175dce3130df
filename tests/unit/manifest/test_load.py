"""load_manifest end to end: the model it returns and every problem it reports at once."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from facesync.errors import FacesyncError, ManifestError
from facesync.image_fit import SOURCE_MAX_BYTES
from facesync.manifest.load import load_manifest
from facesync.manifest.model import DEFAULT_DETECTION_MODEL, DEFAULT_RECOGNITION_MODEL
from tests.lock_reading import image_key

from .support import (
    age,
    copy_sample,
    noise_image,
    one_person,
    png_declaring,
    write_image,
    write_manifest,
)

GOLDEN = Path(__file__).parent / "golden"

EXAMPLE = """
version: 1
groups:
  crew:
    name: Crew
    userData: "the crew"
    kind: largePersonGroup
    recognitionModel: recognition_03
    persons:
      wiseman:
        name: Reid Wiseman
        faces:
          - faces/wiseman/*.jpg
      koch:
        userData: commander
        faces:
          - path: faces/koch/portrait.jpg
            targetFace: [100, 100, 300, 300]
            userData: portrait
            detectionModel: detection_01
  astronauts:
    name: Astronauts
    persons:
      glover:
        faces: [faces/glover.jpg]
"""


@pytest.fixture
def example(tmp_path: Path) -> Path:
    copy_sample(tmp_path, "reid_wiseman", "faces/wiseman/portrait.jpg")
    copy_sample(tmp_path, "christina_koch", "faces/koch/portrait.jpg")
    copy_sample(tmp_path, "victor_glover", "faces/glover.jpg")
    return write_manifest(tmp_path, EXAMPLE)


def test_a_manifest_of_real_photos_loads_into_the_sorted_model(example: Path) -> None:
    manifest = load_manifest(example)
    assert manifest.path == example and manifest.folder == example.parent
    assert [g.group_id for g in manifest.groups] == ["astronauts", "crew"]
    crew = manifest.group("crew")
    assert (crew.name, crew.user_data, crew.kind, crew.recognition_model, crew.line) == (
        "Crew",
        "the crew",
        "largePersonGroup",
        "recognition_03",
        3,
    )
    assert [p.key for p in crew.persons] == ["koch", "wiseman"]
    koch = crew.person("koch")
    assert (koch.name, koch.user_data, koch.line) == ("koch", "commander", 13)
    [face] = koch.faces
    assert face.path == "faces/koch/portrait.jpg"
    assert face.abs_path == str((example.parent / face.path).resolve())
    assert face.size == Path(face.abs_path).stat().st_size
    assert (face.target_face, face.user_data, face.detection_model, face.line) == (
        (100, 100, 300, 300),
        "portrait",
        "detection_01",
        16,
    )
    assert crew.person("wiseman").name == "Reid Wiseman"


def test_defaults_apply_where_the_manifest_is_silent(example: Path) -> None:
    astronauts = load_manifest(example).group("astronauts")
    assert (astronauts.kind, astronauts.recognition_model, astronauts.user_data) == (
        "personGroup",
        DEFAULT_RECOGNITION_MODEL,
        None,
    )
    [glover] = astronauts.persons
    assert glover.name == "glover"
    [face] = glover.faces
    assert (face.detection_model, face.target_face, face.user_data) == (
        DEFAULT_DETECTION_MODEL,
        None,
        None,
    )


def test_a_face_is_identified_by_the_key_of_its_bytes(tmp_path: Path) -> None:
    image = write_image(tmp_path, "faces/a.png")
    manifest = load_manifest(write_manifest(tmp_path, one_person("- faces/a.png")))
    assert (
        manifest.groups[0].persons[0].faces[0].sha256
        == image_key(image.read_bytes())
    )


def test_faces_are_sorted_by_their_hash(tmp_path: Path) -> None:
    for i in range(6):
        write_image(tmp_path, f"faces/{i}.png", seed=i)
    faces = load_manifest(write_manifest(tmp_path, one_person("- faces/*.png"))).groups[0]
    hashes = [f.sha256 for f in faces.persons[0].faces]
    assert hashes == sorted(hashes) and len(hashes) == 6


def test_the_digest_changes_with_a_photo_and_not_with_a_reload(example: Path) -> None:
    first = load_manifest(example).digest
    assert load_manifest(example).digest == first
    photo = example.parent / "faces" / "glover.jpg"
    photo.write_bytes(photo.read_bytes() + b"\0")
    age(photo, ns=10**18)
    assert load_manifest(example).digest != first


def test_the_digest_changes_with_the_manifest_text(example: Path) -> None:
    first = load_manifest(example).digest
    example.write_text(example.read_text() + "# a comment\n")
    assert load_manifest(example).digest != first


def _entry_errors(folder: Path, faces_yaml: str) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_manifest(write_manifest(folder, one_person(faces_yaml)))
    return [f"{d.line}: {d.path}: {d.message}" for d in caught.value.diagnostics]


def _sparse(folder: Path, rel: str, size: int) -> None:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(noise_image(64, 64, "JPEG")[:100])
        handle.truncate(size)


BAD_FILES = [
    ("zero bytes", lambda f: write_image(f, "x.jpg", b""), "the file is empty (0 bytes)"),
    (
        "truncated",
        lambda f: write_image(f, "x.jpg", noise_image(200, 200, "JPEG")[:9000]),
        "the image cannot be decoded (truncated or corrupt)",
    ),
    (
        "text named .jpg",
        lambda f: write_image(f, "x.jpg", b"hello\n" * 400),
        "the content is not a JPEG, PNG, GIF or BMP image",
    ),
    (
        "undersized",
        lambda f: write_image(f, "x.jpg", noise_image(10, 10)),
        "below the Face API's minimum of 1,024 bytes",
    ),
    (
        "beyond what facesync downscales",
        lambda f: _sparse(f, "x.jpg", SOURCE_MAX_BYTES + 1),
        "the file is 67,108,865 bytes, more than the 64 MB facesync reads to downscale a photo: "
        "export a smaller copy of it",
    ),
    (
        "decompression bomb",
        lambda f: write_image(f, "x.jpg", png_declaring(40000, 40000)),
        "(a guard against decompression bombs): resize it",
    ),
    ("missing", lambda f: None, "'x.jpg' does not exist: fix the path"),
    ("a folder", lambda f: (f / "x.jpg").mkdir(), "'x.jpg' is a folder, not an image"),
    ("a fifo", lambda f: os.mkfifo(f / "x.jpg"), "'x.jpg' is not a regular file"),
]


@pytest.mark.parametrize(
    ("make", "expected"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_a_bad_image_file_is_reported_at_its_face_entry(
    tmp_path: Path, make: Callable[[Path], object], expected: str
) -> None:
    write_image(tmp_path, "good.png")
    make(tmp_path)
    [error] = _entry_errors(tmp_path, "- good.png\n- x.jpg")
    assert error.startswith("9: groups.staff.persons.alice.faces[1]: ")
    assert expected in error


def test_an_oversized_file_is_refused_without_reading_it(tmp_path: Path, monkeypatch) -> None:
    from facesync.manifest import faces

    reads: list[Path] = []
    monkeypatch.setattr(faces, "read_image_bytes", lambda p: reads.append(p) or b"")
    _sparse(tmp_path, "x.jpg", SOURCE_MAX_BYTES * 10)
    [error] = _entry_errors(tmp_path, "- x.jpg")
    assert "facesync reads to downscale a photo" in error and reads == []


def test_a_target_face_outside_the_image_is_reported(tmp_path: Path) -> None:
    write_image(tmp_path, "faces/a.png", noise_image(64, 48))
    assert _entry_errors(tmp_path, "- path: faces/a.png\n  targetFace: [10, 10, 60, 20]") == [
        "8: groups.staff.persons.alice.faces[0]: faces/a.png: targetFace [10, 10, 60, 20] "
        "reaches outside the 64x48 image: keep left + width <= 64 and top + height <= 48"
    ]


def test_the_same_bytes_twice_under_one_person_are_an_error(tmp_path: Path) -> None:
    write_image(tmp_path, "faces/a.png", seed=3)
    write_image(tmp_path, "faces/copy.png", seed=3)
    assert _entry_errors(tmp_path, "- faces/a.png\n- faces/copy.png") == [
        "9: groups.staff.persons.alice.faces[1]: 'faces/copy.png' has the same bytes as "
        "'faces/a.png' (line 8): list each image once"
    ]


def test_the_same_file_listed_twice_is_an_error(tmp_path: Path) -> None:
    write_image(tmp_path, "faces/a.png")
    assert _entry_errors(tmp_path, "- faces/*.png\n- faces/a.png") == [
        "9: groups.staff.persons.alice.faces[1]: 'faces/a.png' is listed twice (also on line 8): "
        "list each image once"
    ]


def test_the_same_bytes_under_two_persons_are_fine(tmp_path: Path) -> None:
    write_image(tmp_path, "faces/a.png")
    text = one_person("- faces/a.png") + "      bob:\n        faces: [faces/a.png]\n"
    manifest = load_manifest(write_manifest(tmp_path, text))
    alice, bob = manifest.groups[0].persons
    assert alice.faces[0].sha256 == bob.faces[0].sha256


def test_more_than_248_faces_after_glob_expansion_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(249):
        (folder / f"{i:03d}.bmp").write_bytes(_tiny_bmp(i))
    assert _entry_errors(tmp_path, "- faces/*.bmp") == [
        "7: groups.staff.persons.alice.faces: the person has 249 face images after glob "
        "expansion, more than the limit of 248: remove some"
    ]


def _tiny_bmp(seed: int) -> bytes:
    # A uniquely coloured 40x40 BMP: over 1 KB without any compression work.
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (seed % 256, seed // 256, 7)).save(out, "BMP")
    return out.getvalue()


def test_every_problem_is_reported_in_one_run(tmp_path: Path) -> None:
    write_image(tmp_path, "faces/empty.jpg", b"")
    text = """
        version: 1
        groups:
          staff:
            name: Staff
            nmae: typo
            persons:
              alice:
                faces: [faces/empty.jpg, faces/missing.jpg]
              bob!:
                faces: [faces/*.gif]
          Bad:
            name: Bad
    """
    with pytest.raises(ManifestError) as caught:
        load_manifest(write_manifest(tmp_path, text))
    lines = [d.line for d in caught.value.diagnostics]
    assert lines == [5, 8, 8, 9, 10, 11]


def test_golden_output_for_a_manifest_with_several_errors(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "manifests"
    write_image(folder, "faces/alice/01.png", seed=1)
    write_image(folder, "faces/alice/02.png", seed=1)
    write_image(folder, "faces/bob.jpg", b"plain text, not a photo\n" * 60)
    write_image(folder, "faces/small.png", noise_image(48, 48))
    write_manifest(folder, (GOLDEN / "several_errors.yaml").read_text(), "example.yaml")
    with pytest.raises(ManifestError) as caught:
        load_manifest(Path("manifests/example.yaml"))
    golden = GOLDEN / "several_errors.txt"
    if os.environ.get("FACESYNC_UPDATE_GOLDEN"):
        golden.write_text(str(caught.value) + "\n")
    assert str(caught.value) + "\n" == golden.read_text()


def test_a_missing_manifest_is_one_sentence_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FacesyncError) as caught:
        load_manifest(tmp_path / "nope.yaml")
    assert not isinstance(caught.value, ManifestError)
    assert str(caught.value) == (
        f"manifest {tmp_path / 'nope.yaml'} not found: create it or pass its path with "
        "-m/--manifest"
    )


def test_a_folder_given_as_manifest_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(FacesyncError, match="is a folder, not a manifest"):
        load_manifest(tmp_path)


def test_an_unreadable_manifest_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = write_manifest(tmp_path, "version: 1\ngroups: {}\n")
    real_read_bytes = Path.read_bytes

    def refuse(self: Path) -> bytes:  # what chmod 0 does, also when running as root
        if self == manifest:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(FacesyncError, match="check its permissions"):
        load_manifest(manifest)


def test_malformed_yaml_is_a_manifest_error_with_its_line(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path, "version: 1\ngroups:\n  staff: [\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest)
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.file == str(manifest) and diagnostic.line == 4
    assert diagnostic.message.startswith("invalid YAML: ")
