"""Which detected face an add-face call enrols: the only one, or the one in targetFace."""

from __future__ import annotations

from typing import Any

from facesync.emulator import errors
from facesync.emulator.images import ImageProblem
from facesync.emulator.validation import target_face_inside

Rectangle = tuple[int, int, int, int]


def pick_face(scene: Any, target: Rectangle | None) -> int:
    """Index of the face to enrol in `scene` (a vision.Scene).

    Without targetFace the image must hold exactly one face. With it, the face
    is the detection whose centre lies inside the target, the one overlapping it
    most when several do (the service trusts a targetFace taken from Detect).
    """
    if target is None:
        if not scene.boxes:
            raise ImageProblem(errors.NO_FACE)
        if len(scene.boxes) > 1:
            raise ImageProblem(errors.MORE_THAN_ONE_FACE)
        return 0
    target_face_inside(target, scene.width, scene.height)
    inside = [
        (overlap(box.rectangle, target), index)
        for index, box in enumerate(scene.boxes)
        if _centre_inside(box.rectangle, target)
    ]
    if not inside:
        raise ImageProblem(errors.NO_FACE)
    return max(inside, key=lambda item: (item[0], -item[1]))[1]


def overlap(a: Rectangle, b: Rectangle) -> int:
    """Area shared by two rectangles."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0, width) * max(0, height)


def _centre_inside(face: Rectangle, target: Rectangle) -> bool:
    x = face[0] + face[2] / 2
    y = face[1] + face[3] / 2
    return target[0] <= x <= target[0] + target[2] and target[1] <= y <= target[1] + target[3]
