"""EmulatorConfig.validate refuses unsafe or impossible settings with a ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesync.errors import ConfigError

from .conftest import config


@pytest.mark.parametrize(
    "overrides",
    [
        {"host": "0.0.0.0", "key": None},
        {"host": "192.168.1.10", "key": None},
        {"tier": "gold"},
        {"fault_rate": 1.5},
        {"fault_rate": -0.1},
    ],
    ids=["any-host-no-key", "lan-host-no-key", "bad-tier", "fault-rate-1.5", "fault-rate-neg"],
)
def test_unsafe_or_impossible_settings_are_refused(tmp_path: Path, overrides: dict) -> None:
    with pytest.raises(ConfigError) as refused:
        config(tmp_path, **overrides).validate()
    assert str(refused.value).strip()


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"key": None},
        {"host": "0.0.0.0", "key": "secret-key"},
        {"tier": "free"},
        {"tier": "S0"},
        {"fault_rate": 1.0, "fault_seed": 3},
    ],
    ids=["defaults", "loopback-no-key", "any-host-with-key", "free", "S0", "fault-rate-1"],
)
def test_sound_settings_pass(tmp_path: Path, overrides: dict) -> None:
    config(tmp_path, **overrides).validate()
