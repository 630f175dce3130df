"""Detect's returnFaceAttributes: the service's rules, neutral values.

The emulator does not measure attributes. It validates the request as the
service does (unknown names, retired ones, model restrictions) and answers
each generally available attribute with a neutral value of the right shape,
so clients parse them; `qualityForRecognition` follows the face size
(>= 100 px high, >= 50 px medium, else low).
"""

from __future__ import annotations

from typing import Any

from facesync.emulator import errors

AVAILABLE = (
    "accessories",
    "blur",
    "exposure",
    "glasses",
    "headPose",
    "mask",
    "noise",
    "occlusion",
    "qualityForRecognition",
)
RETIRED = ("age", "emotion", "facialHair", "gender", "hair", "makeup", "smile")
_BY_LOWER = {name.lower(): name for name in AVAILABLE + RETIRED}
_NEUTRAL: dict[str, Any] = {
    "accessories": [],
    "blur": {"blurLevel": "low", "value": 0.0},
    "exposure": {"exposureLevel": "goodExposure", "value": 0.5},
    "glasses": "NoGlasses",
    "headPose": {"pitch": 0.0, "roll": 0.0, "yaw": 0.0},
    "mask": {"type": "noMask", "noseAndMouthCovered": False},
    "noise": {"noiseLevel": "low", "value": 0.0},
    "occlusion": {"foreheadOccluded": False, "eyeOccluded": False, "mouthOccluded": False},
}


def parse_attributes(
    value: str | None, detection_model: str, recognition_model: str
) -> tuple[str, ...]:
    """The requested attribute names, in the service's spelling."""
    if value is None or not value.strip():
        return ()
    if detection_model == "detection_02":
        raise errors.ATTRIBUTES_NOT_WITH_DETECTION_02.error()
    names = []
    for raw in value.split(","):
        name = _BY_LOWER.get(raw.strip().lower())
        if name is None:
            raise errors.ATTRIBUTES_INVALID.error()
        names.append(name)
    if any(name in RETIRED for name in names):
        raise errors.ATTRIBUTES_RETIRED.error()
    if "mask" in names and detection_model != "detection_03":
        raise errors.ATTRIBUTES_INVALID.error()
    quality_models = ("recognition_03", "recognition_04")
    if "qualityForRecognition" in names and recognition_model not in quality_models:
        raise errors.ATTRIBUTES_INVALID.error()
    return tuple(dict.fromkeys(names))


def face_attributes(names: tuple[str, ...], rectangle: tuple[int, int, int, int]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in names:
        if name == "qualityForRecognition":
            side = min(rectangle[2], rectangle[3])
            found[name] = "high" if side >= 100 else "medium" if side >= 50 else "low"
        else:
            found[name] = _NEUTRAL[name]
    return found
