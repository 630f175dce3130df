"""The one user-facing error root.

Every failure a user can cause or meet is a FacesyncError carrying one clear
sentence; the CLI prints it on stderr and exits with `exit_code`. Anything
else is a bug and keeps its traceback (shown only with --debug).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

# The exit codes of every command (README: Commands).
EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_INTERRUPTED = 0, 1, 2, 130


class FacesyncError(Exception):
    """A failure with a message meant for the user."""

    exit_code: int = EXIT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(FacesyncError):
    """Bad flags or arguments."""


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a manifest: `file:line: path: message`."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return one_line(f"{self.file}:{self.line}: {where}{self.message}")


_CONTROL = {code: f"\\x{code:02x}" for code in (*range(32), 127)} | {
    10: "\\n", 13: "\\r", 9: "\\t"
}


def one_line(text: str) -> str:
    """Escape control characters (a newline inside a YAML key, say), so that
    one diagnostic stays one line."""
    return text.translate(_CONTROL)


class ManifestError(FacesyncError):
    """A manifest with one or more problems; all of them are reported at once."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.file, d.line, d.path, d.message))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class LockFileError(FacesyncError):
    """A lock file that cannot be used (corrupt, newer version, other endpoint)."""


class LockHeldError(FacesyncError):
    """Another facesync process holds the lock file."""


class PlanError(FacesyncError):
    """A saved plan that cannot be applied, or a state the plan cannot handle."""


class ConfigError(FacesyncError):
    """Bad endpoint, key file or other configuration."""


class ApiError(FacesyncError):
    """A Face API call that failed for good (after any retries).

    `status` is the HTTP status (0 when no response arrived), `code` the
    service's error code, `address` the facesync address it concerned.
    `ambiguous` is true when the change may exist although the call failed
    (a lost answer, a 5xx, any answer after an attempt that may have worked):
    apply then reads the server before it tries again (docs/recovery.md).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        operation: str = "",
        address: str = "",
        ambiguous: bool = False,
    ) -> None:
        self.status = status
        self.ambiguous = ambiguous
        self.code = code
        self.service_message = message
        self.operation = operation
        self.address = address
        subject = f"{address}: " if address else ""
        what = f"{operation} failed" if operation else "Face API call failed"
        if not status:
            status_text = code
        elif code and code != str(status):
            status_text = f"HTTP {status} {code}"
        else:  # gateway errors carry the status as their code: say it once
            status_text = f"HTTP {status}"
        super().__init__(f"{subject}{what}: {status_text}: {message}")


class ApiUnreachableError(ApiError):
    """No answer from the endpoint (connection refused, DNS, timeout).

    Its message is the one sentence naming the endpoint, not the generic
    "X failed: ..." form; `ambiguous` when the request may have reached it.
    """

    def __init__(
        self, sentence: str, *, operation: str = "", address: str = "", ambiguous: bool = False
    ) -> None:
        super().__init__(
            0, "Unreachable", sentence, operation=operation, address=address, ambiguous=ambiguous
        )
        self.message = sentence
        self.args = (sentence,)


class Interrupted(FacesyncError):
    """Ctrl-C: exit 130 after saving what was done."""

    exit_code = EXIT_INTERRUPTED


# What to do about an OS error, by errno: the part of the line that says how to fix it.
_OS_FIXES = {
    errno.ENOSPC: "free some space on that disk and run the command again",
    errno.EDQUOT: "free some space within your disk quota and run the command again",
    errno.EFBIG: "the file is larger than this system allows; free space or raise the limit",
    errno.EACCES: "check the file's owner and permissions (and its folder's)",
    errno.EPERM: "check the file's owner and permissions (and its folder's)",
    errno.EROFS: "the file system is read-only; run from a writable folder",
    errno.EIO: "the disk reported an I/O error; check it, then run the command again",
}


def os_error_line(exc: OSError) -> str:
    """One sentence for an OS error a user can meet (a full disk, a read-only
    folder): what happened, to which file, and what to do. Whatever a command
    had recorded before (lock, journal) is kept: it writes atomically."""
    what = exc.strerror or type(exc).__name__
    where = f" ({exc.filename})" if exc.filename else ""
    fix = _OS_FIXES.get(exc.errno or 0, "fix the cause and run the command again")
    return f"{what}{where}: {fix}; what facesync had already recorded is kept"
