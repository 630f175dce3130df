"""Which face add-face enrols, in one place for the manifest's face checks
(`validate`, `plan`) and the emulator.

Kept pure (rectangles in, index or refusal out) so that the client applies
exactly what the emulator's add-face applies instead of keeping its own,
drifting copy; the emulator's `facepick.pick_face` turns a refusal into the
service's error. The detectable face size is here too: a face below the
service's minimum is no face to add-face, whoever found it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from facesync.limits import FACE_MAX_PX, FACE_MIN_PX

Rectangle = tuple[int, int, int, int]  # left, top, width, height


class Refusal(enum.Enum):
    """Why add-face enrols no face; each value is one of the service's errors."""

    NO_FACE = "no face"
    MORE_THAN_ONE_FACE = "more than one face"
    TARGET_OUTSIDE_IMAGE = "target outside the image"


def target_is_valid(target: Rectangle) -> bool:
    """The service's `Invalid argument targetFace` rule: left and top 0 or more,
    width and height 1 or more."""
    left, top, width, height = target
    return left >= 0 and top >= 0 and width > 0 and height > 0


def target_inside_image(target: Rectangle, size: tuple[int, int]) -> bool:
    """True when no part of `target` reaches past the image's edges (width, height)."""
    left, top, width, height = target
    return left >= 0 and top >= 0 and left + width <= size[0] and top + height <= size[1]


def min_face_px(width: int, height: int) -> float:
    """The service's minimum face width: 36 px up to 1920x1080, proportionally more above."""
    long_side, short_side = max(width, height), min(width, height)
    return FACE_MIN_PX * max(1.0, long_side / 1920, short_side / 1080)


def detectable(face: Rectangle, size: tuple[int, int]) -> bool:
    """True when the service detects a face this wide in an image of `size`."""
    return min_face_px(*size) <= face[2] <= FACE_MAX_PX


def choose_face(
    faces: Sequence[Rectangle], size: tuple[int, int], target: Rectangle | None = None
) -> int | Refusal:
    """Index in `faces` of the face to enrol from an image of `size` (width, height).

    Faces of a size the service does not detect do not count. Without a target
    the image must hold exactly one face; with one, the target must lie inside
    the image and exactly one face must have its centre inside the target. The
    target is checked before the faces, as the service does.
    """
    if target is None:
        candidates = list(range(len(faces)))
    else:
        if not target_inside_image(target, size):
            return Refusal.TARGET_OUTSIDE_IMAGE
        candidates = centred_in(faces, target)
    candidates = [index for index in candidates if detectable(faces[index], size)]
    if not candidates:
        return Refusal.NO_FACE
    if len(candidates) > 1:
        return Refusal.MORE_THAN_ONE_FACE
    return candidates[0]


def centred_in(faces: Sequence[Rectangle], target: Rectangle) -> list[int]:
    """Indexes of the faces whose centre lies inside `target` (edges included).

    Public so that a refusal can name the faces that made it, by the same test.
    """
    return [index for index, face in enumerate(faces) if _centre_inside(face, target)]


def _centre_inside(face: Rectangle, target: Rectangle) -> bool:
    x = face[0] + face[2] / 2
    y = face[1] + face[3] / 2
    return target[0] <= x <= target[0] + target[2] and target[1] <= y <= target[1] + target[3]
