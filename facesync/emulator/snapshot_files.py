"""Trained embeddings as one file per training, beside the database.

A large group's snapshot is hundreds of megabytes (100,000 persons x 5 faces
are 256 MB of float32): written into SQLite it would cross the WAL twice and
take seconds, written here it is one sequential file. The file is complete
and fsynced before the snapshot row that names it commits, so a committed
training never points at a missing file; files that no row names (a crash
between the two, or a training replaced since) are swept when the store opens.
Embeddings are biometric templates: files 0600, their folder 0700.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from facesync.emulator.private import make_private_dir, open_private

SUFFIX = ".f32"  # little-endian float32 rows of 128 values
WRITE_ROWS = 4096  # rows per write: 2 MB, so no whole-matrix copy is made


class SnapshotFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, training_id: str) -> Path:
        return self.folder / f"{training_id}{SUFFIX}"

    def write(self, training_id: str, matrix: Any) -> None:
        """Write `matrix` (faces x 128 float32) durably under its training id."""
        import numpy as np

        make_private_dir(self.folder)
        rows = np.ascontiguousarray(matrix, dtype="<f4")
        final = self.path(training_id)
        partial = final.with_suffix(".partial")
        with os.fdopen(open_private(partial), "wb") as out:
            for start in range(0, len(rows), WRITE_ROWS):
                out.write(memoryview(rows[start : start + WRITE_ROWS]).cast("B"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, final)
        _fsync_folder(self.folder)

    def read(self, training_id: str, faces: int, width: int) -> Any | None:
        """The matrix of a training, or None when it has no file (an older store
        kept it in SQLite); ValueError when the file is not the size it must be."""
        import numpy as np

        path = self.path(training_id)
        if not path.is_file():
            return None
        matrix = np.fromfile(path, dtype="<f4")
        if matrix.size != faces * width:
            raise ValueError(f"{path} holds {matrix.size // width} of {faces} faces")
        return matrix.reshape(faces, width)

    def remove(self, training_ids: Iterable[str]) -> None:
        for training_id in training_ids:
            with contextlib.suppress(FileNotFoundError):
                self.path(training_id).unlink()

    def sweep(self, keep: set[str]) -> None:
        """Delete every file (and partial write) of a training not in `keep`."""
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if path.stem not in keep and path.suffix in (SUFFIX, ".partial"):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable too (POSIX); a no-op where folders cannot be opened."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
