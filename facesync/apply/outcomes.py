"""What a failed call means for what comes next: may the change exist anyway,
and is another pass (read the server, plan again, run what remains) worth it?"""

from __future__ import annotations

from facesync.backends.retry import MAY_HAVE_HAPPENED
from facesync.errors import ApiError, ApiUnreachableError, FacesyncError


def may_have_happened(exc: BaseException) -> bool:
    """True when the call may have made its change although it failed: no answer
    after sending, a 5xx, or any answer after an attempt that may have worked."""
    if not isinstance(exc, ApiError):
        return False
    return bool(getattr(exc, "ambiguous", False)) or exc.status in MAY_HAVE_HAPPENED


def is_busy(exc: BaseException) -> bool:
    """409: the group is training or another write to the person is running."""
    return isinstance(exc, ApiError) and exc.status == 409 and (
        exc.code.endswith("TrainingNotFinished") or exc.code == "ConcurrentOperationConflict"
    )


def worth_another_pass(exc: FacesyncError) -> bool:
    """A lost answer, a server error or a busy group: reading the server and
    planning again can finish the job. A refusal (400, 401, 403, 404 ...) or a
    dead endpoint cannot, and is reported as it is."""
    if isinstance(exc, ApiUnreachableError):
        return bool(getattr(exc, "ambiguous", False))
    return may_have_happened(exc) or is_busy(exc)
