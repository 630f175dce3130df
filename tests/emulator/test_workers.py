"""`serve --workers`: faces analysed in worker processes answer exactly as in-process.

One emulator with two vision workers serves this module; the session's emulator
(no workers: analysis in the server process) is the reference its answers must
equal. The CLI tests start `facesync serve` itself and stop it as a user would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from facesync.cli import main
from facesync.emulator.server import start_emulator

from .conftest import FACES_DIR, KEY, config
from .support import (
    PERSON_GROUP,
    Api,
    Photos,
    add_face,
    api_for,
    create_group,
    create_person,
    detect,
    encode,
    expect_error,
    expect_json,
    identify,
    noise_image,
    train,
)

OBAMA_ENROL = "people/barack_obama/obama_2010-05-10_blue-room.jpg"
OBAMA_QUERY = "people/barack_obama/obama_2012-12-06_official-portrait.jpg"
BIDEN = "people/joe_biden/biden_2013-01-10_official-portrait.jpg"
TWO_FACES = "groups/group_obama-biden_2010-05-10_composite.jpg"
CREW = "groups/group_artemis2-crew_2023-03-29.jpg"
INTERNAL = (500, "InternalServerError", "An internal server error occurred.")


@pytest.fixture(scope="module")
def pooled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    emu = start_emulator(config(tmp_path_factory.mktemp("pooled-data"), workers=2))
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def pooled_api(pooled: Any) -> Api:
    return api_for(pooled.url, pooled.key)


def without_ids(faces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in face.items() if k != "faceId"} for face in faces]


def enrol(api: Api, photos: Photos) -> tuple[str, dict[str, str], list[dict[str, Any]]]:
    """A trained group of Obama and Biden (Biden's face picked from a group photo);
    returns the group, the personIds and every persisted face read back."""
    group = create_group(api, PERSON_GROUP, recognitionModel="recognition_04")
    obama = create_person(api, PERSON_GROUP, group, "Barack Obama")
    biden = create_person(api, PERSON_GROUP, group, "Joe Biden")
    add_face(api, PERSON_GROUP, group, obama, photos.bytes(OBAMA_ENROL), userData="blue room")
    add_face(api, PERSON_GROUP, group, biden, photos.bytes(BIDEN))
    [_, second] = detect(api, photos.bytes(TWO_FACES), returnFaceId="false")
    box = second["faceRectangle"]
    target = ",".join(str(box[k]) for k in ("left", "top", "width", "height"))
    add_face(api, PERSON_GROUP, group, biden, photos.bytes(TWO_FACES), targetFace=target)
    faces = []
    for person in (obama, biden):
        person_path = PERSON_GROUP.path(group, "persons", person)
        for face_id in expect_json(api.get(person_path))["persistedFaceIds"]:
            face = expect_json(api.get(f"{person_path}/persistedfaces/{face_id}"))
            assert face.pop("persistedFaceId") == face_id
            faces.append(face)
    assert train(api, PERSON_GROUP, group)["status"] == "succeeded"
    return group, {"obama": obama, "biden": biden}, faces


def test_two_workers_start_as_processes_of_their_own(
    pooled: Any, pooled_api: Api, photos: Photos
) -> None:
    assert len(detect(pooled_api, photos.small_face)) == 1
    deadline = time.monotonic() + 60  # both start in the background as the server starts
    while len(pooled.workers.pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = pooled.workers.pids()
    assert len(pids) == 2 and os.getpid() not in pids
    assert pooled.workers.started() == 2


def test_add_face_and_identify_with_two_workers_answer_as_in_process(
    api: Api, pooled_api: Api, photos: Photos
) -> None:
    answers = []
    for endpoint in (api, pooled_api):
        group, persons, faces = enrol(endpoint, photos)
        [query] = detect(endpoint, photos.bytes(OBAMA_QUERY), recognitionModel="recognition_04")
        [result] = identify(
            endpoint, [query["faceId"]], personGroupId=group, confidenceThreshold=0.0,
            maxNumOfCandidatesReturned=2,
        )  # fmt: skip
        by_name = {person_id: name for name, person_id in persons.items()}
        candidates = [(by_name[c["personId"]], c["confidence"]) for c in result["candidates"]]
        answers.append((faces, candidates))

    assert answers[0] == answers[1]
    assert answers[1][1][0][0] == "obama" and answers[1][1][0][1] > 0.9


@pytest.mark.parametrize("photo", [OBAMA_QUERY, TWO_FACES, CREW])
def test_detect_with_two_workers_finds_the_same_faces_and_landmarks(
    api: Api, pooled_api: Api, photos: Photos, photo: str
) -> None:
    params = {"returnFaceLandmarks": "true", "returnFaceAttributes": "qualityForRecognition",
              "recognitionModel": "recognition_04"}  # fmt: skip
    here = detect(api, photos.bytes(photo), **params)
    pooled = detect(pooled_api, photos.bytes(photo), **params)

    assert without_ids(pooled) == without_ids(here)
    assert len(pooled) >= 1


def refusals(photos: Photos) -> list[bytes]:
    photo = photos.bytes(OBAMA_QUERY)
    return [
        photo[: len(photo) // 3],  # a truncated JPEG: refused while decoding, in a worker
        b"this is not an image. " * 100,
        encode(noise_image(300, 300), "PNG"),  # no face
        photos.bytes(TWO_FACES),  # two faces and no targetFace
        photos.bytes("no_face/coffee-cup.jpg"),
    ]


def test_refused_images_get_the_same_errors_with_workers(
    api: Api, pooled_api: Api, photos: Photos
) -> None:
    answers = []
    for endpoint in (api, pooled_api):
        group = create_group(endpoint, PERSON_GROUP)
        faces = PERSON_GROUP.path(group, "persons", create_person(endpoint, PERSON_GROUP, group),
                                  "persistedfaces")  # fmt: skip
        answered = []
        for image in refusals(photos):
            for path in (faces, "/detect"):
                resp = endpoint.post_image(path, image)
                body = resp.json()
                answered.append((resp.status_code, without_ids(body) if resp.ok else body))
        answers.append(answered)

    assert answers[0] == answers[1]
    # add-face then Detect of each image: Detect finds no face (200, []) or both faces
    assert [status for status, _ in answers[1]] == [400, 400, 400, 400, 400, 200] + [400, 200] * 2


def test_a_worker_that_dies_mid_call_fails_that_call_with_a_500_and_is_replaced(
    pooled: Any, pooled_api: Api
) -> None:
    # A full-size group photo: seconds of detection, so the kill lands mid-call.
    image = (FACES_DIR / "groups/group_apollo11-crew_1969.jpg").read_bytes()
    started = pooled.workers.started()
    answer: list[requests.Response] = []
    call = threading.Thread(target=lambda: answer.append(pooled_api.post_image("/detect", image)))
    call.start()
    deadline = time.monotonic() + 30
    while not pooled.workers.busy_pids() and time.monotonic() < deadline:
        time.sleep(0.001)
    [busy] = pooled.workers.busy_pids()
    os.kill(busy, signal.SIGKILL)
    call.join(timeout=60)

    expect_error(answer[0], *INTERNAL)
    assert len(detect(pooled_api, image, returnFaceId="false")) >= 1
    assert pooled.workers.started() == started + 1
    assert busy not in pooled.workers.pids()


# ---- the CLI ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["-1", "33", "two", "1.5"])
def test_serve_refuses_a_bad_number_of_workers_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    data = tmp_path / "data"
    code = main(["serve", "--workers", value, "--port", "0", "--data", str(data)])

    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1 and err.startswith("Error: ") and "--workers" in err, err
    assert not data.exists()


def process_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"  # exited, waiting for init to reap it


def vision_workers_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_serve_with_workers_stops_cleanly_and_leaves_no_process(
    tmp_path: Path, photos: Photos, stop: str
) -> None:
    facesync = Path(sys.executable).with_name("facesync")
    server = subprocess.Popen(
        [str(facesync), "serve", "--workers", "1", "--port", "0", "--data", str(tmp_path),
         "--key", KEY],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert " on http://127.0.0.1:" in line, line
        url = line.split(" on ", 1)[1].split("/face/", 1)[0]
        assert len(detect(api_for(url, KEY), photos.small_face)) == 1
        [worker] = vision_workers_of(server.pid)
        if stop == "ctrl-c":  # a terminal sends SIGINT to the whole process group
            os.killpg(server.pid, signal.SIGINT)
        else:
            server.terminate()
        _, err = server.communicate(timeout=30)
        deadline = time.monotonic() + 10
        while not process_gone(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        worker_gone = process_gone(worker)
    finally:  # never leave a process behind, whatever failed
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)

    assert server.returncode == 0, err
    assert "Traceback" not in err, err
    assert worker_gone, f"vision worker {worker} outlived the server"
