"""Which detected face an add-face call enrols: the only one, or the one in targetFace."""

from __future__ import annotations

from typing import Any

from facesync.emulator import errors
from facesync.emulator.images import ImageProblem
from facesync.emulator.validation import target_face_inside

Rectangle = tuple[int, int, int, int]


def pick_face(scene: Any, target: Rectangle | None) -> int:
    """Index of the face to enrol in `scene` (a vision.Scene).

    Without targetFace the image must hold exactly one face; with it, exactly one
    detection must have its centre inside the target (contract §3.1).
    """
    if target is None:
        if not scene.boxes:
            raise ImageProblem(errors.NO_FACE)
        if len(scene.boxes) > 1:
            raise ImageProblem(errors.MORE_THAN_ONE_FACE)
        return 0
    target_face_inside(target, scene.width, scene.height)
    inside = [
        index for index, box in enumerate(scene.boxes) if _centre_inside(box.rectangle, target)
    ]
    if not inside:
        raise ImageProblem(errors.NO_FACE)
    if len(inside) > 1:
        raise ImageProblem(errors.MORE_THAN_ONE_FACE)
    return inside[0]


def _centre_inside(face: Rectangle, target: Rectangle) -> bool:
    x = face[0] + face[2] / 2
    y = face[1] + face[3] / 2
    return target[0] <= x <= target[0] + target[2] and target[1] <= y <= target[1] + target[3]
