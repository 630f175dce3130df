"""Fault injection for realistic clients: --fault-rate P hits that fraction of the
mutating requests (PUT, POST, PATCH, DELETE) with a 500, a 503, a 429 or a dropped
connection, with equal odds.

A 429 always strikes before the change: the service's gateway throttles a request
before the service acts on it, so a client may safely repeat a throttled create.
A 500, a 503 or a drop strikes after the change was committed half of the time:
the client sees a failure although the server has the object, the ambiguous
failure of real networks. With a seed the sequence is reproducible (three draws
per mutating request, whatever the outcome).

The injector also counts what it saw and did, so that tests and benches running
the emulator in-process can report how many faults a client survived.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

MUTATING_METHODS = frozenset({"PUT", "POST", "PATCH", "DELETE"})
FAULT_KINDS = ("500", "503", "429", "drop")
# Kinds that only ever strike before the change is committed.
BEFORE_COMMIT_ONLY = frozenset({"429"})


@dataclass(frozen=True)
class Fault:
    kind: str  # one of FAULT_KINDS
    after_commit: bool


@dataclass(frozen=True)
class FaultCounts:
    """What the injector saw: requests that reached it (authenticated and routed;
    reads included) and the faults it injected."""

    requests: int = 0
    mutating: int = 0
    before_commit: int = 0
    after_commit: int = 0
    by_kind: tuple[tuple[str, int], ...] = ()  # sorted by kind

    @property
    def injected(self) -> int:
        return self.before_commit + self.after_commit

    def since(self, earlier: FaultCounts) -> FaultCounts:
        """What happened between an earlier snapshot and this one."""
        kinds = Counter(dict(self.by_kind))
        kinds.subtract(dict(earlier.by_kind))
        return FaultCounts(
            requests=self.requests - earlier.requests,
            mutating=self.mutating - earlier.mutating,
            before_commit=self.before_commit - earlier.before_commit,
            after_commit=self.after_commit - earlier.after_commit,
            by_kind=tuple(sorted((k, n) for k, n in kinds.items() if n)),
        )


class FaultInjector:
    def __init__(self, rate: float, seed: int | None = None) -> None:
        self.rate = rate
        self._random = random.Random(seed)
        self._mutex = threading.Lock()
        self._requests = 0
        self._mutating = 0
        self._injected: Counter[tuple[str, bool]] = Counter()

    def draw(self, method: str) -> Fault | None:
        """The fault for one request, or None; called once per routed request."""
        mutating = method.upper() in MUTATING_METHODS
        with self._mutex:
            self._requests += 1
            self._mutating += mutating
            if not self.rate or not mutating:
                return None
            hit, kind_draw, timing = (self._random.random() for _ in range(3))
            if hit >= self.rate:
                return None
            kind = FAULT_KINDS[int(kind_draw * len(FAULT_KINDS))]
            fault = Fault(kind, after_commit=timing < 0.5 and kind not in BEFORE_COMMIT_ONLY)
            self._injected[(fault.kind, fault.after_commit)] += 1
        return fault

    def counts(self) -> FaultCounts:
        """A snapshot of the counters."""
        with self._mutex:
            kinds: Counter[str] = Counter()
            for (kind, _), count in self._injected.items():
                kinds[kind] += count
            after = sum(n for (_, late), n in self._injected.items() if late)
            return FaultCounts(
                requests=self._requests,
                mutating=self._mutating,
                before_commit=sum(self._injected.values()) - after,
                after_commit=after,
                by_kind=tuple(sorted(kinds.items())),
            )
