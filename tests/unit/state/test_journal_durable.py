"""The journal and the results log on a disk that fails (issue 9, item 6), and the
journal's narrowing of intents a refresh judged (item 1): a write counts only when
every byte is on disk, a failed one leaves no cut line and names the file and the
fix, both files are private, and a judged intent explains only what was seen."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from facesync.errors import FacesyncError
from facesync.state import journal as journal_module
from facesync.state.journal import (
    ADD_FACE,
    CREATE_GROUP,
    Intent,
    Journal,
    judge,
    user_data_digest,
)
from facesync.state.model import (
    LockedGroup,
    LockedPerson,
    LockState,
    ObservedGroup,
    ObservedPerson,
    ObservedState,
)
from facesync.state.results_log import ResultsLog, pending_results

PG = "personGroup"


@pytest.fixture(autouse=True)
def _fresh_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACESYNC_TEST_APPEND_FAULT", raising=False)
    monkeypatch.setattr(journal_module, "_appends", {})


def _intent(**fields) -> Intent:
    return Intent(ADD_FACE, "staff", PG, person="alice", person_id="p-1", sha256="s1",
                  user_data_digest="u", **fields)


def test_short_writes_are_written_in_full(tmp_path: Path, monkeypatch) -> None:
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data)[:7]))
    journal = Journal.for_lock(tmp_path / "x.lock.json")
    journal.intend(_intent())
    journal.close()
    assert [i.sha256 for i in journal.pending()] == ["s1"]


@pytest.mark.parametrize("fault", ["short", "enospc", "eio"])
def test_a_failed_append_names_the_file_and_leaves_no_cut_line(
    tmp_path: Path, monkeypatch, fault: str
) -> None:
    journal = Journal.for_lock(tmp_path / "x.lock.json")
    journal.intend(_intent())
    monkeypatch.setenv("FACESYNC_TEST_APPEND_FAULT", f"journal:{fault}:1")  # counted from here
    with pytest.raises(FacesyncError) as caught:
        journal.intend(_intent())
    fix = "check the disk" if fault == "eio" else "free disk space"
    assert str(caught.value).startswith(f"cannot write the journal {journal.path}: ")
    assert f"; {fix} and run facesync apply again (the call it guards was not sent)" in str(
        caught.value)
    assert journal.path.read_bytes().count(b"\n") == 1  # cut back to the first line
    journal.intend(_intent())  # the next write is whole again
    journal.close()
    assert len(journal.pending()) == 2


def test_a_line_cut_by_a_kill_is_ended_before_the_next_one(tmp_path: Path) -> None:
    journal = Journal.for_lock(tmp_path / "x.lock.json")
    journal.path.write_bytes(b'{"op":"add_fa')
    journal.intend(_intent())
    journal.close()
    assert [i.sha256 for i in journal.pending()] == ["s1"]


def test_the_journal_and_the_results_log_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        journal = Journal.for_lock(tmp_path / "x.lock.json")
        journal.intend(_intent())
        journal.close()
        log = ResultsLog(tmp_path / "x.lock.json", 0)
        log.append({"a": 1})
        log.close()
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / ".facesync").iterdir()
             if p.suffix == ".jsonl"}
    assert modes == {"journal-x.lock.json.jsonl": 0o600, "results-x.lock.json.0.jsonl": 0o600}


def test_a_results_log_append_that_fails_is_one_error_and_loses_no_line(
    tmp_path: Path, monkeypatch
) -> None:
    log = ResultsLog(tmp_path / "x.lock.json", 0)
    log.append({"n": 1})
    monkeypatch.setenv("FACESYNC_TEST_APPEND_FAULT", "results:short:1")
    with pytest.raises(FacesyncError, match=r"cannot write the results log .*free disk space"):
        log.append({"n": 2})
    log.append({"n": 3})
    log.close()
    assert pending_results(tmp_path / "x.lock.json", 0) == [{"n": 1}, {"n": 3}]


def test_the_hook_is_inert_unless_set(tmp_path: Path) -> None:
    assert journal_module._test_fault("journal") is None
    assert errno.ENOSPC  # the hook's error is the real one a full disk raises


# --- narrowing -----------------------------------------------------------------------------


def test_a_narrowed_intent_explains_only_what_was_seen_and_an_empty_one_is_resolved(
    tmp_path: Path
) -> None:
    journal = Journal.for_lock(tmp_path / "x.lock.json")
    seen, gone = _intent(), Intent(CREATE_GROUP, "other", PG)
    journal.intend(seen)
    journal.intend(gone)
    journal.narrow({seen.id: frozenset({"f-1", "f-2"}), gone.id: frozenset()})
    journal.narrow({seen.id: frozenset({"f-2", "f-3"})})
    journal.close()
    (left,) = journal.pending()
    assert left.id == seen.id and left.within == frozenset({"f-2"})
    assert left.may_be("f-2") and not left.may_be("f-1") and not left.may_be("f-3")


def test_judge_lists_unrecorded_faces_with_the_intents_userdata_and_skips_unread_ones() -> None:
    lock = LockState("embedded", groups=(LockedGroup(
        "staff", PG, "recognition_04", "n", persons=(LockedPerson("alice", "p-1", "n"),)),))
    person = ObservedPerson("p-1", "Alice", None, ("f-1", "f-2", "f-3"))
    group = ObservedGroup("staff", PG, "Staff", None, "recognition_04", persons=(person,))
    intent = Intent(ADD_FACE, "staff", PG, person="alice", person_id="p-1", sha256="s1",
                    user_data_digest=user_data_digest("shared"), preexisting=frozenset({"f-3"}))
    read = ObservedState(groups=(group,), faces_read=(("f-1", "shared"), ("f-2", "other")))
    assert judge([intent], read, lock) == {intent.id: frozenset({"f-1"})}
    unread = ObservedState(groups=(group,), faces_read=(("f-1", "shared"),))
    assert judge([intent], unread, lock) == {}  # f-2 was not read: cannot tell
    gone = ObservedState(groups=(ObservedGroup("staff", PG, "Staff", None, "recognition_04"),))
    assert judge([intent], gone, lock) == {intent.id: frozenset()}
