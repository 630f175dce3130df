"""Pricing-tier rate limits: a sliding window log, as strict as the documented rate.

free allows 20 calls in any 60 s, S0 10 calls in any 1 s (TIER_RATES); past
that a call gets 429 with the seconds until the oldest call in the window
leaves it, at least 1 (also sent as Retry-After). Refused calls do not count.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from facesync.limits import TIER_RATES


class RateLimiter:
    def __init__(self, tier: str, clock: Callable[[], float] = time.monotonic) -> None:
        rate = TIER_RATES[tier]
        self.window = 0.0 if rate is None else (1.0 if rate >= 1 else 60.0)
        self.calls = 0 if rate is None else round(rate * self.window)
        self._clock = clock
        self._times: deque[float] = deque()
        self._mutex = threading.Lock()

    def acquire(self) -> int | None:
        """None when the call may proceed, else the seconds to wait before retrying."""
        if not self.window:
            return None
        with self._mutex:
            now = self._clock()
            while self._times and self._times[0] <= now - self.window:
                self._times.popleft()
            if len(self._times) < self.calls:
                self._times.append(now)
                return None
            return max(1, math.ceil(self._times[0] + self.window - now))
