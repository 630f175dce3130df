from __future__ import annotations

import pytest

from facesync.emulator import errors
from facesync.emulator.kinds import LARGE_PERSON_GROUP, PERSON_GROUP, GroupKind
from facesync.emulator.models import FaceService
from facesync.emulator.recognition import Recognition
from facesync.emulator.training import Trainer

from .fakes import FakeVision, near, unit_vector
from .support import assert_error


def enrol(service: FaceService, vision: FakeVision, kind: GroupKind, seeds: list[int]) -> list[str]:
    service.create_group(kind, "staff", {"name": "Staff", "recognitionModel": "recognition_04"})
    ids = []
    for seed in seeds:
        person_id = service.create_person(kind, "staff", {"name": f"p{seed}"})
        image = vision.face(seed)
        service.add_face(kind, "staff", person_id, lambda image=image: image, {})
        ids.append(person_id)
    return ids


def detect(recognition: Recognition, vision: FakeVision, vector, model="recognition_04") -> str:
    image = vision.image(((10, 10, 100, 100), vector))
    found = recognition.detect(lambda: image, {"recognitionModel": model})
    return found[0]["faceId"]


def test_training_runs_then_succeeds_with_the_contracts_timestamps(
    service: FaceService, fake_vision, trainer: Trainer
) -> None:
    enrol(service, fake_vision, PERSON_GROUP, [1])

    trainer.train(PERSON_GROUP, "staff")
    running = trainer.status(PERSON_GROUP, "staff")
    trainer.wait()
    done = trainer.status(PERSON_GROUP, "staff")

    assert running.status in ("running", "succeeded")
    assert running.created == running.last_action or running.status == "succeeded"
    assert done.status == "succeeded"
    assert done.created == running.created
    assert done.last_action == done.last_successful
    assert done.last_successful_id is not None


def test_a_never_trained_group_has_no_training_status(service: FaceService, trainer) -> None:
    service.create_group(PERSON_GROUP, "staff", {"name": "Staff"})

    assert_error(errors.NOT_TRAINED, trainer.status, PERSON_GROUP, "staff", kind=PERSON_GROUP)


@pytest.mark.parametrize(
    ("persons", "message"),
    [
        (0, "There is no person in the person group."),
        (1, "There is no persisted face in the person group."),
    ],
)
def test_training_fails_without_persons_or_faces(
    service: FaceService, trainer: Trainer, persons: int, message: str
) -> None:
    service.create_group(PERSON_GROUP, "staff", {"name": "Staff"})
    for number in range(persons):
        service.create_person(PERSON_GROUP, "staff", {"name": f"p{number}"})

    trainer.train(PERSON_GROUP, "staff")
    trainer.wait()

    status = trainer.status(PERSON_GROUP, "staff")
    assert (status.status, status.message, status.last_successful) == ("failed", message, None)


def test_a_person_group_refuses_writes_while_it_trains(
    service: FaceService, fake_vision, trainer: Trainer, monkeypatch
) -> None:
    monkeypatch.setattr("facesync.emulator.training.TRAINING_MIN_SECONDS", 30.0)
    (person_id,) = enrol(service, fake_vision, PERSON_GROUP, [1])
    trainer.train(PERSON_GROUP, "staff")

    for write in (
        lambda: service.create_person(PERSON_GROUP, "staff", {"name": "x"}),
        lambda: service.update_person(PERSON_GROUP, "staff", person_id, {"name": "y"}),
        lambda: service.add_face(PERSON_GROUP, "staff", person_id, lambda: b"", {}),
        lambda: service.delete_person(PERSON_GROUP, "staff", person_id),
        lambda: service.delete_group(PERSON_GROUP, "staff"),
        lambda: trainer.train(PERSON_GROUP, "staff"),
    ):
        assert_error(errors.TRAINING_NOT_FINISHED, write, kind=PERSON_GROUP)


def test_a_large_group_takes_person_writes_while_it_trains(
    service: FaceService, fake_vision, trainer: Trainer, monkeypatch
) -> None:
    monkeypatch.setattr("facesync.emulator.training.TRAINING_MIN_SECONDS", 30.0)
    enrol(service, fake_vision, LARGE_PERSON_GROUP, [1])
    trainer.train(LARGE_PERSON_GROUP, "staff")

    service.create_person(LARGE_PERSON_GROUP, "staff", {"name": "buffered"})

    assert_error(
        errors.TRAINING_NOT_FINISHED, trainer.train, LARGE_PERSON_GROUP, "staff",
        kind=LARGE_PERSON_GROUP,
    )  # fmt: skip


def test_identify_finds_the_nearest_person_above_the_threshold(
    service, fake_vision, trainer, recognition: Recognition
) -> None:
    ids = enrol(service, fake_vision, PERSON_GROUP, [1, 2, 3])
    trainer.train(PERSON_GROUP, "staff")
    trainer.wait()
    known = detect(recognition, fake_vision, near(unit_vector(2), 0.4))
    stranger = detect(recognition, fake_vision, unit_vector(50))

    results = recognition.identify({"faceIds": [known, stranger], "personGroupId": "staff"})

    assert [r["faceId"] for r in results] == [known, stranger]
    assert [c["personId"] for c in results[0]["candidates"]] == [ids[1]]
    assert results[0]["candidates"][0]["confidence"] > 0.95
    assert results[1]["candidates"] == []


def test_identify_uses_the_last_training_not_live_data(
    service, fake_vision, trainer, recognition
) -> None:
    enrol(service, fake_vision, PERSON_GROUP, [1])
    trainer.train(PERSON_GROUP, "staff")
    trainer.wait()
    late = service.create_person(PERSON_GROUP, "staff", {"name": "late"})
    image = fake_vision.face(7)
    service.add_face(PERSON_GROUP, "staff", late, lambda: image, {})

    face_id = detect(recognition, fake_vision, unit_vector(7))
    results = recognition.identify({"faceIds": [face_id], "personGroupId": "staff"})

    assert results[0]["candidates"] == []


def test_max_candidates_and_threshold_shape_the_answer(
    service, fake_vision, trainer, recognition
) -> None:
    enrol(service, fake_vision, PERSON_GROUP, [1, 2, 3])
    trainer.train(PERSON_GROUP, "staff")
    trainer.wait()
    face_id = detect(recognition, fake_vision, unit_vector(1))

    everyone = recognition.identify(
        {"faceIds": [face_id], "personGroupId": "staff", "confidenceThreshold": 0,
         "maxNumOfCandidatesReturned": 3}
    )[0]["candidates"]  # fmt: skip

    scores = [c["confidence"] for c in everyone]
    assert len(everyone) == 3 and scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("body", "spec"),
    [
        ({"personGroupId": "staff"}, errors.FACE_IDS_LENGTH),
        ({"faceIds": [], "personGroupId": "staff"}, errors.FACE_IDS_LENGTH),
        ({"faceIds": ["x"], "personGroupId": "staff"}, errors.BODY_INVALID),
        ({"faceIds": ["FACE"]}, errors.GROUP_IDS_BOTH_NULL),
        ({"faceIds": ["FACE"], "personGroupId": "a", "largePersonGroupId": "b"},
         errors.GROUP_IDS_BOTH_NOT_NULL),
        ({"faceIds": ["FACE"], "personGroupId": "staff", "maxNumOfCandidatesReturned": 101},
         errors.MAX_CANDIDATES_INVALID),
        ({"faceIds": ["FACE"], "personGroupId": "staff", "confidenceThreshold": 1.5},
         errors.CONFIDENCE_THRESHOLD_INVALID),
        ({"faceIds": ["FACE"], "personGroupId": "Staff"}, errors.IDENTIFY_GROUP_ID_INVALID),
        ({"faceIds": ["FACE"], "personGroupId": "nobody"}, errors.IDENTIFY_GROUP_NOT_FOUND),
        ({"faceIds": ["FACE"], "personGroupId": "staff"}, errors.IDENTIFY_NOT_TRAINED),
    ],
)  # fmt: skip
def test_identify_argument_rules(service, fake_vision, recognition, body, spec) -> None:
    service.create_group(PERSON_GROUP, "staff", {"name": "Staff"})
    if "faceIds" in body:
        face_id = detect(recognition, fake_vision, unit_vector(1), "recognition_01")
        body = {**body, "faceIds": [face_id if f == "FACE" else f for f in body["faceIds"]]}

    assert_error(spec, recognition.identify, body, kind=PERSON_GROUP)


def test_unknown_faces_and_other_models_are_refused(
    service, fake_vision, trainer, recognition
) -> None:
    enrol(service, fake_vision, PERSON_GROUP, [1])
    trainer.train(PERSON_GROUP, "staff")
    trainer.wait()
    other_model = detect(recognition, fake_vision, unit_vector(1), "recognition_03")
    unknown = "00000000-0000-4000-8000-000000000000"

    assert_error(
        errors.FACE_NOT_FOUND,
        recognition.identify,
        {"faceIds": [unknown], "personGroupId": "staff"},
    )
    assert_error(
        errors.RECOGNITION_MODEL_INCOMPATIBLE, recognition.identify,
        {"faceIds": [other_model], "personGroupId": "staff"},
    )  # fmt: skip


def test_an_index_survives_a_new_cache(service, fake_vision, trainer, store) -> None:
    ids = enrol(service, fake_vision, PERSON_GROUP, [1, 2])
    trainer.train(PERSON_GROUP, "staff")
    trainer.wait()
    fresh = Recognition(store, fake_vision.analyse, type(trainer.indexes)())
    face_id = detect(fresh, fake_vision, unit_vector(2))

    results = fresh.identify({"faceIds": [face_id], "personGroupId": "staff"})

    assert results[0]["candidates"][0]["personId"] == ids[1]
