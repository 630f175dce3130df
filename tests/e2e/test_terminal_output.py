"""What a person at a terminal sees: a line for every finished change beside
the bar, Ctrl-C acknowledged at once and a second one that quits at once,
colours only where allowed (NO_COLOR, --no-color), and --quiet.

The CLI runs on a pseudo-terminal whose Ctrl-C is the real one (the terminal
sends SIGINT to the foreground process group). Add-face calls pass a proxy
that holds them at a gate, so that "calls in flight" is a fact, not a race.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from facesync.emulator.server import RunningEmulator

from .conftest import Project, people

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-8]|9[0-7])[0-9;]*m")  # any foreground colour
BAR = re.compile(r"(\d+)/(\d+) calls")


class Terminal:
    """The CLI on a pseudo-terminal that is its controlling terminal."""

    def __init__(self, project: Project, *args: str, env: dict[str, str] | None = None) -> None:
        self._controller, terminal = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "facesync", *args],
            cwd=project.root,
            env={**project.env, "TERM": "xterm-256color", "COLUMNS": "120", **(env or {})},
            stdin=terminal, stdout=terminal, stderr=terminal,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )  # fmt: skip
        os.close(terminal)
        self.raw = b""

    @property
    def text(self) -> str:
        """What was shown, without escape sequences and carriage returns."""
        return ANSI.sub("", self.raw.decode(errors="replace")).replace("\r", "\n")

    def read_until(self, seen: Callable[[str], bool]) -> None:
        deadline = time.monotonic() + 180  # a guard against a hang, not a measure
        while not seen(self.text):
            assert time.monotonic() < deadline, self.text
            if not self._read(0.2) and self.proc.poll() is not None:
                raise AssertionError(f"the CLI ended early:\n{self.text}")

    def ctrl_c(self) -> None:
        os.write(self._controller, b"\x03")

    def finish(self) -> int:
        """Read to the end; the exit code."""
        while self._read(0.5) or self.proc.poll() is None:
            pass
        code = self.proc.wait(timeout=60)
        os.close(self._controller)
        return code

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self._controller], [], [], wait)
        if not ready:
            return False
        try:
            chunk = os.read(self._controller, 65536)
        except OSError:  # EIO: the CLI ended and closed the terminal
            return False
        self.raw += chunk
        return bool(chunk)


class GatedProxy:
    """Forwards every request to the emulator; add-face calls wait at a gate
    while it is closed. Knows how many wait, and how many are still running."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.gate = threading.Event()
        self._state = threading.Condition()
        self.waiting = 0
        self.running = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                proxy._forward(self)

            do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def wait_for(self, test: Callable[[GatedProxy], bool]) -> None:
        with self._state:
            assert self._state.wait_for(lambda: test(self), timeout=120)

    def close(self) -> None:
        self.gate.set()
        self._server.shutdown()
        self._server.server_close()

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        held = handler.command == "POST" and "/persistedfaces" in handler.path
        with self._state:
            self.running += 1
            self.waiting += held
            self._state.notify_all()
        try:
            if held:
                self.gate.wait()
            headers = {k: v for k, v in handler.headers.items()
                       if k.lower() not in ("host", "content-length", "connection")}  # fmt: skip
            answer = requests.request(handler.command, self.target + handler.path,
                                      headers=headers, data=body, timeout=120)  # fmt: skip
            try:
                handler.send_response(answer.status_code)
                for name in ("Content-Type", "Retry-After"):
                    if name in answer.headers:
                        handler.send_header(name, answer.headers[name])
                handler.send_header("Content-Length", str(len(answer.content)))
                handler.end_headers()
                handler.wfile.write(answer.content)
            except OSError:
                pass  # the client is gone: its answer is lost, as on a real network
        finally:
            with self._state:
                self.running -= 1
                self.waiting -= held
                self._state.notify_all()


@pytest.fixture
def proxy(emulator: RunningEmulator) -> Iterator[GatedProxy]:
    gated = GatedProxy(emulator.url)
    yield gated
    gated.close()


@pytest.fixture
def trio(project: Project, small_faces: Path, gid: str) -> Project:
    """Three persons of two photos each: 1 + 3 + 6 + 1 = 11 calls."""
    persons = {}
    for key, folder in (("obama", "barack_obama"), ("biden", "joe_biden"),
                        ("harris", "kamala_harris")):  # fmt: skip
        photos = [project.add_photo(key, p) for p in people(small_faces, folder)[:2]]
        persons[key] = {"name": key.title(), "faces": photos}
    project.write_manifest({gid: {"name": "Trio", "persons": persons}})
    project.gid = gid  # type: ignore[attr-defined]
    return project


def _through(project: Project, proxy: GatedProxy) -> None:
    project.env = {**project.env, "FACESYNC_ENDPOINT": proxy.url}


def _bars(text: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in BAR.findall(text)]


def _faces_on_server(project: Project) -> dict[str, int]:
    gid = project.gid  # type: ignore[attr-defined]
    return {p["name"]: len(p["persistedFaceIds"]) for p in project.server.persons(gid)}


def test_on_a_terminal_every_added_face_shows_a_line_beside_the_bar(trio: Project) -> None:
    run = Terminal(trio, "apply", "--yes")
    assert run.finish() == 0, run.text
    added = [line for line in run.text.splitlines() if ": added (persistedFaceId " in line]
    assert len({line.split(":")[0] for line in added}) == 6
    assert (11, 11) in _bars(run.text)
    assert "Apply complete! Resources: 10 added, 0 changed, 0 destroyed." in run.text


def test_ctrl_c_is_acknowledged_at_once_and_the_bar_stays_where_the_calls_are(
    trio: Project, proxy: GatedProxy
) -> None:
    _through(trio, proxy)
    run = Terminal(trio, "apply", "--yes", "--parallelism", "2")
    proxy.wait_for(lambda p: p.waiting == 2)  # both workers wait in an add-face
    run.ctrl_c()
    run.read_until(lambda text: "Stopping after" in text)
    assert "Stopping after 2 calls in flight... (Ctrl-C again to quit now)" in run.text
    assert proxy.waiting == 2  # said while the calls were still in flight
    proxy.gate.set()
    assert run.finish() == 130, run.text
    bars = _bars(run.text)
    assert bars and all(total == 11 for _, total in bars)
    assert max(done for done, _ in bars) < 11  # never jumps to the total
    assert "interrupted:" in run.text and "run facesync apply again to finish" in run.text
    recorded = trio.lock_json()["groups"][trio.gid]["persons"]  # type: ignore[attr-defined]
    assert sum(len(p["faces"]) for p in recorded.values()) == sum(
        _faces_on_server(trio).values()
    )  # every face made is in the lock file


def test_a_second_ctrl_c_quits_at_once_and_keeps_every_recorded_result(
    trio: Project, proxy: GatedProxy
) -> None:
    _through(trio, proxy)
    run = Terminal(trio, "apply", "--yes", "--parallelism", "2")
    proxy.wait_for(lambda p: p.waiting == 2)
    run.ctrl_c()
    run.read_until(lambda text: "Ctrl-C again to quit now" in text)
    run.ctrl_c()
    assert run.finish() == 130, run.text
    assert proxy.waiting == 2  # it ended while its two calls were still in flight
    assert "Quitting now, without waiting for 2 calls in flight" in run.text
    assert run.raw.rfind(b"\x1b[?25h") > run.raw.rfind(b"\x1b[?25l")  # the cursor is back
    assert not list(trio.root.glob(".*.tmp")), "a half-written file was left"

    shown = trio.cli("show", "--json")  # reads the lock file and the results log
    assert shown.code == 0, shown.err
    gid = trio.gid  # type: ignore[attr-defined]
    persons = json.loads(shown.out)["groups"][gid]["persons"]
    recorded = {p["personId"] for p in persons.values()}
    assert recorded == {p["personId"] for p in trio.server.persons(gid)}

    proxy.gate.set()  # the abandoned add-faces now reach the server: answers lost
    proxy.wait_for(lambda p: p.running == 0)
    again = trio.cli("apply", "--yes")
    assert again.code == 0, again.err
    assert trio.cli("plan").out.rstrip().endswith("No changes. Server matches the manifest.")
    assert _faces_on_server(trio) == {"Obama": 2, "Biden": 2, "Harris": 2}  # none twice


def _plan_on_a_terminal(project: Project, *flags: str, env: dict[str, str]) -> str:
    run = Terminal(project, *flags, "plan", env=env)
    assert run.finish() == 0, run.text
    return run.raw.decode(errors="replace")


def test_colours_show_on_a_terminal_unless_no_color_or_the_flag_says_no(trio: Project) -> None:
    coloured = _plan_on_a_terminal(trio, env={})
    assert COLOUR.search(coloured), coloured
    assert not COLOUR.search(_plan_on_a_terminal(trio, env={"NO_COLOR": "1"}))
    assert not COLOUR.search(_plan_on_a_terminal(trio, "--no-color", env={}))
    assert COLOUR.search(_plan_on_a_terminal(trio, env={"NO_COLOR": ""}))  # empty: not set

    run = Terminal(trio, "apply", "--yes", "--no-color")
    assert run.finish() == 0, run.text
    assert not COLOUR.search(run.raw.decode(errors="replace"))  # the bar and its lines too
    assert (11, 11) in _bars(run.text)


def test_quiet_drops_the_notes_and_keeps_the_warnings(
    embedded_project: Project, small_faces: Path
) -> None:
    project = embedded_project
    photo = project.add_photo("obama", people(small_faces, "barack_obama")[0])
    project.write_manifest({"t": {"name": "T", "persons": {"o": {"faces": [photo]}}}})
    noisy = project.cli("apply", "--yes")
    assert noisy.code == 0, noisy.err
    assert "No endpoint set: using the embedded Face API emulator" in noisy.err
    project.lock.chmod(0o644)  # a lock others can read: a warning on every write
    project.write_manifest({"t": {"name": "T2", "persons": {"o": {"faces": [photo]}}}})
    quiet = project.cli("--quiet", "apply", "--yes")
    assert quiet.code == 0, quiet.err
    assert "No endpoint set" not in quiet.err
    assert "Apply complete! Resources: 0 added, 1 changed, 0 destroyed." in quiet.out
    warnings = quiet.err.splitlines()
    assert warnings and all(line.startswith("warning: ") for line in warnings), quiet.err
    assert "can be read by other users" in quiet.err
    project.lock.chmod(0o600)
    after = project.cli("plan", "-q")
    assert after.code == 0 and after.err == "", after.err  # nothing but the plan
