"""The lock file as apply writes it: every result logged durably at once,
folded into the lock file now and then, nothing lost by a kill at any moment."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from facesync.digest import image_key
from facesync.engine.checkpoint import LockFileWriter, recorded_state, recover
from facesync.engine.record import CallResult, record
from facesync.errors import LockFileError
from facesync.plan.model import Action, Address, Change
from facesync.plan.payloads import FaceSpec, GroupSpec, PersonSpec
from facesync.state.lock_file import read_lock, write_lock
from facesync.state.model import LockState
from facesync.workspace import results_log_segments


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _group() -> Change:
    return Change(Address("staff"), Action.CREATE, payload=GroupSpec(
        "staff", "personGroup", "Staff", None, "recognition_04"))


def _person(key: str) -> Change:
    return Change(Address("staff", key), Action.CREATE, payload=PersonSpec(
        "staff", "personGroup", key, key.title(), f"facesync:key={key}"))


def _face(key: str, n: int) -> Change:
    sha = image_key(hashlib.sha256(f"{key}{n}".encode()).hexdigest())
    path = f"{key}/{n}.jpg"
    return Change(Address("staff", key, path), Action.CREATE, payload=FaceSpec(
        group_id="staff", kind="personGroup", person_key=key, person_id=None, sha256=sha,
        path=path, abs_path=f"/photos/{path}", target_face=None,
        user_data=f"facesync:sha256={sha}", detection_model="detection_03"))


def _calls(persons: int, faces: int) -> list[tuple[Change, CallResult]]:
    calls = [(_group(), CallResult())]
    for p in range(persons):
        key = f"p{p:03d}"
        calls.append((_person(key), CallResult(person_id=_guid(1, p, 0))))
        calls += [(_face(key, n), CallResult(persisted_face_id=_guid(2, p, n)))
                  for n in range(faces)]
    return calls


def _guid(kind: int, person: int, face: int) -> str:
    """An id in the service's format (the lock checks it): lowercase GUID text."""
    return f"{kind:08x}-{person:04x}-4000-8000-{face:012x}"


def _expected(calls: list[tuple[Change, CallResult]]) -> LockState:
    state = LockState("embedded")
    for change, result in calls:
        state = record(state, change, result)
    return state


def _ids(state: LockState) -> dict[str, tuple[str, ...]]:
    return {p.person_id: tuple(f.persisted_face_id for f in p.faces)
            for g in state.groups for p in g.persons}


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    return tmp_path / "gallery.lock.json"


def test_results_reach_the_lock_file_at_the_first_fold_and_at_close(lock_path: Path) -> None:
    clock = Clock()
    calls = _calls(3, 2)
    with LockFileWriter(lock_path, LockState("embedded"), clock=clock) as writer:
        for change, result in calls[:4]:
            writer.checkpoint(change, result)
        assert not lock_path.exists()  # not folded yet: the results log has them
        clock.now = 10.0
        writer.checkpoint(*calls[4])  # due: this one folds
        assert _ids(read_lock(lock_path, "embedded")) == _ids(_expected(calls[:5]))
        for change, result in calls[5:]:
            writer.checkpoint(change, result)
    on_disk = read_lock(lock_path, "embedded")
    assert _ids(on_disk) == _ids(_expected(calls))
    assert results_log_segments(lock_path) == []  # all of it is in the lock file now


def test_a_kill_before_any_fold_loses_no_id(lock_path: Path) -> None:
    calls = _calls(4, 3)
    writer = LockFileWriter(lock_path, LockState("embedded"), clock=Clock())
    for change, result in calls:
        writer.checkpoint(change, result)
    # killed: no close(), the lock file was never written
    assert not lock_path.exists()
    assert _ids(recorded_state(lock_path, "embedded")) == _ids(_expected(calls))
    recovered = recover(lock_path, read_lock(lock_path, "embedded"))
    assert _ids(read_lock(lock_path, "embedded")) == _ids(_expected(calls)) == _ids(recovered)
    assert results_log_segments(lock_path) == []


def test_a_kill_between_a_fold_and_the_removal_of_its_segment_replays_nothing_twice(
    lock_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    calls = _calls(3, 2)
    writer = LockFileWriter(lock_path, LockState("embedded"), clock=clock)
    for change, result in calls[:5]:
        writer.checkpoint(change, result)
    monkeypatch.setattr(writer._log, "remove_before", lambda serial: None)  # killed there
    clock.now = 10.0
    writer.checkpoint(*calls[5])
    for change, result in calls[6:]:
        writer.checkpoint(change, result)
    assert [base for base, _ in results_log_segments(lock_path)] == [0, 1]
    assert _ids(recorded_state(lock_path, "embedded")) == _ids(_expected(calls))


def test_a_half_written_last_line_is_ignored(lock_path: Path) -> None:
    calls = _calls(2, 1)
    writer = LockFileWriter(lock_path, LockState("embedded"), clock=Clock())
    for change, result in calls:
        writer.checkpoint(change, result)
    (_, segment), = results_log_segments(lock_path)
    with segment.open("ab") as out:
        out.write(b'{"change": {"address": "staff/p9')  # the kill came mid-write
    assert _ids(recorded_state(lock_path, "embedded")) == _ids(_expected(calls))


def test_a_damaged_results_line_is_refused_with_one_sentence(lock_path: Path) -> None:
    writer = LockFileWriter(lock_path, LockState("embedded"), clock=Clock())
    for change, result in _calls(1, 1):
        writer.checkpoint(change, result)
    (_, segment), = results_log_segments(lock_path)
    lines = segment.read_text().splitlines()
    doc = json.loads(lines[1])
    doc["change"]["data"]["person_key"] = 7
    segment.write_text("\n".join([lines[0], json.dumps(doc), *lines[2:]]) + "\n")
    with pytest.raises(LockFileError, match="results log .* is damaged at entry 2"):
        recorded_state(lock_path, "embedded")


def test_a_log_that_does_not_fit_the_lock_file_says_how_to_fix_it(lock_path: Path) -> None:
    """A lock file replaced by hand while a killed apply's log waits: one sentence,
    never the stale-plan advice that would send the user round in circles."""
    writer = LockFileWriter(lock_path, LockState("embedded"), clock=Clock())
    for change, result in _calls(1, 1):
        writer.checkpoint(change, result)
    (_, segment), = results_log_segments(lock_path)
    lines = segment.read_text().splitlines()
    segment.write_text("\n".join(lines[1:]) + "\n")  # as if the group were never recorded
    with pytest.raises(LockFileError, match="does not fit the lock file at entry 1") as caught:
        recorded_state(lock_path, "embedded")
    assert "plan again" not in str(caught.value) and "\n" not in str(caught.value)


def test_segments_of_an_older_lock_version_are_never_replayed(lock_path: Path) -> None:
    calls = _calls(2, 1)
    writer = LockFileWriter(lock_path, LockState("embedded"), clock=Clock())
    for change, result in calls:
        writer.checkpoint(change, result)
    writer.close()
    # A log segment left over from before the last fold (base 0) is stale.
    stale = lock_path.parent / ".facesync" / f"results-{lock_path.name}.0.jsonl"
    stale.write_text(json.dumps({"change": {}, "result": {}}) + "\n")
    assert _ids(recorded_state(lock_path, "embedded")) == _ids(_expected(calls))


def test_replace_state_writes_at_once(lock_path: Path) -> None:
    state = _expected(_calls(1, 1))
    write_lock(lock_path, LockState("embedded"))
    with LockFileWriter(lock_path, read_lock(lock_path, "embedded"), clock=Clock()) as writer:
        writer.replace_state(state)
        assert _ids(read_lock(lock_path, "embedded")) == _ids(state)
        assert _ids(writer.state) == _ids(state)


def test_a_checkpoint_does_not_rewrite_the_lock_file_of_a_big_gallery(lock_path: Path) -> None:
    """The cost of one checkpoint must not grow with the gallery: between folds,
    nothing but one line of the results log is written."""
    big = _expected(_calls(2000, 1))
    write_lock(lock_path, big)
    before = lock_path.stat().st_mtime_ns
    with LockFileWriter(lock_path, read_lock(lock_path, "embedded"), clock=Clock()) as writer:
        for change, result in _calls(2001, 1)[-2:]:
            writer.checkpoint(change, result)
        assert lock_path.stat().st_mtime_ns == before
        (_, segment), = results_log_segments(lock_path)
        assert len(segment.read_text().splitlines()) == 2
