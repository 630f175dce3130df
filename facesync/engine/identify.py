"""Name the faces of a photo with the person keys a lock file records:
detect, then identify in batches of the service's limit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from facesync.backends.connect import open_backend
from facesync.backends.connection import Connection
from facesync.limits import IDENTIFY_FACE_IDS_MAX
from facesync.manifest.model import DEFAULT_DETECTION_MODEL
from facesync.state.model import LockedGroup


@dataclass(frozen=True)
class NamedFace:
    """One detected face: its box, and the best candidate (or None) and confidence.

    `person` is the candidate's key in the lock, or its personId when the lock
    does not manage it (`managed` False)."""

    rectangle: tuple[int, int, int, int]  # left, top, width, height
    person: str | None
    confidence: float | None
    person_id: str | None = None
    managed: bool = False


def identify_faces(
    conn: Connection,
    folder: Path,
    image: bytes,
    group: LockedGroup,
    *,
    threshold: float,
    say: Callable[[str], None],
) -> list[NamedFace]:
    """Every face of `image`, named from `group`'s persons; `folder` holds the
    embedded emulator's data when no endpoint is set."""
    names = {p.person_id: p.key for p in group.persons}
    with open_backend(conn, folder, say=say) as backend:
        faces = backend.detect(
            image, recognition_model=group.recognition_model,
            detection_model=DEFAULT_DETECTION_MODEL,
        )
        best: dict[str, tuple[str, float]] = {}  # faceId -> (personId, confidence)
        ids = [f.face_id for f in faces if f.face_id]
        for start in range(0, len(ids), IDENTIFY_FACE_IDS_MAX):
            batch = ids[start : start + IDENTIFY_FACE_IDS_MAX]
            for result in backend.identify(
                batch, group.kind, group.group_id, max_candidates=1, threshold=threshold
            ):
                if result.candidates:
                    top = result.candidates[0]
                    best[result.face_id] = (top.person_id, top.confidence)
    out = []
    for f in faces:
        person_id, confidence = best.get(f.face_id or "", (None, None))
        key = names.get(person_id) if person_id else None
        out.append(NamedFace(
            tuple(f.rectangle), key or person_id, confidence,  # type: ignore[arg-type]
            person_id=person_id, managed=key is not None,
        ))
    return out
