"""Face - Identify: arguments, errors and real recognition on the repository's photos
."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from .support import (
    KINDS,
    Api,
    Kind,
    Photos,
    add_face,
    create_group,
    create_person,
    detect,
    expect_error,
    expect_error_code,
    identify,
    train,
)

MODEL = "recognition_04"
ENROL = {
    "Barack Obama": [
        "people/barack_obama/obama_2009-06-04_cairo-speech.jpg",
        "people/barack_obama/obama_2009-09-09_congress-address.jpg",
        "people/barack_obama/obama_2010-05-10_blue-room.jpg",
    ],
    "Joe Biden": [
        "people/joe_biden/biden_2010-05-10_blue-room.jpg",
        "people/joe_biden/biden_2013-01-10_official-portrait.jpg",
    ],
    "Christina Koch": ["people/christina_koch/koch_2023-03-29_nasa-portrait.jpg"],
    "Victor Glover": ["people/victor_glover/glover_2023-03-29_nasa-portrait.jpg"],
    "Reid Wiseman": ["people/reid_wiseman/wiseman_2023-03-29_nasa-portrait.jpg"],
    "Jeremy Hansen": ["people/jeremy_hansen/hansen_2023-03-29_nasa-portrait.jpg"],
}
HELD_OUT = {
    "Barack Obama": "people/barack_obama/obama_2012-12-06_official-portrait.jpg",
    "Joe Biden": "people/joe_biden/biden_2021-03-03_official-portrait.jpg",
}
ORION_MOCKUP = "groups/group_artemis2-crew_orion-mockup.jpg"
ORION_LEFT_TO_RIGHT = ["Jeremy Hansen", "Victor Glover", "Reid Wiseman", "Christina Koch"]
STRANGERS = [
    "people/michelle_obama/michelle-obama_2013-02-12_official-portrait.jpg",
    "people/mike_pence/pence_2017-10-24_official-portrait.jpg",
    "people/kamala_harris/harris_senate-official-portrait.jpg",
]
APOLLO_11 = "groups/group_apollo11-crew_1969.jpg"
THRESHOLD = 0.5


@dataclass(frozen=True)
class Enrolled:
    kind: Kind
    group: str
    names: dict[str, str]  # personId -> name

    def target(self) -> dict[str, str]:
        return {self.kind.id_field: self.group}


@pytest.fixture(scope="module", params=KINDS, ids=["PersonGroup", "LargePersonGroup"])
def enrolled(request: pytest.FixtureRequest, api: Api, photos: Photos) -> Enrolled:
    kind: Kind = request.param
    group = create_group(api, kind, recognitionModel=MODEL)
    names = {}
    for name, files in ENROL.items():
        person = create_person(api, kind, group, name)
        names[person] = name
        for rel in files:
            add_face(api, kind, group, person, photos.bytes(rel))
    assert train(api, kind, group)["status"] == "succeeded"
    return Enrolled(kind, group, names)


def face_ids(api: Api, photo: bytes) -> list[str]:
    return [face["faceId"] for face in detect(api, photo, recognitionModel=MODEL)]


def top_name(enrolled: Enrolled, result: dict) -> str | None:
    candidates = result["candidates"]
    return enrolled.names[candidates[0]["personId"]] if candidates else None


@pytest.mark.parametrize("name", sorted(HELD_OUT))
def test_a_held_out_photo_of_an_enrolled_person_comes_back_as_that_person(
    api: Api, photos: Photos, enrolled: Enrolled, name: str
) -> None:
    [face] = face_ids(api, photos.bytes(HELD_OUT[name]))
    [result] = identify(api, [face], confidenceThreshold=THRESHOLD, **enrolled.target())
    assert result["faceId"] == face
    assert top_name(enrolled, result) == name
    assert THRESHOLD <= result["candidates"][0]["confidence"] <= 1


def test_the_orion_mockup_photo_names_all_four_astronauts_left_to_right(
    api: Api, photos: Photos, enrolled: Enrolled
) -> None:
    faces = detect(api, photos.bytes(ORION_MOCKUP), recognitionModel=MODEL)
    assert len(faces) == 4
    left_to_right = [f["faceId"] for f in sorted(faces, key=lambda f: f["faceRectangle"]["left"])]
    results = identify(api, left_to_right, confidenceThreshold=THRESHOLD, **enrolled.target())
    assert [r["faceId"] for r in results] == left_to_right
    assert [top_name(enrolled, r) for r in results] == ORION_LEFT_TO_RIGHT


@pytest.mark.parametrize("photo", STRANGERS)
def test_a_stranger_gets_no_candidate_above_the_threshold(
    api: Api, photos: Photos, enrolled: Enrolled, photo: str
) -> None:
    [face] = face_ids(api, photos.bytes(photo))
    result = identify(api, [face], confidenceThreshold=THRESHOLD, **enrolled.target())
    assert result == [{"faceId": face, "candidates": []}]


def test_the_apollo_11_crew_are_all_strangers(api: Api, photos: Photos, enrolled: Enrolled) -> None:
    faces = face_ids(api, photos.bytes(APOLLO_11))
    assert len(faces) == 3
    results = identify(api, faces, confidenceThreshold=THRESHOLD, **enrolled.target())
    assert results == [{"faceId": face, "candidates": []} for face in faces]


def test_candidates_are_capped_sorted_and_within_0_and_1(
    api: Api, photos: Photos, enrolled: Enrolled
) -> None:
    [face] = face_ids(api, photos.bytes(HELD_OUT["Joe Biden"]))
    [result] = identify(
        api, [face], confidenceThreshold=0, maxNumOfCandidatesReturned=3, **enrolled.target()
    )
    confidences = [c["confidence"] for c in result["candidates"]]
    assert len(confidences) == 3
    assert confidences == sorted(confidences, reverse=True)
    assert all(0 <= c <= 1 for c in confidences)
    assert len({c["personId"] for c in result["candidates"]}) == 3
    assert all(set(c) == {"personId", "confidence"} for c in result["candidates"])


def test_the_threshold_keeps_only_candidates_at_or_above_it(
    api: Api, photos: Photos, enrolled: Enrolled
) -> None:
    [face] = face_ids(api, photos.bytes(HELD_OUT["Barack Obama"]))
    everyone = identify(
        api, [face], confidenceThreshold=0, maxNumOfCandidatesReturned=5, **enrolled.target()
    )[0]["candidates"]
    cut = (everyone[0]["confidence"] + everyone[1]["confidence"]) / 2
    [kept] = identify(
        api, [face], confidenceThreshold=cut, maxNumOfCandidatesReturned=5, **enrolled.target()
    )
    assert kept["candidates"] == everyone[:1]


def test_results_follow_the_order_of_the_query_faces(
    api: Api, photos: Photos, enrolled: Enrolled
) -> None:
    obama = face_ids(api, photos.bytes(HELD_OUT["Barack Obama"]))
    biden = face_ids(api, photos.bytes(HELD_OUT["Joe Biden"]))
    stranger = face_ids(api, photos.bytes(STRANGERS[0]))
    query = biden + stranger + obama
    results = identify(api, query, confidenceThreshold=THRESHOLD, **enrolled.target())
    assert [r["faceId"] for r in results] == query
    assert [top_name(enrolled, r) for r in results] == ["Joe Biden", None, "Barack Obama"]


def test_identify_uses_the_last_training_not_live_data(
    api: Api, kind: Kind, photos: Photos
) -> None:
    group = create_group(api, kind, recognitionModel=MODEL)
    obama = create_person(api, kind, group, "Barack Obama")
    add_face(api, kind, group, obama, photos.bytes(ENROL["Barack Obama"][0]))
    train(api, kind, group)
    biden = create_person(api, kind, group, "Joe Biden")
    add_face(api, kind, group, biden, photos.bytes(ENROL["Joe Biden"][0]))
    [face] = face_ids(api, photos.bytes(HELD_OUT["Joe Biden"]))
    target = {kind.id_field: group, "confidenceThreshold": 0, "maxNumOfCandidatesReturned": 5}
    [before] = identify(api, [face], **target)
    assert [c["personId"] for c in before["candidates"]] == [obama]
    train(api, kind, group)
    [after] = identify(api, [face], **target)
    assert after["candidates"][0]["personId"] == biden


# ---- argument errors ----------------------------------------------------------


@pytest.fixture(scope="module")
def a_face(api: Api, photos: Photos) -> str:
    return face_ids(api, photos.bytes(HELD_OUT["Barack Obama"]))[0]


def test_both_group_ids_are_refused(api: Api, a_face: str) -> None:
    resp = api.post(
        "/identify",
        json={"faceIds": [a_face], "personGroupId": "a", "largePersonGroupId": "b"},
    )
    expect_error_code(resp, 400, "PersonGroupIdAndLargePersonGroupIdBothNotNull")


def test_neither_group_id_is_refused(api: Api, a_face: str) -> None:
    resp = api.post("/identify", json={"faceIds": [a_face]})
    expect_error_code(resp, 400, "PersonGroupIdAndLargePersonGroupIdBothNull")


@pytest.mark.parametrize("count", [0, 11])
def test_zero_or_more_than_ten_face_ids_are_refused(
    api: Api, photos: Photos, enrolled: Enrolled, count: int
) -> None:
    faces = [face_ids(api, photos.small_face)[0] for _ in range(count)]
    resp = api.post("/identify", json={"faceIds": faces, **enrolled.target()})
    expect_error(resp, 400, "BadArgument", "The length of faceIds is not in a valid range.")


def test_ten_face_ids_are_accepted(api: Api, photos: Photos, enrolled: Enrolled) -> None:
    faces = [face_ids(api, photos.small_face)[0] for _ in range(10)]
    assert len(identify(api, faces, **enrolled.target())) == 10


def test_an_unknown_face_id_is_face_not_found(api: Api, enrolled: Enrolled) -> None:
    resp = api.post("/identify", json={"faceIds": [str(uuid.uuid4())], **enrolled.target()})
    expect_error(resp, 400, "FaceNotFound", "Face is not found.")


@pytest.mark.parametrize("value", [0, 101, -1, "many"])
def test_an_invalid_max_num_of_candidates_is_refused(
    api: Api, enrolled: Enrolled, a_face: str, value: object
) -> None:
    body = {"faceIds": [a_face], "maxNumOfCandidatesReturned": value, **enrolled.target()}
    expect_error(
        api.post("/identify", json=body),
        400,
        "BadArgument",
        "The argument maxNumOfCandidatesReturned is not valid.",
    )


@pytest.mark.parametrize("value", [-0.1, 1.1, "high"])
def test_an_invalid_confidence_threshold_is_refused(
    api: Api, enrolled: Enrolled, a_face: str, value: object
) -> None:
    body = {"faceIds": [a_face], "confidenceThreshold": value, **enrolled.target()}
    expect_error(
        api.post("/identify", json=body),
        400,
        "BadArgument",
        "The argument confidenceThreshold is not valid.",
    )


def test_a_missing_group_is_a_400_here(api: Api, kind: Kind, a_face: str) -> None:
    resp = api.post("/identify", json={"faceIds": [a_face], kind.id_field: "no-such-group"})
    expect_error(resp, 400, kind.not_found, kind.msg_not_found())


def test_a_malformed_group_id_is_a_400_bad_argument(api: Api, kind: Kind, a_face: str) -> None:
    resp = api.post("/identify", json={"faceIds": [a_face], kind.id_field: "Not Valid!"})
    expect_error(resp, 400, "BadArgument", kind.msg_invalid_id())


def test_a_never_trained_group_is_a_400_not_trained(
    api: Api, kind: Kind, photos: Photos, a_face: str
) -> None:
    group = create_group(api, kind, recognitionModel=MODEL)
    add_face(api, kind, group, create_person(api, kind, group), photos.small_face)
    resp = api.post("/identify", json={"faceIds": [a_face], kind.id_field: group})
    expect_error(resp, 400, kind.not_trained, kind.msg_not_trained())


def test_a_face_detected_with_another_model_is_incompatible(
    api: Api, photos: Photos, enrolled: Enrolled
) -> None:
    [face] = detect(api, photos.small_face, recognitionModel="recognition_01")
    resp = api.post("/identify", json={"faceIds": [face["faceId"]], **enrolled.target()})
    expect_error(resp, 400, "BadArgument", "'recognitionModel' is incompatible.")


def test_identify_needs_json(api: Api, a_face: str) -> None:
    resp = api.post(
        "/identify",
        data=f'{{"faceIds": ["{a_face}"], "personGroupId": "x"}}',
        headers={"Content-Type": "text/plain"},
    )
    expect_error(resp, 415, "BadArgument", "Invalid Media Type.")


def test_identify_refuses_malformed_json(api: Api) -> None:
    resp = api.post("/identify", data='{"faceIds": [', headers={"Content-Type": "application/json"})
    expect_error(resp, 400, "BadArgument", "JSON parsing error.")
