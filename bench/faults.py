"""The full fault campaign: kill and fault trials by the dozen, with the figures.

    python bench/faults.py [--trials 50] [--seed 0] [--fault-rate 0.2] [--time-limit 1800]

Runs the trials of tests/faults (tests/faults/trials.py), in turn kill, fault,
kill, fault, disk, bad:
  kill   apply is SIGKILLed at a seeded moment (after the k-th write reaches the
         emulator, plus up to 1.5 request latencies), then a plain apply runs;
  fault  apply meets an emulator that fails --fault-rate of the writes (500,
         503, 429, dropped connections, half of the non-429 ones after the
         commit); if it reports failures, the network heals and a plain apply runs;
  disk   apply's k-th append to its journal or results log fails as on a full
         disk (short write, ENOSPC, EIO); it must stop with one line, then a plain
         apply runs;
  bad    a bad edit of an enrolled face (new bytes without a face, or a targetFace
         on an empty corner) applied with --no-face-check on a flaky server: the
         failing add must leave the old face on the server and in the lock; the
         edit is undone and a plain apply runs.
Galleries give some persons' photos one shared userData (a long-form glob entry);
a quarter of the edits change the group's kind; a quarter of the kill and fault
trials first apply a plan saved with `plan --target X -o P`, then a plain apply.
Each trial has its own project, its own in-process emulator on 127.0.0.1 and
its own data folder, and ends with the invariants of tests/faults/invariants.py
and `facesync plan --detailed-exitcode`. Before each trial, a clean apply of the
same manifest on a healthy emulator counts the requests a run without trouble
needs; the trial's requests beyond that are its recovery's extra calls.

Prints one line per trial, then: trials run, kills delivered, faults injected,
duplicates, orphans, lost ids, mean extra calls per recovery, and the seeds of
failed trials (replay one with FAULT_SEEDS=<seed> pytest tests/faults).
Exits 1 when any trial found a duplicate, an orphan, a lost id or another
broken invariant. Stops starting trials after --time-limit seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.faults.gallery import Pool, build_pool, small_faces_into, warm_up  # noqa: E402
from tests.faults.trials import (  # noqa: E402
    TrialError,
    TrialResult,
    bad_edit_trial,
    clean_requests,
    disk_trial,
    fault_trial,
    kill_trial,
    trial_galleries,
)

KINDS = ("kill", "fault", "kill", "fault", "disk", "bad")  # trial i: KINDS[i % 6]

SHOWN_FAILURES = 5  # failed trials whose details are printed in full


@dataclass
class Campaign:
    asked: int
    results: list[TrialResult] = field(default_factory=list)
    extras: list[int] = field(default_factory=list)  # requests beyond a clean apply, per trial
    errors: list[str] = field(default_factory=list)  # kind:seed of trials that could not be set up


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="facesync-faults-") as tmp:
        work = Path(tmp)
        pool = build_pool(small_faces_into(work / "small-faces"))
        warm_up(pool)
        campaign = run_trials(args, pool, work)
    return report(campaign)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=50, help="number of trials (default 50)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first trial")
    parser.add_argument("--fault-rate", type=float, default=0.2, help="for fault trials")
    parser.add_argument("--time-limit", type=float, default=1800, help="seconds; then stop")
    args = parser.parse_args()
    if args.trials < 1:
        parser.error("--trials must be 1 or more")
    return args


def run_trials(args: argparse.Namespace, pool: Pool, work: Path) -> Campaign:
    """Run the trials in turn, each after a clean apply of its manifest for the baseline."""
    started = time.monotonic()
    campaign = Campaign(args.trials)
    print(f"{'trial':>5} {'kind':5} {'seed':>6} {'result':6} {'from':5} {'when / faults':58} "
          f"{'dup':>3} {'orph':>4} {'lost':>4} {'extra':>5} {'secs':>5}")  # fmt: skip
    for index in range(args.trials):
        if time.monotonic() - started > args.time_limit:
            print(f"time limit of {args.time_limit:.0f} s reached; stopping")
            break
        kind, seed = KINDS[index % len(KINDS)], args.seed + index
        trial_dir = work / f"trial-{index}"
        t0 = time.monotonic()
        try:
            baseline = 0 if kind == "bad" else clean_requests(
                *trial_galleries(kind, seed, pool), trial_dir / "clean")
            if kind == "bad":
                result = bad_edit_trial(seed, trial_dir / "trial", pool, args.fault_rate)
                baseline = result.faults.requests  # nothing to compare with: no extra calls
            elif kind == "kill":
                result = kill_trial(seed, trial_dir / "trial", pool)
            elif kind == "disk":
                result = disk_trial(seed, trial_dir / "trial", pool)
            else:
                result = fault_trial(seed, trial_dir / "trial", pool, args.fault_rate)
        except TrialError as error:  # an apply without any fault failed
            print(f"{index:>5} {kind:5} {seed:>6} ERROR  {error}", flush=True)
            campaign.errors.append(f"{kind}:{seed}")
            continue
        campaign.results.append(result)
        campaign.extras.append(result.faults.requests - baseline)
        print_line(index, result, campaign.extras[-1], time.monotonic() - t0)
    return campaign


def print_line(index: int, r: TrialResult, extra: int, seconds: float) -> None:
    if r.kind == "kill":
        sent = f"{r.kills_sent} kill{'s' if r.kills_sent != 1 else ''}"
        when = f"{sent}: {', '.join(r.kill_points)}" if r.kill_delivered else "ended before kill"
        when += ", then an edit" if r.edited_after_kill else ""
    elif r.kind == "disk":
        when = f"{r.disk_fault}: {'stopped' if r.first.code else 'ended before the fault'}"
    elif r.kind == "bad-edit":
        kept = "old face kept" if r.kept is not None and r.kept.ok else "OLD FACE LOST"
        when = f"{r.bad_edit}: {kept}, {r.faults.injected} faults"
    else:
        again = ", 2nd apply" if r.recovery is not None and not r.saved_target else ""
        when = f"{r.faults.injected} faults{again}"
    if r.saved_target:
        when += ", saved --target plan"
    if r.start is not None and r.start.kind != r.gallery.kind:
        when += ", kind change"
    v = r.verdict
    start = "edit" if r.start else "empty"
    print(f"{index:>5} {r.kind:5} {r.seed:>6} {'ok' if r.ok else 'FAILED':6} {start:5} "
          f"{when:58} {v.duplicates:>3} {v.orphans:>4} {v.lost_ids:>4} {extra:>5} "
          f"{seconds:>5.1f}", flush=True)  # fmt: skip


def report(c: Campaign) -> int:
    results = c.results
    kills = [r for r in results if r.kind == "kill"]
    faulty = [r for r in results if r.kind == "fault"]
    disks = [r for r in results if r.kind == "disk"]
    bad = [r for r in results if r.kind == "bad-edit"]
    kinds: Counter[str] = Counter()
    for r in results:
        kinds.update(dict(r.faults.by_kind))
    after = sum(r.faults.after_commit for r in results)
    # A manifest edited after the kill has no clean apply to compare with.
    recovering = [e for r, e in zip(results, c.extras, strict=True)
                  if _recovering(r) and not r.edited_after_kill
                  and r.kind != "bad-edit"]  # fmt: skip
    reported = [r.recovered for r in results if r.recovered is not None]
    failed = [r for r in results if not r.ok]
    attempted = len(kills) + sum(r.second is not None for r in kills)
    by_kind = ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items())) or "none"
    print()
    print(f"trials run:           {len(results)} of {c.asked} ({len(kills)} kill, "
          f"{len(faulty)} fault, {len(disks)} disk, {len(bad)} bad edit; "
          f"{sum(r.start is not None for r in results)} "
          "from an earlier manifest)")  # fmt: skip
    kinds_changed = sum(r.start is not None and r.start.kind != r.gallery.kind for r in results)
    shared = sum(any(p.shared for p in r.gallery.persons) for r in results)
    print(f"variants:             {shared} with photos sharing one userData, {kinds_changed} "
          f"changing the group's kind, {sum(bool(r.saved_target) for r in results)} applying a "
          "plan saved with --target")  # fmt: skip
    print(f"disk faults:          {sum(r.first.code != 0 for r in disks)} of {len(disks)} stopped "
          "the apply with one line (the others ended before the k-th append)")  # fmt: skip
    kept = sum(r.kept is not None and r.kept.ok and r.first.code == 1 for r in bad)
    print(f"bad edits:            {kept} of {len(bad)} failed with the old face kept on the "
          "server and in the lock")  # fmt: skip
    edited = sum(r.edited_after_kill for r in kills)
    print(f"kills delivered:      {sum(r.kills_sent for r in kills)} of {attempted} attempted "
          f"({sum(r.second is not None for r in kills)} in a recovery apply; "
          f"{edited} trials edit the manifest after the kill)")  # fmt: skip
    print(f"faults injected:      {sum(kinds.values())} ({by_kind}; {after} after the commit)")
    plain = [r for r in faulty if not r.saved_target]  # a targeted plan always needs a 2nd
    print(f"second apply needed:  {sum(r.recovery is not None for r in plain)} of {len(plain)} "
          "fault trials without a saved --target plan")  # fmt: skip
    print(f"duplicates found:     {sum(r.verdict.duplicates for r in results)}")
    print(f"orphans found:        {sum(r.verdict.orphans for r in results)}")
    print(f"lost IDs:             {sum(r.verdict.lost_ids for r in results)}")
    other = sum(1 for r in failed if not _counted(r)) + len(c.errors)
    print(f"other broken trials:  {other} (server or lock differs, apply failed, "
          "the plan is not empty, or set-up failed)")  # fmt: skip
    print(f"mean extra calls per recovery: {_mean(recovering)} (requests beyond a clean apply, "
          f"over {len(recovering)} trials with a kill or a fault)")  # fmt: skip
    if reported:
        passes = _mean([r[1] for r in reported])
        calls = _mean([r[2] for r in reported])
        print(f"  as apply reports it: {calls} extra calls in {passes} extra passes "
              f"(mean over {len(reported)} trials that printed 'Recovered from ...')")  # fmt: skip
    else:
        print("  as apply reports it: no apply printed 'Recovered from ...'")
    if failed or c.errors:
        seeds = " ".join([f"{r.kind}:{r.seed}" for r in failed] + c.errors)
        print(f"failed trials (kind:seed): {seeds}")
        print("replay with: FAULT_SEEDS=<seed> pytest tests/faults/test_campaign.py -k <kind>")
        for r in failed[:SHOWN_FAILURES]:
            print("\n" + _short(r.describe()), file=sys.stderr)
    return 1 if failed or c.errors else 0


def _recovering(r: TrialResult) -> bool:
    return r.kill_delivered or r.faults.injected > 0


def _counted(r: TrialResult) -> bool:
    v = r.verdict
    return bool(v.duplicates or v.orphans or v.lost_ids)


def _mean(values: list[int]) -> str:
    return f"{statistics.fmean(values):.1f}" if values else "n/a"


def _short(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else text[:limit] + "\n..."


if __name__ == "__main__":
    sys.exit(main())
