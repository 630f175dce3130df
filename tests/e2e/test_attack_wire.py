"""The HTTP wire under attack (issue 9), against the real emulator on 127.0.0.1:
--debug shows every call and nothing secret; an id can never climb out of its
path segment, whatever the lock or a server hands the client."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from facesync.backends.http import HttpBackend
from facesync.emulator.server import RunningEmulator
from facesync.errors import ApiError

from .conftest import Project, Server, people

CALL_LINE = re.compile(
    r"debug: (GET|PUT|POST|PATCH|DELETE) (/face/v1\.0/\S+) -> HTTP (\d{3}) in (\d+) ms"
    r"( \(retry \d+\))?"
)
PERSON_NOTE = "person-note-" + uuid.uuid4().hex
FACE_NOTE = "face-note-" + uuid.uuid4().hex


def _calls(err: str) -> list[re.Match[str]]:
    lines = [line for line in err.splitlines() if line.startswith("debug: ") and " -> " in line]
    matches = [CALL_LINE.fullmatch(line) for line in lines]
    assert all(matches), [line for line, m in zip(lines, matches, strict=True) if not m]
    return [m for m in matches if m]


def test_debug_prints_one_line_per_http_call_and_never_a_key_header_or_body(
    project: Project, small_faces: Path, gid: str
) -> None:
    photo = project.add_photo("harris", people(small_faces, "kamala_harris")[0])
    face = {"path": photo, "userData": FACE_NOTE}
    person = {"userData": PERSON_NOTE, "faces": [face]}
    project.write_manifest({gid: {"name": "Wire", "persons": {"harris": person}}})

    applied = project.cli("--debug", "apply", "--yes")
    planned = project.cli("plan", "--debug", "--detailed-exitcode")

    assert applied.code == 0, applied.err
    assert planned.code == 0, planned.out + planned.err
    applied_calls, planned_calls = _calls(applied.err), _calls(planned.err)
    methods = {m.group(1) for m in applied_calls}
    assert {"GET", "PUT", "POST"} <= methods, applied.err
    adds = [m for m in applied_calls if "/persistedfaces?userData=...&" in m.group(2)]
    assert len(adds) == 1 and adds[0].group(3) == "200", applied.err
    assert planned_calls and {m.group(1) for m in planned_calls} == {"GET"}
    everything = applied.out + applied.err + planned.out + planned.err
    for secret in (project.env["FACESYNC_KEY"], "Ocp-Apim", PERSON_NOTE, FACE_NOTE):
        assert secret not in everything
    # without --debug, no HTTP line at all
    quiet = project.cli("plan")
    assert quiet.code == 0 and "debug:" not in quiet.err


def test_debug_names_every_retry_of_a_refused_connection(project: Project) -> None:
    project.write_manifest({})
    result = project.cli("--debug", "plan", env={"FACESYNC_ENDPOINT": "http://127.0.0.1:9"})
    assert result.code == 1
    tried = [line for line in result.err.splitlines() if "-> connection refused in" in line]
    assert len(tried) == 3 and tried[-1].endswith("(retry 2)"), result.err
    assert project.env["FACESYNC_KEY"] not in result.err


@pytest.fixture
def client(emulator: RunningEmulator) -> Iterator[HttpBackend]:
    backend = HttpBackend(emulator.url, emulator.key, sleep=lambda s: None)
    yield backend
    backend.close()


def _group_with_a_person(server: Server, gid: str) -> str:
    assert server.call("PUT", f"/persongroups/{gid}", json={"name": gid}).status_code == 200
    made = server.call("POST", f"/persongroups/{gid}/persons", json={"name": "p"})
    return made.json()["personId"]


def test_a_hostile_id_cannot_reach_another_group_through_the_client(
    emulator: RunningEmulator, client: HttpBackend, gid: str
) -> None:
    server = Server(emulator)
    victim = gid + "-victim"
    person_id = _group_with_a_person(server, gid)
    _group_with_a_person(server, victim)
    climbs = [
        lambda: client.delete_person("personGroup", gid, f"../../persongroups/{victim}"),
        lambda: client.delete_person("personGroup", gid, f"../../{victim}"),
        lambda: client.delete_face("personGroup", gid, person_id, f"../../../../{victim}"),
        lambda: client.delete_person("personGroup", gid, ".."),
        lambda: client.delete_face("personGroup", gid, person_id, ".."),
        lambda: client.update_person("personGroup", gid, f"x/../../../{victim}", "evil", None),
    ]
    for climb in climbs:
        with pytest.raises(ApiError) as caught:
            climb()
        assert caught.value.status in (0, 400, 404), caught.value
    assert server.group(victim).status_code == 200
    assert server.group(victim).json()["name"] == victim
    assert [p["personId"] for p in server.persons(gid)] == [person_id]
    assert len(server.persons(victim)) == 1


def test_an_id_with_a_slash_or_query_reaches_the_emulator_as_one_segment(
    emulator: RunningEmulator, client: HttpBackend, gid: str
) -> None:
    _group_with_a_person(Server(emulator), gid)
    for hostile in ("a/b", "x?top=1", "y#z", "%2e%2e"):
        with pytest.raises(ApiError) as caught:
            client.get_person("personGroup", gid, hostile)
        # the emulator read one (unknown) personId, not a path of no route ("404")
        assert caught.value.status in (400, 404) and caught.value.code != "404", caught.value
