"""When injected faults strike: a 429 only before the change (the gateway throttles
before the service acts), the other kinds before or after it, reproducibly."""

from __future__ import annotations

from collections import Counter

import pytest

from facesync.emulator.faults import FAULT_KINDS, FaultInjector

DRAWS = 4000


def faults_of(injector: FaultInjector, count: int = DRAWS, method: str = "POST") -> list:
    return [injector.draw(method) for _ in range(count)]


@pytest.mark.parametrize("seed", [0, 1, 7, 42])
def test_a_429_never_strikes_after_the_change_is_committed(seed: int) -> None:
    hits = [f for f in faults_of(FaultInjector(1.0, seed)) if f.kind == "429"]
    assert hits, "no 429 drawn"
    assert not any(f.after_commit for f in hits)


@pytest.mark.parametrize("kind", ["500", "503", "drop"])
def test_other_faults_strike_after_the_commit_about_half_of_the_time(kind: str) -> None:
    hits = [f for f in faults_of(FaultInjector(1.0, 3)) if f.kind == kind]
    late = sum(f.after_commit for f in hits)
    assert 0.4 < late / len(hits) < 0.6


def test_every_kind_is_drawn_with_about_equal_odds() -> None:
    kinds = Counter(f.kind for f in faults_of(FaultInjector(1.0, 5)))
    assert set(kinds) == set(FAULT_KINDS)
    assert all(0.2 < n / DRAWS < 0.3 for n in kinds.values())


def test_the_same_seed_draws_the_same_faults() -> None:
    methods = ["POST", "GET", "PUT", "DELETE", "PATCH", "GET"] * 200
    first, second = FaultInjector(0.3, 99), FaultInjector(0.3, 99)
    drawn = [first.draw(m) for m in methods]
    assert any(drawn)
    assert drawn == [second.draw(m) for m in methods]


def test_reads_draw_no_number_so_they_do_not_shift_the_sequence() -> None:
    plain = FaultInjector(0.3, 11)
    with_reads = FaultInjector(0.3, 11)
    writes = [plain.draw("POST") for _ in range(300)]
    mixed = []
    for _ in range(300):
        assert with_reads.draw("GET") is None
        mixed.append(with_reads.draw("POST"))
    assert writes == mixed


def test_the_counts_match_the_faults_handed_out() -> None:
    injector = FaultInjector(0.25, 8)
    faults = [injector.draw(m) for m in ["POST", "GET"] * 500]
    struck = [f for f in faults if f is not None]
    counts = injector.counts()
    assert counts.requests == 1000
    assert counts.mutating == 500
    assert counts.injected == len(struck)
    assert counts.after_commit == sum(f.after_commit for f in struck)
    assert dict(counts.by_kind) == dict(Counter(f.kind for f in struck))


def test_a_zero_rate_injects_nothing_but_still_counts_requests() -> None:
    injector = FaultInjector(0.0, 1)
    assert faults_of(injector, 50) == [None] * 50
    counts = injector.counts()
    assert (counts.requests, counts.mutating, counts.injected) == (50, 50, 0)


def test_counts_since_a_snapshot_cover_only_what_came_after() -> None:
    injector = FaultInjector(1.0, 4)
    faults_of(injector, 10)
    earlier = injector.counts()
    later_faults = faults_of(injector, 20, "PUT")
    since = injector.counts().since(earlier)
    assert (since.requests, since.mutating, since.injected) == (20, 20, 20)
    assert dict(since.by_kind) == dict(Counter(f.kind for f in later_faults))
