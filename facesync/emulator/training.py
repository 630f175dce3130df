"""Training: POST train queues it, a background thread builds the group's index.

The status goes straight to `running` (no recording of the service ever shows
the queued state) and then to `succeeded` or `failed`. Training fails, as the
service's docs say, when the group has no person or no persisted face at all;
persons without faces are fine and are simply never candidates. Training takes
at least TRAINING_MIN_SECONDS so that a client polling right after train sees
`running` once, as it does against the service. A training that was running
when the emulator stopped is run again at the next start.

Training reads the group's embeddings in runs straight into one matrix, writes
that matrix to its snapshot file (snapshot_files.py) and only then commits the
status with the snapshot row, so a succeeded training always has its index.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

import numpy as np

from facesync.emulator import errors, validation
from facesync.emulator.index import EMBEDDING_SIZE, Index
from facesync.emulator.kinds import KIND_BY_NAME, GroupKind
from facesync.emulator.models import group_row, refuse_while_training, utc_now
from facesync.emulator.rows import SnapshotRow, TrainingRow
from facesync.emulator.store import Store, StoreError, Tx

TRAINING_MIN_SECONDS = 0.2
log = logging.getLogger(__name__)


class IndexCache:
    """The trained indexes of each group, in memory, by training id: the one the
    store names is the one Identify uses, so a reader whose transaction began
    before a training committed still finds the index it sees. A group keeps at
    most INDEXES_PER_GROUP (the one in use and the one being committed); an
    index not here is loaded from its snapshot (after a restart)."""

    INDEXES_PER_GROUP = 2

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._indexes: dict[tuple[str, str], dict[str, Index]] = {}

    def current(self, tx: Tx, kind: GroupKind, group_id: str) -> Index | None:
        key = (kind.name, group_id)
        training_id = tx.snapshot_training_id(kind.name, group_id)
        with self._mutex:
            if training_id is None:
                self._indexes.pop(key, None)
                return None
            cached = self._indexes.get(key, {}).get(training_id)
            if cached is not None:
                return cached
        row = tx.snapshot(kind.name, group_id)
        if row is None:
            return None
        index = _load(tx, row)
        self.put(kind, group_id, index)
        return index

    def put(self, kind: GroupKind, group_id: str, index: Index) -> None:
        with self._mutex:
            kept = self._indexes.setdefault((kind.name, group_id), {})
            kept.pop(index.training_id, None)
            kept[index.training_id] = index
            while len(kept) > self.INDEXES_PER_GROUP:
                del kept[next(iter(kept))]

    def forget(self, kind: GroupKind, group_id: str) -> None:
        with self._mutex:
            self._indexes.pop((kind.name, group_id), None)


def _load(tx: Tx, row: SnapshotRow) -> Index:
    """A stored snapshot as an index: from its file, or from an older store's chunks."""
    faces = int(np.frombuffer(row.counts, dtype="<i4").sum())
    matrix = tx.snapshot_file(row.training_id, faces, EMBEDDING_SIZE)
    if matrix is not None:
        return Index.from_matrix(row, matrix)
    return Index.from_snapshot(row, tx.snapshot_chunks(row.kind, row.group_id))


class Trainer:
    """Runs trainings in background threads and answers training-status calls."""

    def __init__(self, store: Store, indexes: IndexCache) -> None:
        self.store = store
        self.indexes = indexes
        self._stopping = threading.Event()
        # Trainings that failed when even their failure could not be saved (a full
        # disk): answered from memory, so a client never waits on "running".
        self._failed_unsaved: dict[tuple[str, str], TrainingRow] = {}
        self._threads: set[threading.Thread] = set()
        self._mutex = threading.Lock()

    def train(self, kind: GroupKind, group_id: str) -> None:
        validation.group_id(kind, group_id)
        with self.store.write() as tx:
            group_row(tx, kind, group_id)
            refuse_while_training(tx, kind, group_id, group_level=True)
            previous = tx.training(kind.name, group_id)
            now = utc_now()
            row = TrainingRow(
                kind.name,
                group_id,
                "running",
                created=now,
                last_action=now,
                last_successful=previous.last_successful if previous else None,
                last_successful_id=previous.last_successful_id if previous else None,
                message=None,
            )
            tx.save_training(row)
        self._launch(row)

    def status(self, kind: GroupKind, group_id: str) -> TrainingRow:
        validation.group_id(kind, group_id)
        with self.store.read() as tx:
            group_row(tx, kind, group_id)
            training = tx.training(kind.name, group_id)
        if training is None:
            raise errors.NOT_TRAINED.error(kind)
        unsaved = self._failed_unsaved.get((kind.name, group_id))
        if unsaved is not None and training.status == "running" and (
                training.created == unsaved.created):
            return unsaved
        return training

    def resume(self) -> None:
        """Run again the trainings a previous run of the emulator left unfinished."""
        with self.store.read() as tx:
            unfinished = tx.running_trainings()
        for row in unfinished:
            if row.kind in KIND_BY_NAME:
                self._launch(row)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the trainings started so far have ended."""
        with self._mutex:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def stop(self) -> None:
        self._stopping.set()
        self.wait(timeout=30)

    def _launch(self, row: TrainingRow) -> None:
        thread = threading.Thread(
            target=self._run, args=(row,), name=f"train-{row.group_id}", daemon=True
        )
        with self._mutex:
            self._threads.add(thread)
        thread.start()

    def _run(self, row: TrainingRow) -> None:
        try:
            self._train(row)
        except StoreError:
            pass  # the emulator is stopping; the training resumes at the next start
        except OSError as exc:  # a full disk: one line, and a failed training, not a hang
            log.warning("training of %s failed: %s", row.group_id, exc)
            self._fail(row, "Training failed: the emulator could not write its data.")
        except Exception:  # a bug must not leave the group "running" forever
            log.exception("training of %s failed", row.group_id)
            self._fail(row, "Training failed.")
        finally:
            with self._mutex:
                self._threads.discard(threading.current_thread())

    def _fail(self, row: TrainingRow, message: str) -> None:
        try:
            self._finish(row, None, message)
        except Exception:  # even that cannot be saved: answer it from memory
            failed = replace(row, status="failed", last_action=utc_now(), message=message)
            self._failed_unsaved[(row.kind, row.group_id)] = failed

    def _train(self, row: TrainingRow) -> None:
        kind = KIND_BY_NAME[row.kind]
        started = time.monotonic()
        with self.store.read() as tx:
            group = tx.group(kind.name, row.group_id)
            if group is None:
                return
            index = Index.gather(
                group.recognition_model,
                tx.group_face_counts(kind.name, row.group_id),
                tx.group_embedding_batches(kind.name, row.group_id),
            )
            has_persons = tx.count_persons(kind.name, row.group_id) > 0
        if self._stopping.wait(max(0.0, TRAINING_MIN_SECONDS - (time.monotonic() - started))):
            return
        if not has_persons:
            self._finish(row, None, errors.TRAINING_NO_PERSON.format(noun_lower=kind.noun_lower))
        elif index is None:
            self._finish(row, None, errors.TRAINING_NO_FACE.format(noun_lower=kind.noun_lower))
        else:
            self._finish(row, index, None)

    def _finish(self, row: TrainingRow, index: Index | None, failure: str | None) -> None:
        kind = KIND_BY_NAME[row.kind]
        if index is not None:  # written before the row that names it commits
            self.store.snapshots.write(index.training_id, index.matrix)
        replaced = None
        finished = utc_now()
        with self.store.write() as tx:
            current = tx.training(row.kind, row.group_id)
            if current is None or current.status != "running" or current.created != row.created:
                if index is not None:  # the group was deleted (or trained anew) meanwhile
                    self.store.snapshots.remove([index.training_id])
                return
            if index is None:
                failed = replace(row, status="failed", last_action=finished, message=failure)
                tx.save_training(failed)
                return
            replaced = tx.snapshot_training_id(row.kind, row.group_id)
            tx.save_snapshot_row(index.snapshot_row(row.kind, row.group_id))
            tx.save_training(
                replace(
                    row,
                    status="succeeded",
                    last_action=finished,
                    last_successful=finished,
                    last_successful_id=index.training_id,
                    message=None,
                )
            )
            # Before the commit: the first Identify after it must not load the file.
            self.indexes.put(kind, row.group_id, index)
        if replaced is not None and replaced != index.training_id:
            self.store.snapshots.remove([replaced])
