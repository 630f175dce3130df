"""Apply until the server matches the manifest, reconciling lost answers.

A create whose answer was lost (a timeout, a dropped connection, a 5xx) may
or may not have made its object; repeating it blindly could make a second
one. So after a pass with such failures, or with a busy group, facesync
reads the server again, plans again with the journal's pending intents
(which adopts whatever the lost answers created, see facesync.plan.adopt)
and runs what remains. Passes stop when nothing is left worth another try,
after `Passes.fruitless` extra passes in a row that made no progress, or
after `Passes.most` passes in all. Failures no pass can fix (400, 403, ...)
are reported once and their changes are not tried again. docs/recovery.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from facesync.backends.base import FaceBackend
from facesync.engine.checkpoint import LockSink
from facesync.engine.executor import ApplyReport
from facesync.engine.outcomes import fails_everything, worth_another_pass
from facesync.engine.planning import plan_with_journal
from facesync.engine.record import begin, finish
from facesync.errors import ApiError, FacesyncError
from facesync.manifest.model import Manifest
from facesync.plan.model import Action, Address, Change, Plan
from facesync.state.journal import Journal


@dataclass(frozen=True)
class Passes:
    fruitless: int = 3  # extra passes in a row without progress before giving up
    most: int = 10  # passes in all, whatever happens
    waits: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)  # before extra pass 1, 2, ... (last repeats)


def converge(
    plan: Plan,
    backend: FaceBackend,
    *,
    manifest: Manifest,
    writer: LockSink,
    run: Callable[[Plan], ApplyReport],
    journal: Journal | None = None,
    targets: Sequence[Address] = (),
    policy: Passes = Passes(),
    sleep: Callable[[float], None] = time.sleep,
    announce: Callable[[str, Plan | None], None] = lambda text, plan: None,
    first_reads: int = 0,
    clear_journal: bool = True,
) -> ApplyReport:
    """Run `plan` with `run` (the executor and its display), then extra passes as
    the module docstring says. `first_reads`: face GETs the first refresh made.
    After a complete apply the journal is emptied unless `clear_journal` is false
    (a targeted plan did not judge the intents outside its targets)."""
    total = ApplyReport(reconcile_calls=first_reads)
    given_up: list[Change] = []  # failed for good: never tried again
    fruitless = 0
    while True:
        writer.replace_state(begin(writer.state, plan))
        _narrow(journal, plan)
        report = run(plan)
        writer.replace_state(finish(writer.state, plan))
        _add(total, report, plan)
        again = [(c, e) for c, e in report.failed if worth_another_pass(e)]
        lost = [(c, e) for c, e in report.failed if not worth_another_pass(e)]
        given_up += [c for c, _ in lost]
        progress = bool(plan.adoptions) or any(
            c.action is not Action.TRAIN for c in report.succeeded
        )
        if total.passes > 1:  # the bound counts extra passes only
            fruitless = 0 if progress else fruitless + 1
        stop = any(fails_everything(e) for _, e in report.failed)
        if not again or stop or fruitless >= policy.fruitless or total.passes >= policy.most:
            total.failed += report.failed
            total.skipped += report.skipped
            break
        total.recovered += len(again)
        total.failed += lost
        total.skipped += [c for c in report.skipped if _within_any(c, given_up)]
        sleep(policy.waits[min(total.passes - 1, len(policy.waits) - 1)])
        announce(_reading_again(again, total.passes + 1), None)
        before = _calls(backend)
        try:
            plan, _ = plan_with_journal(backend, manifest, writer.state, journal, targets)
        except ApiError as exc:
            total.reconcile_calls += _calls(backend) - before
            total.failed += again
            announce(f"Could not read the server again: {exc}", None)
            break
        total.reconcile_calls += _calls(backend) - before
        plan = _without(plan, given_up)
        total.passes += 1
        announce(f"Pass {total.passes}", plan)
        if not plan.has_changes:
            writer.replace_state(finish(writer.state, plan))
            _narrow(journal, plan)
            total.adopted += len(plan.adoptions)
            break
    _sort(total)
    if total.ok and journal is not None and clear_journal:
        journal.clear()  # every object an intent was about is in the lock now
    return total


def _narrow(journal: Journal | None, plan: Plan) -> None:
    """What this plan's refresh proved of the pending intents (all of their calls
    ended before it): each may have made only what it saw (facesync.state.journal).
    Written once the adoptions are recorded and before any call of the plan."""
    if journal is not None and plan.judged:
        journal.narrow(dict(plan.judged))


def _add(total: ApplyReport, report: ApplyReport, plan: Plan) -> None:
    total.succeeded += report.succeeded
    total.training.update(report.training)
    total.calls += report.calls
    total.seconds += report.seconds
    total.adopted += len(plan.adoptions)


def _reading_again(again: list[tuple[Change, FacesyncError]], number: int) -> str:
    n = len(again)
    calls = "call" if n == 1 else "calls"
    return (
        f"{n} failed {calls} may have worked or may work now: reading the server again "
        f"before pass {number}."
    )


def _within_any(change: Change, failed: list[Change]) -> bool:
    """Inside what failed for good: the same face, or anything under a failed
    person or group (a failed training covers only the training)."""
    for bad in failed:
        if bad.action is Action.TRAIN or change.action is Action.TRAIN:
            if bad.action is change.action and bad.address == change.address:
                return True
            continue
        a, b = change.address, bad.address
        if a.group == b.group and b.person in (None, a.person) and b.face in (None, a.face):
            return True
    return False


def _without(plan: Plan, failed: list[Change]) -> Plan:
    if not failed:
        return plan
    kept = tuple(c for c in plan.changes if not _within_any(c, failed))
    return replace(plan, changes=kept)


def _calls(backend: FaceBackend) -> int:
    return int(getattr(backend, "calls_made", 0))


def _sort(total: ApplyReport) -> None:
    """Deterministic report order across passes: by address, then action."""
    def key(c: Change) -> tuple[tuple[str, str, str], str]:
        return (c.address.sort_key, c.action.value)

    total.failed.sort(key=lambda f: key(f[0]))
    total.skipped.sort(key=key)
