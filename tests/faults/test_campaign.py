"""The fault campaign (docs/faults.md): an apply killed at a random moment, or meeting
injected failures, is recovered by a plain apply with nothing lost, nothing
duplicated and nothing orphaned. bench/faults.py runs the same trials by the
dozen; FAULT_SEEDS="17,42" replays some here. Kill seed 1 applies a plan saved with
`plan --target`, kill seed 10 changes the group's kind, and most galleries give some
person's photos one shared userData (tests/faults/gallery.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.gallery import Pool
from tests.faults.trials import (
    bad_edit_trial,
    disk_trial,
    fault_trial,
    kill_trial,
    trial_seeds,
)


# Seeds: a kill on an empty server; one during an edit, then a kill of the recovery too;
# one during an edit, then another edit before the recovery.
@pytest.mark.parametrize("seed", trial_seeds((1, 8, 10)))
def test_an_apply_killed_at_a_random_moment_is_recovered_by_the_next_apply(
    seed: int, pool: Pool, tmp_path: Path
) -> None:
    result = kill_trial(seed, tmp_path, pool)
    assert result.kill_delivered, "the apply ended before the kill: " + result.describe()
    assert result.ok, result.describe()


# Seeds: faults during two edits and on an empty server.
@pytest.mark.parametrize("seed", trial_seeds((1, 2, 4)))
def test_an_apply_meeting_injected_faults_converges_with_nothing_lost_or_duplicated(
    seed: int, pool: Pool, tmp_path: Path
) -> None:
    result = fault_trial(seed, tmp_path, pool)
    assert result.faults.injected > 0, "no fault struck: " + result.describe()
    assert result.ok, result.describe()


# Seed: the 6th journal append of an edit is cut short (a nearly full disk).
@pytest.mark.parametrize("seed", trial_seeds((8,)))
def test_an_apply_whose_journal_write_is_cut_short_stops_and_the_next_converges(
    seed: int, pool: Pool, tmp_path: Path
) -> None:
    result = disk_trial(seed, tmp_path, pool)
    assert result.first.code == 1, "the disk fault never struck: " + result.describe()
    assert result.ok, result.describe()


# Seeds: new bytes without a face, and a targetFace on an empty corner.
@pytest.mark.parametrize("seed", trial_seeds((1, 3)))
def test_a_bad_edit_of_an_enrolled_face_fails_and_keeps_the_old_face(
    seed: int, pool: Pool, tmp_path: Path
) -> None:
    result = bad_edit_trial(seed, tmp_path, pool)
    assert result.ok, result.describe()
