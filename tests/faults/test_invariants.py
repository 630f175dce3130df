"""The campaign's checker sees every kind of damage it is meant to count, and a
clean recovery passes it (otherwise a green campaign would prove nothing)."""

from __future__ import annotations

import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from facesync.emulator.server import EmulatorConfig, start_emulator
from facesync.markers import face_user_data, person_user_data
from tests.faults.gallery import Pool, random_gallery, write_project
from tests.faults.invariants import (
    ExpectedFace,
    ExpectedGroup,
    ExpectedPerson,
    ServerFace,
    ServerGroup,
    ServerPerson,
    Verdict,
    check,
    verify,
)
from tests.faults.runs import cli_env
from tests.faults.trials import KEY

A, B, C = "a" * 64, "b" * 64, "c" * 64
EXPECTED = ExpectedGroup(
    "g",
    "Group",
    (
        ExpectedPerson("alice", "Alice", None, (ExpectedFace(A), ExpectedFace(B))),
        ExpectedPerson("bob", "Bob", "own note", (ExpectedFace(C, "own face note"),)),
    ),
)


def face(face_id: str, sha: str, user_data: str | None = None) -> ServerFace:
    return ServerFace(face_id, face_user_data(sha, user_data))


ALICE = ServerPerson("p-alice", "Alice", person_user_data("alice", None),
                     (face("f-a", A), face("f-b", B)))  # fmt: skip
BOB = ServerPerson("p-bob", "Bob", "own note", (face("f-c", C, "own face note"),))
SERVER = ServerGroup("Group", (ALICE, BOB))
LOCK: dict[str, Any] = {
    "groups": {
        "g": {
            "persons": {
                "alice": {
                    "personId": "p-alice",
                    "faces": [
                        {"sha256": A, "persistedFaceId": "f-a"},
                        {"sha256": B, "persistedFaceId": "f-b"},
                    ],
                },
                "bob": {"personId": "p-bob", "faces": [{"sha256": C, "persistedFaceId": "f-c"}]},
            }
        }
    }
}


def without_lock_person(key: str) -> dict[str, Any]:
    persons = {k: v for k, v in LOCK["groups"]["g"]["persons"].items() if k != key}
    return {"groups": {"g": {"persons": persons}}}


def counts(verdict: Verdict) -> tuple[int, int, int]:
    return verdict.duplicates, verdict.orphans, verdict.lost_ids


def test_a_server_and_lock_that_match_the_manifest_pass() -> None:
    assert check(EXPECTED, LOCK, SERVER) == Verdict()


def test_a_second_marked_person_is_a_duplicate_and_an_orphan() -> None:
    copy = replace(ALICE, person_id="p-alice-2", faces=(face("f-a2", A),))
    verdict = check(EXPECTED, LOCK, ServerGroup("Group", (ALICE, BOB, copy)))
    assert counts(verdict) == (1, 2, 0)  # the person and its marked face are orphans
    assert "g/alice: 2 persons on the server" in verdict.problems


def test_a_copy_of_a_person_with_the_manifests_own_user_data_is_a_duplicate() -> None:
    copy = replace(BOB, person_id="p-bob-2", faces=())
    verdict = check(EXPECTED, LOCK, ServerGroup("Group", (ALICE, BOB, copy)))
    assert counts(verdict) == (1, 1, 0)


def test_a_second_face_of_one_photo_is_a_duplicate() -> None:
    doubled = replace(ALICE, faces=(*ALICE.faces, face("f-a2", A)))
    verdict = check(EXPECTED, LOCK, ServerGroup("Group", (doubled, BOB)))
    assert counts(verdict) == (1, 1, 0)
    assert any("2 faces of aaaaaaaaaaaa" in p for p in verdict.problems)


def test_a_person_the_lock_forgot_is_a_lost_id_with_its_faces() -> None:
    verdict = check(EXPECTED, without_lock_person("alice"), SERVER)
    assert counts(verdict) == (0, 0, 3)


def test_an_id_in_the_lock_that_the_server_lacks_is_a_problem() -> None:
    verdict = check(
        EXPECTED, LOCK, ServerGroup("Group", (replace(ALICE, faces=ALICE.faces[:1]), BOB))
    )
    assert not verdict.ok
    assert any("f-b, absent on the server" in p for p in verdict.problems)


def test_an_unmarked_stranger_is_a_problem_but_not_an_orphan() -> None:
    stranger = ServerPerson("p-x", "Someone", "theirs")
    verdict = check(EXPECTED, LOCK, ServerGroup("Group", (ALICE, BOB, stranger)))
    assert counts(verdict) == (0, 0, 0)
    assert verdict.problems == ("g: unknown person p-x ('theirs')",)


@pytest.mark.parametrize(
    "server",
    [
        ServerGroup("Group", (replace(ALICE, name="Alicia"), BOB)),
        ServerGroup("Group", (ALICE, replace(BOB, user_data="changed"))),
        ServerGroup("Group", (replace(ALICE, faces=(face("f-a", A), face("f-b", B, "x"))), BOB)),
        ServerGroup("Renamed", (ALICE, BOB)),
        ServerGroup("Group", (ALICE,)),
        None,
    ],
    ids=["person-name", "person-user-data", "face-user-data", "group-name", "missing", "no-group"],
)
def test_every_difference_from_the_manifest_is_a_problem(server: ServerGroup | None) -> None:
    assert not check(EXPECTED, LOCK, server).ok


def test_the_checker_reads_a_real_server_and_sees_a_copy_made_behind_facesyncs_back(
    pool: Pool, tmp_path: Path
) -> None:
    gallery = random_gallery(random.Random(5), pool, "checked", user_data_odds=0.0)
    emulator = start_emulator(EmulatorConfig(data_dir=tmp_path / "emulator", key=KEY, port=0))
    try:
        root = tmp_path / "project"
        write_project(root, gallery)
        applied = subprocess.run(
            [sys.executable, "-m", "facesync", "apply", "--yes"], cwd=root,
            env=cli_env(emulator), capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert applied.returncode == 0, applied.stdout + applied.stderr
        lock = root / "facesync.lock.json"
        assert verify(emulator.url, emulator.key, gallery.expected(), lock) == Verdict()
        key = gallery.persons[0].key
        requests.post(
            f"{emulator.url}/face/v1.0/persongroups/checked/persons",
            json={"name": "copy", "userData": person_user_data(key, None)},
            headers={"Ocp-Apim-Subscription-Key": emulator.key}, timeout=30,
        ).raise_for_status()  # fmt: skip
        verdict = verify(emulator.url, emulator.key, gallery.expected(), lock)
        assert counts(verdict) == (1, 1, 0)
    finally:
        emulator.stop()
