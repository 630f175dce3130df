"""Train and training status."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from .support import (
    ISO_UTC_RE,
    LARGE_PERSON_GROUP,
    PERSON_GROUP,
    Api,
    Kind,
    Photos,
    add_face,
    create_group,
    create_person,
    detect,
    expect_empty,
    expect_error,
    expect_json,
    identify,
    train,
    wait_for_training,
)


def when(stamp: str) -> datetime:
    """Parse the service's ISO-8601 UTC form (0 to 7 fractional digits, `Z`)."""
    match = re.match(ISO_UTC_RE, stamp)
    assert match, stamp
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    micros = int((fraction + "000000")[:6])
    return datetime.fromisoformat(whole).replace(microsecond=micros, tzinfo=timezone.utc)


def enrol_one(api: Api, kind: Kind, group: str, photos: Photos) -> str:
    person = create_person(api, kind, group)
    add_face(api, kind, group, person, photos.small_face)
    return person


def test_train_answers_202_with_an_empty_body_and_an_operation_location(
    api: Api, kind: Kind, group: str, photos: Photos
) -> None:
    enrol_one(api, kind, group, photos)
    resp = api.post(kind.path(group, "train"))
    assert resp.status_code == 202, resp.text
    assert resp.content == b""
    assert resp.headers["Operation-Location"].endswith(f"/{kind.collection}/{group}/training")
    wait_for_training(api, kind, group)


def test_a_never_trained_group_has_no_training_status(api: Api, kind: Kind, group: str) -> None:
    resp = api.get(kind.path(group, "training"))
    expect_error(resp, 404, kind.not_trained, kind.msg_not_trained())


def test_the_first_poll_after_train_is_already_running_or_done(
    api: Api, kind: Kind, group: str, photos: Photos
) -> None:
    enrol_one(api, kind, group, photos)
    assert api.post(kind.path(group, "train")).status_code == 202
    first = expect_json(api.get(kind.path(group, "training")))
    assert first["status"] in ("running", "succeeded")
    assert wait_for_training(api, kind, group)["status"] == "succeeded"


def test_a_succeeded_training_reports_its_timestamps(
    api: Api, kind: Kind, group: str, photos: Photos
) -> None:
    enrol_one(api, kind, group, photos)
    status = train(api, kind, group)
    assert status["status"] == "succeeded"
    assert status.get("message") is None
    created = when(status["createdDateTime"])
    last_action = when(status["lastActionDateTime"])
    assert status["lastActionDateTime"] == status["lastSuccessfulTrainingDateTime"]
    assert created <= last_action


def test_created_date_time_is_when_the_latest_training_was_queued(
    api: Api, kind: Kind, group: str, photos: Photos
) -> None:
    enrol_one(api, kind, group, photos)
    first = train(api, kind, group)
    second = train(api, kind, group)
    assert when(second["createdDateTime"]) >= when(first["lastSuccessfulTrainingDateTime"])
    assert when(second["lastSuccessfulTrainingDateTime"]) >= when(second["createdDateTime"])


def test_training_a_group_without_persons_fails_with_a_message(
    api: Api, kind: Kind, group: str
) -> None:
    status = train(api, kind, group)
    assert status["status"] == "failed"
    assert isinstance(status["message"], str) and status["message"]
    assert status.get("lastSuccessfulTrainingDateTime") is None


def test_training_a_group_whose_persons_have_no_faces_fails_with_a_message(
    api: Api, kind: Kind, group: str
) -> None:
    create_person(api, kind, group, "No Face")
    status = train(api, kind, group)
    assert status["status"] == "failed"
    assert isinstance(status["message"], str) and status["message"]


def test_a_failed_training_keeps_the_last_success(
    api: Api, kind: Kind, group: str, photos: Photos
) -> None:
    person = enrol_one(api, kind, group, photos)
    done = train(api, kind, group)
    expect_empty(api.delete(kind.path(group, "persons", person)))
    failed = train(api, kind, group)
    assert failed["status"] == "failed"
    assert failed["lastSuccessfulTrainingDateTime"] == done["lastSuccessfulTrainingDateTime"]


def test_changes_after_training_leave_the_status_succeeded(
    api: Api, kind: Kind, group: str, photos: Photos
) -> None:
    enrol_one(api, kind, group, photos)
    done = train(api, kind, group)
    enrol_one(api, kind, group, photos)
    now = expect_json(api.get(kind.path(group, "training")))
    assert now["status"] == "succeeded"
    assert now["lastSuccessfulTrainingDateTime"] == done["lastSuccessfulTrainingDateTime"]


# ---- while a group trains (the emulator's training lasts long enough to be seen) ----


def trained_group(api: Api, kind: Kind, photos: Photos) -> tuple[str, str, str]:
    """A group that trained once: (group, person, face)."""
    group = create_group(api, kind, recognitionModel="recognition_04")
    person = create_person(api, kind, group)
    face = add_face(api, kind, group, person, photos.small_face)
    assert train(api, kind, group)["status"] == "succeeded"
    return group, person, face


def start_training(api: Api, kind: Kind, group: str) -> None:
    assert api.post(kind.path(group, "train")).status_code == 202
    assert expect_json(api.get(kind.path(group, "training")))["status"] == "running"


WRITES_REFUSED_WHILE_TRAINING = {
    "add face": lambda api, k, g, p, f, img: api.post_image(
        k.path(g, "persons", p, "persistedfaces"), img
    ),
    "update person": lambda api, k, g, p, f, img: api.patch(
        k.path(g, "persons", p), json={"name": "New"}
    ),
    "delete person": lambda api, k, g, p, f, img: api.delete(k.path(g, "persons", p)),
    "create person": lambda api, k, g, p, f, img: api.post(
        k.path(g, "persons"), json={"name": "Late"}
    ),
    "delete face": lambda api, k, g, p, f, img: api.delete(
        k.path(g, "persons", p, "persistedfaces", f)
    ),
    "delete group": lambda api, k, g, p, f, img: api.delete(k.path(g)),
    "train again": lambda api, k, g, p, f, img: api.post(k.path(g, "train")),
}


@pytest.mark.parametrize("write", sorted(WRITES_REFUSED_WHILE_TRAINING))
def test_writes_to_a_person_group_under_training_are_409(
    api: Api, photos: Photos, write: str
) -> None:
    kind = PERSON_GROUP
    group, person, face = trained_group(api, kind, photos)
    before = expect_json(api.get(kind.path(group, "persons")))
    start_training(api, kind, group)
    resp = WRITES_REFUSED_WHILE_TRAINING[write](api, kind, group, person, face, photos.small_face)
    expect_error(resp, 409, kind.training_not_finished, kind.msg_under_training())
    assert wait_for_training(api, kind, group)["status"] == "succeeded"
    assert expect_json(api.get(kind.path(group, "persons"))) == before


@pytest.mark.parametrize("write", ["delete group", "train again"])
def test_a_large_group_under_training_refuses_group_level_writes(
    api: Api, photos: Photos, write: str
) -> None:
    kind = LARGE_PERSON_GROUP
    group, person, face = trained_group(api, kind, photos)
    start_training(api, kind, group)
    resp = WRITES_REFUSED_WHILE_TRAINING[write](api, kind, group, person, face, photos.small_face)
    expect_error(resp, 409, kind.training_not_finished, kind.msg_under_training())
    wait_for_training(api, kind, group)
    assert api.get(kind.path(group)).status_code == 200


def test_identify_against_a_person_group_under_training_is_409(api: Api, photos: Photos) -> None:
    kind = PERSON_GROUP
    group, _, _ = trained_group(api, kind, photos)
    [face] = detect(api, photos.small_face, recognitionModel="recognition_04")
    start_training(api, kind, group)
    resp = api.post("/identify", json={"faceIds": [face["faceId"]], "personGroupId": group})
    expect_error(resp, 409, kind.training_not_finished, kind.msg_under_training())


def test_a_large_group_under_training_still_identifies_with_its_last_training(
    api: Api, photos: Photos
) -> None:
    kind = LARGE_PERSON_GROUP
    group, person, _ = trained_group(api, kind, photos)
    [face] = detect(api, photos.small_face, recognitionModel="recognition_04")
    start_training(api, kind, group)
    [result] = identify(api, [face["faceId"]], largePersonGroupId=group)
    assert result["candidates"][0]["personId"] == person


def test_a_group_can_be_read_while_it_trains(api: Api, kind: Kind, photos: Photos) -> None:
    group, person, _ = trained_group(api, kind, photos)
    start_training(api, kind, group)
    assert expect_json(api.get(kind.path(group)))[kind.id_field] == group
    assert [p["personId"] for p in expect_json(api.get(kind.path(group, "persons")))] == [person]
