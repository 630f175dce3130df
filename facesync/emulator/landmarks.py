"""Detect's 27 named landmarks, from dlib's 68-point shape predictor.

Loaded only when a caller asks for landmarks (returnFaceLandmarks=true): the
model is about 100 MB, and enrolment never needs it. "Left" is the image's
left, as in the service's examples (pupilLeft has the smaller x), which is
the subject's right in dlib's 68-point numbering.
"""

from __future__ import annotations

import threading
from typing import Any

from facesync.emulator import images

SHAPE_68_MODEL = "shape_predictor_68_face_landmarks.dat"

Point = tuple[float, float]

# name -> the 68-point indices whose mean is the landmark
_POINTS: dict[str, tuple[int, ...]] = {
    "pupilLeft": (36, 37, 38, 39, 40, 41),
    "pupilRight": (42, 43, 44, 45, 46, 47),
    "noseTip": (30,),
    "mouthLeft": (48,),
    "mouthRight": (54,),
    "eyebrowLeftOuter": (17,),
    "eyebrowLeftInner": (21,),
    "eyeLeftOuter": (36,),
    "eyeLeftTop": (37, 38),
    "eyeLeftBottom": (40, 41),
    "eyeLeftInner": (39,),
    "eyebrowRightInner": (22,),
    "eyebrowRightOuter": (26,),
    "eyeRightInner": (42,),
    "eyeRightTop": (43, 44),
    "eyeRightBottom": (46, 47),
    "eyeRightOuter": (45,),
    "noseRootLeft": (27, 39),
    "noseRootRight": (27, 42),
    "noseLeftAlarTop": (29, 31),
    "noseRightAlarTop": (29, 35),
    "noseLeftAlarOutTip": (31,),
    "noseRightAlarOutTip": (35,),
    "upperLipTop": (51,),
    "upperLipBottom": (62,),
    "underLipTop": (66,),
    "underLipBottom": (57,),
}

_mutex = threading.Lock()
_predictor: Any = None


def _shape_68() -> Any:
    global _predictor
    with _mutex:
        if _predictor is None:
            import dlib

            from facesync.emulator.vision import model_folder, require_vision

            require_vision()
            folder = model_folder()
            assert folder is not None
            _predictor = dlib.shape_predictor(str(folder / SHAPE_68_MODEL))
        return _predictor


def named_landmarks(points: list[Point]) -> dict[str, dict[str, float]]:
    """The 27 named points from 68 (x, y) points, rounded to 0.1 px."""
    out = {}
    for name, indices in _POINTS.items():
        x = sum(points[i][0] for i in indices) / len(indices)
        y = sum(points[i][1] for i in indices) / len(indices)
        out[name] = {"x": round(x, 1), "y": round(y, 1)}
    return out


def landmarks_27(image: bytes, rectangle: tuple[int, int, int, int]) -> dict[str, dict[str, float]]:
    """The 27 landmarks of the face at `rectangle` (original pixel grid)."""
    import dlib
    import numpy as np

    picture = images.decode(image)
    pixels = np.asarray(picture.rgb, dtype=np.uint8)
    left, top, width, height = (round(v * picture.scale) for v in rectangle)
    shape = _shape_68()(pixels, dlib.rectangle(left, top, left + width - 1, top + height - 1))
    points = [(p.x / picture.scale, p.y / picture.scale) for p in shape.parts()]
    return named_landmarks(points)
