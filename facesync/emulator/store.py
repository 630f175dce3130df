"""The emulator's data in SQLite: groups, persons, faces and training snapshots.

WAL journal with synchronous=NORMAL: a committed transaction survives a crash
or kill -9 of the process (only an OS crash may lose the last few). Each
request runs in one transaction; writers take a process-wide lock before
BEGIN IMMEDIATE, so they never deadlock on SQLite's lock upgrade, and readers
never wait for writers. Images are never stored: a face keeps its embedding,
rectangle, userData and the SHA-256 of the image it came from. A training's
embeddings live in a file of their own (snapshot_files.py); stores of schema 2
kept them in SQLite chunks, which are still read. The data is the owner's
alone: folder 0700, database (and so its -wal and -shm) 0600 (private.py).
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facesync.emulator.private import loose_files, make_private_dir, touch_private
from facesync.emulator.rows import FaceRow, GroupRow, PersonRow, SnapshotRow, TrainingRow
from facesync.emulator.snapshot_files import SnapshotFiles

DB_NAME = "emulator.sqlite3"
SNAPSHOTS_FOLDER = "snapshots"
SCHEMA_VERSION = "3"
# Schema 2 is schema 3 with every snapshot in SQLite chunks: it is read as it is and
# marked 3 on open, so that an older facesync refuses the folder instead of
# misreading a snapshot kept in a file.
UPGRADABLE_SCHEMAS = ("2",)
FETCH_ROWS = 4096
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups (
    kind TEXT NOT NULL, group_id TEXT NOT NULL, name TEXT NOT NULL, user_data TEXT,
    recognition_model TEXT NOT NULL, created TEXT NOT NULL,
    PRIMARY KEY (kind, group_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS persons (
    person_id TEXT PRIMARY KEY, kind TEXT NOT NULL, group_id TEXT NOT NULL,
    name TEXT NOT NULL, user_data TEXT);
CREATE INDEX IF NOT EXISTS persons_by_group ON persons (kind, group_id, person_id);
CREATE TABLE IF NOT EXISTS faces (
    face_id TEXT PRIMARY KEY, person_id TEXT NOT NULL, kind TEXT NOT NULL,
    group_id TEXT NOT NULL, user_data TEXT, left_px INTEGER NOT NULL, top_px INTEGER NOT NULL,
    width_px INTEGER NOT NULL, height_px INTEGER NOT NULL, detection_model TEXT NOT NULL,
    sha256 TEXT NOT NULL, embedding BLOB NOT NULL);
DROP INDEX IF EXISTS faces_by_person;
CREATE INDEX IF NOT EXISTS faces_ids_by_person ON faces (person_id, face_id);
CREATE INDEX IF NOT EXISTS faces_by_group ON faces (kind, group_id, person_id);
CREATE TABLE IF NOT EXISTS trainings (
    kind TEXT NOT NULL, group_id TEXT NOT NULL, status TEXT NOT NULL, created TEXT NOT NULL,
    last_action TEXT NOT NULL, last_successful TEXT, last_successful_id TEXT, message TEXT,
    PRIMARY KEY (kind, group_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
    kind TEXT NOT NULL, group_id TEXT NOT NULL, training_id TEXT NOT NULL,
    recognition_model TEXT NOT NULL, person_ids TEXT NOT NULL, counts BLOB NOT NULL,
    PRIMARY KEY (kind, group_id));
CREATE TABLE IF NOT EXISTS snapshot_chunks (
    kind TEXT NOT NULL, group_id TEXT NOT NULL, chunk INTEGER NOT NULL, rows BLOB NOT NULL,
    PRIMARY KEY (kind, group_id, chunk));
"""
_FACE_COLUMNS = (
    "face_id, person_id, kind, group_id, user_data, left_px, top_px, width_px, height_px,"
    " detection_model, sha256, embedding"
)
_TRAINING_COLUMNS = (
    "kind, group_id, status, created, last_action, last_successful, last_successful_id, message"
)


class StoreError(Exception):
    """The data folder cannot be opened as an emulator database."""


@dataclass
class Tx:
    """One transaction; every query the emulator needs, nothing more."""

    db: sqlite3.Connection
    files: SnapshotFiles | None = None

    # groups
    def group(self, kind: str, group_id: str) -> GroupRow | None:
        row = self.db.execute(
            "SELECT kind, group_id, name, user_data, recognition_model, created FROM groups"
            " WHERE kind = ? AND group_id = ?",
            (kind, group_id),
        ).fetchone()
        return GroupRow(*row) if row else None

    def groups(self, kind: str, start: str, top: int) -> list[GroupRow]:
        rows = self.db.execute(
            "SELECT kind, group_id, name, user_data, recognition_model, created FROM groups"
            " WHERE kind = ? AND group_id > ? ORDER BY group_id LIMIT ?",
            (kind, start, top),
        ).fetchall()
        return [GroupRow(*row) for row in rows]

    def count_groups(self, kind: str) -> int:
        return self._count("SELECT COUNT(*) FROM groups WHERE kind = ?", (kind,))

    def insert_group(self, group: GroupRow) -> None:
        self.db.execute("INSERT INTO groups VALUES (?, ?, ?, ?, ?, ?)", group.values())

    def update_group(self, group: GroupRow) -> None:
        self.db.execute(
            "UPDATE groups SET name = ?, user_data = ? WHERE kind = ? AND group_id = ?",
            (group.name, group.user_data, group.kind, group.group_id),
        )

    def delete_group(self, kind: str, group_id: str) -> None:
        tables = ("faces", "persons", "trainings", "snapshots", "snapshot_chunks", "groups")
        for table in tables:
            sql = f"DELETE FROM {table} WHERE kind = ? AND group_id = ?"
            self.db.execute(sql, (kind, group_id))

    # persons
    def person(self, kind: str, group_id: str, person_id: str) -> PersonRow | None:
        row = self.db.execute(
            "SELECT person_id, kind, group_id, name, user_data FROM persons"
            " WHERE person_id = ? AND kind = ? AND group_id = ?",
            (person_id, kind, group_id),
        ).fetchone()
        return PersonRow(*row) if row else None

    def persons(self, kind: str, group_id: str, start: str, top: int) -> list[PersonRow]:
        rows = self.db.execute(
            "SELECT person_id, kind, group_id, name, user_data FROM persons"
            " WHERE kind = ? AND group_id = ? AND person_id > ? ORDER BY person_id LIMIT ?",
            (kind, group_id, start, top),
        ).fetchall()
        return [PersonRow(*row) for row in rows]

    def count_persons(self, kind: str, group_id: str | None = None) -> int:
        if group_id is None:
            return self._count("SELECT COUNT(*) FROM persons WHERE kind = ?", (kind,))
        return self._count(
            "SELECT COUNT(*) FROM persons WHERE kind = ? AND group_id = ?", (kind, group_id)
        )

    def insert_person(self, person: PersonRow) -> None:
        self.db.execute("INSERT INTO persons VALUES (?, ?, ?, ?, ?)", person.values())

    def insert_persons(self, persons: Iterable[PersonRow]) -> None:
        """Many persons in one statement: the bulk path of seeding a big gallery."""
        rows = (person.values() for person in persons)
        self.db.executemany("INSERT INTO persons VALUES (?, ?, ?, ?, ?)", rows)

    def update_person(self, person: PersonRow) -> None:
        self.db.execute(
            "UPDATE persons SET name = ?, user_data = ? WHERE person_id = ?",
            (person.name, person.user_data, person.person_id),
        )

    def delete_person(self, person_id: str) -> None:
        self.db.execute("DELETE FROM faces WHERE person_id = ?", (person_id,))
        self.db.execute("DELETE FROM persons WHERE person_id = ?", (person_id,))

    # faces
    def face_ids(self, person_ids: list[str]) -> dict[str, list[str]]:
        """Each person's persisted face ids, in the order they were added."""
        found: dict[str, list[str]] = {person_id: [] for person_id in person_ids}
        for chunk_start in range(0, len(person_ids), 500):
            chunk = person_ids[chunk_start : chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            # Answered from the index alone (it holds the rowid, the order of adding):
            # a listing of 1,000 persons reads no face row and its embedding.
            rows = self.db.execute(
                f"SELECT rowid, person_id, face_id FROM faces WHERE person_id IN ({marks})",
                chunk,
            ).fetchall()
            rows.sort()
            for _, person_id, face_id in rows:
                found[person_id].append(face_id)
        return found

    def face(self, person_id: str, face_id: str) -> FaceRow | None:
        row = self.db.execute(
            f"SELECT {_FACE_COLUMNS} FROM faces WHERE face_id = ? AND person_id = ?",
            (face_id, person_id),
        ).fetchone()
        return FaceRow(*row) if row else None

    def count_faces(self, person_id: str) -> int:
        return self._count("SELECT COUNT(*) FROM faces WHERE person_id = ?", (person_id,))

    def count_group_faces(self, kind: str, group_id: str) -> int:
        return self._count(
            "SELECT COUNT(*) FROM faces WHERE kind = ? AND group_id = ?", (kind, group_id)
        )

    def insert_face(self, face: FaceRow) -> None:
        self.db.execute(
            f"INSERT INTO faces ({_FACE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            face.values(),
        )

    def insert_faces(self, faces: Iterable[FaceRow]) -> None:
        """Many faces in one statement: the bulk path of seeding a big gallery."""
        self.db.executemany(
            f"INSERT INTO faces ({_FACE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (face.values() for face in faces),
        )

    def update_face(self, face_id: str, user_data: str | None) -> None:
        self.db.execute("UPDATE faces SET user_data = ? WHERE face_id = ?", (user_data, face_id))

    def delete_face(self, face_id: str) -> None:
        self.db.execute("DELETE FROM faces WHERE face_id = ?", (face_id,))

    def group_embeddings(self, kind: str, group_id: str) -> Iterator[tuple[str, bytes]]:
        """(personId, embedding) of every face of a group, grouped by person."""
        yield from self.db.execute(
            "SELECT person_id, embedding FROM faces WHERE kind = ? AND group_id = ?"
            " ORDER BY person_id",
            (kind, group_id),
        )

    def group_face_counts(self, kind: str, group_id: str) -> list[tuple[str, int]]:
        """(personId, faces) of every person with a face, by personId (index only)."""
        return self.db.execute(
            "SELECT person_id, COUNT(*) FROM faces WHERE kind = ? AND group_id = ?"
            " GROUP BY person_id ORDER BY person_id",
            (kind, group_id),
        ).fetchall()

    def group_embedding_batches(self, kind: str, group_id: str) -> Iterator[bytes]:
        """Every face's embedding in group_face_counts' order, FETCH_ROWS at a time,
        joined into one run of float32 rows (no per-row work in Python)."""
        cursor = self.db.execute(
            "SELECT embedding FROM faces WHERE kind = ? AND group_id = ? ORDER BY person_id",
            (kind, group_id),
        )
        while rows := cursor.fetchmany(FETCH_ROWS):
            yield b"".join([row[0] for row in rows])

    # training
    def training(self, kind: str, group_id: str) -> TrainingRow | None:
        row = self.db.execute(
            f"SELECT {_TRAINING_COLUMNS} FROM trainings WHERE kind = ? AND group_id = ?",
            (kind, group_id),
        ).fetchone()
        return TrainingRow(*row) if row else None

    def running_trainings(self) -> list[TrainingRow]:
        rows = self.db.execute(
            f"SELECT {_TRAINING_COLUMNS} FROM trainings WHERE status = 'running'"
            " ORDER BY kind, group_id"
        ).fetchall()
        return [TrainingRow(*row) for row in rows]

    def save_training(self, training: TrainingRow) -> None:
        self.db.execute(
            f"INSERT OR REPLACE INTO trainings ({_TRAINING_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            training.values(),
        )

    def snapshot(self, kind: str, group_id: str) -> SnapshotRow | None:
        row = self.db.execute(
            "SELECT kind, group_id, training_id, recognition_model, person_ids, counts"
            " FROM snapshots WHERE kind = ? AND group_id = ?",
            (kind, group_id),
        ).fetchone()
        return SnapshotRow(*row) if row else None

    def snapshot_training_id(self, kind: str, group_id: str) -> str | None:
        row = self.db.execute(
            "SELECT training_id FROM snapshots WHERE kind = ? AND group_id = ?", (kind, group_id)
        ).fetchone()
        return row[0] if row else None

    def snapshot_chunks(self, kind: str, group_id: str) -> Iterator[bytes]:
        """The snapshot's embeddings (float32 rows), in order."""
        for (rows,) in self.db.execute(
            "SELECT rows FROM snapshot_chunks WHERE kind = ? AND group_id = ? ORDER BY chunk",
            (kind, group_id),
        ):
            yield rows

    def save_snapshot(self, snapshot: SnapshotRow, chunks: Iterable[Any]) -> None:
        """Replace a group's snapshot; `chunks` are bytes-like runs of float32 rows,
        kept small so that saving never copies the whole matrix at once."""
        key = (snapshot.kind, snapshot.group_id)
        self.db.execute("DELETE FROM snapshot_chunks WHERE kind = ? AND group_id = ?", key)
        self.db.execute(
            "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?, ?)", snapshot.values()
        )
        for number, chunk in enumerate(chunks):
            self.db.execute(
                "INSERT INTO snapshot_chunks VALUES (?, ?, ?, ?)", (*key, number, chunk)
            )

    def save_snapshot_row(self, snapshot: SnapshotRow) -> None:
        """Replace a group's snapshot whose embeddings are in a file already written."""
        key = (snapshot.kind, snapshot.group_id)
        self.db.execute("DELETE FROM snapshot_chunks WHERE kind = ? AND group_id = ?", key)
        self.db.execute(
            "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?, ?)", snapshot.values()
        )

    def snapshot_file(self, training_id: str, faces: int, width: int) -> Any | None:
        """The embeddings matrix of a training kept in a file, or None (kept in chunks)."""
        return None if self.files is None else self.files.read(training_id, faces, width)

    def _count(self, sql: str, args: tuple[str, ...]) -> int:
        return int(self.db.execute(sql, args).fetchone()[0])


class Store:
    """A small pool of SQLite connections over one database file."""

    def __init__(self, data_dir: Path, pool_size: int = 16) -> None:
        self.path = data_dir / DB_NAME
        self.snapshots = SnapshotFiles(data_dir / SNAPSHOTS_FOLDER)
        self._pool: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._all: list[sqlite3.Connection] = []
        self._slots = threading.BoundedSemaphore(pool_size)
        self._write_mutex = threading.Lock()
        self._closed = False
        self._pool_mutex = threading.Lock()
        # Found before SQLite opens the database: its -wal and -shm take the db's mode.
        self.loose_files = self._make_private(data_dir)
        try:
            with self._connection() as db:
                db.executescript(_SCHEMA)
                version = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if version is None:
                    db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
                elif version[0] in UPGRADABLE_SCHEMAS:
                    db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))
                    version = (SCHEMA_VERSION,)
                kept = {row[0] for row in db.execute("SELECT training_id FROM snapshots")}
        except sqlite3.DatabaseError as error:
            self.close()
            raise StoreError(_open_failure(self.path, error)) from None
        if version is not None and version[0] != SCHEMA_VERSION:
            self.close()
            raise StoreError(
                f"{self.path} holds emulator data of schema {version[0]}, this facesync"
                f" reads schema {SCHEMA_VERSION}: use another --data folder."
            )
        self.snapshots.sweep(kept)

    def _make_private(self, data_dir: Path) -> list[Path]:
        """Create the folder 0700 and the database 0600 (unless they exist), and
        return the existing files that others may read (non-empty: data)."""
        try:
            make_private_dir(data_dir)
            touch_private(self.path)
        except OSError as error:
            raise StoreError(
                f"{data_dir} cannot hold the emulator's data ({error.strerror or error}):"
                " use another --data folder."
            ) from None
        return [path for path in loose_files(data_dir) if _holds_data(path)]

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA busy_timeout = 30000")
            # Checkpoints shrink the WAL file back to this size instead of keeping its peak.
            db.execute("PRAGMA journal_size_limit = 8388608")
        except sqlite3.DatabaseError as error:
            raise StoreError(_open_failure(self.path, error)) from None
        with self._pool_mutex:
            self._all.append(db)
        return db

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise StoreError("the emulator's data store is closed")
        with self._slots:
            try:
                db = self._pool.get_nowait()
            except queue.Empty:
                db = self._connect()
            try:
                yield db
            finally:
                self._pool.put(db)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A consistent snapshot of the data (a deferred read transaction)."""
        with self._connection() as db:
            db.execute("BEGIN")
            try:
                yield Tx(db, self.snapshots)
            finally:
                db.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """One atomic change: committed when the block ends, rolled back on error."""
        with self._write_mutex, self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(db, self.snapshots)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        self._closed = True
        with self._pool_mutex:
            for db in self._all:
                db.close()
            self._all.clear()


def _holds_data(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _open_failure(path: Path, error: sqlite3.DatabaseError) -> str:
    """Why the emulator's data cannot be opened, and what to do: SQLite says
    "disk I/O error" or "database or disk is full" when the disk has no room."""
    text = str(error)
    if "disk" in text or "full" in text:
        return (f"{path} cannot be opened as emulator data: {text} (is the disk full?); "
                "free some space and run the command again.")
    return f"{path} cannot be opened as emulator data: {text}."

