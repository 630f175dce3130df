"""The manifest's faces checked locally, before any server call.

`validate`, `plan` and `apply` run the emulator's own detector on every photo
and judge each face entry by add-face's rule (facesync.face_rules), so that a
photo with no face, several faces and no targetFace, or a targetFace that picks
none or several is a `file:line: path: message` diagnostic instead of an HTTP
400 half-way through an apply. What the detector found is cached by image key
and detection model in `.facesync/faces.cache`, and a manifest whose digest
(its bytes and every image key) passed before is not judged again: a warm plan
reads one line and imports no dlib. Without the local extra the check says so
once and lets the service judge.
"""

from __future__ import annotations

import json
import math
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facesync.atomic import write_atomically
from facesync.digest import bytes_key
from facesync.errors import Diagnostic, FacesyncError, ManifestError
from facesync.face_rules import Rectangle, Refusal, centred_in, choose_face, detectable
from facesync.face_rules import min_face_px as _min_face_px
from facesync.manifest.model import DesiredFace, Manifest
from facesync.private_files import PRIVATE_FILE_MODE
from facesync.schemas_dir import json_path
from facesync.workspace import ensure_local_dir, face_cache_path

CACHE_VERSION = 1
# What decides which faces are found (facesync.emulator.vision: upsampling, the
# weakest score kept, the side detection scales to, the most faces; the side of
# a downscaled copy, facesync.image_fit): cached finds of another detector are
# not used. A unit test keeps it equal to those settings.
DETECTOR = "dlib-hog upsample=1 min-score=0.4 max-side=1024 max-faces=100 send-side=1920"
PARALLEL_FROM = 16  # fewer uncached photos are analysed here, sharing the emulator's scenes
POOL_SIZE = 2
PASSED_KEPT = 16  # manifests of one folder whose last passing digest is kept
# A warning (kept by --quiet): apply may then stop at a photo the service refuses.
NOT_CHECKED = (
    "Warning: faces were not checked, the local face detector is not installed "
    "(pip install 'facesync[local]'): a photo with no face or several fails only "
    "during apply."
)


@dataclass(frozen=True)
class Found:
    """What detection found in one image: its size and every face, largest first."""

    width: int
    height: int
    faces: tuple[Rectangle, ...]


def check_faces(manifest: Manifest, *, say: Callable[[str], None]) -> None:
    """Raise ManifestError naming every face entry add-face would refuse."""
    cache = FaceCache(manifest.folder)
    if cache.passed(manifest.path.name, manifest.digest):
        return
    entries = list(_face_entries(manifest))
    missing = [face for _, face in entries if cache.get(face.sha256, face.detection_model) is None]
    unchecked = bool(missing) and not _vision_ready()
    if unchecked:
        say(NOT_CHECKED)
    unusable = {} if unchecked else _detect_into(cache, missing)
    problems = []
    for where, face in entries:
        found = cache.get(face.sha256, face.detection_model)
        if face.sha256 in unusable:
            message: str | None = _unusable(face, *unusable[face.sha256])
        else:
            message = None if found is None else face_problem(face, found)
        if message:
            problems.append(Diagnostic(str(manifest.path), face.line, where, message))
    passed = not problems and not unchecked
    cache.save((manifest.path.name, manifest.digest) if passed else None)
    if problems:
        raise ManifestError(problems)


def _detect_into(cache: FaceCache, missing: list[DesiredFace]) -> dict[str, tuple[str, str]]:
    """Detect the faces of every photo of `missing` once (by image key) into `cache`;
    return the photos that could not be analysed, by image key."""
    models: dict[str, set[str]] = {}
    first: dict[str, DesiredFace] = {}
    for face in missing:
        models.setdefault(face.sha256, set()).add(face.detection_model)
        first.setdefault(face.sha256, face)
    unusable = {}
    todo = list(first.values())
    for face, result in zip(todo, _analyse(todo), strict=True):
        if isinstance(result, Found):
            for model in models[face.sha256]:  # the emulator detects alike in every model
                cache.put(face.sha256, model, result)
        else:
            unusable[face.sha256] = result
    return unusable


def _face_entries(manifest: Manifest) -> Iterator[tuple[str, DesiredFace]]:
    for group in manifest.groups:
        for person in group.persons:
            where = json_path(("groups", group.group_id, "persons", person.key, "faces"))
            for face in person.faces:
                yield where, face


def _vision_ready() -> bool:
    from facesync.emulator.vision import VisionUnavailableError, require_vision

    try:
        require_vision()
    except VisionUnavailableError:
        return False
    return True


# -- detection ------------------------------------------------------------------------------

Result = Found | tuple[str, str]  # what was found, or (kind, detail) of an unusable file


def _analyse(faces: list[DesiredFace]) -> list[Result]:
    """Detect the faces of each photo: here for a few (the embedded emulator then
    reuses the scenes), else in POOL_SIZE processes."""
    jobs = [(f.abs_path, f.sha256) for f in faces]
    if len(jobs) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        return [detect_file(path, key) for path, key in jobs]
    import multiprocessing  # not on a warm run's path
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(
        max_workers=POOL_SIZE,
        mp_context=multiprocessing.get_context("spawn"),  # a fork could inherit a held lock
        initializer=_ignore_interrupts,
    )
    try:
        results = list(pool.map(detect_file, *zip(*jobs, strict=True)))
    except BrokenProcessPool as exc:
        raise FacesyncError(
            f"the local face detector stopped unexpectedly ({exc}): run the command again"
        ) from None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results


def _ignore_interrupts() -> None:
    """Ctrl-C reaches the whole process group: the command stops the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def detect_file(abs_path: str, key: str) -> Result:
    """What add-face's detector finds in the file at `abs_path`, whose image key
    the manifest recorded as `key` (run in a pool process, or here)."""
    from facesync.emulator.images import ImageRefused

    try:
        data = Path(abs_path).read_bytes()
    except OSError as exc:
        return ("unreadable", exc.strerror or str(exc))
    if bytes_key(data) != key:
        return ("changed", "")
    try:
        return found_in(data)
    except ImageRefused as exc:
        return ("refused", exc.spec.message)


def found_in(data: bytes) -> Found:
    """The faces the emulator finds in what add-face sends for this photo (a
    downscaled copy when it is above the service's limits), in the photo's own
    pixel grid, where a targetFace is written; raises ImageRefused."""
    from facesync.emulator import vision
    from facesync.image_fit import to_send

    sendable = to_send(data)
    scene = vision.analyse(sendable.data)
    faces = tuple(box.rectangle for box in scene.boxes)
    geometry = sendable.geometry
    if geometry is None:
        return Found(scene.width, scene.height, faces)
    width, height = geometry.original
    return Found(width, height, tuple(sendable.box_in_original(face) for face in faces))


def box_in_original(box: Rectangle, geometry: Any) -> Rectangle:
    """A box of a downscaled copy (facesync.image_fit) in the original's grid."""
    from facesync.image_fit import Sendable

    return Sendable(b"", geometry).box_in_original(box)


# -- what to say ----------------------------------------------------------------------------


def _unusable(face: DesiredFace, kind: str, detail: str) -> str:
    if kind == "refused":  # the manifest's image checks passed it: they and the emulator differ
        return (
            f"{face.path}: the Face API would refuse it ({detail}): "
            "replace it with an intact JPEG, PNG, GIF or BMP photo"
        )
    if kind == "unreadable":
        return f"'{face.path}' cannot be read ({detail}): check that it exists and is readable"
    return f"{face.path} changed while it was being checked: run the command again"


def face_problem(face: DesiredFace, found: Found) -> str | None:
    """What to fix so that add-face accepts `face`, or None when it would."""
    target, size = face.target_face, (found.width, found.height)
    faces = list(found.faces)
    choice = choose_face(faces, size, target)
    if not isinstance(choice, Refusal):
        return None
    if choice is Refusal.TARGET_OUTSIDE_IMAGE:  # the manifest loader normally catches this
        return (
            f"targetFace {list(target or ())} reaches outside the {size[0]}x{size[1]} image "
            f"{face.path}: keep left + width <= {size[0]} and top + height <= {size[1]}"
        )
    inside = range(len(faces)) if target is None else centred_in(faces, target)
    picked = [faces[i] for i in inside if detectable(faces[i], size)]
    small = [faces[i] for i in inside if not detectable(faces[i], size)]
    seen = [f for f in faces if detectable(f, size)]
    if choice is Refusal.MORE_THAN_ONE_FACE:
        if target is None:
            return (
                f"{len(picked)} faces detected in {face.path}; "
                "add targetFace: [left, top, width, height] to pick one "
                f"(found faces at {boxes(picked)})"
            )
        return (
            f"{len(picked)} faces detected inside targetFace {list(target)} of {face.path}; "
            f"found faces at {boxes(picked)}: shrink targetFace so that only one face's "
            "centre lies inside it"
        )
    if small:
        return _too_small(face, small, size)
    if target is None:
        return f"no face detected in {face.path}; use a photo with one clear face"
    if not seen:
        return (
            f"no face detected inside targetFace {list(target)} of {face.path}: "
            "the photo has no face at all; use a photo with one clear face"
        )
    return (
        f"no face detected inside targetFace {list(target)} of {face.path}; "
        f"found faces at {boxes(seen)}: move targetFace so that one face's centre "
        "lies inside it"
    )


def _too_small(face: DesiredFace, small: list[Rectangle], size: tuple[int, int]) -> str:
    smallest = math.ceil(_min_face_px(*size))
    one = len(small) == 1
    what = f"the face{'' if one else 's'} at {boxes(small)} {'is' if one else 'are'}"
    return (
        f"no usable face in {face.path}: {what} narrower than {smallest} px, the service's "
        f"minimum in a {size[0]}x{size[1]} image; use a photo in which the face is larger"
    )


def boxes(rectangles: list[Rectangle]) -> str:
    """Rectangles as the manifest writes a targetFace, ready to copy: [l, t, w, h], ..."""
    return ", ".join(str(list(rectangle)) for rectangle in rectangles)


# -- the cache ------------------------------------------------------------------------------


class FaceCache:
    """`.facesync/faces.cache`: a JSON header line (version, detector, the digests of
    manifests that passed), then one line per image key and detection model:
    `<key> <model> <width> <height> [<left> <top> <width> <height>]...`.

    A convenience: a missing, damaged or unwritable cache is rebuilt or skipped.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._passed: dict[str, str] = {}
        self._entries: dict[str, str] | None = None
        self._found: dict[str, Found | None] = {}  # parsed entries
        self._dirty = False
        self._header_ok = False
        try:
            with face_cache_path(folder).open("rb") as source:
                header = json.loads(source.readline())
        except (OSError, ValueError):
            return
        if (
            isinstance(header, dict)
            and header.get("version") == CACHE_VERSION
            and header.get("detector") == DETECTOR
            and isinstance(header.get("passed"), dict)
        ):
            self._header_ok = True
            self._passed = {k: v for k, v in header["passed"].items() if isinstance(v, str)}

    def passed(self, manifest_name: str, digest: str) -> bool:
        """True when this manifest, with these very photos, passed the check before."""
        return self._passed.get(manifest_name) == digest

    def get(self, key: str, model: str) -> Found | None:
        name = f"{key} {model}"
        if name not in self._found:
            self._found[name] = self._parse(self._loaded().get(name))
        return self._found[name]

    @staticmethod
    def _parse(text: str | None) -> Found | None:
        if text is None:
            return None
        try:
            numbers = [int(part) for part in text.split(" ")]
        except ValueError:
            return None
        if len(numbers) < 2 or len(numbers) % 4 != 2:
            return None
        faces = tuple(tuple(numbers[i : i + 4]) for i in range(2, len(numbers), 4))
        return Found(numbers[0], numbers[1], faces)  # type: ignore[arg-type]

    def put(self, key: str, model: str, found: Found) -> None:
        numbers = [found.width, found.height, *(n for face in found.faces for n in face)]
        self._loaded()[f"{key} {model}"] = " ".join(map(str, numbers))
        self._found[f"{key} {model}"] = found
        self._dirty = True

    def save(self, passed: tuple[str, str] | None) -> None:
        """Write the cache if it changed, recording `passed` (manifest name, digest)."""
        if passed is not None and self._passed.get(passed[0]) != passed[1]:
            self._passed.pop(passed[0], None)
            self._passed[passed[0]] = passed[1]
            while len(self._passed) > PASSED_KEPT:
                del self._passed[next(iter(self._passed))]
            self._dirty = True
        if not self._dirty:
            return
        header = {"version": CACHE_VERSION, "detector": DETECTOR, "passed": self._passed}
        lines = [json.dumps(header, sort_keys=True)]
        lines += [f"{name} {text}" for name, text in sorted(self._loaded().items())]
        try:
            ensure_local_dir(self.folder)
            write_atomically(
                face_cache_path(self.folder), ("\n".join(lines) + "\n").encode("utf-8"),
                new_mode=PRIVATE_FILE_MODE, keep_mode=False,
            )
        except OSError:
            return  # a read-only checkout still works, only without the cache
        self._dirty = False

    def _loaded(self) -> dict[str, str]:
        """The entries, read on first use (a manifest that passed before needs none)."""
        if self._entries is None:
            self._entries = self._read_entries() if self._header_ok else {}
        return self._entries

    def _read_entries(self) -> dict[str, str]:
        try:
            lines = face_cache_path(self.folder).read_text("utf-8").split("\n")[1:]
        except (OSError, ValueError):
            return {}
        entries = {}
        for line in lines:
            parts = line.split(" ", 2)
            if len(parts) == 3:
                entries[f"{parts[0]} {parts[1]}"] = parts[2]
        return entries
