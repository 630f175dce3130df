"""Small random galleries for the fault campaign and the property tests: a pool of
single-face photos, seeded manifests drawn from it, and the project folder that
holds one.

More distinct photos than the repository ships are made by re-encoding a
portrait at another JPEG quality: new bytes (a new SHA-256, so a new face for
facesync) showing the same face, which the emulator still detects.
"""

from __future__ import annotations

import io
import random
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from PIL import Image

from tests.conftest import SAMPLE_FACES, downscale
from tests.faults.invariants import ExpectedFace, ExpectedGroup, ExpectedPerson
from tests.lock_reading import image_key

REENCODE_QUALITIES = (85, 80, 75, 70, 65)


@dataclass(frozen=True)
class Photo:
    identity: str  # the folder of manifests/faces/people it shows
    data: bytes

    @property
    def sha256(self) -> str:
        """The image's key, as the lock and facesync's face markers name it."""
        return image_key(self.data)


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
    # One userData for every photo, given by one long-form glob entry: no photo can
    # carry facesync's marker, and the journal's intents alone cannot tell them apart.
    shared: str | None = None


@dataclass(frozen=True)
class Gallery:
    group_id: str
    name: str
    persons: tuple[GalleryPerson, ...]
    kind: str = "personGroup"

    @property
    def face_count(self) -> int:
        return sum(len(p.faces) for p in self.persons)

    def expected(self) -> ExpectedGroup:
        return ExpectedGroup(
            self.group_id,
            self.name,
            kind=self.kind,
            persons=tuple(
                ExpectedPerson(
                    p.key,
                    p.name,
                    p.user_data,
                    tuple(ExpectedFace(f.photo.sha256, f.user_data) for f in p.faces),
                )  # fmt: skip
                for p in self.persons
            ),
        )


SHARED_ODDS = 0.3  # persons whose photos share one userData (a long-form glob entry)


def random_gallery(
    rng: random.Random, pool: Pool, group_id: str, persons: tuple[int, int] = (3, 6),
    faces: tuple[int, int] = (1, 3), user_data_odds: float = 0.25,
) -> Gallery:  # fmt: skip
    """One group of distinct people; some persons and faces carry the manifest's own
    userData (so facesync cannot mark them), most leave it free; the photos of some
    persons share one userData."""
    chosen = rng.sample(sorted(pool), rng.randint(*persons))
    members = tuple(_new_person(rng, pool, i, faces, user_data_odds) for i in sorted(chosen))
    return Gallery(group_id, f"Trial {group_id}", members)


def _new_person(
    rng: random.Random, pool: Pool, identity: str, faces: tuple[int, int], user_data_odds: float
) -> GalleryPerson:
    photos = rng.sample(pool[identity], min(len(pool[identity]), rng.randint(*faces)))
    person = GalleryPerson(
        key=identity,
        name=identity.replace("_", " ").title(),
        user_data=f"note {identity}" if rng.random() < user_data_odds else None,
        faces=tuple(
            GalleryFace(p, f"shot {i}" if rng.random() < user_data_odds else None)
            for i, p in enumerate(photos)
        ),
    )
    # Drawn apart from `rng`, so that adding this left every earlier seed's gallery as it was.
    apart = random.Random(f"shared-{identity}-{''.join(p.sha256 for p in photos)}")
    return sharing(person, f"shoot {identity}") if apart.random() < SHARED_ODDS else person


def sharing(person: GalleryPerson, note: str) -> GalleryPerson:
    """`person` with one userData for all its photos."""
    faces = tuple(replace(f, user_data=note) for f in person.faces)
    return replace(person, faces=faces, shared=note)


def edited_gallery(rng: random.Random, pool: Pool, start: Gallery) -> Gallery:
    """`start` after a user's edit: a person removed or added, photos added, removed
    or given new bytes under the same file name, names and userData changed.
    Always at least one change that needs a write."""
    for _ in range(100):  # bounded; an edit without a write is rare
        persons = {p.key: _pin_files(p) for p in start.persons}
        if len(persons) > 1 and rng.random() < 0.4:
            del persons[rng.choice(sorted(persons))]
        spare = sorted(set(pool) - set(persons))
        for key in rng.sample(spare, min(len(spare), rng.choice((0, 0, 1, 2)))):
            persons[key] = _new_person(rng, pool, key, (1, 3), 0.25)
        for key in sorted(set(persons) & {p.key for p in start.persons}):
            persons[key] = _edit_person(rng, pool, persons[key])
        edited = Gallery(start.group_id, start.name, tuple(persons[k] for k in sorted(persons)),
                         start.kind)
        if writes_between(start, edited) > 0:
            return edited
    raise AssertionError("no edit with a write in 100 draws")


def _pin_files(person: GalleryPerson) -> GalleryPerson:
    """Fix every face's file name, so that removing one does not rename the others."""
    return replace(person, faces=tuple(
        replace(f, file=f.path(person.key, i).rsplit("/", 1)[1]) for i, f in enumerate(person.faces)
    ))  # fmt: skip


def _edit_person(rng: random.Random, pool: Pool, person: GalleryPerson) -> GalleryPerson:
    faces = list(person.faces)
    spare = [p for p in pool[person.key] if p.sha256 not in {f.photo.sha256 for f in faces}]
    roll = rng.random()
    if roll < 0.25 and spare:  # new bytes, same file
        index = rng.randrange(len(faces))
        faces[index] = replace(faces[index], photo=rng.choice(spare))
    elif roll < 0.45 and spare:
        faces.append(GalleryFace(rng.choice(spare), file=f"added-{len(faces)}.jpg"))
    elif roll < 0.6 and len(faces) > 1:
        del faces[rng.randrange(len(faces))]
    if person.shared is not None:  # an added photo shares it too; none has its own
        faces = [replace(f, user_data=person.shared) for f in faces]
    elif rng.random() < 0.15:
        index = rng.randrange(len(faces))
        note = None if faces[index].user_data else "edited shot"
        faces[index] = replace(faces[index], user_data=note)
    name = person.name + " Jr" if rng.random() < 0.2 else person.name
    note = person.user_data
    if rng.random() < 0.2:
        note = None if note else f"edited {person.key}"
    return GalleryPerson(person.key, name, note, tuple(faces), person.shared)


def writes_between(start: Gallery | None, final: Gallery) -> int:
    """A lower bound of the writes an apply makes to turn `start` into `final`
    (None: an empty server), counting one per change and one for training."""
    if start is None:
        return 2 + len(final.persons) + final.face_count  # group, persons, faces, train
    if start.kind != final.kind:  # the group is replaced: deleted, then all created again
        return 1 + writes_between(None, final)
    before = {p.key: p for p in start.persons}
    changes = 0
    for person in final.persons:
        old = before.pop(person.key, None)
        if old is None:
            changes += 1 + len(person.faces)
            continue
        changes += (old.name, old.user_data) != (person.name, person.user_data)
        old_faces = {f.photo.sha256: f for f in old.faces}
        for face in person.faces:
            was = old_faces.pop(face.photo.sha256, None)
            changes += was is None or was.user_data != face.user_data
        changes += len(old_faces)
    changes += len(before)
    return changes


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
        if person.shared is not None:  # every photo of the folder, one userData
            entries = [{"path": f"faces/{person.key}/*.jpg", "userData": person.shared}]
        entry: dict[str, object] = {"name": person.name, "faces": entries}
        if person.user_data is not None:
            entry["userData"] = person.user_data
        persons[person.key] = entry
    group: dict[str, object] = {"name": gallery.name, "persons": persons}
    if gallery.kind != "personGroup":
        group["kind"] = gallery.kind
    doc = {"version": 1, "groups": {gallery.group_id: group}}
    root.mkdir(parents=True, exist_ok=True)
    (root / "facesync.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
