"""Pricing tiers, latency and injected faults."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import requests

from .support import PERSON_GROUP, Api, api_for, create_group, expect_json

RATE_MESSAGE = re.compile(r"^Rate limit is exceeded\. Try again in (\d+) seconds?\.$")


def expect_throttled(resp: requests.Response) -> int:
    """A 429 with the service's body and a Retry-After that agrees with it; returns N."""
    assert resp.status_code == 429, resp.text
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["code"] == "429", body
    match = RATE_MESSAGE.match(body["error"]["message"])
    assert match, body
    retry_after = int(resp.headers["Retry-After"])
    assert retry_after >= 1
    assert retry_after == int(match.group(1))
    return retry_after


def burst(api: Api, count: int) -> list[requests.Response]:
    return [api.get("/persongroups", params={"top": 1}) for _ in range(count)]


def until_throttled(call: Any, limit: int = 300) -> list[requests.Response]:
    """Repeat a call as fast as possible until the first 429 (at most `limit` calls)."""
    answers: list[requests.Response] = []
    for i in range(limit):
        answers.append(call(i))
        if answers[-1].status_code == 429:
            break
    return answers


def test_s0_allows_10_calls_a_second_then_answers_429_with_retry_after(
    make_emulator: Any,
) -> None:
    emu = make_emulator(tier="S0")
    api = api_for(emu.url, emu.key)
    answers = until_throttled(lambda _: api.get("/persongroups", params={"top": 1}))
    assert len(answers) > 10
    assert {r.status_code for r in answers[:-1]} == {200}
    wait = expect_throttled(answers[-1])
    assert wait <= 2
    time.sleep(wait)
    assert api.get("/persongroups").status_code == 200


def test_s0_throttles_writes_too_and_a_throttled_write_changes_nothing(
    make_emulator: Any,
) -> None:
    emu = make_emulator(tier="S0")
    api = api_for(emu.url, emu.key)
    answers = until_throttled(lambda i: api.put(f"/persongroups/g{i:03d}", json={"name": "x"}))
    assert {r.status_code for r in answers[:-1]} == {200}
    expect_throttled(answers[-1])
    time.sleep(int(answers[-1].headers["Retry-After"]))
    created = [g["personGroupId"] for g in expect_json(api.get("/persongroups"))]
    assert created == [f"g{i:03d}" for i in range(len(answers) - 1)]


def test_free_tier_allows_20_calls_a_minute(make_emulator: Any) -> None:
    emu = make_emulator(tier="free")
    api = api_for(emu.url, emu.key)
    answers = burst(api, 21)
    assert [r.status_code for r in answers[:20]] == [200] * 20
    assert 1 <= expect_throttled(answers[20]) <= 60


def test_the_unlimited_tier_never_throttles(api: Api) -> None:
    assert {r.status_code for r in burst(api, 100)} == {200}


def test_latency_delays_every_request(make_emulator: Any) -> None:
    emu = make_emulator(latency_ms=300)
    api = api_for(emu.url, emu.key)
    for call in (lambda: api.get("/persongroups"), lambda: api.put("/persongroups/x", json={})):
        started = time.monotonic()
        call()
        assert time.monotonic() - started >= 0.3


# ---- faults ---------------------------------------------------------------------------


def faulty_emulator(make_emulator: Any, tmp_path: Path, **faults: Any) -> tuple[Api, str]:
    """A group made on a healthy emulator, then served by a faulty one on the same data."""
    data = tmp_path / "faulty"
    healthy = make_emulator(data)
    group = create_group(api_for(healthy.url, healthy.key), PERSON_GROUP)
    healthy.stop()
    emu = make_emulator(data, **faults)
    return api_for(emu.url, emu.key), group


def outcome(call: Any) -> int | str:
    """The status code, or "dropped" when the connection died without an answer."""
    try:
        return call().status_code
    except requests.ConnectionError:
        return "dropped"


def create_persons(api: Api, group: str, count: int) -> list[tuple[int | str, str]]:
    results = []
    for i in range(count):
        name = f"p{i:03d}"
        results.append(
            (
                outcome(
                    lambda n=name: api.post(f"/persongroups/{group}/persons", json={"name": n})
                ),
                name,
            )
        )
    return results


def listed_names(api: Api, group: str) -> set[str]:
    return {p["name"] for p in expect_json(api.get(f"/persongroups/{group}/persons"))}


def test_at_fault_rate_1_every_write_fails_and_some_failed_creates_happened(
    make_emulator: Any, tmp_path: Path
) -> None:
    api, group = faulty_emulator(make_emulator, tmp_path, fault_rate=1.0, fault_seed=7)
    results = create_persons(api, group, 30)
    assert {status for status, _ in results} <= {500, 503, 429, "dropped"}
    created = listed_names(api, group)
    assert 0 < len(created) < 30, "no failure ever struck after commit, or all did"
    assert created <= {name for _, name in results}


def test_faults_hit_every_kind_of_failure(make_emulator: Any, tmp_path: Path) -> None:
    api, group = faulty_emulator(make_emulator, tmp_path, fault_rate=1.0, fault_seed=3)
    kinds = {status for status, _ in create_persons(api, group, 60)}
    assert kinds == {500, 503, 429, "dropped"}


def test_faults_never_hit_reads(make_emulator: Any, tmp_path: Path) -> None:
    api, group = faulty_emulator(make_emulator, tmp_path, fault_rate=1.0, fault_seed=5)
    outcomes = [outcome(lambda: api.get(f"/persongroups/{group}")) for _ in range(20)]
    outcomes += [outcome(lambda: api.get(f"/persongroups/{group}/persons")) for _ in range(20)]
    assert set(outcomes) == {200}


def test_at_fault_rate_half_acknowledged_creates_all_exist(
    make_emulator: Any, tmp_path: Path
) -> None:
    api, group = faulty_emulator(make_emulator, tmp_path, fault_rate=0.5, fault_seed=11)
    results = create_persons(api, group, 40)
    succeeded = {name for status, name in results if status == 200}
    assert 5 <= len(succeeded) <= 35
    created = listed_names(api, group)
    assert succeeded <= created
    assert len(created) > len(succeeded), "no failure struck after commit"


def test_a_fault_seed_makes_the_faults_reproducible(make_emulator: Any, tmp_path: Path) -> None:
    runs = []
    for attempt in range(2):
        api, group = faulty_emulator(
            make_emulator, tmp_path / str(attempt), fault_rate=0.5, fault_seed=42
        )
        results = create_persons(api, group, 20)
        runs.append(([status for status, _ in results], sorted(listed_names(api, group))))
    assert runs[0] == runs[1]
