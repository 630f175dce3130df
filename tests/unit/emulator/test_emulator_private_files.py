"""The emulator's data (embeddings are biometric templates) is the owner's alone:
folder 0700, database and its -wal/-shm 0600, snapshot files 0600; files that
already exist keep their mode and are named for a warning."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from facesync.emulator.private import loose_files, loose_warning
from facesync.emulator.server import EmulatorConfig, start_emulator
from facesync.emulator.store import DB_NAME, Store, StoreError

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX modes")


@pytest.fixture
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_store_is_private_down_to_its_wal_and_snapshots(
    tmp_path: Path, usual_umask: None
) -> None:
    data = tmp_path / "data"
    store = Store(data)
    try:
        with store.write() as tx:  # a write makes SQLite create -wal and -shm
            tx.db.execute("INSERT OR REPLACE INTO meta VALUES ('probe', '1')")
        store.snapshots.write("t-1", np.zeros((2, 128), dtype="<f4"))
        files = sorted(p.name for p in data.rglob("*") if p.is_file())
        assert {DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", "t-1.f32"} <= set(files)
        assert _mode(data) == 0o700 and _mode(data / "snapshots") == 0o700
        assert {name: _mode(p) for p in data.rglob("*") if p.is_file()
                for name in [p.name]} == dict.fromkeys(files, 0o600)  # fmt: skip
        assert store.loose_files == []
    finally:
        store.close()


def test_an_existing_loose_database_keeps_its_mode_and_is_named(tmp_path: Path) -> None:
    Store(tmp_path).close()
    db = tmp_path / DB_NAME
    db.chmod(0o644)
    (tmp_path / "empty").touch(mode=0o644)  # holds nothing: not worth a warning
    assert loose_files(tmp_path) == sorted([db, tmp_path / "empty"])
    store = Store(tmp_path)
    try:
        assert store.loose_files == [db]
        assert _mode(db) == 0o644  # the owner's to change, never silently
    finally:
        store.close()
    line = loose_warning(db)
    assert line.startswith(f"warning: {db} holds face data") and f"chmod 600 {db}" in line


def test_a_started_emulator_names_its_loose_data_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, usual_umask: None
) -> None:
    Store(tmp_path).close()
    (tmp_path / DB_NAME).chmod(0o640)
    monkeypatch.setattr("facesync.emulator.vision.require_vision", lambda: None)
    running = start_emulator(EmulatorConfig(data_dir=tmp_path, port=0, warm_up=False))
    try:
        assert running.warnings == (loose_warning(tmp_path / DB_NAME),)
        assert _mode(tmp_path / "emulator.lock") == 0o600
    finally:
        running.stop()


def test_serve_s_default_data_folder_creates_a_private_local_folder(
    tmp_path: Path, usual_umask: None
) -> None:
    data = tmp_path / ".facesync" / "serve"
    Store(data).close()
    assert _mode(tmp_path / ".facesync") == 0o700 and _mode(data) == 0o700


def test_a_file_where_the_data_folder_should_be_is_an_os_error(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a folder")
    with pytest.raises(StoreError):
        Store(tmp_path / "data")
