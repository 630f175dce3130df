"""Data survives a clean restart and a kill -9 mid-writes."""

from __future__ import annotations

import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

from .conftest import KEY
from .support import (
    LARGE_PERSON_GROUP,
    PERSON_GROUP,
    Api,
    Photos,
    add_face,
    api_for,
    create_group,
    create_person,
    detect,
    expect_json,
    identify,
    train,
)

OBAMA_ENROL = "people/barack_obama/obama_2010-05-10_blue-room.jpg"
OBAMA_QUERY = "people/barack_obama/obama_2012-12-06_official-portrait.jpg"
BIDEN_ENROL = "people/joe_biden/biden_2013-01-10_official-portrait.jpg"


def snapshot(api: Api, group: str, large: str) -> dict[str, Any]:
    """Everything a client can read back about the two groups."""
    kind = PERSON_GROUP
    persons = expect_json(api.get(kind.path(group, "persons")))
    faces = {
        face_id: expect_json(
            api.get(kind.path(group, "persons", p["personId"], "persistedfaces", face_id))
        )
        for p in persons
        for face_id in p["persistedFaceIds"]
    }
    return {
        "group": expect_json(api.get(kind.path(group), params={"returnRecognitionModel": "true"})),
        "persons": persons,
        "faces": faces,
        "training": expect_json(api.get(kind.path(group, "training"))),
        "large": expect_json(api.get(LARGE_PERSON_GROUP.path(large))),
        "large_persons": expect_json(api.get(LARGE_PERSON_GROUP.path(large, "persons"))),
    }


def test_everything_survives_a_clean_restart(
    make_emulator: Any, tmp_path: Path, photos: Photos
) -> None:
    data = tmp_path / "data"
    first = make_emulator(data)
    api = api_for(first.url, first.key)
    kind = PERSON_GROUP
    group = create_group(api, kind, name="Staff", userData="hq", recognitionModel="recognition_04")
    obama = create_person(api, kind, group, "Barack Obama", userData="44")
    add_face(api, kind, group, obama, photos.bytes(OBAMA_ENROL), userData="blue room")
    biden = create_person(api, kind, group, "Joe Biden")
    add_face(api, kind, group, biden, photos.bytes(BIDEN_ENROL))
    assert train(api, kind, group)["status"] == "succeeded"
    large = create_group(api, LARGE_PERSON_GROUP, name="Everyone")
    create_person(api, LARGE_PERSON_GROUP, large, "Someone")
    before = snapshot(api, group, large)
    first.stop()

    second = make_emulator(data)
    api = api_for(second.url, second.key)
    assert snapshot(api, group, large) == before
    [face] = detect(api, photos.bytes(OBAMA_QUERY), recognitionModel="recognition_04")
    [result] = identify(api, [face["faceId"]], personGroupId=group, confidenceThreshold=0.5)
    assert result["candidates"][0]["personId"] == obama


SERVE = """
import sys, time
from pathlib import Path
from facesync.emulator.server import EmulatorConfig, start_emulator
emu = start_emulator(EmulatorConfig(data_dir=Path(sys.argv[1]), key=sys.argv[2], port=0,
    tier="unlimited", latency_ms=0, fault_rate=0.0, fault_seed=None))
print(emu.url, flush=True)
time.sleep(3600)
"""


def serve_in_subprocess(data: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(data), KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout=60)
    assert ready, "the emulator subprocess printed no URL within 60 s"
    return proc, proc.stdout.readline().strip()


class Writers:
    """Threads that create persons and add a face to each until the server dies."""

    def __init__(self, api: Api, group: str, image: bytes) -> None:
        self.api, self.group, self.image = api, group, image
        self.acknowledged: dict[str, list[str]] = {}  # personId -> faceIds answered 200
        self.unexpected: list[str] = []  # answers other than 200 before the kill
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(4)]

    def run(self) -> None:
        api = api_for(self.api.base.removesuffix("/face/v1.0"), self.api.key)
        for _ in range(10_000):
            try:
                person = create_person(api, PERSON_GROUP, self.group)
                with self.lock:
                    self.acknowledged[person] = []
                face = add_face(api, PERSON_GROUP, self.group, person, self.image)
                with self.lock:
                    self.acknowledged[person].append(face)
            except requests.RequestException:
                return  # the server is gone
            except AssertionError as error:
                with self.lock:
                    self.unexpected.append(str(error)[:200])
                return

    def count(self) -> int:
        with self.lock:
            return len(self.acknowledged)


def sqlite_files(folder: Path) -> list[Path]:
    return [
        path
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.read_bytes()[:16] == b"SQLite format 3\x00"
    ]


def test_a_kill_9_mid_writes_loses_no_acknowledged_write_and_corrupts_nothing(
    make_emulator: Any, tmp_path: Path, photos: Photos
) -> None:
    data = tmp_path / "data"
    proc, url = serve_in_subprocess(data)
    try:
        api = api_for(url, KEY)
        group = create_group(api, PERSON_GROUP)
        writers = Writers(api, group, photos.small_face)
        for thread in writers.threads:
            thread.start()
        deadline = time.monotonic() + 30
        while writers.count() < 24 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writers.count() >= 24, "the writers made too little progress"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    for thread in writers.threads:
        thread.join(timeout=30)
    acknowledged = dict(writers.acknowledged)
    assert writers.unexpected == []

    assert sqlite_files(data), "no SQLite database in the data folder"
    for db in sqlite_files(data):
        assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    emu = make_emulator(data)
    api = api_for(emu.url, emu.key)
    persons = {p["personId"]: p for p in expect_json(api.get(PERSON_GROUP.path(group, "persons")))}
    assert set(acknowledged) <= set(persons)
    assert len(persons) <= len(acknowledged) + len(writers.threads)
    for person, faces in acknowledged.items():
        assert set(faces) <= set(persons[person]["persistedFaceIds"])
    for person in persons.values():
        assert len(person["persistedFaceIds"]) <= 1
        for face in person["persistedFaceIds"]:
            path = PERSON_GROUP.path(group, "persons", person["personId"], "persistedfaces", face)
            assert expect_json(api.get(path))["persistedFaceId"] == face
    # and the store still takes writes
    add_face(api, PERSON_GROUP, group, create_person(api, PERSON_GROUP, group), photos.small_face)
    for person in persons.values():
        if not person["persistedFaceIds"]:
            api.delete(PERSON_GROUP.path(group, "persons", person["personId"]))
    assert train(api, PERSON_GROUP, group)["status"] == "succeeded"
