"""A smooth client-side rate limiter shared by every worker thread.

The service counts calls in per-second (S0) or per-minute (free) windows, so a
burst above the tier's rate is refused with 429 even when the average is
fine. The limiter therefore hands out evenly spaced start times: call n may
start no earlier than call n-1 plus 1/rate. A 429 pauses every thread, not
only the one that was refused, because the window is shared.

The spacing keeps a little headroom below the nominal rate: with calls exactly
1/rate apart, the 11th call of an S0 client lands right on the edge of the
server's one-second window, and the slightest jitter in when requests arrive
turns it into a 429 (and a pause of at least a second).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

HEADROOM = 0.03  # run at 97 % of the nominal rate


class CallPacer:
    """Thread-safe scheduler of call start times (a token bucket of depth one)."""

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        headroom: float = HEADROOM,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive or None")
        self.rate = rate
        self._interval = 0.0 if rate is None else 1.0 / (rate * (1.0 - headroom))
        self._clock = clock
        self._sleep = sleep
        self._mutex = threading.Lock()
        self._next_free = float("-inf")  # earliest start of the next call
        self._paused_until = float("-inf")

    def acquire(self) -> float:
        """Block until this caller's slot; return the seconds waited.

        Callers wait their turn under the lock, so each starts at least one
        interval after the previous one actually started, even when a thread
        wakes late (a busy CPU): late starts never bunch up the next ones.
        """
        with self._mutex:
            now = self._clock()
            slot = max(now, self._next_free, self._paused_until)
            wait = slot - now
            if wait > 0:
                self._sleep(wait)
            if self._interval:
                self._next_free = max(slot, self._clock()) + self._interval
        return max(wait, 0.0)

    def pause(self, seconds: float) -> None:
        """Hold every caller back for `seconds` (the server said it is throttling)."""
        with self._mutex:
            until = self._clock() + seconds
            self._paused_until = max(self._paused_until, until)
