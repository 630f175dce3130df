"""Face - Detect: query parameters, response shape and order."""

from __future__ import annotations

import re

import pytest

from .support import GUID_RE, Api, Photos, detect, expect_error, expect_error_code, expect_json

OBAMA = "people/barack_obama/obama_2012-12-06_official-portrait.jpg"
TWO_FACES = "groups/group_obama-biden_2010-05-10_composite.jpg"
ARTEMIS = "groups/group_artemis2-crew_2023-03-29.jpg"


def test_detect_returns_a_face_id_and_an_integer_rectangle_by_default(
    api: Api, photos: Photos
) -> None:
    faces = detect(api, photos.bytes(OBAMA))
    assert len(faces) == 1
    face = faces[0]
    assert re.match(GUID_RE, face["faceId"])
    rect = face["faceRectangle"]
    assert set(rect) == {"top", "left", "width", "height"}
    assert all(isinstance(v, int) and v >= 0 for v in rect.values())
    assert rect["width"] >= 36 and rect["height"] >= 36
    assert "recognitionModel" not in face


def test_every_detect_call_issues_new_face_ids(api: Api, photos: Photos) -> None:
    first = detect(api, photos.bytes(OBAMA))[0]
    second = detect(api, photos.bytes(OBAMA))[0]
    assert first["faceId"] != second["faceId"]
    assert first["faceRectangle"] == second["faceRectangle"]


def test_return_face_id_false_leaves_the_id_out(api: Api, photos: Photos) -> None:
    faces = detect(api, photos.bytes(OBAMA), returnFaceId="false")
    assert len(faces) == 1
    assert "faceId" not in faces[0]
    assert "faceRectangle" in faces[0]


@pytest.mark.parametrize(
    ("params", "model"),
    [({}, "recognition_01"), ({"recognitionModel": "recognition_04"}, "recognition_04")],
    ids=["default", "recognition_04"],
)
def test_return_recognition_model_echoes_the_model_per_face(
    api: Api, photos: Photos, params: dict, model: str
) -> None:
    faces = detect(api, photos.bytes(TWO_FACES), returnRecognitionModel="true", **params)
    assert [face["recognitionModel"] for face in faces] == [model, model]


@pytest.mark.parametrize("model", ["detection_01", "detection_02", "detection_03"])
def test_every_detection_model_finds_the_face(api: Api, photos: Photos, model: str) -> None:
    assert len(detect(api, photos.bytes(OBAMA), detectionModel=model)) == 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"recognitionModel": "recognition_99"}, "'recognitionModel' is invalid."),
        ({"detectionModel": "detection_99"}, "'detectionModel' is invalid."),
    ],
    ids=["recognitionModel", "detectionModel"],
)
def test_unknown_models_are_refused(api: Api, photos: Photos, params: dict, message: str) -> None:
    resp = api.post_image("/detect", photos.bytes(OBAMA), **params)
    expect_error(resp, 400, "BadArgument", message)


@pytest.mark.parametrize("ttl", ["60", "86400"])
def test_face_id_time_to_live_of_60_to_86400_seconds_is_accepted(
    api: Api, photos: Photos, ttl: str
) -> None:
    assert len(detect(api, photos.bytes(OBAMA), faceIdTimeToLive=ttl)) == 1


@pytest.mark.parametrize("ttl", ["59", "86401", "0", "-1", "soon"])
def test_face_id_time_to_live_outside_the_range_is_refused(
    api: Api, photos: Photos, ttl: str
) -> None:
    resp = api.post_image("/detect", photos.bytes(OBAMA), faceIdTimeToLive=ttl)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "BadArgument"


@pytest.mark.parametrize("photo", [TWO_FACES, ARTEMIS])
def test_faces_come_largest_first(api: Api, photos: Photos, photo: str) -> None:
    faces = detect(api, photos.bytes(photo))
    areas = [f["faceRectangle"]["width"] * f["faceRectangle"]["height"] for f in faces]
    assert len(faces) == (2 if photo == TWO_FACES else 4)
    assert areas == sorted(areas, reverse=True)
    assert len({f["faceId"] for f in faces}) == len(faces)


@pytest.mark.parametrize("photo", ["no_face/coffee-cup.jpg", "no_face/falcon9-dscovr-launch.jpg"])
def test_a_photo_without_faces_gives_an_empty_list(api: Api, photos: Photos, photo: str) -> None:
    assert detect(api, photos.bytes(photo)) == []


def test_detect_takes_a_file_url(api: Api, photos: Photos) -> None:
    faces = expect_json(api.post("/detect", json={"url": photos.path(OBAMA).as_uri()}))
    assert len(faces) == 1


def test_detect_refuses_a_remote_url(api: Api) -> None:
    resp = api.post("/detect", json={"url": "https://example.com/face.jpg"})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "InvalidURL"


# ---- landmarks and attributes --------------------------------------------

LANDMARKS_27 = {
    "pupilLeft", "pupilRight", "noseTip", "mouthLeft", "mouthRight",
    "eyebrowLeftOuter", "eyebrowLeftInner", "eyeLeftOuter", "eyeLeftTop", "eyeLeftBottom",
    "eyeLeftInner", "eyebrowRightInner", "eyebrowRightOuter", "eyeRightInner", "eyeRightTop",
    "eyeRightBottom", "eyeRightOuter", "noseRootLeft", "noseRootRight", "noseLeftAlarTop",
    "noseRightAlarTop", "noseLeftAlarOutTip", "noseRightAlarOutTip", "upperLipTop",
    "upperLipBottom", "underLipTop", "underLipBottom",
}  # fmt: skip


def test_landmarks_come_only_when_asked_as_float_points_on_the_face(
    api: Api, photos: Photos
) -> None:
    assert "faceLandmarks" not in detect(api, photos.bytes(OBAMA))[0]
    [face] = detect(api, photos.bytes(OBAMA), returnFaceLandmarks="true")
    rect, points = face["faceRectangle"], face["faceLandmarks"]
    assert {"pupilLeft", "pupilRight", "noseTip"} <= set(points)
    for point in points.values():
        assert set(point) == {"x", "y"}
        assert rect["left"] <= point["x"] <= rect["left"] + rect["width"]
        assert rect["top"] <= point["y"] <= rect["top"] + rect["height"]
    assert points["pupilLeft"]["x"] < points["noseTip"]["x"] < points["pupilRight"]["x"]


def test_landmarks_name_the_27_points_of_the_contract(api: Api, photos: Photos) -> None:
    [face] = detect(api, photos.bytes(OBAMA), returnFaceLandmarks="true")
    points = face["faceLandmarks"]
    assert set(points) == LANDMARKS_27
    box = face["faceRectangle"]
    assert points["eyeLeftOuter"]["x"] < points["pupilLeft"]["x"] < points["eyeLeftInner"]["x"]
    assert points["eyeLeftInner"]["x"] < points["eyeRightInner"]["x"]
    assert points["eyebrowLeftOuter"]["y"] < points["pupilLeft"]["y"] < points["noseTip"]["y"]
    assert points["noseTip"]["y"] < points["upperLipTop"]["y"] < points["underLipBottom"]["y"]
    assert box["top"] <= points["noseTip"]["y"] <= box["top"] + box["height"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"returnFaceLandmarks": "true", "detectionModel": "detection_02"},
            "'returnLandmarks' is not supported by detection_02.",
        ),
        (
            {"returnFaceAttributes": "headPose", "detectionModel": "detection_02"},
            "'returnFaceAttributes' is not supported by detection_02.",
        ),
        ({"returnFaceAttributes": "headPose,beauty"}, "Invalid argument returnFaceAttributes."),
    ],
    ids=["landmarks-detection_02", "attributes-detection_02", "unknown-attribute"],
)
def test_unsupported_landmark_and_attribute_requests_are_400(
    api: Api, photos: Photos, params: dict, message: str
) -> None:
    resp = api.post_image("/detect", photos.bytes(OBAMA), **params)
    expect_error(resp, 400, "BadArgument", message)


@pytest.mark.parametrize("attribute", ["emotion", "gender", "age", "smile"])
def test_retired_or_restricted_attributes_are_403_unsupported_feature(
    api: Api, photos: Photos, attribute: str
) -> None:
    resp = api.post_image("/detect", photos.bytes(OBAMA), returnFaceAttributes=attribute)
    expect_error_code(resp, 403, "UnsupportedFeature")


def test_generally_available_attributes_come_back_per_face(api: Api, photos: Photos) -> None:
    [face] = detect(
        api,
        photos.bytes(OBAMA),
        returnFaceAttributes="headPose,glasses,blur,qualityForRecognition",
        recognitionModel="recognition_04",
    )
    attributes = face["faceAttributes"]
    assert set(attributes) == {"headPose", "glasses", "blur", "qualityForRecognition"}
    assert attributes["qualityForRecognition"] in ("low", "medium", "high")
