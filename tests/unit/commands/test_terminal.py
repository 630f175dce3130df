"""The closing lines of a sync, as apply and destroy print them."""

from __future__ import annotations

import pytest

from facesync.commands.terminal import recovery_line
from facesync.engine.executor import ApplyReport


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ({}, None),
        ({"passes": 3, "recovered": 3, "reconcile_calls": 14},
         "Recovered from 3 failed calls in 2 extra passes (14 extra calls)."),
        ({"passes": 2, "recovered": 1, "reconcile_calls": 1},
         "Recovered from 1 failed call in 1 extra pass (1 extra call)."),
        ({"passes": 4, "recovered": 3, "reconcile_calls": 21, "failed": [None]},
         "Tried to recover from 3 failed calls in 3 extra passes (21 extra calls)."),
        ({"adopted": 2, "reconcile_calls": 3},
         "Adopted 2 objects left by an interrupted apply (3 extra calls)."),
    ],
)
def test_apply_says_what_recovery_took_in_one_line(fields, line) -> None:
    assert recovery_line(ApplyReport(**fields)) == line
