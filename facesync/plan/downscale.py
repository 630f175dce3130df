"""The plan's note for photos sent as a downscaled copy (facesync.image_fit).

Only faces the plan adds or replaces are named: the others send nothing. The
note tells the user that the service will see a smaller photo than the file,
while the lock keeps naming the original.
"""

from __future__ import annotations

from collections.abc import Sequence

from facesync.manifest.model import DesiredFace, Manifest
from facesync.plan.model import Action, Change, ResourceType
from facesync.plan.payloads import FaceSpec

NAMED_MAX = 5  # photos named one by one; more are counted in one line
_SENDS = (Action.CREATE, Action.REPLACE)


def downscale_notes(manifest: Manifest, changes: Sequence[Change]) -> list[str]:
    """One line per added or replaced face sent downscaled, at most NAMED_MAX, then a count."""
    faces = [face for face in (_sent_face(manifest, c) for c in changes) if face is not None]
    notes = [f"{_describe(face)} is sent downscaled to fit the service's limits"
             for face in faces[:NAMED_MAX]]
    rest = len(faces) - NAMED_MAX
    if rest > 0:
        notes.append(f"{rest} more photo{'' if rest == 1 else 's'} above the service's limits "
                     f"{'is' if rest == 1 else 'are'} sent downscaled")
    return notes


def _sent_face(manifest: Manifest, change: Change) -> DesiredFace | None:
    """The manifest's face a change sends, when it is sent downscaled."""
    if change.address.type is not ResourceType.FACE or change.action not in _SENDS:
        return None
    spec = change.payload_as(FaceSpec)
    group = manifest.group(spec.group_id)
    person = group.person(spec.person_key) if group is not None else None
    if person is None:
        return None
    face = next((f for f in person.faces if f.sha256 == spec.sha256), None)
    return face if face is not None and face.sent_downscaled else None


def _describe(face: DesiredFace) -> str:
    """`photos/x.jpg (9.8 MB, 4032x3024)`; the size alone when the checks did not
    need the dimensions."""
    size = f"{face.size / 2**20:.1f} MB"
    if face.downscaled_from is not None:
        width, height = face.downscaled_from
        size += f", {width}x{height}"
    return f"{face.path} ({size})"
