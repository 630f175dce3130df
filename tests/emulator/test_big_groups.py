"""Training and Identify on their fast paths, at small sizes.

A LargePersonGroup of more faces than training reads in one batch is seeded
through the store's bulk inserts (adding thousands of faces over HTTP would
take minutes): strangers with random embeddings, and three real people whose
faces are dlib embeddings of their photos, with personIds that sort first, in
the middle and last. A wrong row-to-person alignment anywhere would name the
wrong person. Everything after the seeding is plain HTTP.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from facesync.emulator import vision
from facesync.emulator.index import Index
from facesync.emulator.rows import FaceRow, GroupRow, PersonRow, TrainingRow
from facesync.emulator.store import FETCH_ROWS, Store

from .support import (
    LARGE_PERSON_GROUP,
    Api,
    Photos,
    api_for,
    detect,
    expect_empty,
    expect_json,
    identify,
    train,
)

GROUP = "big"
STRANGERS = 3000
FACES = 3  # per person: 9,009 faces, three read batches
CREATED = "2024-01-01T00:00:00.000Z"
KIND = "largePersonGroup"  # the store's name of the kind
REAL = {  # personId -> (enrolled photo, query photo)
    "00000000-0000-4000-8000-000000000001": (
        "people/barack_obama/obama_2010-05-10_blue-room.jpg",
        "people/barack_obama/obama_2012-12-06_official-portrait.jpg",
    ),
    "80000000-0000-4000-8000-000000000002": (
        "people/joe_biden/biden_2013-01-10_official-portrait.jpg",
        "people/joe_biden/biden_2021-03-03_official-portrait.jpg",
    ),
    "ffffffff-0000-4000-8000-000000000003": (
        "people/kamala_harris/harris_2021-03-04_official-portrait.jpg",
        "people/kamala_harris/harris_senate-official-portrait.jpg",
    ),
}


def seed(data: Path, photos: Photos) -> Store:
    """The group, written with the store's own bulk inserts; the store stays open
    for the caller (close it before an emulator opens the folder)."""
    rng = np.random.default_rng(8)
    kind = KIND
    embeddings = {}
    for person_id, (enrolled, _) in REAL.items():
        [face] = vision.find_faces(photos.bytes(enrolled))
        embeddings[person_id] = face.embedding + rng.normal(0, 0.005, (FACES, 128))
    for _ in range(STRANGERS):
        embeddings[str(uuid.uuid4())] = rng.normal(0, 0.1, (FACES, 128))
    data.mkdir(parents=True, exist_ok=True)
    store = Store(data)
    with store.write() as tx:
        tx.insert_group(GroupRow(kind, GROUP, "Big", None, "recognition_01", CREATED))
        tx.insert_persons(PersonRow(p, kind, GROUP, "P", None) for p in embeddings)
        tx.insert_faces(
            FaceRow(str(uuid.uuid4()), person_id, kind, GROUP, None, 0, 0, 100, 100,
                    "detection_01", "0" * 64, vector.astype("<f4").tobytes())  # fmt: skip
            for person_id, vectors in embeddings.items()
            for vector in vectors
        )
    assert (STRANGERS + len(REAL)) * FACES > 2 * FETCH_ROWS
    return store


def who_is(api: Api, photos: Photos) -> dict[str, tuple[str, float]]:
    """The best candidate for each real person's query photo."""
    found = {}
    for person_id, (_, query) in REAL.items():
        [face] = detect(api, photos.bytes(query))
        [result] = identify(api, [face["faceId"]], largePersonGroupId=GROUP)
        [best] = result["candidates"]
        found[person_id] = (best["personId"], best["confidence"])
    return found


def assert_everyone_is_named(api: Api, photos: Photos) -> None:
    for person_id, (named, confidence) in who_is(api, photos).items():
        assert named == person_id and confidence > 0.9


def snapshot_files(data: Path) -> list[Path]:
    return sorted((data / "snapshots").glob("*.f32"))


def test_a_group_of_several_read_batches_identifies_each_person(
    make_emulator: Any, tmp_path: Path, photos: Photos
) -> None:
    data = tmp_path / "data"
    seed(data, photos).close()
    emu = make_emulator(data)
    api = api_for(emu.url, emu.key)

    assert train(api, LARGE_PERSON_GROUP, GROUP)["status"] == "succeeded"

    assert_everyone_is_named(api, photos)


def test_a_trained_group_identifies_after_a_restart_and_retraining_keeps_one_file(
    make_emulator: Any, tmp_path: Path, photos: Photos
) -> None:
    data = tmp_path / "data"
    seed(data, photos).close()
    first = make_emulator(data)
    api = api_for(first.url, first.key)
    assert train(api, LARGE_PERSON_GROUP, GROUP)["status"] == "succeeded"
    before = who_is(api, photos)
    assert {person: named for person, (named, _) in before.items()} == {p: p for p in REAL}
    first.stop()

    second = make_emulator(data)
    api = api_for(second.url, second.key)
    assert who_is(api, photos) == before
    [trained] = snapshot_files(data)
    assert train(api, LARGE_PERSON_GROUP, GROUP)["status"] == "succeeded"
    assert who_is(api, photos) == before
    [retrained] = snapshot_files(data)
    assert retrained != trained

    expect_empty(api.delete(LARGE_PERSON_GROUP.path(GROUP)))
    assert snapshot_files(data) == []


def test_a_store_of_the_previous_schema_keeps_its_training(
    make_emulator: Any, tmp_path: Path, photos: Photos
) -> None:
    """Schema 2 kept a training's embeddings in SQLite chunks: they are still read,
    and the next training moves to a file."""
    data = tmp_path / "data"
    store = seed(data, photos)
    kind = KIND
    with store.write() as tx:
        index = Index.gather(
            "recognition_01",
            tx.group_face_counts(kind, GROUP),
            tx.group_embedding_batches(kind, GROUP),
        )
        assert index is not None
        tx.save_snapshot(*index.to_snapshot(kind, GROUP))
        tx.save_training(
            TrainingRow(kind, GROUP, "succeeded", CREATED, CREATED, CREATED, index.training_id,
                        None)  # fmt: skip
        )
    store.close()
    with sqlite3.connect(data / "emulator.sqlite3") as db:
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    db.close()

    emu = make_emulator(data)
    api = api_for(emu.url, emu.key)

    status = expect_json(api.get(LARGE_PERSON_GROUP.path(GROUP, "training")))
    assert status["status"] == "succeeded"
    assert status["lastSuccessfulTrainingDateTime"].startswith("2024-01-01")
    assert snapshot_files(data) == []
    assert_everyone_is_named(api, photos)
    assert train(api, LARGE_PERSON_GROUP, GROUP)["status"] == "succeeded"
    assert len(snapshot_files(data)) == 1
    assert_everyone_is_named(api, photos)
