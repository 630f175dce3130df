"""The full fault campaign: kill and fault trials by the dozen, with the figures.

    python bench/faults.py [--trials 50] [--seed 0] [--fault-rate 0.2] [--time-limit 1800]

Runs the trials of tests/faults (tests/faults/trials.py), alternating:
  kill   apply is SIGKILLed at a seeded moment (after the k-th write reaches the
         emulator, plus up to 1.5 request latencies), then a plain apply runs;
  fault  apply meets an emulator that fails --fault-rate of the writes (500,
         503, 429, dropped connections, half of the non-429 ones after the
         commit); if it reports failures, the network heals and a plain apply runs.
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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.faults.gallery import build_pool, small_faces_into, warm_up  # noqa: E402
from tests.faults.trials import (  # noqa: E402
    TrialResult,
    clean_requests,
    fault_trial,
    kill_trial,
    trial_gallery,
)

SHOWN_FAILURES = 5  # failed trials whose details are printed in full


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="facesync-faults-") as tmp:
        work = Path(tmp)
        pool = build_pool(small_faces_into(work / "small-faces"))
        warm_up(pool)
        results, extras = run_trials(args, pool, work)
    return report(results, extras, args.trials)


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


def run_trials(
    args: argparse.Namespace, pool: dict, work: Path
) -> tuple[list[TrialResult], list[int]]:
    """Run the trials in turn; returns them and each one's extra requests."""
    started = time.monotonic()
    results: list[TrialResult] = []
    extras: list[int] = []
    print(f"{'trial':>5} {'kind':5} {'seed':>6} {'result':6} {'when / faults':32} "
          f"{'dup':>3} {'orph':>4} {'lost':>4} {'extra':>5} {'secs':>5}")  # fmt: skip
    for index in range(args.trials):
        if time.monotonic() - started > args.time_limit:
            print(f"time limit of {args.time_limit:.0f} s reached; stopping")
            break
        kind, seed = ("kill", "fault")[index % 2], args.seed + index
        trial_dir = work / f"trial-{index}"
        t0 = time.monotonic()
        baseline = clean_requests(trial_gallery(kind, seed, pool), trial_dir / "clean")
        if kind == "kill":
            result = kill_trial(seed, trial_dir / "trial", pool)
        else:
            result = fault_trial(seed, trial_dir / "trial", pool, args.fault_rate)
        results.append(result)
        extras.append(result.faults.requests - baseline)
        print_line(index, result, extras[-1], time.monotonic() - t0)
    return results, extras


def print_line(index: int, r: TrialResult, extra: int, seconds: float) -> None:
    if r.kind == "kill":
        when = f"{r.kill_point} ({r.kill_delay}s)" if r.kill_delivered else "ended before kill"
    else:
        again = ", 2nd apply" if r.recovery is not None else ""
        when = f"{r.faults.injected} faults{again}"
    v = r.verdict
    print(f"{index:>5} {r.kind:5} {r.seed:>6} {'ok' if r.ok else 'FAILED':6} {when:32} "
          f"{v.duplicates:>3} {v.orphans:>4} {v.lost_ids:>4} {extra:>5} {seconds:>5.1f}",
          flush=True)  # fmt: skip


def report(results: list[TrialResult], extras: list[int], asked: int) -> int:
    kills = [r for r in results if r.kind == "kill"]
    faulty = [r for r in results if r.kind == "fault"]
    kinds: Counter[str] = Counter()
    for r in results:
        kinds.update(dict(r.faults.by_kind))
    after = sum(r.faults.after_commit for r in results)
    recovering = [e for r, e in zip(results, extras, strict=True) if _recovering(r)]
    reported = [r.recovered for r in results if r.recovered is not None]
    failed = [r for r in results if not r.ok]
    duplicates = sum(r.verdict.duplicates for r in results)
    orphans = sum(r.verdict.orphans for r in results)
    lost = sum(r.verdict.lost_ids for r in results)
    by_kind = ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items())) or "none"
    print()
    print(
        f"trials run:           {len(results)} of {asked} ({len(kills)} kill, {len(faulty)} fault)"
    )
    print(f"kills delivered:      {sum(r.kill_delivered for r in kills)} of {len(kills)}")
    print(f"faults injected:      {sum(kinds.values())} ({by_kind}; {after} after the commit)")
    print(f"second apply needed:  {sum(r.recovery is not None for r in faulty)} of {len(faulty)} "
          "fault trials")  # fmt: skip
    print(f"duplicates found:     {duplicates}")
    print(f"orphans found:        {orphans}")
    print(f"lost IDs:             {lost}")
    print(f"other broken trials:  {sum(1 for r in failed if not _counted(r))} "
          "(server or lock differs, apply failed, or the plan is not empty)")  # fmt: skip
    print(f"mean extra calls per recovery: {_mean(recovering)} (requests beyond a clean apply, "
          f"over {len(recovering)} trials with a kill or a fault)")  # fmt: skip
    if reported:
        passes = _mean([r[1] for r in reported])
        calls = _mean([r[2] for r in reported])
        print(f"  as apply reports it: {calls} extra calls in {passes} extra passes "
              f"(mean over {len(reported)} trials that printed 'Recovered from ...')")  # fmt: skip
    else:
        print("  as apply reports it: no apply printed 'Recovered from ...'")
    if failed:
        seeds = " ".join(f"{r.kind}:{r.seed}" for r in failed)
        print(f"failed trials (kind:seed): {seeds}")
        print("replay with: FAULT_SEEDS=<seed> pytest tests/faults/test_campaign.py -k <kind>")
        for r in failed[:SHOWN_FAILURES]:
            print("\n" + _short(r.describe()), file=sys.stderr)
    return 1 if failed else 0


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
