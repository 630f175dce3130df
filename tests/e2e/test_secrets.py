"""The key never shows: every command that talks to an endpoint, its error
paths and --debug, with a distinctive key; then stdout, stderr, the lock, the
saved plan, `.facesync/`, and the HOME and TMPDIR the runs used are searched
for it."""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from facesync.emulator.server import EmulatorConfig, RunningEmulator, start_emulator

from .conftest import Project, Result, Server, _base_env, people

SECRET = "k3y-" + secrets.token_hex(14)
WRONG = "wr0ng-" + secrets.token_hex(13)


@pytest.fixture(scope="module")
def keyed_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    emu = start_emulator(
        EmulatorConfig(data_dir=tmp_path_factory.mktemp("keyed-emulator"), key=SECRET, port=0)
    )
    yield emu
    emu.stop()


def _leaks(data: bytes) -> list[str]:
    """Which secret, or which half of one, `data` holds."""
    found = []
    for key in (SECRET, WRONG):
        for part in (key, key[: len(key) // 2], key[len(key) // 2 :]):
            if part.encode() in data:
                found.append(part)
    return found


def test_the_leak_search_finds_a_key_even_cut_in_half() -> None:
    assert _leaks(f"x{SECRET}y".encode()) == [SECRET, SECRET[:16], SECRET[16:]]
    assert _leaks(f"key={WRONG[:10]}".encode()) == []
    assert _leaks(f"...{WRONG[-16:]}".encode())


def test_the_key_appears_in_no_output_file_or_cache(
    tmp_path: Path, keyed_emulator: RunningEmulator, small_faces: Path
) -> None:
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    root = tmp_path / "project"
    root.mkdir()
    base = {
        **_base_env(),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "FACESYNC_ENDPOINT": keyed_emulator.url,
    }
    with_env_key = Project(root, {**base, "FACESYNC_KEY": SECRET}, Server(keyed_emulator))
    with_key_file = Project(root, base, Server(keyed_emulator))
    key_file = tmp_path / "face.key"
    key_file.write_text(SECRET + "\n")

    photo = with_env_key.add_photo("harris", people(small_faces, "kamala_harris")[0])
    with_env_key.write_manifest({"secret-g": {"name": "S", "persons": {"h": {"faces": [photo]}}}})
    probe = str(people(small_faces, "kamala_harris")[1])
    results: list[tuple[str, Result]] = []

    def run(project: Project, *args: str, env: dict | None = None) -> Result:
        result = project.cli(*args, env=env)
        results.append((" ".join(args), result))
        return result

    for debug in ((), ("--debug",)):
        assert run(with_env_key, *debug, "validate").code == 0
        assert run(with_env_key, *debug, "plan").code == 0
        assert run(with_env_key, *debug, "plan", "--json").code == 0
        assert run(with_env_key, *debug, "plan", "-o", "saved.plan").code == 0
        assert run(with_env_key, *debug, "apply", "saved.plan").code == 0
        assert run(with_env_key, *debug, "apply", "--yes").code == 0
        assert run(with_env_key, *debug, "show").code == 0
        assert run(with_env_key, *debug, "show", "--json").code == 0
        assert run(with_env_key, *debug, "identify", probe).code == 0
        assert run(with_env_key, *debug, "identify", probe, "--json").code == 0
        assert run(with_key_file, *debug, "--key-file", str(key_file), "plan").code == 0
        assert run(with_key_file, *debug, "--key-file", str(key_file), "apply", "--yes").code == 0
        # error paths (apply and destroy meet them in the same refresh as plan):
        # a refused key, an endpoint nobody listens on, a key given nowhere
        for args in (("plan",), ("identify", probe)):
            refused = run(with_env_key, *debug, *args, env={"FACESYNC_KEY": WRONG})
            assert refused.code == 1 and "401" in refused.err
        unreachable = {"FACESYNC_ENDPOINT": "http://127.0.0.1:9"}
        gone = run(with_env_key, *debug, "plan", "--rebind", env=unreachable)
        assert gone.code == 1 and "127.0.0.1:9" in gone.err
        assert run(with_key_file, *debug, "plan").code == 1
        assert run(with_env_key, *debug, "destroy", "--yes").code == 0

    leaks = [(what, _leaks((r.out + r.err).encode())) for what, r in results]
    assert [leak for leak in leaks if leak[1]] == []
    assert (root / "saved.plan").exists() and (root / ".facesync").is_dir()
    for folder in (root, home, tmp):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            assert _leaks(path.read_bytes()) == [], f"{path} holds the key"


# --- keys that are no header value (issue 9) ----------------------------------------

PAIR = f"{SECRET}\n{WRONG}"  # both Azure keys pasted at once
BAD_KEYS = {
    "two keys in FACESYNC_KEY": ({"FACESYNC_KEY": PAIR}, None),
    "a smart quote in FACESYNC_KEY": ({"FACESYNC_KEY": f"{SECRET[:12]}\u2019{SECRET[12:]}"}, None),
    "a space between two keys": ({"FACESYNC_KEY": f"{SECRET} {WRONG}"}, None),
    "two keys in the key file": ({}, PAIR + "\n"),
    "a non-Latin-1 key file": ({}, SECRET[:12] + "\u2019" + SECRET[12:] + "\n"),
}


@pytest.mark.parametrize("case", sorted(BAD_KEYS))
def test_a_malformed_key_is_refused_by_name_and_never_shown(
    tmp_path: Path, keyed_emulator: RunningEmulator, case: str
) -> None:
    env, key_text = BAD_KEYS[case]
    root = tmp_path / "project"
    root.mkdir()
    project = Project(root, {**_base_env(), "FACESYNC_ENDPOINT": keyed_emulator.url, **env},
                      Server(keyed_emulator))
    project.write_manifest({})
    args: tuple[str, ...] = ()
    if key_text is not None:
        (tmp_path / "face.key").write_text(key_text, encoding="utf-8")
        args = ("--key-file", str(tmp_path / "face.key"))
    for debug in ((), ("--debug",)):
        result = project.cli(*debug, *args, "plan")
        assert result.code == 1
        assert "is not a valid key" in result.err, result.err
        assert _leaks((result.out + result.err).encode()) == [], result.err
        assert _pieces_shown(result.out + result.err) == []
        if not debug:
            assert len(result.err.strip().splitlines()) == 1, result.err
    assert not project.lock.exists()


def _pieces_shown(text: str) -> list[str]:
    """Any 8 characters in a row of either key (a mangled key shows in pieces)."""
    pieces = {key[i : i + 8] for key in (SECRET, WRONG) for i in range(len(key) - 7)}
    return sorted(piece for piece in pieces if piece in text)


# --- `serve` takes its key from FACESYNC_KEY or --key-file, never only from a flag -------


def _serve(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[str, str]:
    """Start `facesync serve`, read its start line, check which key it wants,
    stop it; return its stdout and stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "facesync", "serve", "--port", "0", "--workers", "0",
         "--data", str(tmp_path / "serve-data"), *args],
        env={**_base_env(), **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert " on http://127.0.0.1:" in line, line
        url = line.split(" on ", 1)[1].split("/face/", 1)[0]
        asked = [
            requests.get(f"{url}/face/v1.0/persongroups", timeout=30,
                         headers={"Ocp-Apim-Subscription-Key": key}).status_code
            for key in (SECRET, WRONG)
        ]  # fmt: skip
        assert asked == [200, 401]
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    return line + out, err


def test_serve_reads_its_key_from_the_environment_or_a_key_file_and_never_prints_it(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "serve.key"
    key_file.write_text(SECRET + "\n")
    for env, args in (({"FACESYNC_KEY": SECRET}, ()), ({}, ("--key-file", str(key_file)))):
        out, err = _serve(tmp_path, env, *args)
        assert _leaks((out + err).encode()) == [], out + err
        assert "Traceback" not in err


def test_serve_refuses_a_malformed_key_by_name_before_it_listens(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "facesync", "serve", "--port", "0", "--data", str(tmp_path)],
        env={**_base_env(), "FACESYNC_KEY": PAIR}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "FACESYNC_KEY is not a valid key" in result.stderr, result.stderr
    assert _leaks((result.stdout + result.stderr).encode()) == []


def test_serve_help_names_every_key_source_and_warns_about_the_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "facesync", "serve", "--help"],
        env=_base_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    text = " ".join(result.stdout.split())
    assert result.returncode == 0
    for words in ("FACESYNC_KEY", "--key-file", "process list", "else FACESYNC_KEY"):
        assert words in text, text
