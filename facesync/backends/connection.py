"""Which endpoint, key and tier a run uses (a flag, then the environment).

The key only ever comes from FACESYNC_KEY or a key file, never from a flag
whose value would show in `ps`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from facesync.backends.endpoint import endpoint_identity
from facesync.errors import ConfigError
from facesync.limits import TIER_RATES

ENDPOINT_ENV = "FACESYNC_ENDPOINT"
KEY_ENV = "FACESYNC_KEY"
TIER_ENV = "FACESYNC_TIER"
# What the lock file records as the endpoint of the embedded emulator.
EMBEDDED_ENDPOINT = "embedded"


@dataclass(frozen=True)
class Connection:
    """Where calls go. `endpoint` None means the embedded emulator."""

    endpoint: str | None
    key: str | None
    tier: str
    rate: float | None  # calls per second the client allows itself; None = no limit

    @property
    def identity(self) -> str:
        """What the lock file records: "embedded" or scheme://host:port."""
        return endpoint_identity(self.endpoint) if self.endpoint else EMBEDDED_ENDPOINT

    def __repr__(self) -> str:  # never show the key
        return f"Connection(endpoint={self.endpoint!r}, tier={self.tier!r}, rate={self.rate!r})"


def read_key(key_file: Path | None) -> str | None:
    """FACESYNC_KEY wins; else the first line of --key-file."""
    key = os.environ.get(KEY_ENV, "").strip()
    if key:
        return key
    if key_file is None:
        return None
    try:
        text = key_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read key file {key_file}: {exc.strerror or exc}") from None
    key = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not key:
        raise ConfigError(f"key file {key_file} is empty; put the Face resource's key in it")
    return key


def resolve_tier(flag: str | None, *, embedded: bool) -> str:
    tier = flag or os.environ.get(TIER_ENV) or ("unlimited" if embedded else "S0")
    if tier not in TIER_RATES:
        raise ConfigError(f"unknown tier {tier!r}; use one of: free, S0, unlimited")
    return tier


def resolve_connection(
    endpoint_flag: str | None,
    key_file: Path | None,
    tier_flag: str | None,
    rate_flag: float | None = None,
) -> Connection:
    endpoint = endpoint_flag or os.environ.get(ENDPOINT_ENV) or None
    tier = resolve_tier(tier_flag, embedded=endpoint is None)
    rate = rate_flag if rate_flag is not None else TIER_RATES[tier]
    if rate is not None and rate <= 0:
        raise ConfigError(f"--rate must be a positive number of calls per second, not {rate}")
    if endpoint is None:
        return Connection(None, None, tier, rate)
    endpoint_identity(endpoint)  # validates the URL
    key = read_key(key_file)
    if not key:
        raise ConfigError(
            f"no key for {endpoint}: set {KEY_ENV} or pass --key-file with the Face resource's key"
        )
    return Connection(endpoint.rstrip("/"), key, tier, rate)
