"""The key never shows: every command that talks to an endpoint, its error
paths and --debug, with a distinctive key; then stdout, stderr, the lock, the
saved plan, `.facesync/`, and the HOME and TMPDIR the runs used are searched
for it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

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
