"""Open the backend a command talks to: Azure (or any endpoint) over HTTP, or
the embedded emulator, started in-process on 127.0.0.1 and spoken to over
HTTP too, so both paths exercise the same client. When another process
already serves the emulator's data folder (an apply that is running, or
`facesync serve` on the same folder), the command uses that emulator: `plan`,
`show` and `identify` never wait for an apply."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from facesync.backends.connection import Connection
from facesync.backends.http import HttpBackend
from facesync.workspace import emulator_data_dir


@contextmanager
def open_backend(
    conn: Connection,
    manifest_folder: Path,
    *,
    say: Callable[[str], None],
    pool_size: int = 16,
) -> Iterator[HttpBackend]:
    """Yield a ready backend; stop the embedded emulator afterwards. `say`
    tells the user which backend is used (the caller decides where that goes)."""
    if conn.endpoint is not None:
        backend = HttpBackend(
            conn.endpoint, conn.key or "", rate=conn.rate, pool_size=max(16, pool_size)
        )
        try:
            yield backend
        finally:
            backend.close()
        return

    from facesync.emulator.server import (
        DataFolderBusy,
        EmulatorConfig,
        running_emulator,
        start_emulator,
    )
    from facesync.emulator.vision import require_vision

    data_dir = emulator_data_dir(manifest_folder)
    shown = _shown_path(data_dir)
    found = running_emulator(data_dir)
    if found is None:
        require_vision()
        try:
            emulator = start_emulator(
                EmulatorConfig(
                    data_dir=data_dir, key=secrets.token_hex(16), port=0, tier="unlimited",
                    warm_up=False,
                )
            )
        except DataFolderBusy:
            found = running_emulator(data_dir)  # started a moment ago by another command
            if found is None:
                raise
        else:
            say(
                f"No endpoint set: using the embedded Face API emulator (data in {shown}); "
                "set FACESYNC_ENDPOINT to use Azure."
            )
            for line in emulator.warnings:  # its data files that other local users can read
                say(line)
            backend = HttpBackend(
                emulator.url, emulator.key, rate=conn.rate, pool_size=max(16, pool_size)
            )
            try:
                yield backend
            finally:
                backend.close()
                emulator.stop()
            return
    url, key = found
    say(
        f"No endpoint set: using the Face API emulator already running on {shown} ({url}); "
        "set FACESYNC_ENDPOINT to use Azure."
    )
    backend = HttpBackend(url, key, rate=conn.rate, pool_size=max(16, pool_size))
    try:
        yield backend
    finally:
        backend.close()


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
