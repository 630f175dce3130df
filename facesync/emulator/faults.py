"""Fault injection for realistic clients: --fault-rate P hits that fraction of the
mutating requests (PUT, POST, PATCH, DELETE) with a 500, a 503, a 429 or a dropped
connection, with equal odds. Half of the hits strike after the change was
committed: the client sees a failure although the server has the object, the
ambiguous failure of real networks. With a seed the sequence is reproducible
(three draws per mutating request, whatever the outcome).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

MUTATING_METHODS = frozenset({"PUT", "POST", "PATCH", "DELETE"})
FAULT_KINDS = ("500", "503", "429", "drop")


@dataclass(frozen=True)
class Fault:
    kind: str  # one of FAULT_KINDS
    after_commit: bool


class FaultInjector:
    def __init__(self, rate: float, seed: int | None = None) -> None:
        self.rate = rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self, method: str) -> Fault | None:
        if not self.rate or method.upper() not in MUTATING_METHODS:
            return None
        with self._lock:
            hit, kind, timing = (self._random.random() for _ in range(3))
        if hit >= self.rate:
            return None
        return Fault(FAULT_KINDS[int(kind * len(FAULT_KINDS))], after_commit=timing < 0.5)
