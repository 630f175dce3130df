"""Small random galleries for the fault campaign and the property tests: a pool of
single-face photos, seeded manifests drawn from it, and the project folder that
holds one.

More distinct photos than the repository ships are made by re-encoding a
portrait at another JPEG quality: new bytes (a new SHA-256, so a new face for
facesync) showing the same face, which the emulator still detects.
"""

from __future__ import annotations

import hashlib
import io
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml
from PIL import Image

from tests.conftest import SAMPLE_FACES, downscale
from tests.faults.invariants import ExpectedFace, ExpectedGroup, ExpectedPerson

REENCODE_QUALITIES = (85, 80, 75, 70, 65)


@dataclass(frozen=True)
class Photo:
    identity: str  # the folder of manifests/faces/people it shows
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


Pool = dict[str, tuple[Photo, ...]]  # identity -> distinct photos of that face


def small_faces_into(root: Path) -> Path:
    """The 400 px copies of the sample photos (as the tests' `small_faces` fixture)."""
    for src in sorted((SAMPLE_FACES / "people").glob("*/*.jpg")):
        downscale(src, root / src.parent.name / src.name)
    return root


def build_pool(small_faces: Path, per_identity: int = 3) -> Pool:
    """At least `per_identity` distinct photos for every person of the sample set."""
    pool: Pool = {}
    for folder in sorted(p for p in small_faces.iterdir() if p.is_dir()):
        photos = [Photo(folder.name, p.read_bytes()) for p in sorted(folder.glob("*.jpg"))]
        for quality in REENCODE_QUALITIES[: max(0, per_identity - len(photos))]:
            photos.append(Photo(folder.name, reencode(photos[0].data, quality)))
        pool[folder.name] = tuple(photos)
    return pool


def reencode(data: bytes, quality: int) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        out = io.BytesIO()
        img.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def warm_up(pool: Pool) -> None:
    """Analyse every photo once in this process, so that an in-process emulator
    answers add-face at its configured latency rather than at dlib's pace."""
    from facesync.emulator import vision

    for photos in pool.values():
        for photo in photos:
            vision.analyse(photo.data)


# --- galleries --------------------------------------------------------------


@dataclass(frozen=True)
class GalleryFace:
    photo: Photo
    user_data: str | None = None
    file: str | None = None  # its name under faces/<person key>/; None: from its bytes

    def path(self, key: str, index: int) -> str:
        return f"faces/{key}/{self.file or f'{self.photo.sha256[:10]}-{index}.jpg'}"


@dataclass(frozen=True)
class GalleryPerson:
    key: str
    name: str
    user_data: str | None
    faces: tuple[GalleryFace, ...]


@dataclass(frozen=True)
class Gallery:
    group_id: str
    name: str
    persons: tuple[GalleryPerson, ...]

    @property
    def face_count(self) -> int:
        return sum(len(p.faces) for p in self.persons)

    def expected(self) -> ExpectedGroup:
        return ExpectedGroup(
            self.group_id,
            self.name,
            tuple(
                ExpectedPerson(
                    p.key,
                    p.name,
                    p.user_data,
                    tuple(ExpectedFace(f.photo.sha256, f.user_data) for f in p.faces),
                )  # fmt: skip
                for p in self.persons
            ),
        )


def random_gallery(
    rng: random.Random, pool: Pool, group_id: str, persons: tuple[int, int] = (3, 6),
    faces: tuple[int, int] = (1, 3), user_data_odds: float = 0.25,
) -> Gallery:  # fmt: skip
    """One group of distinct people; some persons and faces carry the manifest's own
    userData (so facesync cannot mark them), most leave it free."""
    chosen = rng.sample(sorted(pool), rng.randint(*persons))
    members = []
    for identity in sorted(chosen):
        photos = rng.sample(pool[identity], min(len(pool[identity]), rng.randint(*faces)))
        members.append(
            GalleryPerson(
                key=identity,
                name=identity.replace("_", " ").title(),
                user_data=f"note {identity}" if rng.random() < user_data_odds else None,
                faces=tuple(
                    GalleryFace(p, f"shot {i}" if rng.random() < user_data_odds else None)
                    for i, p in enumerate(photos)
                ),
            )
        )
    return Gallery(group_id, f"Trial {group_id}", tuple(members))


def write_project(root: Path, gallery: Gallery) -> None:
    """The manifest facesync.yaml and its photos under root/faces/<key>/ (replacing
    whatever an earlier gallery left there)."""
    shutil.rmtree(root / "faces", ignore_errors=True)
    persons = {}
    for person in gallery.persons:
        entries: list[object] = []
        for index, face in enumerate(person.faces):
            path = face.path(person.key, index)
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(face.photo.data)
            entries.append(
                path if face.user_data is None else {"path": path, "userData": face.user_data}
            )
        entry: dict[str, object] = {"name": person.name, "faces": entries}
        if person.user_data is not None:
            entry["userData"] = person.user_data
        persons[person.key] = entry
    doc = {"version": 1, "groups": {gallery.group_id: {"name": gallery.name, "persons": persons}}}
    root.mkdir(parents=True, exist_ok=True)
    (root / "facesync.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
