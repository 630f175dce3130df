"""Train a group and, unless told not to wait, poll until training ends.

Training is asynchronous: POST train answers 202 and the status goes
running -> succeeded | failed. Polls start fast, because small groups train in
about a second, and slow down to a few seconds for big ones.
"""

from __future__ import annotations

from facesync.backends.base import TrainingInfo
from facesync.backends.service_errors import is_not_trained
from facesync.engine.actions import Context, Outcome
from facesync.engine.record import CallResult
from facesync.errors import ApiError
from facesync.plan.model import Change
from facesync.plan.payloads import TrainSpec

FIRST_POLL = 0.2
POLL_GROWTH = 1.5
MAX_POLL = 3.0
FINISHED = ("succeeded", "failed")


def run_training(change: Change, ctx: Context) -> Outcome:
    """Start training; record and report how it ended (or that it runs on)."""
    spec = change.payload_as(TrainSpec)
    kind, group_id = spec.kind, spec.group_id
    ctx.call(ctx.backend.train_group, kind, group_id)
    if not ctx.wait:
        info = TrainingInfo("running")
        ctx.save(change, CallResult(training_status=info.status))
        return Outcome("training started (not waiting)", info)
    info = poll_training(ctx, kind, group_id)
    ctx.save(change, CallResult(training_status=info.status))
    if info.status == "succeeded":
        return Outcome("trained", info)
    if info.status == "failed":
        reason = info.message or "the service gave no reason"
        raise TrainingError("TrainingFailed", f"training failed: {reason}", group_id, info)
    if ctx.stop.is_set():
        return Outcome("training still running (not waiting after the interruption)", info)
    raise TrainingError(
        "TrainingTimeout",
        f"training still {info.status} after {ctx.training_timeout:g} s; it goes on on the "
        "server, and facesync plan shows whether it finished",
        group_id,
        info,
    )


def poll_training(ctx: Context, kind: str, group_id: str) -> TrainingInfo:
    """The status once finished, or the last one seen at the deadline / a stop."""
    deadline = ctx.clock() + ctx.training_timeout
    delay = FIRST_POLL
    while True:
        info = _status(ctx, kind, group_id)
        if info.status in FINISHED or ctx.stop.is_set():
            return info
        left = deadline - ctx.clock()
        if left <= 0:
            return info
        ctx.sleep(min(delay, left))
        delay = min(delay * POLL_GROWTH, MAX_POLL)


def _status(ctx: Context, kind: str, group_id: str) -> TrainingInfo:
    try:
        return ctx.backend.get_training_status(kind, group_id)
    except ApiError as exc:
        # Just after POST train the status may not exist yet: not started.
        if is_not_trained(exc):
            return TrainingInfo("notstarted")
        raise


class TrainingError(ApiError):
    """Training ended badly or did not end in time; carries the last status."""

    def __init__(self, code: str, message: str, group_id: str, info: TrainingInfo) -> None:
        super().__init__(0, code, message, operation="train group", address=group_id)
        self.info = info
