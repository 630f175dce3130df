"""End-to-end fixtures: the real `facesync` CLI, run as a subprocess, against
the real emulator listening on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from facesync.emulator.server import EmulatorConfig, RunningEmulator, start_emulator
from tests.lock_reading import read_lock_json

KEY = "e2e0" * 8


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    emu = start_emulator(
        EmulatorConfig(data_dir=tmp_path_factory.mktemp("emulator"), key=KEY, port=0)
    )
    yield emu
    emu.stop()


@dataclass
class Result:
    code: int
    out: str
    err: str


class Server:
    """Direct REST calls, to look at (or tamper with) the server behind facesync's back."""

    def __init__(self, emu: RunningEmulator) -> None:
        self.base = emu.url + "/face/v1.0"
        self.headers = {"Ocp-Apim-Subscription-Key": emu.key}

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, self.base + path, headers=self.headers, timeout=30,
                                **kwargs)

    def persons(self, group_id: str, kind: str = "persongroups") -> list[dict]:
        response = self.call("GET", f"/{kind}/{group_id}/persons")
        response.raise_for_status()
        return response.json()

    def group(self, group_id: str) -> requests.Response:
        params = {"returnRecognitionModel": "true"}
        return self.call("GET", f"/persongroups/{group_id}", params=params)


@dataclass
class Project:
    """A folder with a manifest, its photos and a CLI bound to one endpoint."""

    root: Path
    env: dict[str, str]
    server: Server

    @property
    def manifest(self) -> Path:
        return self.root / "facesync.yaml"

    @property
    def lock(self) -> Path:
        return self.root / "facesync.lock.json"

    def write_manifest(self, groups: dict) -> None:
        self.manifest.write_text(yaml.safe_dump({"version": 1, "groups": groups}, sort_keys=False))

    def lock_json(self) -> dict:
        """The lock's JSON with every face spelled out (tests/lock_reading.py)."""
        return read_lock_json(self.lock)

    def cli(self, *args: str, input: str | None = None, env: dict | None = None) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "facesync", *args],
            cwd=self.root,
            env={**self.env, **(env or {})},
            input=input,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def add_photo(self, person_folder: str, src: Path, name: str | None = None) -> str:
        dest = self.root / "faces" / person_folder / (name or src.name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        return dest.relative_to(self.root).as_posix()


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACESYNC_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


@pytest.fixture
def project(tmp_path: Path, emulator: RunningEmulator) -> Project:
    key_file = tmp_path / "key.txt"
    key_file.write_text(emulator.key)
    env = {**_base_env(), "FACESYNC_ENDPOINT": emulator.url, "FACESYNC_KEY": emulator.key}
    root = tmp_path / "project"
    root.mkdir()
    return Project(root, env, Server(emulator))


@pytest.fixture
def embedded_project(tmp_path: Path) -> Project:
    """A project with no endpoint set: facesync runs the emulator in-process."""
    root = tmp_path / "project"
    root.mkdir()
    return Project(root, _base_env(), server=None)  # type: ignore[arg-type]


@pytest.fixture
def gid() -> str:
    """A fresh group id, since the session's emulator is shared."""
    import uuid

    return "g-" + uuid.uuid4().hex[:12]


def people(small_faces: Path, person: str) -> list[Path]:
    return sorted((small_faces / person).glob("*.jpg"))
