"""One trial of the fault campaign: a fresh project and a fresh in-process emulator,
an apply that is killed (SIGKILL) or that meets injected faults, a plain apply to
recover, then every invariant of tests/faults/invariants.py plus an empty plan.

Half of the trials start from a server that already holds an earlier manifest
(applied cleanly first), so that the interrupted apply also deletes, replaces
and updates, not only creates. Every trial is reproducible from its seed: the
manifests, the emulator's latency, the kill moments and the fault sequence all
derive from it.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from PIL import Image

from facesync.emulator.faults import FaultCounts
from facesync.emulator.server import EmulatorConfig, RunningEmulator, start_emulator
from tests.faults.gallery import (
    Gallery,
    GalleryPerson,
    Pool,
    edited_gallery,
    random_gallery,
    write_project,
    writes_between,
)
from tests.faults.invariants import Verdict, verify
from tests.faults.runs import CliRun, cli_env, run_and_kill, run_cli

KEY = "fault" * 6
IDLE_TIMEOUT = 30  # seconds to let requests of a killed client finish on the server
EDIT_ODDS = 0.5  # trials whose server already holds an earlier manifest
SECOND_KILL_ODDS = 0.3  # kill trials that also kill the first recovery apply
EDIT_AFTER_KILL_ODDS = 0.25  # kill trials whose manifest is edited before the recovery
SAVED_ODDS = 0.25  # kill and fault trials whose first apply runs `plan --target X -o P`'s P
KIND_CHANGE_ODDS = 0.25  # trials from an earlier manifest that also change the group's kind
LARGE = "largePersonGroup"
DISK_FAULTS = ("journal:short", "journal:enospc", "journal:eio", "results:short",
               "results:enospc")  # fmt: skip


class TrialError(AssertionError):
    """A trial could not be set up (the clean apply of its earlier manifest failed)."""


@dataclass(frozen=True)
class TrialResult:
    kind: str  # "kill" | "fault"
    seed: int
    start: Gallery | None  # the earlier manifest the server held, if any
    gallery: Gallery  # the manifest the trial applies (at last)
    first: CliRun  # the apply that was killed or met faults
    recovery: CliRun | None  # the plain apply that followed, if one ran
    plan: CliRun  # `plan --detailed-exitcode` after recovery: exit 0 means no changes
    verdict: Verdict
    faults: FaultCounts  # the emulator's counters over the trial's applies only
    second: CliRun | None = None  # a recovery apply that was killed too
    kill_points: tuple[str, ...] = ()  # the seeded moment of each kill
    edited_after_kill: bool = False  # the manifest changed between the kill and the recovery
    saved_target: str | None = None  # the first apply ran a plan saved with --target this
    disk_fault: str | None = None  # disk trials: FACESYNC_TEST_APPEND_FAULT of the first apply
    # Bad-edit trials: the state right after the failing apply, checked against the
    # manifest before the edit (the replaced face must still be there), and the edit.
    kept: Verdict | None = None
    bad_edit: str | None = None

    @property
    def plan_code(self) -> int:
        return self.plan.code

    @property
    def kill_delivered(self) -> bool:
        return self.first.killed_at is not None

    @property
    def kills_sent(self) -> int:
        return sum(r is not None and r.killed_at is not None for r in (self.first, self.second))

    @property
    def ok(self) -> bool:
        final = self.recovery or self.first
        stopped_well = self.kind != "disk" or disk_stop_ok(self)
        kept = self.kept is None or (self.kept.ok and self.first.code == 1)
        return (self.verdict.ok and final.code == 0 and self.plan_code == 0 and stopped_well
                and kept)

    @property
    def recovered(self) -> tuple[int, int, int] | None:
        """What apply said it recovered from: (failed calls, passes, extra calls), summed."""
        runs = (self.first, self.second, self.recovery)
        found = [r for r in (run.recovered() for run in runs if run is not None) if r]
        if not found:
            return None
        return (sum(r[0] for r in found), sum(r[1] for r in found), sum(r[2] for r in found))

    def describe(self) -> str:
        """Everything needed to reproduce and read a failed trial."""
        runs = [("first apply", self.first), ("killed recovery apply", self.second),
                ("recovery apply", self.recovery)]  # fmt: skip
        if self.plan.code != 0:
            runs.append(("plan after recovery", self.plan))
        logs = "".join(
            f"\n--- {title} (exit {run.code}) ---\n{run.out[-3000:]}{run.err[-3000:]}"
            for title, run in runs
            if run is not None
        )
        problems = "\n".join(f"  - {p}" for p in self.verdict.problems) or "  (none)"
        if self.kept is not None:
            problems += "".join(f"\n  - after the failing apply: {p}" for p in self.kept.problems)
        kills = f"kills at {', '.join(self.kill_points)} " if self.kind == "kill" else ""
        start = "from an earlier manifest " if self.start else ""
        if self.start is not None and self.start.kind != self.gallery.kind:
            start += f"changing its kind to {self.gallery.kind} "
        start += "edited after the kill " if self.edited_after_kill else ""
        start += f"saved plan --target {self.saved_target} " if self.saved_target else ""
        start += f"disk fault {self.disk_fault} " if self.disk_fault else ""
        start += f"bad edit: {self.bad_edit} " if self.bad_edit else ""
        return (
            f"{self.kind} trial seed={self.seed} group={self.gallery.group_id} {start}{kills}"
            f"faults={self.faults.injected} plan_exit={self.plan_code}\n"
            f"problems:\n{problems}{logs}"
        )


def trial_seeds(default: tuple[int, ...]) -> tuple[int, ...]:
    """The seeds to run: FAULT_SEEDS="17,42" replays the trials of a failed run."""
    given = os.environ.get("FAULT_SEEDS", "").strip()
    return tuple(int(s) for s in given.split(",")) if given else default


def trial_galleries(kind: str, seed: int, pool: Pool) -> tuple[Gallery | None, Gallery]:
    """(the earlier manifest or None, the manifest the trial applies); a quarter of
    the edits also change the group's kind (delete the group, create the new kind)."""
    rng = random.Random(f"{kind}-gallery-{seed}")
    first = random_gallery(rng, pool, f"{kind}-{seed}")
    if rng.random() < EDIT_ODDS:
        edited = edited_gallery(rng, pool, first)
        if random.Random(f"{kind}-kind-{seed}").random() < KIND_CHANGE_ODDS:
            edited = replace(edited, kind=LARGE)
        return first, edited
    return None, first


def saved_target(kind: str, seed: int, start: Gallery | None, gallery: Gallery) -> str | None:
    """The --target of a trial whose first apply runs a saved plan (None: a plain
    apply): the person whose changes make the most writes."""
    rng = random.Random(f"{kind}-saved-{seed}")
    if rng.random() >= SAVED_ODDS:
        return None
    return f"{gallery.group_id}/{_busiest(start, gallery)[0]}"


def _busiest(start: Gallery | None, gallery: Gallery) -> tuple[str, int]:
    """(person key, writes) of the person of `gallery` with the most writes."""
    before = {p.key: p for p in start.persons} if start is not None else {}
    if start is not None and start.kind != gallery.kind:
        before = {}

    def writes(person: GalleryPerson) -> int:
        old = before.get(person.key)
        alone = replace(gallery, persons=(person,))
        return writes_between(replace(gallery, persons=(old,)) if old else None, alone)

    return max(((p.key, writes(p)) for p in gallery.persons), key=lambda kw: (kw[1], kw[0]))


def kill_trial(
    seed: int, workdir: Path, pool: Pool, latency_ms: tuple[int, int] = (50, 100)
) -> TrialResult:
    """SIGKILL an apply at a seeded moment (sometimes the next one too), then apply
    again (sometimes after an edit of the manifest: what the killed apply made for
    a person or photo that is gone now must go too).

    The moment: once the emulator has received the k-th write of the apply (k
    drawn from 1 to a lower bound of the writes it makes), plus a delay of up
    to 1.5 request latencies. So kills land in every phase, before, during and
    after a write's commit, on any machine.
    """
    rng = random.Random(f"kill-{seed}")
    start, gallery = trial_galleries("kill", seed, pool)
    target = saved_target("kill", seed, start, gallery)
    latency = rng.randint(*latency_ms)
    writes = writes_between(start, gallery)
    if target is not None:  # the saved plan makes the target's writes (and its group's)
        writes = max(1, _busiest(start, gallery)[1] - (1 if start is None else 0))
    moments = [(rng.randint(1, writes), _delay(rng, latency))]
    moments.append((1, _delay(rng, latency)))  # the recovery: at its first write
    again = rng.random() < SECOND_KILL_ODDS
    final = gallery
    if rng.random() < EDIT_AFTER_KILL_ODDS:
        final = edited_gallery(random.Random(f"kill-re-edit-{seed}"), pool, gallery)
    with _emulator(workdir, latency_ms=latency) as emulator:
        root, env = _prepare(workdir, emulator, start, gallery)
        before = emulator.faults.counts()
        first_args = _saved_apply(root, env, target) if target else ("apply", "--yes")
        first = _kill_at(root, env, emulator, *moments[0], args=first_args)
        second = _kill_at(root, env, emulator, *moments[1]) if again and first.killed_at else None
        if final is not gallery:  # the user edits the manifest before trying again
            write_project(root, final)
        recovery = run_cli(root, env, "apply", "--yes")
        points = [f"write {moments[0][0]}/{writes}+{moments[0][1]}s"]
        if second is not None:
            missed = "" if second.killed_at is not None else " (ended before)"
            points.append(f"recovery write {moments[1][0]}+{moments[1][1]}s{missed}")
        return _finish("kill", seed, start, final, emulator, before, root, first, recovery,
                       second=second, kill_points=tuple(points),
                       edited_after_kill=final is not gallery, saved_target=target)  # fmt: skip


def fault_trial(seed: int, workdir: Path, pool: Pool, fault_rate: float = 0.2) -> TrialResult:
    """One apply against an emulator that fails `fault_rate` of the writes; when it
    reports failures, the faults stop and a plain apply recovers."""
    start, gallery = trial_galleries("fault", seed, pool)
    target = saved_target("fault", seed, start, gallery)
    with _emulator(workdir, fault_seed=seed) as emulator:
        root, env = _prepare(workdir, emulator, start, gallery)
        first_args = _saved_apply(root, env, target) if target else ("apply", "--yes")
        emulator.faults.rate = fault_rate  # the seeded sequence starts here
        before = emulator.faults.counts()
        first = run_cli(root, env, *first_args)
        emulator.faults.rate = 0.0  # the network heals
        # A targeted plan leaves the rest to a plain apply, which must find the
        # journal's intents outside the target still there.
        again = first.code != 0 or target is not None
        recovery = run_cli(root, env, "apply", "--yes") if again else None
        return _finish("fault", seed, start, gallery, emulator, before, root, first, recovery,
                       saved_target=target)


def disk_trial(seed: int, workdir: Path, pool: Pool) -> TrialResult:
    """The first apply's k-th append to its journal or results log fails as on a
    nearly full disk (a short write, ENOSPC, EIO: the test-only hook of
    facesync.state.journal); it must stop with one line, before the call a journal
    write guards; then a plain apply (with space again) converges."""
    rng = random.Random(f"disk-{seed}")
    start, gallery = trial_galleries("disk", seed, pool)
    fault = f"{rng.choice(DISK_FAULTS)}:{rng.randint(1, writes_between(start, gallery))}"
    with _emulator(workdir) as emulator:
        root, env = _prepare(workdir, emulator, start, gallery)
        before = emulator.faults.counts()
        first = run_cli(root, {**env, "FACESYNC_TEST_APPEND_FAULT": fault}, "apply", "--yes")
        recovery = run_cli(root, env, "apply", "--yes")
        return _finish("disk", seed, start, gallery, emulator, before, root, first, recovery,
                       disk_fault=fault)


def bad_edit_trial(seed: int, workdir: Path, pool: Pool, fault_rate: float = 0.2) -> TrialResult:
    """A user's bad edit of an enrolled face: new bytes without a face at its path, or
    a targetFace on an empty corner, applied with the local face check off (as when
    the service's detector and the local one disagree) on a flaky server. The failing
    add must leave the person its old face, on the server and in the lock, and the
    apply must say it failed; once the edit is undone, a plain apply converges."""
    rng = random.Random(f"bad-{seed}")
    start = random_gallery(rng, pool, f"bad-{seed}")
    person = rng.choice(start.persons)
    index = rng.randrange(len(person.faces))
    rel = person.faces[index].path(person.key, index)
    target = person.shared is None and rng.random() < 0.5
    edit = f"{'targetFace on no face' if target else 'bytes without a face'} at {rel}"
    with _emulator(workdir, latency_ms=rng.randint(20, 60), fault_seed=seed) as emulator:
        root, env = _prepare(workdir, emulator, start, start)
        manifest, photo = root / "facesync.yaml", root / rel
        undo = (manifest.read_bytes(), photo.read_bytes())
        if target:
            _set_target_face(manifest, rel, [0, 0, 36, 36])  # a corner: no face there
        else:
            photo.write_bytes(no_face_jpeg(seed))
        before = emulator.faults.counts()
        emulator.faults.rate = fault_rate
        first = run_cli(root, env, "apply", "--yes", "--no-face-check")
        emulator.faults.rate = 0.0
        kept = verify(emulator.url, emulator.key, start.expected(), root / "facesync.lock.json")
        manifest.write_bytes(undo[0])  # the user undoes the edit
        photo.write_bytes(undo[1])
        recovery = run_cli(root, env, "apply", "--yes")
        return _finish("bad-edit", seed, start, start, emulator, before, root, first, recovery,
                       kept=kept, bad_edit=edit)


def no_face_jpeg(seed: int) -> bytes:
    """A 400 px photo of smooth noise: a valid JPEG in which no face can be found."""
    rng = random.Random(f"no-face-{seed}")
    small = Image.frombytes("RGB", (8, 8), bytes(rng.randrange(256) for _ in range(192)))
    out = io.BytesIO()
    small.resize((400, 400), Image.BILINEAR).save(out, "JPEG", quality=90)
    return out.getvalue()


def _set_target_face(manifest: Path, rel: str, box: list[int]) -> None:
    doc = yaml.safe_load(manifest.read_text())
    for person in doc["groups"][next(iter(doc["groups"]))]["persons"].values():
        for i, entry in enumerate(person["faces"]):
            path = entry if isinstance(entry, str) else entry.get("path")
            if path == rel:
                fields = {"path": rel} if isinstance(entry, str) else dict(entry)
                person["faces"][i] = {**fields, "targetFace": box}
    manifest.write_text(yaml.safe_dump(doc, sort_keys=False))


def disk_stop_ok(result: TrialResult) -> bool:
    """A disk trial's first apply either ended well (the k-th append never came) or
    stopped with exactly one error line naming the file and the fix."""
    if result.first.code == 0:
        return True
    errors = [line for line in result.first.err.splitlines() if line.startswith("Error:")]
    return (result.first.code == 1 and len(errors) == 1 and "Traceback" not in result.first.err
            and "cannot write the " in errors[0] and " and run facesync apply again" in errors[0])


def _saved_apply(root: Path, env: dict[str, str], target: str) -> tuple[str, ...]:
    """Save `plan --target TARGET -o P` (on a healthy server); the args applying P."""
    path = root / "targeted.plan"
    run = run_cli(root, env, "plan", "--target", target, "-o", str(path))
    if run.code != 0:
        raise TrialError(f"plan --target {target} -o failed:\n{run.out}{run.err}")
    return ("apply", str(path))


def clean_requests(start: Gallery | None, gallery: Gallery, workdir: Path) -> int:
    """Requests a clean apply of `gallery` costs (from `start`), on a healthy emulator."""
    with _emulator(workdir) as emulator:
        root, env = _prepare(workdir, emulator, start, gallery)
        before = emulator.faults.counts()
        run = run_cli(root, env, "apply", "--yes")
        if run.code != 0:
            raise TrialError(f"a clean apply failed:\n{run.out}{run.err}")
        return emulator.faults.counts().since(before).requests


@contextlib.contextmanager
def _emulator(workdir: Path, **config: object) -> Iterator[RunningEmulator]:
    emulator = start_emulator(
        EmulatorConfig(data_dir=workdir / "emulator", key=KEY, port=0, **config)  # type: ignore
    )
    try:
        yield emulator
    finally:
        emulator.stop()


def _prepare(
    workdir: Path, emulator: RunningEmulator, start: Gallery | None, gallery: Gallery
) -> tuple[Path, dict[str, str]]:
    """The project folder holding `gallery`, after a clean apply of `start` if given."""
    root, env = workdir / "project", cli_env(emulator)
    if start is not None:
        write_project(root, start)
        run = run_cli(root, env, "apply", "--yes")
        if run.code != 0:
            raise TrialError(f"the clean apply of the earlier manifest failed:\n{run.err}")
    write_project(root, gallery)
    return root, env


def _delay(rng: random.Random, latency_ms: int) -> float:
    return round(rng.uniform(0, 1.5 * latency_ms / 1000), 3)


def _kill_at(
    root: Path, env: dict[str, str], emulator: RunningEmulator, kth: int, delay: float,
    args: tuple[str, ...] = ("apply", "--yes"),
) -> CliRun:  # fmt: skip
    mark = emulator.faults.counts().mutating
    run = run_and_kill(
        root, env, lambda: emulator.faults.counts().mutating >= mark + kth, delay, args
    )
    # A request the killed apply had sent may still commit: as a user would,
    # start the next apply once the server has settled.
    emulator.wait_idle(IDLE_TIMEOUT)
    return run


def _finish(
    kind: str, seed: int, start: Gallery | None, gallery: Gallery, emulator: RunningEmulator,
    before: FaultCounts, root: Path, first: CliRun, recovery: CliRun | None, **extra: object,
) -> TrialResult:  # fmt: skip
    counts = emulator.faults.counts().since(before)  # before the checks' own reads
    plan = run_cli(root, cli_env(emulator), "plan", "--detailed-exitcode")
    verdict = verify(emulator.url, emulator.key, gallery.expected(), root / "facesync.lock.json")
    return TrialResult(kind, seed, start, gallery, first, recovery, plan, verdict, counts,
                       **extra)  # type: ignore[arg-type]  # fmt: skip
