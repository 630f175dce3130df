"""Rate limiter, fault injector and router: the HTTP pipeline's pieces."""

from __future__ import annotations

from facesync.emulator.faults import FaultInjector
from facesync.emulator.limiter import RateLimiter
from facesync.emulator.routing import Router, split_path


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_free_tier_allows_20_calls_a_minute() -> None:
    clock = Clock()
    limiter = RateLimiter("free", clock)

    allowed = [limiter.acquire() for _ in range(20)]
    clock.now += 15
    refused = limiter.acquire()
    clock.now += 45
    again = limiter.acquire()

    assert allowed == [None] * 20
    assert refused == 45
    assert again is None


def test_s0_allows_10_calls_a_second_and_asks_for_at_least_one_second() -> None:
    clock = Clock()
    limiter = RateLimiter("S0", clock)

    results = [limiter.acquire() for _ in range(11)]

    assert results[:10] == [None] * 10 and results[10] == 1


def test_the_unlimited_tier_never_refuses() -> None:
    limiter = RateLimiter("unlimited")

    assert all(limiter.acquire() is None for _ in range(1000))


def test_faults_hit_only_mutating_requests() -> None:
    faults = FaultInjector(1.0, seed=1)

    assert faults.draw("GET") is None
    assert all(faults.draw(method) is not None for method in ("PUT", "POST", "PATCH", "DELETE"))


def test_a_seed_makes_faults_reproducible_and_mixes_kinds_and_timing() -> None:
    one, two = FaultInjector(0.5, seed=7), FaultInjector(0.5, seed=7)
    draws = [one.draw("POST") for _ in range(400)]

    assert draws == [two.draw("POST") for _ in range(400)]
    hits = [fault for fault in draws if fault is not None]
    assert 150 < len(hits) < 250
    assert {fault.kind for fault in hits} == {"500", "503", "429", "drop"}
    assert {fault.after_commit for fault in hits} == {True, False}


def test_a_zero_rate_never_faults() -> None:
    faults = FaultInjector(0.0, seed=3)

    assert all(faults.draw("POST") is None for _ in range(100))


def test_routes_match_literals_in_any_case() -> None:
    router = Router([("GET", "persongroups/{group}/persons/{person}/persistedfaces/{face}", "h")])

    match = router.match("GET", "/face/v1.0/PersonGroups/g/persons/p/persistedFaces/f?x=1")

    assert match is not None and match.params == {"group": "g", "person": "p", "face": "f"}


def test_an_encoded_slash_stays_inside_its_segment() -> None:
    assert split_path("/face/v1.0/persongroups/a%2Fb/") == ("face", "v1.0", "persongroups", "a/b")


def test_another_method_or_path_does_not_match() -> None:
    router = Router([("GET", "persongroups/{group}", "h")])

    assert router.match("POST", "/face/v1.0/persongroups/g") is None
    assert router.match("GET", "/face/v1.1/persongroups/g") is None
    assert router.match("GET", "/face/v1.0/persongroups/g/x") is None
