"""The loop of one vision worker process: load dlib once, then answer tasks.

Runs in a process of its own (started by workers.py with the 'spawn' method).
A task is `(name, args)`; the answer is `("ok", value)`, `("raise", error)`
for an image the service refuses (ImageRefused, re-raised by the caller), or
`("error", text)` for anything else. The worker ends when the server sends
None or closes its end of the pipe (the server stopped, or died).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any


def _tasks() -> dict[str, Callable[..., Any]]:
    from facesync.emulator import landmarks, vision

    return {"detect": vision.detect, "embed": vision.embed, "landmarks": landmarks.landmarks_27}


def serve(connection: Connection) -> None:
    """Answer tasks until told to stop; every failure is an answer, never a hang."""
    # Ctrl-C in a terminal reaches the whole process group: the server stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from facesync.emulator import vision
    from facesync.emulator.images import ImageRefused

    try:
        tasks = _tasks()
        vision.load_models()
    except Exception as error:  # reported by the server as the call's failure
        with contextlib.suppress(OSError):
            connection.send(("error", f"loading the face models failed: {error}"))
        return
    try:
        connection.send(("ready", None))
    except OSError:
        return
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        name, args = message
        try:
            answer: tuple[str, Any] = ("ok", tasks[name](*args))
        except ImageRefused as refused:
            answer = ("raise", refused)
        except Exception as error:
            answer = ("error", f"{name} failed: {type(error).__name__}: {error}")
        try:
            connection.send(answer)
        except OSError:  # the server is gone
            return
