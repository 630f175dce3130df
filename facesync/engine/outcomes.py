"""What a failed call means for the rest of an apply: may another pass (read
the server, plan again, run what remains) finish the job, or does every other
call fail the same way? The service's codes are read in
facesync.backends.service_errors; this module only decides."""

from __future__ import annotations

from facesync.backends.service_errors import is_access_refused, is_busy, may_have_happened
from facesync.errors import ApiUnreachableError, FacesyncError
from facesync.plan.model import Change


class Deferred(FacesyncError):
    """A create not sent in this pass: one like it (same person, same userData) lost
    its answer, and two answer-less creates alike could not be told apart later."""


class HalfReplaced(FacesyncError):
    """A face replacement that did one of its two calls: the new face was added and
    recorded but the old one could not be deleted (`added`; the journal's retire
    intent lets the next plan delete it), or, at the 248-face limit, the old face
    was deleted to make room and the add failed. `cause` is the failed call's
    error; the closing report counts the half that happened."""

    def __init__(self, message: str, change: Change, cause: FacesyncError, *,
                 added: bool = True) -> None:
        super().__init__(message)
        self.change = change
        self.cause = cause
        self.added = added


def worth_another_pass(exc: FacesyncError) -> bool:
    """A lost answer, a server error, a busy group or a deferred create: reading the
    server and planning again can finish the job. A refusal (400, 401, 403, 404 ...)
    or a dead endpoint cannot, and is reported as it is."""
    if isinstance(exc, Deferred):
        return True
    if isinstance(exc, HalfReplaced):
        return worth_another_pass(exc.cause)
    if isinstance(exc, ApiUnreachableError):
        return exc.ambiguous
    return may_have_happened(exc) or is_busy(exc)


def fails_everything(exc: FacesyncError) -> bool:
    """An endpoint that is gone, a refused key, a used-up monthly quota."""
    if isinstance(exc, HalfReplaced):
        return fails_everything(exc.cause)
    if isinstance(exc, ApiUnreachableError):
        return not exc.ambiguous  # one lost answer is not a dead endpoint
    return is_access_refused(exc)
