"""The face-pick rule on bare rectangles: the one rule add-face and validate --faces share."""

from __future__ import annotations

import pytest

from facesync.emulator import errors
from facesync.emulator.errors import EmulatorError
from facesync.emulator.facepick import (
    Rectangle,
    Refusal,
    centred_in,
    choose_face,
    pick_face,
    target_inside_image,
)
from facesync.emulator.images import ImageRefused
from facesync.emulator.vision import Box, Scene

SIZE = (1000, 800)
LEFT: Rectangle = (100, 100, 100, 100)  # centre (150, 150)
RIGHT: Rectangle = (600, 100, 120, 120)  # centre (660, 160)
LOW: Rectangle = (300, 500, 80, 80)  # centre (340, 540)


@pytest.mark.parametrize(
    ("faces", "target", "expected"),
    [
        ([LEFT], None, 0),
        ([], None, Refusal.NO_FACE),
        ([LEFT, RIGHT], None, Refusal.MORE_THAN_ONE_FACE),
        ([LEFT, RIGHT, LOW], (550, 50, 250, 250), 1),
        ([LEFT, RIGHT, LOW], (0, 400, 500, 300), 2),
        # a box around only the centre is enough; covering most of the face is not needed
        ([LEFT, RIGHT], (145, 145, 10, 10), 0),
        # part of the face inside the box, but not its centre: no face
        ([LEFT], (90, 90, 59, 120), Refusal.NO_FACE),
        ([LEFT, RIGHT], (0, 0, 800, 400), Refusal.MORE_THAN_ONE_FACE),
        ([LEFT, RIGHT], (0, 500, 200, 200), Refusal.NO_FACE),
        ([], (0, 0, 100, 100), Refusal.NO_FACE),
        ([LEFT], (900, 700, 101, 100), Refusal.TARGET_OUTSIDE_IMAGE),
        ([LEFT], (900, 700, 100, 101), Refusal.TARGET_OUTSIDE_IMAGE),
        # the target is checked first, even when it holds exactly one face
        ([LEFT], (50, 50, 1000, 200), Refusal.TARGET_OUTSIDE_IMAGE),
        ([LEFT], (-1, 0, 300, 300), Refusal.TARGET_OUTSIDE_IMAGE),
    ],
)
def test_choose_face(
    faces: list[Rectangle], target: Rectangle | None, expected: int | Refusal
) -> None:
    assert choose_face(faces, SIZE, target) == expected


def test_a_target_exactly_the_image_size_is_inside() -> None:
    assert target_inside_image((0, 0, *SIZE), SIZE)
    assert choose_face([LEFT], SIZE, (0, 0, *SIZE)) == 0


def test_a_centre_on_the_targets_edge_counts_as_inside() -> None:
    assert centred_in([LEFT], (150, 150, 10, 10)) == [0]  # top-left corner
    assert centred_in([LEFT], (140, 140, 10, 10)) == [0]  # bottom-right corner
    assert centred_in([LEFT], (151, 150, 10, 10)) == []


def test_centred_in_lists_every_face_in_the_target_in_detection_order() -> None:
    assert centred_in([LOW, LEFT, RIGHT], (0, 0, 1000, 800)) == [0, 1, 2]
    assert centred_in([LOW, LEFT, RIGHT], (0, 0, 700, 300)) == [1, 2]


def _scene(*faces: Rectangle) -> Scene:
    return Scene(SIZE[0], SIZE[1], tuple(Box(face, 1.0, ()) for face in faces), [], embed=repr)


def test_pick_face_returns_the_chosen_index() -> None:
    assert pick_face(_scene(LEFT), None) == 0
    assert pick_face(_scene(LEFT, RIGHT, LOW), (300, 500, 80, 80)) == 2


@pytest.mark.parametrize(
    ("faces", "target", "spec"),
    [
        ((), None, errors.NO_FACE),
        ((LEFT, RIGHT), None, errors.MORE_THAN_ONE_FACE),
        ((LEFT, RIGHT), (0, 500, 100, 100), errors.NO_FACE),
        ((LEFT, RIGHT), (0, 0, 800, 400), errors.MORE_THAN_ONE_FACE),
    ],
)
def test_pick_face_refuses_with_the_services_image_error(
    faces: tuple[Rectangle, ...], target: Rectangle | None, spec: errors.ErrorSpec
) -> None:
    with pytest.raises(ImageRefused) as caught:
        pick_face(_scene(*faces), target)
    assert caught.value.spec is spec


def test_pick_face_refuses_a_target_outside_the_image_as_a_bad_argument() -> None:
    with pytest.raises(EmulatorError) as caught:
        pick_face(_scene(LEFT), (900, 0, 101, 100))
    assert caught.value.body() == {
        "error": {"code": "BadArgument", "message": "Argument targetFace out of range."}
    }
    assert caught.value.status == 400
