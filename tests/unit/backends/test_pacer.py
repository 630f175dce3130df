"""The client-side limiter spreads calls evenly at the tier's rate (fake clock)."""

from __future__ import annotations

import threading

from facesync.backends.pacer import CallPacer
from facesync.limits import TIER_RATES


class FakeClock:
    """Time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now = max(self.now, self.now + seconds)


def most_in_any_window(starts: list[float], window: float) -> int:
    starts = sorted(starts)
    best, j = 0, 0
    for i, t in enumerate(starts):
        while starts[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_calls_start_one_interval_apart_at_the_s0_rate():
    clock = FakeClock()
    limiter = CallPacer(TIER_RATES["S0"], clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(50):
        limiter.acquire()
        starts.append(clock())
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 0.1 - 1e-9
    assert most_in_any_window(starts, 1.0) <= 10


def test_the_free_tier_allows_twenty_calls_a_minute():
    clock = FakeClock()
    limiter = CallPacer(TIER_RATES["free"], clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(45):
        limiter.acquire()
        starts.append(clock())
    assert most_in_any_window(starts, 60.0) <= 20


def test_an_idle_spell_does_not_save_up_a_burst():
    clock = FakeClock()
    limiter = CallPacer(10.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 30.0  # nobody called for half a minute
    starts = []
    for _ in range(5):
        limiter.acquire()
        starts.append(clock())
    assert most_in_any_window(starts, 0.35) <= 4


def test_parallel_callers_get_distinct_evenly_spaced_slots():
    now = [100.0]
    waits: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            waits.append(seconds)

    limiter = CallPacer(10.0, clock=lambda: now[0], sleep=record)
    threads = [threading.Thread(target=lambda: [limiter.acquire() for _ in range(25)])
               for _ in range(8)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slots = sorted([0.0] + waits)  # the first caller does not sleep
    assert len(slots) == 200
    interval = slots[1]
    assert 0.1 <= interval <= 0.105
    assert all(abs(s - i * interval) < 1e-6 for i, s in enumerate(slots))


def test_a_pause_holds_every_caller_then_spaces_them_again():
    clock = FakeClock()
    limiter = CallPacer(10.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.pause(5.0)
    starts = []
    for _ in range(3):
        limiter.acquire()
        starts.append(clock())
    assert starts[0] >= 5.0
    assert starts[2] - starts[0] >= 0.2 - 1e-9


def test_without_a_rate_only_pauses_hold_calls_back():
    clock = FakeClock()
    limiter = CallPacer(None, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        limiter.acquire()
    assert clock() == 0.0
    limiter.pause(2.0)
    limiter.acquire()
    assert clock() == 2.0
