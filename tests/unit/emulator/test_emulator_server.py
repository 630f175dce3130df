"""Configuration rules and the in-process start/stop cycle."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesync.emulator.server import EmulatorConfig, start_emulator
from facesync.errors import ConfigError


@pytest.mark.parametrize(
    "changes",
    [
        {"host": "0.0.0.0"},
        {"host": "192.168.1.10"},
        {"tier": "gold"},
        {"fault_rate": 1.5},
        {"fault_rate": -0.1},
        {"latency_ms": -1},
        {"port": 70000},
        {"key": ""},
        {"key": "has space"},
    ],
)
def test_bad_settings_are_refused_with_one_sentence(tmp_path: Path, changes) -> None:
    with pytest.raises(ConfigError) as caught:
        EmulatorConfig(data_dir=tmp_path, **changes).validate()

    assert caught.value.message.endswith(".")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_hosts_need_no_key(tmp_path: Path, host: str) -> None:
    EmulatorConfig(data_dir=tmp_path, host=host).validate()


def test_another_host_is_fine_with_a_key(tmp_path: Path) -> None:
    EmulatorConfig(data_dir=tmp_path, host="0.0.0.0", key="secret").validate()


def test_a_data_folder_serves_one_emulator_at_a_time_and_data_survives(tmp_path: Path) -> None:
    requests = pytest.importorskip("requests")
    first = start_emulator(EmulatorConfig(data_dir=tmp_path, port=0))
    try:
        with pytest.raises(ConfigError):
            start_emulator(EmulatorConfig(data_dir=tmp_path, port=0))
        answer = requests.put(
            f"{first.url}/face/v1.0/persongroups/kept",
            json={"name": "Kept"},
            headers={"Ocp-Apim-Subscription-Key": first.key},
            timeout=10,
        )
        assert answer.status_code == 200
        assert len(first.key) == 32
    finally:
        first.stop()

    second = start_emulator(EmulatorConfig(data_dir=tmp_path, port=0, key="k2"))
    try:
        answer = requests.get(
            f"{second.url}/face/v1.0/persongroups/kept",
            headers={"Ocp-Apim-Subscription-Key": "k2"},
            timeout=10,
        )
        assert answer.json() == {"personGroupId": "kept", "name": "Kept"}
    finally:
        second.stop()


def test_a_busy_port_is_a_config_error_and_frees_the_data_folder(tmp_path: Path) -> None:
    first = start_emulator(EmulatorConfig(data_dir=tmp_path / "a", port=0))
    try:
        port = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(ConfigError, match="Cannot listen"):
            start_emulator(EmulatorConfig(data_dir=tmp_path / "b", port=port))
        second = start_emulator(EmulatorConfig(data_dir=tmp_path / "b", port=0))
        second.stop()
    finally:
        first.stop()
