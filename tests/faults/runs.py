"""Running the real CLI (`python -m facesync`) as a subprocess against an emulator:
to completion, or SIGKILLed at a chosen moment. Every run has a timeout and a
process that outlives it is killed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from facesync.emulator.server import RunningEmulator

REPO = Path(__file__).resolve().parents[2]
CLI_TIMEOUT = 180  # seconds for one CLI run; the process is killed past it
POLL_SECONDS = 0.002  # how often a kill trigger is looked at
# "Recovered from N failed calls in P extra passes (C extra calls)."
RECOVERED = re.compile(
    r"Recovered from (\d+) failed calls? in (\d+) extra pass(?:es)? \((\d+) extra calls?\)"
)


@dataclass(frozen=True)
class CliRun:
    code: int  # -9 when killed
    out: str
    err: str
    seconds: float
    killed_at: float | None = None  # seconds after the start that SIGKILL was sent

    def recovered(self) -> tuple[int, int, int] | None:
        """(failed calls, extra passes, extra calls) when apply says it recovered."""
        match = RECOVERED.search(self.out + self.err)
        return (int(match[1]), int(match[2]), int(match[3])) if match else None


def cli_env(emulator: RunningEmulator) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACESYNC_")}
    env.update(
        PYTHONPATH=str(REPO), FACESYNC_ENDPOINT=emulator.url, FACESYNC_KEY=emulator.key,
        FACESYNC_TIER="unlimited",
    )  # fmt: skip
    return env


def run_cli(root: Path, env: dict[str, str], *args: str) -> CliRun:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "facesync", *args], cwd=root, env=env, capture_output=True,
        text=True, timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return CliRun(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)


def run_and_kill(
    root: Path, env: dict[str, str], ready: Callable[[], bool], delay: float,
    args: tuple[str, ...] = ("apply", "--yes"),
) -> CliRun:  # fmt: skip
    """`facesync *args` (`apply --yes`), SIGKILLed `delay` seconds after `ready()`
    turns true, unless it ended before."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "facesync", *args], cwd=root, env=env,
            stdout=out, stderr=err, stdin=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        killed_at = None
        try:
            deadline = started + CLI_TIMEOUT
            while proc.poll() is None and not ready() and time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            killed_at = round(time.monotonic() - started, 3)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
        out.seek(0)
        err.seek(0)
        texts = out.read(), err.read()
    return CliRun(proc.returncode, *texts, time.monotonic() - started, killed_at)
