"""Nothing lost, nothing duplicated: through the real CLI against the emulator,
objects an interrupted apply left are adopted or cleaned up, strangers are
never touched, and lost answers are reconciled in one apply (docs/recovery.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from facesync.emulator.server import EmulatorConfig, RunningEmulator, start_emulator
from facesync.markers import FACE_PREFIX, PERSON_PREFIX
from tests.lock_reading import file_key

from .conftest import KEY, Project, Server, _base_env, people


@pytest.fixture
def leaders(project: Project, small_faces: Path, gid: str) -> Project:
    """Obama (2 photos) and Biden (1 photo) in one group; nothing applied yet."""
    return _leaders(project, small_faces, gid)


def _leaders(project: Project, small_faces: Path, gid: str) -> Project:
    obama = [project.add_photo("obama", p) for p in people(small_faces, "barack_obama")[:2]]
    biden = [project.add_photo("biden", p) for p in people(small_faces, "joe_biden")[:1]]
    project.persons = {  # type: ignore[attr-defined]
        "obama": {"name": "Barack Obama", "faces": obama},
        "biden": {"name": "Joe Biden", "faces": biden},
    }
    project.write_manifest({gid: {"name": "Leaders", "persons": project.persons}})  # type: ignore[attr-defined]
    project.gid = gid  # type: ignore[attr-defined]
    project.photos = {"obama": obama, "biden": biden}  # type: ignore[attr-defined]
    return project


def only_biden_applied(project: Project) -> None:
    """Apply the manifest without obama, then put obama back: the group is managed."""
    gid, persons = project.gid, project.persons  # type: ignore[attr-defined]
    project.write_manifest({gid: {"name": "Leaders", "persons": {"biden": persons["biden"]}}})
    result = project.cli("apply", "--yes")
    assert result.code == 0, result.out + result.err
    project.write_manifest({gid: {"name": "Leaders", "persons": persons}})


def create_person(server: Server, gid: str, name: str, user_data: str | None) -> str:
    body = {"name": name} if user_data is None else {"name": name, "userData": user_data}
    response = server.call("POST", f"/persongroups/{gid}/persons", json=body)
    response.raise_for_status()
    return response.json()["personId"]


def add_face(server: Server, gid: str, person_id: str, photo: Path, user_data: str) -> str:
    response = requests.post(
        f"{server.base}/persongroups/{gid}/persons/{person_id}/persistedfaces",
        params={"userData": user_data}, data=photo.read_bytes(), timeout=30,
        headers={**server.headers, "Content-Type": "application/octet-stream"},
    )
    response.raise_for_status()
    return response.json()["persistedFaceId"]


def face_user_data(server: Server, gid: str, person_id: str, face_id: str) -> str | None:
    path = f"/persongroups/{gid}/persons/{person_id}/persistedfaces/{face_id}"
    response = server.call("GET", path)
    response.raise_for_status()
    return response.json().get("userData")


def sha(path: Path) -> str:
    return file_key(path)


def assert_server_is_the_manifest_and_the_lock(project: Project) -> None:
    """Each person key once, each image once per person, lock ids == server ids."""
    gid = project.gid  # type: ignore[attr-defined]
    photos: dict[str, list[str]] = project.photos  # type: ignore[attr-defined]
    server = {p["personId"]: p for p in project.server.persons(gid)}
    keys = Counter(p.get("userData") for p in server.values())
    assert keys == Counter({PERSON_PREFIX + "obama": 1, PERSON_PREFIX + "biden": 1}), keys
    locked = project.lock_json()["groups"][gid]["persons"]
    assert {p["personId"] for p in locked.values()} == set(server)
    for key, person in locked.items():
        faces = server[person["personId"]]["persistedFaceIds"]
        assert {f["persistedFaceId"] for f in person["faces"]} == set(faces)
        shas = Counter(face_user_data(project.server, gid, person["personId"], f) for f in faces)
        want = Counter(FACE_PREFIX + sha(project.root / p) for p in photos[key])
        assert shas == want, key


def test_a_person_created_just_before_a_crash_is_adopted_not_duplicated(leaders: Project) -> None:
    gid = leaders.gid  # type: ignore[attr-defined]
    only_biden_applied(leaders)
    # What a SIGKILL right after the server answered would leave: obama and one of
    # his faces exist, marked as facesync's, and the lock never heard of them.
    first = leaders.root / leaders.photos["obama"][0]  # type: ignore[attr-defined]
    pid = create_person(leaders.server, gid, "Barack Obama", PERSON_PREFIX + "obama")
    face_id = add_face(leaders.server, gid, pid, first, FACE_PREFIX + sha(first))
    result = leaders.cli("apply", "--yes")
    assert result.code == 0, result.out + result.err
    assert f"= {gid}/obama  (adopt personId {pid} left by an interrupted apply)" in result.out
    assert "Plan: 2 to adopt, 1 to add, 0 to change, 0 to destroy, 1 to train." in result.out
    assert "Adopted 2 objects left by an interrupted apply (" in result.out
    obama = leaders.lock_json()["groups"][gid]["persons"]["obama"]
    assert obama["personId"] == pid
    assert face_id in {f["persistedFaceId"] for f in obama["faces"]}
    assert_server_is_the_manifest_and_the_lock(leaders)
    again = leaders.cli("plan", "--detailed-exitcode")
    assert again.code == 0, again.out


def test_a_stranger_with_the_same_name_is_never_adopted_or_deleted(leaders: Project) -> None:
    gid = leaders.gid  # type: ignore[attr-defined]
    only_biden_applied(leaders)
    stranger = create_person(leaders.server, gid, "Barack Obama", None)
    result = leaders.cli("apply", "--yes")
    assert result.code == 0, result.out + result.err
    assert f"  {gid}/{stranger}  person \"Barack Obama\"" in result.out  # listed as unmanaged
    server = {p["personId"]: p for p in leaders.server.persons(gid)}
    assert stranger in server and server[stranger].get("userData") is None
    obama = leaders.lock_json()["groups"][gid]["persons"]["obama"]
    assert obama["personId"] != stranger
    assert leaders.cli("apply", "--yes").code == 0
    assert stranger in {p["personId"] for p in leaders.server.persons(gid)}


def test_an_extra_copy_of_ours_is_deleted(leaders: Project) -> None:
    gid = leaders.gid  # type: ignore[attr-defined]
    assert leaders.cli("apply", "--yes").code == 0
    extra = create_person(leaders.server, gid, "Joe Biden", PERSON_PREFIX + "biden")
    result = leaders.cli("apply", "--yes")
    assert result.code == 0, result.out + result.err
    assert f"- {gid}/biden  (duplicate personId {extra} left by an interrupted apply)" in result.out
    assert extra not in {p["personId"] for p in leaders.server.persons(gid)}
    assert_server_is_the_manifest_and_the_lock(leaders)


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[RunningEmulator]:
    emu = start_emulator(EmulatorConfig(data_dir=tmp_path / "faulty-emulator", key=KEY, port=0,
                                        fault_rate=0.3, fault_seed=7))
    yield emu
    emu.stop()


def test_one_apply_converges_through_lost_and_refused_answers(
    tmp_path: Path, small_faces: Path, faulty: RunningEmulator, gid: str
) -> None:
    root = tmp_path / "faulty-project"
    root.mkdir()
    env = {"FACESYNC_ENDPOINT": faulty.url, "FACESYNC_KEY": faulty.key}
    project = Project(root, {**_base_env(), **env}, Server(faulty))
    _leaders(project, small_faces, gid)
    result = project.cli("apply", "--yes", "--parallelism", "1")
    assert result.code == 0, result.out + result.err
    assert faulty.faults.counts().injected > 0
    assert "Recovered from " in result.out
    assert_server_is_the_manifest_and_the_lock(project)
    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err


