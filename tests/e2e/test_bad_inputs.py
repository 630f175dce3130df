"""Every bad input, through the real CLI: exit 1, one clear sentence (or one
`file:line: path: message` line per manifest problem), no traceback, no
server call, and the lock file left byte-identical.

A valid lock is made first by a real apply; each case then breaks one input
of a copy of that project. The CLI talks to the emulator through a counting
proxy, so "no server call" means no request at all reached it.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

import pytest
import requests
from PIL import Image

from facesync.emulator.server import RunningEmulator
from facesync.image_fit import SOURCE_MAX_BYTES
from facesync.workspace import results_log_path

from .conftest import KEY, Project, Result, Server, _base_env, people

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "host",
    "content-length",
    "content-encoding",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
}
_MUTATING = {"PUT", "POST", "PATCH", "DELETE"}


class CountingProxy:
    """Forwards every request to the emulator and counts it, by method."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._session = requests.Session()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Forward)
        self._server.daemon_threads = True
        self._server.proxy = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def count(self, method: str) -> None:
        with self._lock:
            self.calls[method] += 1

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.calls)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _forward(self) -> None:
        proxy: CountingProxy = self.server.proxy  # type: ignore[attr-defined]
        proxy.count(self.command)
        assert "chunked" not in self.headers.get("Transfer-Encoding", "")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        answer = requests.request(
            self.command,
            proxy.upstream + self.path,
            headers=headers,
            data=body,
            timeout=120,
            allow_redirects=False,
        )
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _forward

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the stdlib's name)
        pass


@pytest.fixture(scope="module")
def proxy(emulator: RunningEmulator) -> Iterator[CountingProxy]:
    running = CountingProxy(emulator.url)
    yield running
    running.stop()


@dataclass
class Template:
    """A project applied once through the proxy: each case breaks a copy."""

    root: Path
    group_id: str
    photo: str  # the face path the manifest lists


@pytest.fixture(scope="module")
def template(
    tmp_path_factory: pytest.TempPathFactory,
    proxy: CountingProxy,
    emulator: RunningEmulator,
    small_faces: Path,
) -> Template:
    root = tmp_path_factory.mktemp("bad-inputs") / "project"
    root.mkdir()
    project = Project(root, _env(proxy), Server(emulator))
    photo = project.add_photo("harris", people(small_faces, "kamala_harris")[0])
    group_id = "bad-inputs-" + uuid.uuid4().hex[:10]
    project.write_manifest(_groups(group_id, [photo]))
    applied = project.cli("apply", "--yes")
    assert applied.code == 0, applied.err
    assert proxy.snapshot()["PUT"] >= 1  # the calls do go through the proxy
    return Template(root, group_id, photo)


def _env(proxy: CountingProxy) -> dict[str, str]:
    return {**_base_env(), "FACESYNC_ENDPOINT": proxy.url, "FACESYNC_KEY": KEY}


def _groups(group_id: str, faces: list) -> dict:
    return {group_id: {"name": "Bad inputs", "persons": {"harris": {"faces": faces}}}}


@dataclass
class Case:
    name: str
    breaks: Callable[[Project, Template], None]
    says: str  # a fragment of the sentence naming the fix
    problems: int | None = 1  # manifest diagnostics expected; None: one plain sentence
    reads_allowed: bool = False  # the failure is the server's answer to a read


# --- what the cases break -----------------------------------------------------------------


def _text(text: str) -> Callable[[Project, Template], None]:
    def breaks(project: Project, t: Template) -> None:
        project.manifest.write_text(text.replace("GROUP", t.group_id).replace("PHOTO", t.photo))

    return breaks


def _with_face(
    entry: object, data: Callable[[bytes], bytes] | None = None, name: str = "faces/harris/bad.jpg"
) -> Callable[[Project, Template], None]:
    """Add one face entry to the valid manifest, with a file `data(the good photo's bytes)`."""

    def breaks(project: Project, t: Template) -> None:
        if data is not None:
            (project.root / name).write_bytes(data((project.root / t.photo).read_bytes()))
        project.write_manifest(_groups(t.group_id, [t.photo, entry]))

    return breaks


def _outside(project: Project, t: Template) -> Path:
    """A good photo beside the project folder."""
    outside = project.root.parent / "outside.jpg"
    shutil.copyfile(project.root / t.photo, outside)
    return outside


def _dotdot(project: Project, t: Template) -> None:
    _outside(project, t)
    project.write_manifest(_groups(t.group_id, [t.photo, "../outside.jpg"]))


def _absolute(project: Project, t: Template) -> None:
    project.write_manifest(_groups(t.group_id, [t.photo, str(_outside(project, t))]))


def _symlink_out(project: Project, t: Template) -> None:
    (project.root / "faces" / "harris" / "link.jpg").symlink_to(_outside(project, t))
    project.write_manifest(_groups(t.group_id, [t.photo, "faces/harris/link.jpg"]))


def _tiny_jpeg(_photo: bytes) -> bytes:
    out = BytesIO()
    Image.new("RGB", (40, 40), (120, 80, 60)).save(out, "JPEG", quality=50)
    assert len(out.getvalue()) < 1024
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb_png(_photo: bytes) -> bytes:
    """A small PNG that declares 50000 x 50000 pixels."""
    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"tEXt", b"Comment\x00" + b"x" * 2048)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + _png_chunk(b"IEND", b"")
    )


def _many_faces(project: Project, t: Template) -> None:
    photo = (project.root / t.photo).read_bytes()
    folder = project.root / "faces" / "many"
    folder.mkdir()
    for i in range(249):  # distinct bytes: a JPEG ignores what follows its end
        (folder / f"{i:03}.jpg").write_bytes(photo + b"\0" + str(i).encode())
    project.write_manifest(_groups(t.group_id, ["faces/many/*.jpg"]))


_ALIAS_BOMB = """version: 1
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
groups: {}
"""


def _lock_doc(edit: Callable[[dict], None]) -> Callable[[Project, Template], None]:
    def breaks(project: Project, _t: Template) -> None:
        doc = json.loads(project.lock.read_text())
        edit(doc)
        project.lock.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")

    return breaks


def _corrupt_lock(project: Project, _t: Template) -> None:
    project.lock.write_bytes(project.lock.read_bytes()[:-40])


def _damaged_results_log(project: Project, _t: Template) -> None:
    """A results log a killed apply left, whose entries are not results."""
    serial = json.loads(project.lock.read_text())["serial"]
    log = results_log_path(project.lock, serial)
    log.write_text('{"change": {}, "result": {}}\n' * 2)


def _unreachable(project: Project, _t: Template) -> None:
    _lock_doc(lambda doc: doc.update(endpoint="http://127.0.0.1:9"))(project, _t)
    project.env["FACESYNC_ENDPOINT"] = "http://127.0.0.1:9"


def _wrong_key(project: Project, _t: Template) -> None:
    project.env["FACESYNC_KEY"] = "f00d" * 8


def _no_key(project: Project, _t: Template) -> None:
    del project.env["FACESYNC_KEY"]


CASES = [
    Case("malformed YAML", _text("version: 1\ngroups: [\n  GROUP: {\n"), "fix the syntax"),
    Case(
        "unknown key",
        _text(
            "version: 1\ngroups:\n  GROUP:\n    name: x\n    nmae: typo\n    persons:\n"
            "      harris:\n        faces: [PHOTO]\n"
        ),
        "did you mean 'name'",
    ),
    Case(
        "wrong type",
        _text(
            "version: 1\ngroups:\n  GROUP:\n    name: x\n    persons:\n"
            "      harris:\n        faces: PHOTO\n"
        ),
        "must be a list",
    ),
    Case(
        "bad group id",
        _text(
            "version: 1\ngroups:\n  Bad Group!:\n    name: x\n    persons:\n"
            "      harris:\n        faces: [PHOTO]\n"
        ),
        "use 1-64 of a-z",
    ),
    Case(
        "bad person key",
        _text(
            "version: 1\ngroups:\n  GROUP:\n    name: x\n    persons:\n"
            "      har/ris:\n        faces: [PHOTO]\n"
        ),
        "is not a valid person key",
    ),
    Case(
        "duplicate key",
        _text(
            "version: 1\ngroups:\n  GROUP:\n    name: x\n    persons:\n"
            "      harris:\n        faces: [PHOTO]\n      harris:\n        faces: [PHOTO]\n"
        ),
        "keep only one",
    ),
    Case("glob matching nothing", _with_face("faces/nobody/*.jpg"), "fix the pattern"),
    Case("path escaping with ..", _dotdot, "--allow-outside"),
    Case("absolute path", _absolute, "--allow-outside"),
    Case("symlink out of the folder", _symlink_out, "--allow-outside"),
    Case("zero-byte image", _with_face("faces/harris/bad.jpg", lambda _b: b""), "replace it with"),
    Case(
        "truncated image",
        _with_face("faces/harris/bad.jpg", lambda b: b[: len(b) // 2]),
        "replace it with an intact copy",
    ),
    Case(
        "text named .jpg",
        _with_face("faces/harris/bad.jpg", lambda _b: b"just some notes\n" * 100),
        "convert it",
    ),
    Case("undersized image", _with_face("faces/harris/bad.jpg", _tiny_jpeg), "use a larger photo"),
    Case(  # above 6 MB is sent downscaled; only what facesync will not read is refused
        "image beyond what facesync downscales",
        _with_face("faces/harris/bad.jpg", lambda b: b + b"\0" * (SOURCE_MAX_BYTES + 1)),
        "export a smaller copy of it",
    ),
    Case(
        "decompression bomb",
        _with_face("faces/harris/bad.png", _bomb_png, name="faces/harris/bad.png"),
        "resize it",
    ),
    Case(
        "targetFace outside the image",
        _with_face(
            {"path": "faces/harris/big.jpg", "targetFace": [0, 0, 5000, 5000]},
            lambda b: b + b"\0",
            name="faces/harris/big.jpg",
        ),
        "keep left + width",
    ),
    Case("more than 248 faces", _many_faces, "remove some"),
    Case("YAML alias bomb", _text(_ALIAS_BOMB), "use fewer aliases"),
    Case("corrupt lock", _corrupt_lock, "restore it from Git", problems=None),
    Case("damaged results log", _damaged_results_log, "is damaged at entry 1", problems=None),
    Case(
        "lock from a newer version",
        _lock_doc(lambda d: d.update(version=3)),
        "upgrade facesync",
        problems=None,
    ),
    Case(
        "lock for another endpoint",
        _lock_doc(lambda d: d.update(endpoint="https://other.example:443")),
        "--rebind",
        problems=None,
    ),
    Case("unreachable endpoint", _unreachable, "check --endpoint", problems=None),
    Case("wrong key", _wrong_key, "check FACESYNC_KEY", problems=None, reads_allowed=True),
    Case("no key", _no_key, "set FACESYNC_KEY", problems=None),
]

_DIAGNOSTIC = re.compile(r"facesync\.yaml:\d+: \S.*")


# `plan` and `apply` load the manifest by the same first call, so manifest cases run
# through `apply` (the command that writes); the lock, endpoint and key cases, whose
# paths differ (apply takes the run lock first), run through both.
RUNS = [
    pytest.param(case, command, id=f"{case.name}-{command[0]}")
    for case in CASES
    for command in ([("apply", "--yes")] if case.problems else [("plan",), ("apply", "--yes")])
]


@pytest.mark.parametrize(("case", "command"), RUNS)
def test_a_bad_input_fails_cleanly_calls_nothing_and_keeps_the_lock(
    case: Case,
    command: tuple[str, ...],
    template: Template,
    proxy: CountingProxy,
    emulator: RunningEmulator,
    tmp_path: Path,
) -> None:
    root = tmp_path / "project"
    shutil.copytree(template.root, root, symlinks=True)
    project = Project(root, _env(proxy), Server(emulator))
    case.breaks(project, template)
    lock_before = project.lock.read_bytes()
    server_before = project.server.persons(template.group_id)
    calls_before = proxy.snapshot()

    result = project.cli(*command)

    _assert_one_clear_failure(result, case)
    calls = proxy.snapshot() - calls_before
    if case.reads_allowed:
        assert not {m for m in calls if m in _MUTATING}, calls
    else:
        assert not calls, f"the server was called: {dict(calls)}"
    assert project.lock.read_bytes() == lock_before
    assert project.server.persons(template.group_id) == server_before
    assert not list((root / ".facesync").glob("*.holder.json"))


def _assert_one_clear_failure(result: Result, case: Case) -> None:
    assert result.code == 1, result.out + result.err
    assert "Traceback" not in result.err
    assert result.out == ""
    lines = result.err.rstrip("\n").split("\n")
    assert lines[0].startswith("Error: "), result.err
    lines[0] = lines[0].removeprefix("Error: ")
    if case.problems is None:
        assert len(lines) == 1, result.err
        assert not _DIAGNOSTIC.match(lines[0])
    else:
        assert len(lines) == case.problems, result.err
        assert all(_DIAGNOSTIC.fullmatch(line) for line in lines), result.err
    assert case.says in result.err


def test_validate_reports_every_manifest_problem_at_once_without_the_network(
    template: Template, proxy: CountingProxy, emulator: RunningEmulator, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    shutil.copytree(template.root, root, symlinks=True)
    project = Project(root, _env(proxy), Server(emulator))
    (root / "faces" / "harris" / "empty.jpg").write_bytes(b"")
    project.manifest.write_text(
        f"version: 1\ngroups:\n  {template.group_id}:\n    name: x\n    nmae: typo\n"
        "    persons:\n      har/ris:\n        faces: [faces/harris/empty.jpg]\n"
        "      ok:\n        faces: [faces/harris/empty.jpg, faces/nobody/*.jpg]\n"
    )
    lock_before = project.lock.read_bytes()
    calls_before = proxy.snapshot()
    result = project.cli("validate")
    assert result.code == 1 and "Traceback" not in result.err
    lines = result.err.rstrip("\n").removeprefix("Error: ").split("\n")
    assert len(lines) >= 4 and all(_DIAGNOSTIC.fullmatch(line) for line in lines), result.err
    assert proxy.snapshot() == calls_before
    assert project.lock.read_bytes() == lock_before


# --- destructive edits: shown loudly, approved only by typing the group id ----------------
#
# commands/apply.py and commands/destroy.py approve a plan with
# common.confirm_plan(); until they do, the tests that need it are expected to fail.
@pytest.fixture
def two_groups(project: Project, small_faces: Path, gid: str) -> Project:
    """Two applied groups, `<gid>-a` (two persons) and `<gid>-b` (one)."""
    harris = [project.add_photo("harris", p) for p in people(small_faces, "kamala_harris")]
    kelly = [project.add_photo("kelly", p) for p in people(small_faces, "mark_kelly")]
    project.groups = {  # type: ignore[attr-defined]
        f"{gid}-a": {
            "name": "A",
            "persons": {"harris": {"faces": harris[:1]}, "kelly": {"faces": kelly[:1]}},
        },
        f"{gid}-b": {"name": "B", "persons": {"harris": {"faces": harris[1:]}}},
    }
    project.write_manifest(project.groups)  # type: ignore[attr-defined]
    applied = project.cli("apply", "--yes")
    assert applied.code == 0, applied.err
    return project


def _without(project: Project, group_id: str) -> None:
    groups = project.groups  # type: ignore[attr-defined]
    project.write_manifest({g: body for g, body in groups.items() if g != group_id})


def _emptied(project: Project, group_id: str) -> None:
    groups = dict(project.groups)  # type: ignore[attr-defined]
    groups[group_id] = {**groups[group_id], "persons": {}}
    project.write_manifest(groups)


def on_a_terminal(project: Project, *args: str, answer: str) -> Result:
    """Run the CLI on a pseudo-terminal and type `answer` when it asks."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "facesync", *args],
        cwd=project.root,
        env={**project.env, "TERM": "dumb"},
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    seen, answered = b"", False
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the run ended and closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if not answered and b"Enter a value" in seen:
                os.write(controller, answer.encode() + b"\n")
                answered = True
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(controller)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))
    return Result(code, text.replace("\r\n", "\n"), "")


def test_a_plan_that_deletes_or_empties_a_group_warns_loudly(two_groups: Project) -> None:
    a, b = sorted(two_groups.groups)  # type: ignore[attr-defined]
    _without(two_groups, b)
    removed = two_groups.cli("plan")
    assert removed.code == 0
    assert f"WARNING: Deleting group '{b}' deletes everything in it" in removed.out
    _emptied(two_groups, a)
    emptied = two_groups.cli("plan")
    assert f"WARNING: Deleting all 2 persons this lock manages in group '{a}'" in emptied.out


def test_without_a_terminal_deleting_a_group_is_refused_unless_yes(two_groups: Project) -> None:
    _, b = sorted(two_groups.groups)  # type: ignore[attr-defined]
    _without(two_groups, b)
    lock_before = two_groups.lock.read_bytes()
    refused = two_groups.cli("apply")
    assert refused.code == 1 and "--yes" in refused.err and "Traceback" not in refused.err
    assert two_groups.lock.read_bytes() == lock_before
    assert two_groups.server.group(b).status_code == 200
    assert two_groups.cli("apply", "--yes").code == 0
    assert two_groups.server.group(b).status_code == 404


def test_without_a_terminal_the_refusal_names_the_group_at_risk(two_groups: Project) -> None:
    _, b = sorted(two_groups.groups)  # type: ignore[attr-defined]
    _emptied(two_groups, b)
    refused = two_groups.cli("destroy")
    assert refused.code == 1
    assert f"'{b}'" in refused.err and "--yes" in refused.err


def test_on_a_terminal_an_ordinary_change_is_approved_by_yes(
    two_groups: Project, small_faces: Path
) -> None:
    a, _ = sorted(two_groups.groups)  # type: ignore[attr-defined]
    groups = two_groups.groups  # type: ignore[attr-defined]
    groups[a]["name"] = "A renamed"
    two_groups.write_manifest(groups)
    result = on_a_terminal(two_groups, "apply", answer="yes")
    assert result.code == 0, result.out
    assert "Only 'yes' will be accepted" in result.out
    assert two_groups.server.group(a).json()["name"] == "A renamed"


def test_on_a_terminal_yes_does_not_delete_a_group_but_typing_its_id_does(
    two_groups: Project,
) -> None:
    _, b = sorted(two_groups.groups)  # type: ignore[attr-defined]
    _without(two_groups, b)
    lock_before = two_groups.lock.read_bytes()
    reflex = on_a_terminal(two_groups, "apply", answer="yes")
    assert reflex.code == 1
    assert f"Type its id to approve: {b}" in reflex.out
    assert "cancelled" in reflex.out and "Traceback" not in reflex.out
    assert two_groups.lock.read_bytes() == lock_before
    assert two_groups.server.group(b).status_code == 200

    typed = on_a_terminal(two_groups, "apply", answer=b)
    assert typed.code == 0, typed.out
    assert two_groups.server.group(b).status_code == 404


def test_on_a_terminal_emptying_a_group_asks_for_its_id(two_groups: Project) -> None:
    a, _ = sorted(two_groups.groups)  # type: ignore[attr-defined]
    _emptied(two_groups, a)
    typed = on_a_terminal(two_groups, "apply", answer=a)
    assert typed.code == 0, typed.out
    assert f"Type its id to approve: {a}" in typed.out
    assert two_groups.server.persons(a) == []


def test_on_a_terminal_destroy_asks_for_every_group_id(two_groups: Project) -> None:
    a, b = sorted(two_groups.groups)  # type: ignore[attr-defined]
    one = on_a_terminal(two_groups, "destroy", answer=a)
    assert one.code == 1 and f"Type their ids, separated by spaces, to approve: {a} {b}" in one.out
    assert two_groups.server.group(a).status_code == 200
    both = on_a_terminal(two_groups, "destroy", answer=f"{b} {a}")
    assert both.code == 0, both.out
    assert two_groups.server.group(a).status_code == 404
    assert two_groups.server.group(b).status_code == 404
