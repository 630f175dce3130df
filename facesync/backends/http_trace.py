"""`--debug`'s HTTP lines: one per request put on the wire, on stderr.

The transport logs to the `facesync.http` logger whatever the run; nothing
shows until the CLI calls `show_http_calls()`. A line names the method, the
path and query (userData values elided), the status or what failed, the time
in ms and the retry number; never a header or a body: the key travels in a
header, and bodies hold userData and image bytes.
"""

from __future__ import annotations

import logging
import sys
from urllib.parse import urlencode

LOGGER_NAME = "facesync.http"
# Query parameters whose values are the user's data, not facesync's wire details.
_PRIVATE_PARAMS = frozenset({"userData"})

trace_log = logging.getLogger(LOGGER_NAME)


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is when a line is logged (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 (a closed stderr must not fail the call)
            self.handleError(record)


def show_http_calls() -> None:
    """Print every HTTP line on stderr from now on (once, however often called)."""
    trace_log.disabled = False  # a logging.config call elsewhere may have disabled it
    if any(isinstance(h, _StderrHandler) for h in trace_log.handlers):
        return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("debug: %(message)s"))
    trace_log.addHandler(handler)
    trace_log.setLevel(logging.DEBUG)
    trace_log.propagate = False


def tracing() -> bool:
    return trace_log.isEnabledFor(logging.DEBUG)


def shown_target(path: str, params: list[tuple[str, str]]) -> str:
    """The request target as a debug line shows it: the user's values elided."""
    if not params:
        return path
    shown = [(name, "..." if name in _PRIVATE_PARAMS else value) for name, value in params]
    return f"{path}?{urlencode(shown, safe='.,')}"
