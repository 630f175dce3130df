"""Train and training status (contract §1.6, §1.7, §4)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from .support import (
    ISO_UTC_RE,
    Api,
    Kind,
    Photos,
    add_face,
    create_person,
    expect_error,
    expect_json,
    train,
    wait_for_training,
)


def when(stamp: str) -> datetime:
    """Parse the contract's ISO-8601 UTC form (0 to 7 fractional digits, `Z`)."""
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


def test_a_person_without_faces_makes_training_fail_with_a_message(
    api: Api, kind: Kind, group: str, photos: Photos
) -> None:
    enrol_one(api, kind, group, photos)
    create_person(api, kind, group, "No Face")
    status = train(api, kind, group)
    assert status["status"] == "failed"
    assert isinstance(status["message"], str) and status["message"]


def test_changes_after_training_leave_the_status_succeeded(
    api: Api, kind: Kind, group: str, photos: Photos
) -> None:
    enrol_one(api, kind, group, photos)
    done = train(api, kind, group)
    enrol_one(api, kind, group, photos)
    now = expect_json(api.get(kind.path(group, "training")))
    assert now["status"] == "succeeded"
    assert now["lastSuccessfulTrainingDateTime"] == done["lastSuccessfulTrainingDateTime"]
