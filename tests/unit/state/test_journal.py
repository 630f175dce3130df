"""The intent journal: durable before each create, read back as pending intents,
tolerant of damage, and never holding names, userData or the key."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from facesync.digest import image_key, text_digest
from facesync.markers import FACE_PREFIX, PERSON_PREFIX
from facesync.state.journal import (
    ADD_FACE,
    CREATE_GROUP,
    CREATE_PERSON,
    RETIRE_FACE,
    Intent,
    Journal,
    claimed_face_sha,
    claimed_person_key,
    intends_group,
    journal_path,
    judge,
    retired_face,
    user_data_digest,
)
from facesync.state.model import (
    LockedFace,
    LockedGroup,
    LockedPerson,
    LockState,
    ObservedGroup,
    ObservedPerson,
    ObservedState,
)

PG = "personGroup"
SHA_A = image_key("a" * 64)
SHA_C = image_key("c" * 64)


def alice(preexisting: frozenset[str] = frozenset()) -> Intent:
    return Intent(CREATE_PERSON, "staff", PG, person="alice", name_digest=text_digest("Alice"),
                  user_data_digest=user_data_digest("employee 7"), preexisting=preexisting)


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal.for_lock(tmp_path / "facesync.lock.json")


def test_the_journal_lives_in_the_local_folder_beside_the_lock(tmp_path: Path) -> None:
    path = journal_path(tmp_path / "team.lock.json")
    assert path == tmp_path / ".facesync" / "journal-team.lock.json.jsonl"
    assert (tmp_path / ".facesync" / ".gitignore").exists()


def test_an_intent_is_fsynced_before_intend_returns(journal: Journal, monkeypatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    journal.intend(alice())
    assert len(synced) == 1
    assert journal.path.read_text().count("\n") == 1
    journal.close()


def test_pending_intents_read_back_equal_and_in_order(journal: Journal) -> None:
    first, second = alice(), Intent(CREATE_GROUP, "staff", PG)
    journal.intend(first)
    journal.intend(second)
    journal.close()
    assert Journal(journal.path).pending() == (first, second)


def test_a_resolved_intent_is_no_longer_pending(journal: Journal) -> None:
    done, lost = alice(), Intent(ADD_FACE, "staff", PG, person="alice", person_id="p-1",
                                 sha256=SHA_A, user_data_digest=user_data_digest(None))
    journal.intend(done)
    journal.intend(lost)
    journal.resolve(done)
    assert journal.pending() == (lost,)


def test_an_intent_an_older_facesync_wrote_names_its_image_in_todays_key(
    journal: Journal,
) -> None:
    old = Intent(ADD_FACE, "staff", PG, person="alice", person_id="p-1", sha256="a" * 64,
                 user_data_digest="sha256:" + "b" * 64)
    journal.intend(old)
    journal.close()
    (pending,) = Journal(journal.path).pending()
    assert pending.sha256 == SHA_A and pending.user_data_digest == image_key("b" * 64)


def test_a_corrupt_line_is_ignored_with_a_warning_and_blocks_nothing(journal: Journal) -> None:
    kept = alice()
    journal.intend(kept)
    journal.close()
    with journal.path.open("a") as f:
        f.write("{not json\n")
        f.write(json.dumps({"op": "create_person", "group": 7}) + "\n")
        f.write('{"op": "create_gro')  # torn by a crash mid-write: its call never went out
    warnings: list[str] = []
    assert Journal(journal.path, warn=warnings.append).pending() == (kept,)
    assert len(warnings) == 3
    assert all(w.startswith("warning: ") and "ignored" in w for w in warnings)
    assert ":2:" in warnings[0]


def test_no_journal_means_nothing_pending(journal: Journal) -> None:
    assert journal.pending() == ()


def test_clearing_empties_the_journal(journal: Journal) -> None:
    journal.intend(alice())
    journal.clear()
    assert journal.pending() == ()
    assert not journal.path.exists()
    journal.intend(alice())  # still usable afterwards
    assert len(journal.pending()) == 1


def test_the_journal_holds_digests_and_ids_never_names_or_user_data(journal: Journal) -> None:
    journal.intend(Intent(CREATE_PERSON, "staff", PG, person="alice",
                          name_digest=text_digest("Alice Secretname"),
                          user_data_digest=user_data_digest("home address 12")))
    text = journal.path.read_text()
    assert "Secretname" not in text and "home address" not in text
    assert text_digest("Alice Secretname") in text


# --- what an intent or a marker proves ----------------------------------------------------


@pytest.mark.parametrize(
    ("person", "intents", "key"),
    [
        (ObservedPerson("p-1", "Whoever", PERSON_PREFIX + "bob"), [], "bob"),
        (ObservedPerson("p-1", "Alice", "employee 7"), [alice()], "alice"),
        (ObservedPerson("p-1", "Alice", "employee 7"), [alice(frozenset({"p-1"}))], None),
        (ObservedPerson("p-1", "Alice", "employee 8"), [alice()], None),
        (ObservedPerson("p-1", "Alicia", "employee 7"), [alice()], None),
        (ObservedPerson("p-1", "Alice", None), [], None),
    ],
    ids=["marker", "intent", "preexisting", "other-userdata", "other-name", "stranger"],
)
def test_which_persons_are_provably_ours(person, intents, key) -> None:
    assert claimed_person_key(PG, "staff", person, intents) == key


def test_intents_for_two_keys_that_both_match_prove_nothing() -> None:
    twin = Intent(CREATE_PERSON, "staff", PG, person="alice2", name_digest=text_digest("Alice"),
                  user_data_digest=user_data_digest("employee 7"))
    person = ObservedPerson("p-1", "Alice", "employee 7")
    assert claimed_person_key(PG, "staff", person, [alice(), twin]) is None


def test_an_intent_of_another_kind_of_group_proves_nothing() -> None:
    person = ObservedPerson("p-1", "Alice", "employee 7")
    assert claimed_person_key("largePersonGroup", "staff", person, [alice()]) is None


@pytest.mark.parametrize(
    ("face_id", "user_data", "sha"),
    [
        ("f-1", FACE_PREFIX + SHA_C, SHA_C),
        ("f-1", FACE_PREFIX + "c" * 64, SHA_C),  # the marker of lock format 1's days
        ("f-1", "smiling", SHA_A),
        ("f-old", "smiling", None),
        ("f-1", "frowning", None),
        ("f-1", None, None),
    ],
    ids=["marker", "old-marker", "intent", "preexisting", "other-userdata", "stranger"],
)
def test_which_faces_are_provably_ours(face_id, user_data, sha) -> None:
    intent = Intent(ADD_FACE, "staff", PG, person="alice", person_id="p-1", sha256=SHA_A,
                    user_data_digest=user_data_digest("smiling"), preexisting=frozenset({"f-old"}))
    assert claimed_face_sha(PG, "staff", "p-1", face_id, user_data, [intent]) == sha


def test_a_face_intent_is_bound_to_its_person() -> None:
    intent = Intent(ADD_FACE, "staff", PG, person="alice", person_id="p-1", sha256=SHA_A,
                    user_data_digest=user_data_digest("smiling"))
    assert claimed_face_sha(PG, "staff", "p-2", "f-1", "smiling", [intent]) is None


def test_a_group_is_intended_only_for_its_exact_id_and_kind() -> None:
    intents = [Intent(CREATE_GROUP, "staff", PG)]
    assert intends_group(PG, "staff", intents)
    assert not intends_group("largePersonGroup", "staff", intents)
    assert not intends_group(PG, "staff2", intents)


def test_unset_and_empty_user_data_have_the_same_digest() -> None:
    assert user_data_digest(None) == user_data_digest("") == text_digest("")


# --- a replacement's retire intent --------------------------------------------------------


OLD, NEW = "f-old", "f-new"


def _retire() -> Intent:
    return Intent(RETIRE_FACE, "staff", PG, person="alice", person_id="p-1", sha256=SHA_A,
                  face_id=OLD)


def _states(on_server: tuple[str, ...], recorded: str) -> tuple[ObservedState, LockState]:
    observed = ObservedState(groups=(ObservedGroup(
        "staff", PG, "Staff", None, "recognition_04",
        persons=(ObservedPerson("p-1", "Alice", None, on_server),)),))
    face = LockedFace(SHA_A, "a.jpg", recorded)
    lock = LockState("embedded", groups=(LockedGroup(
        "staff", PG, "recognition_04", "", persons=(LockedPerson(
            "alice", "p-1", "", faces=(face,)),)),))
    return observed, lock


def test_a_retire_intent_round_trips_and_names_its_face(journal: Journal) -> None:
    journal.intend(_retire())
    (back,) = journal.pending()
    assert back.face_id == OLD and back.op == RETIRE_FACE
    assert retired_face(PG, "staff", "p-1", OLD, [back]) == back
    assert retired_face(PG, "staff", "p-1", NEW, [back]) is None
    assert retired_face(PG, "staff", "p-2", OLD, [back]) is None


@pytest.mark.parametrize(("on_server", "recorded", "pending"), [
    ((OLD, NEW), NEW, True),  # the new face recorded, the old one still there: delete it
    ((NEW,), NEW, False),  # the old face is gone: resolved
    ((OLD,), OLD, False),  # the add never happened: the old face is still the recorded one
])
def test_a_retire_intent_stays_pending_only_while_its_face_is_unrecorded(
    on_server, recorded, pending
) -> None:
    observed, lock = _states(on_server, recorded)
    retire = _retire()
    judged = judge([retire], observed, lock)
    assert judged[retire.id] == (frozenset({OLD}) if pending else frozenset())
