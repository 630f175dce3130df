"""Which detected face an add-face call enrols: the only one, or the one in targetFace.

The rule itself is `facesync.face_rules` (shared with the client's face checks
in `validate` and `plan`), the detectable size included; `pick_face` is the
emulator's wrapper that turns a refusal into the service's error.
"""

from __future__ import annotations

from typing import Any

from facesync.emulator import errors
from facesync.emulator.images import ImageRefused
from facesync.face_rules import (
    Rectangle,
    Refusal,
    centred_in,
    choose_face,
    detectable,
    min_face_px,
    target_inside_image,
)

__all__ = [
    "Rectangle", "Refusal", "centred_in", "choose_face", "detectable", "min_face_px",
    "pick_face", "target_inside_image",
]  # fmt: skip

# The refusals the add-face handler reports as an image problem (InvalidImage).
_IMAGE_ERRORS = {
    Refusal.NO_FACE: errors.NO_FACE,
    Refusal.MORE_THAN_ONE_FACE: errors.MORE_THAN_ONE_FACE,
}


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
