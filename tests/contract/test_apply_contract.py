"""The executor and refresh behave the same on every backend: what an apply
creates is what the next refresh sees, and every id reached a checkpoint."""

from __future__ import annotations

import threading
from pathlib import Path

from facesync.engine.executor import execute
from facesync.engine.record import CallResult
from facesync.engine.refresh import refresh
from facesync.manifest.model import DesiredGroup, Manifest
from facesync.plan.model import Change
from facesync.state.model import LockedGroup, LockState
from tests.unit.engine.builders import face_create, group_create, person_create, plan, train


def test_an_apply_is_seen_whole_by_the_next_refresh(backend, gid, faces, tmp_path: Path):
    changes = [group_create(gid)]
    for name, image in sorted(faces.items()):
        photo = tmp_path / f"{name}.jpg"
        photo.write_bytes(image)
        changes += [person_create(gid, name), face_create(gid, name, photo)]
    changes.append(train(gid))
    results: dict[str, CallResult] = {}
    lock = threading.Lock()

    def checkpoint(change: Change, result: CallResult) -> None:
        with lock:
            results[str(change.address)] = result

    report = execute(plan(*changes), backend, checkpoint=checkpoint, parallelism=4)

    assert report.ok, report.failed
    assert report.training[gid].status == "succeeded"
    manifest = Manifest(tmp_path / "facesync.yaml", "d", (DesiredGroup(gid, gid),))
    locked = LockState("embedded", 1, (LockedGroup(gid, "personGroup", "recognition_04", "x"),))
    observed = refresh(backend, manifest, locked).group(gid)
    assert observed.training_status == "succeeded"
    seen = {p.person_id: p.persisted_face_ids for p in observed.persons}
    recorded = {}
    for name in faces:
        face_id = results[f"{gid}/{name}/{name}.jpg"].persisted_face_id
        recorded[results[f"{gid}/{name}"].person_id] = (face_id,)
    assert seen == recorded
