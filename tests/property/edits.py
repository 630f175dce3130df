"""A manifest as an editable value, the edits a user makes to one, and the real
CLI run in this process to converge the emulator on it.

The edits draw from a small pool of face photos: a person is one of a few
people of the sample set, and each has a handful of distinct photos (re-encodes
of one portrait count as distinct: new bytes, same face).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import strategies as st

from facesync import cli
from facesync.emulator.server import RunningEmulator
from tests.faults.gallery import Gallery, GalleryFace, GalleryPerson, Photo, Pool, write_project
from tests.faults.invariants import verify

MAX_FACES = 3
NAMES = st.from_regex(r"[A-Z][a-z]{1,8}( [A-Z][a-z]{1,8})?", fullmatch=True)
NOTES = st.one_of(st.none(), st.sampled_from(["vip", "staff", "badge 7", "née Ünal"]))


def fresh_name() -> str:
    """A file name no other photo of the session has: every face keeps its own file."""
    return f"{uuid.uuid4().hex[:8]}.jpg"


@dataclass(frozen=True)
class CliOutcome:
    code: int
    out: str
    err: str


class Session:
    """One project folder and one fresh group on a shared emulator."""

    def __init__(self, emulator: RunningEmulator, pool: Pool) -> None:
        self.emulator = emulator
        self.pool = pool
        self.root = Path(tempfile.mkdtemp(prefix="facesync-property-"))
        self.gallery = Gallery("prop-" + uuid.uuid4().hex[:12], "Property", ())
        self.log: list[str] = []

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    # --- the CLI ------------------------------------------------------------

    def cli(self, *args: str) -> CliOutcome:
        """facesync's own entry point, in this process, over HTTP to the emulator."""
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as patch:
            for name in ("FACESYNC_KEY_FILE",):
                patch.delenv(name, raising=False)
            patch.setenv("FACESYNC_ENDPOINT", self.emulator.url)
            patch.setenv("FACESYNC_KEY", self.emulator.key)
            patch.setenv("FACESYNC_TIER", "unlimited")
            patch.chdir(self.root)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli.main(list(args))
        return CliOutcome(code, out.getvalue(), err.getvalue())

    def converge(self, what: str) -> None:
        """Write the manifest, apply it, then check server == manifest and an empty plan."""
        self.log.append(what)
        write_project(self.root, self.gallery)
        applied = self.cli("apply", "--yes")
        assert applied.code == 0, self._explain("apply failed", applied)
        lock = self.root / "facesync.lock.json"
        verdict = verify(self.emulator.url, self.emulator.key, self.gallery.expected(), lock)
        assert verdict.ok, self._explain("server != manifest: " + "; ".join(verdict.problems))
        planned = self.cli("plan", "--detailed-exitcode")
        assert planned.code == 0, self._explain("the plan after apply is not empty", planned)

    def _explain(self, problem: str, run: CliOutcome | None = None) -> str:
        steps = "\n".join(f"  {i}. {step}" for i, step in enumerate(self.log, 1))
        output = f"\n--- output ---\n{run.out[-4000:]}{run.err[-2000:]}" if run else ""
        return f"{problem}\nafter these edits:\n{steps}{output}"

    # --- the manifest -----------------------------------------------------------

    @property
    def persons(self) -> dict[str, GalleryPerson]:
        return {p.key: p for p in self.gallery.persons}

    def set_persons(self, persons: dict[str, GalleryPerson]) -> None:
        self.gallery = replace(self.gallery, persons=tuple(persons[k] for k in sorted(persons)))

    def spare_photos(self, key: str) -> list[Photo]:
        used = {f.photo.sha256 for f in self.persons[key].faces}
        return [p for p in self.pool[key] if p.sha256 not in used]

    def new_person(self, data: st.DataObject, key: str) -> GalleryPerson:
        photos = data.draw(
            st.lists(
                st.sampled_from(self.pool[key]),
                min_size=1,
                max_size=2,
                unique_by=lambda p: p.sha256,
            )  # fmt: skip
        )
        faces = tuple(GalleryFace(p, data.draw(NOTES), fresh_name()) for p in photos)
        return GalleryPerson(key, data.draw(NAMES), data.draw(NOTES), faces)

    def edits(self) -> dict[str, Callable[[st.DataObject], str]]:
        """The edits that apply to the manifest as it is now, by name."""
        persons = self.persons
        found: dict[str, Callable[[st.DataObject], str]] = {}
        if len(persons) < len(self.pool):
            found["add a person"] = self._add_person
        if len(persons) > 1:
            found["remove a person"] = self._remove_person
        if any(len(p.faces) < MAX_FACES and self.spare_photos(k) for k, p in persons.items()):
            found["add a photo"] = self._add_photo
        if any(len(p.faces) > 1 for p in persons.values()):
            found["remove a photo"] = self._remove_photo
        if any(self.spare_photos(k) for k in persons):
            found["change a photo's bytes"] = self._change_photo
        found["rename a photo"] = self._rename_photo
        found["rename a person"] = self._rename_person
        found["change a person's userData"] = self._person_note
        found["change a face's userData"] = self._face_note
        return found

    def _pick(self, data: st.DataObject, fits: Callable[[GalleryPerson], bool]) -> GalleryPerson:
        return data.draw(st.sampled_from([p for p in self.gallery.persons if fits(p)]))

    def _put(self, person: GalleryPerson) -> None:
        self.set_persons({**self.persons, person.key: person})

    def _add_person(self, data: st.DataObject) -> str:
        key = data.draw(st.sampled_from(sorted(set(self.pool) - set(self.persons))))
        self._put(self.new_person(data, key))
        return f"add person {key}"

    def _remove_person(self, data: st.DataObject) -> str:
        key = data.draw(st.sampled_from(sorted(self.persons)))
        self.set_persons({k: p for k, p in self.persons.items() if k != key})
        return f"remove person {key}"

    def _add_photo(self, data: st.DataObject) -> str:
        person = self._pick(
            data, lambda p: len(p.faces) < MAX_FACES and bool(self.spare_photos(p.key))
        )
        photo = data.draw(st.sampled_from(self.spare_photos(person.key)))
        face = GalleryFace(photo, data.draw(NOTES), fresh_name())
        self._put(replace(person, faces=(*person.faces, face)))
        return f"add photo {photo.sha256[:8]} to {person.key}"

    def _remove_photo(self, data: st.DataObject) -> str:
        person = self._pick(data, lambda p: len(p.faces) > 1)
        index = data.draw(st.integers(0, len(person.faces) - 1))
        self._put(replace(person, faces=person.faces[:index] + person.faces[index + 1 :]))
        return f"remove photo {index} of {person.key}"

    def _change_photo(self, data: st.DataObject) -> str:
        """New bytes under the same file name."""
        person = self._pick(data, lambda p: bool(self.spare_photos(p.key)))
        index = data.draw(st.integers(0, len(person.faces) - 1))
        photo = data.draw(st.sampled_from(self.spare_photos(person.key)))
        old = person.faces[index]
        return self._replace_face(person, index, replace(old, photo=photo),
                                  f"change the bytes of {person.key}/{old.file}")  # fmt: skip

    def _rename_photo(self, data: st.DataObject) -> str:
        person = self._pick(data, lambda p: True)
        index = data.draw(st.integers(0, len(person.faces) - 1))
        face = replace(person.faces[index], file=fresh_name())
        return self._replace_face(person, index, face, f"rename photo {index} of {person.key}")

    def _rename_person(self, data: st.DataObject) -> str:
        person = self._pick(data, lambda p: True)
        name = data.draw(NAMES)
        self._put(replace(person, name=name))
        return f"rename {person.key} to {name!r}"

    def _person_note(self, data: st.DataObject) -> str:
        person = self._pick(data, lambda p: True)
        note = data.draw(NOTES)
        self._put(replace(person, user_data=note))
        return f"set the userData of {person.key} to {note!r}"

    def _face_note(self, data: st.DataObject) -> str:
        person = self._pick(data, lambda p: True)
        index = data.draw(st.integers(0, len(person.faces) - 1))
        note = data.draw(NOTES)
        face = replace(person.faces[index], user_data=note)
        return self._replace_face(person, index, face, f"set the userData of photo {index} "
                                  f"of {person.key} to {note!r}")  # fmt: skip

    def _replace_face(self, person: GalleryPerson, index: int, face: GalleryFace, what: str) -> str:
        faces = list(person.faces)
        faces[index] = face
        self._put(replace(person, faces=tuple(faces)))
        return what
