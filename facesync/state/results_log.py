"""The results log: every id the server returned, durable before apply goes on.

Rewriting the whole lock file after every call costs more with every person
the gallery holds. Instead apply appends each successful call's result to a
log segment (one JSON line, fsynced) and folds the log into the lock file
every few seconds and at the end (facesync.engine.checkpoint). A segment is
named by the serial of the lock file it builds on (workspace.results_log_path):

- a fold writes the lock file with serial S+1 from everything up to the end
  of segment S, after opening segment S+1 for the results that follow, and
  only then removes segment S;
- so on reading, segments older than the lock file's serial were folded
  already and are skipped; segment S (the lock's serial) and then S+1, S+2,
  ... are replayed in order. A kill at any moment loses nothing: a line is
  durable once `append` returns, and a half-written last line (a kill during
  the write) was never acknowledged, so it is ignored.

This module only stores and reads JSON documents; what they mean is the
engine's (facesync.engine.checkpoint).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from facesync.state.journal import append_durably, open_log
from facesync.workspace import results_log_path, results_log_segments


class ResultsLog:
    """Appends to the current segment of one lock file's results log (not thread-safe:
    the caller holds a mutex)."""

    def __init__(self, lock_path: Path, base_serial: int) -> None:
        self.lock_path = lock_path
        self.base = base_serial
        self._fd: int | None = None
        self._path = results_log_path(lock_path, base_serial)
        self.lines = 0  # lines appended to the current segment

    def append(self, doc: dict[str, Any]) -> None:
        """Write one document and fsync it; on return it survives a kill. A write
        that fails (a full disk) is a FacesyncError naming the file, and the
        segment is left as it was (facesync.state.journal.append_durably)."""
        data = (json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
        if self._fd is None:
            self._path = results_log_path(self.lock_path, self.base)
            self._fd = open_log(self._path, "results")  # private (0o600)
        append_durably(self._fd, data, self._path, "results")
        self.lines += 1

    def rotate(self, new_base: int) -> int:
        """Start the segment for lock serial `new_base`; return the old base."""
        old = self.base
        self.close()
        self.base, self.lines = new_base, 0
        return old

    def remove_before(self, serial: int) -> None:
        """Delete the segments folded into the lock file of version `serial`."""
        for base, path in results_log_segments(self.lock_path):
            if base < serial:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def pending_results(
    lock_path: Path, lock_serial: int, *, warn: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """The documents not yet folded into the lock file of version `lock_serial`,
    in the order they were appended."""
    docs: list[dict[str, Any]] = []
    expected = lock_serial
    for base, path in results_log_segments(lock_path):
        if base < expected:
            continue  # folded already (a kill came before its removal)
        if base > expected:
            if warn is not None:
                warn(
                    f"warning: ignored {path}: it follows lock version {base}, "
                    f"but the lock file is at {expected}"
                )
            continue
        docs += _read(path, warn)
        expected += 1
    return docs


def clear_results(lock_path: Path) -> None:
    """Remove every segment (all of them are in the lock file now)."""
    for _base, path in results_log_segments(lock_path):
        path.unlink(missing_ok=True)


def _read(path: Path, warn: Callable[[str], None] | None) -> list[dict[str, Any]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []  # removed by a fold meanwhile: it is in the lock file
    lines = raw.split(b"\n")
    docs = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            if number == len(lines):  # the half-written line of a killed apply
                continue
            if warn is not None:
                warn(f"warning: {path}:{number}: ignored an unreadable results line")
            continue
        if isinstance(doc, dict):
            docs.append(doc)
    return docs
