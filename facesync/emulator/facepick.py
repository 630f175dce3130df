"""Which detected face an add-face call enrols: the only one, or the one in targetFace.

`choose_face` is the one rule, kept pure (rectangles in, index or refusal out) so
that the client's `validate --faces` can apply exactly what the emulator's
add-face applies instead of keeping its own, drifting copy. `pick_face` is the
emulator's wrapper that turns a refusal into the service's error.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from facesync.emulator import errors
from facesync.emulator.images import ImageRefused

Rectangle = tuple[int, int, int, int]  # left, top, width, height


class Refusal(enum.Enum):
    """Why add-face enrols no face; each value is one of the service's errors."""

    NO_FACE = "no face"
    MORE_THAN_ONE_FACE = "more than one face"
    TARGET_OUTSIDE_IMAGE = "target outside the image"


# The refusals the add-face handler reports as an image problem (InvalidImage).
_IMAGE_ERRORS = {
    Refusal.NO_FACE: errors.NO_FACE,
    Refusal.MORE_THAN_ONE_FACE: errors.MORE_THAN_ONE_FACE,
}


def choose_face(
    faces: Sequence[Rectangle], size: tuple[int, int], target: Rectangle | None = None
) -> int | Refusal:
    """Index in `faces` of the face to enrol from an image of `size` (width, height).

    Without a target the image must hold exactly one face; with one, the target
    must lie inside the image and exactly one face must have its centre inside
    the target. The target is checked before the faces, as the service does.
    """
    if target is None:
        candidates = list(range(len(faces)))
    else:
        if not target_inside_image(target, size):
            return Refusal.TARGET_OUTSIDE_IMAGE
        candidates = centred_in(faces, target)
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


def target_inside_image(target: Rectangle, size: tuple[int, int]) -> bool:
    """True when no part of `target` reaches past the image's edges."""
    left, top, width, height = target
    return left >= 0 and top >= 0 and left + width <= size[0] and top + height <= size[1]


def pick_face(scene: Any, target: Rectangle | None) -> int:
    """Index of the face to enrol in `scene` (a vision.Scene), or the service's error.

    Raises EmulatorError (targetFace out of range) or ImageRefused (no face, more
    than one face), as the add-face handler expects.
    """
    rectangles = [box.rectangle for box in scene.boxes]
    choice = choose_face(rectangles, (scene.width, scene.height), target)
    if isinstance(choice, int):
        return choice
    if choice is Refusal.TARGET_OUTSIDE_IMAGE:
        raise errors.TARGET_FACE_OUT_OF_RANGE.error()
    raise ImageRefused(_IMAGE_ERRORS[choice])


def _centre_inside(face: Rectangle, target: Rectangle) -> bool:
    x = face[0] + face[2] / 2
    y = face[1] + face[3] / 2
    return target[0] <= x <= target[0] + target[2] and target[1] <= y <= target[1] + target[3]
