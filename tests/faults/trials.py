"""One trial of the fault campaign: a fresh project and a fresh in-process emulator,
an apply that is killed (SIGKILL) or that meets injected faults, a plain apply to
recover, then every invariant of tests/faults/invariants.py plus an empty plan.

Every trial is reproducible from its seed: the gallery, the emulator's latency,
the kill delay and the fault sequence all derive from it (the moment a kill
lands in the apply still depends on the machine's speed).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from facesync.emulator.faults import FaultCounts
from facesync.emulator.server import EmulatorConfig, RunningEmulator, start_emulator
from tests.faults.gallery import Gallery, Pool, random_gallery, write_project
from tests.faults.invariants import Verdict, verify

REPO = Path(__file__).resolve().parents[2]
KEY = "fault" * 6
CLI_TIMEOUT = 180  # seconds for one CLI run; the process is killed past it
POLL_SECONDS = 0.002  # how often the kill trigger looks at the emulator's counters
IDLE_TIMEOUT = 30  # seconds to let requests of a killed client finish on the server
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

    def recovered(self) -> tuple[int, int, int] | None:
        """(failed calls, extra passes, extra calls) when apply says it recovered."""
        match = RECOVERED.search(self.out + self.err)
        return (int(match[1]), int(match[2]), int(match[3])) if match else None


@dataclass(frozen=True)
class TrialResult:
    kind: str  # "kill" | "fault"
    seed: int
    gallery: Gallery
    first: CliRun
    recovery: CliRun | None  # the plain apply that followed, if one ran
    plan: CliRun  # `plan --detailed-exitcode` after recovery: exit 0 means no changes
    verdict: Verdict
    faults: FaultCounts  # the emulator's counters over the whole trial
    kill_delay: float | None = None  # seconds after the start that the kill was sent
    kill_point: str = ""  # the seeded moment: which write, plus what delay

    @property
    def plan_code(self) -> int:
        return self.plan.code

    @property
    def kill_delivered(self) -> bool:
        return self.kill_delay is not None

    @property
    def recovery_needed(self) -> bool:
        return self.kill_delivered or self.first.code != 0

    @property
    def ok(self) -> bool:
        final = self.recovery or self.first
        return self.verdict.ok and final.code == 0 and self.plan_code == 0

    @property
    def recovered(self) -> tuple[int, int, int] | None:
        runs = [run for run in (self.first, self.recovery) if run is not None]
        found = [r for r in (run.recovered() for run in runs) if r is not None]
        if not found:
            return None
        return (sum(r[0] for r in found), sum(r[1] for r in found), sum(r[2] for r in found))

    def describe(self) -> str:
        """Everything needed to reproduce and read a failed trial."""
        runs = [("first apply", self.first), ("recovery apply", self.recovery)]
        if self.plan.code != 0:
            runs.append(("plan after recovery", self.plan))
        logs = "".join(
            f"\n--- {title} (exit {run.code}) ---\n{run.out[-3000:]}{run.err[-3000:]}"
            for title, run in runs
            if run is not None
        )
        problems = "\n".join(f"  - {p}" for p in self.verdict.problems) or "  (none)"
        kill = f"kill at {self.kill_point} ({self.kill_delay}s) " if self.kind == "kill" else ""
        return (
            f"{self.kind} trial seed={self.seed} group={self.gallery.group_id} {kill}"
            f"faults={self.faults.injected} plan_exit={self.plan_code}\n"
            f"problems:\n{problems}{logs}"
        )


def trial_seeds(default: tuple[int, ...]) -> tuple[int, ...]:
    """The seeds to run: FAULT_SEEDS="17,42" replays the trials of a failed run."""
    given = os.environ.get("FAULT_SEEDS", "").strip()
    return tuple(int(s) for s in given.split(",")) if given else default


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
    root: Path, env: dict[str, str], ready: Callable[[], bool], jitter: float
) -> tuple[CliRun, float | None]:
    """`apply --yes`, SIGKILLed `jitter` seconds after `ready()` turns true, unless it
    ended before; returns the run and when the kill was sent (None: not sent)."""
    started = time.monotonic()
    out, err = root / ".killed-apply.out", root / ".killed-apply.err"
    with out.open("w") as out_file, err.open("w") as err_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "facesync", "apply", "--yes"], cwd=root, env=env,
            stdout=out_file, stderr=err_file, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        killed_at = None
        try:
            deadline = started + CLI_TIMEOUT
            while proc.poll() is None and not ready() and time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
            proc.wait(timeout=jitter)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            killed_at = round(time.monotonic() - started, 3)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
    run = CliRun(proc.returncode, out.read_text(), err.read_text(), time.monotonic() - started)
    out.unlink()
    err.unlink()
    return run, killed_at


def trial_gallery(kind: str, seed: int, pool: Pool) -> Gallery:
    rng = random.Random(f"{kind}-gallery-{seed}")
    return random_gallery(rng, pool, f"{kind}-{seed}")


def kill_trial(
    seed: int, workdir: Path, pool: Pool, latency_ms: tuple[int, int] = (50, 100)
) -> TrialResult:
    """SIGKILL an apply at a seeded moment, then apply again.

    The moment: once the emulator has received the k-th write of the apply (k
    drawn from 1 to the number of writes a clean apply makes, training
    included), plus a delay of up to 1.5 request latencies. So kills land in
    every phase, before, during and after a write's commit, on any machine.
    """
    rng = random.Random(f"kill-{seed}")
    gallery = trial_gallery("kill", seed, pool)
    latency = rng.randint(*latency_ms)
    writes = 2 + len(gallery.persons) + gallery.face_count  # group, persons, faces, train
    kth, jitter = rng.randint(1, writes), round(rng.uniform(0, 1.5 * latency / 1000), 3)
    emulator = start_emulator(
        EmulatorConfig(data_dir=workdir / "emulator", key=KEY, port=0, latency_ms=latency)
    )
    try:
        root, env = workdir / "project", cli_env(emulator)
        write_project(root, gallery)
        first, killed_at = run_and_kill(
            root, env, lambda: emulator.faults.counts().mutating >= kth, jitter
        )
        # A request the killed apply had sent may still commit: as a user would,
        # start the next apply once the server has settled.
        emulator.wait_idle(IDLE_TIMEOUT)
        recovery = run_cli(root, env, "apply", "--yes")
        point = f"write {kth}/{writes} +{jitter}s"
        return _finish("kill", seed, gallery, emulator, root, first, recovery,
                       kill_delay=killed_at, kill_point=point)  # fmt: skip
    finally:
        emulator.stop()


def fault_trial(seed: int, workdir: Path, pool: Pool, fault_rate: float = 0.2) -> TrialResult:
    """One apply against an emulator that fails `fault_rate` of the writes; when it
    reports failures, the faults stop and a plain apply recovers."""
    gallery = trial_gallery("fault", seed, pool)
    emulator = start_emulator(
        EmulatorConfig(data_dir=workdir / "emulator", key=KEY, port=0,
                       fault_rate=fault_rate, fault_seed=seed)
    )  # fmt: skip
    try:
        root, env = workdir / "project", cli_env(emulator)
        write_project(root, gallery)
        first = run_cli(root, env, "apply", "--yes")
        emulator.faults.rate = 0.0  # the network heals
        recovery = run_cli(root, env, "apply", "--yes") if first.code != 0 else None
        return _finish("fault", seed, gallery, emulator, root, first, recovery)
    finally:
        emulator.stop()


def clean_requests(gallery: Gallery, workdir: Path) -> int:
    """Requests a clean apply of `gallery` costs, on a healthy emulator of its own."""
    emulator = start_emulator(EmulatorConfig(data_dir=workdir / "emulator", key=KEY, port=0))
    try:
        root = workdir / "project"
        write_project(root, gallery)
        run = run_cli(root, cli_env(emulator), "apply", "--yes")
        if run.code != 0:
            raise AssertionError(f"a clean apply failed:\n{run.out}{run.err}")
        return emulator.faults.counts().requests
    finally:
        emulator.stop()


def _finish(
    kind: str, seed: int, gallery: Gallery, emulator: RunningEmulator, root: Path,
    first: CliRun, recovery: CliRun | None, **kill: object,
) -> TrialResult:  # fmt: skip
    counts = emulator.faults.counts()  # before the checks' own reads
    plan = run_cli(root, cli_env(emulator), "plan", "--detailed-exitcode")
    verdict = verify(emulator.url, emulator.key, gallery.expected(), root / "facesync.lock.json")
    return TrialResult(kind, seed, gallery, first, recovery, plan, verdict, counts,
                       **kill)  # type: ignore[arg-type]  # fmt: skip
