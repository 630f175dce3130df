"""Which endpoint, key and tier a run uses (a flag, then the environment).

The key only ever comes from FACESYNC_KEY or a key file, never from a flag
whose value would show in `ps`. It is checked before use: a key that cannot
travel as a header value (two keys pasted, a stray character) would otherwise
be echoed by requests or http.client in their error texts, so it is refused
by where it came from, never by quoting any part of it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from facesync.backends.endpoint import endpoint_identity
from facesync.errors import ConfigError
from facesync.limits import TIER_RATES
from facesync.workspace import emulator_note_path

ENDPOINT_ENV = "FACESYNC_ENDPOINT"
KEY_ENV = "FACESYNC_KEY"
TIER_ENV = "FACESYNC_TIER"
# Azure keys are 32 hex characters today, others are longer; the emulator's bound.
KEY_MAX_CHARS = 256
_KEY_FILE_MAX_BYTES = 4096  # a key file is one short line: never read a big file whole
# A run of the key this long is scrubbed too (a key cut or escaped in a message).
SCRUB_FRAGMENT = 8
# Every key this process read: the CLI's last guard scrubs them from what it prints.
_keys_read: set[str] = set()
# What the lock file records as the endpoint of the embedded emulator.
EMBEDDED_ENDPOINT = "embedded"


@dataclass(frozen=True)
class Connection:
    """Where calls go. `endpoint` None means the embedded emulator."""

    endpoint: str | None
    key: str | None
    tier: str
    rate: float | None  # calls per second the client allows itself; None = no limit
    # The endpoint is the emulator serving the embedded default's own data folder
    # (`facesync serve` in the manifest's folder): the same store, so the same lock.
    embedded_store: bool = False

    @property
    def identity(self) -> str:
        """What the lock file records: "embedded" (the embedded default's data,
        however it is reached) or scheme://host:port."""
        if not self.endpoint or self.embedded_store:
            return EMBEDDED_ENDPOINT
        return endpoint_identity(self.endpoint)

    def __repr__(self) -> str:  # never show the key
        return f"Connection(endpoint={self.endpoint!r}, tier={self.tier!r}, rate={self.rate!r})"


def read_key(key_file: Path | None) -> str | None:
    """FACESYNC_KEY wins; else the one line of --key-file. Either is checked."""
    key = os.environ.get(KEY_ENV, "").strip()
    if key:
        return checked_key(key, KEY_ENV)
    if key_file is None:
        return None
    return read_key_file(key_file)


def checked_key(key: str, source: str) -> str:
    """`key` if it can travel as a header value, else a ConfigError naming `source`."""
    _keys_read.add(key)  # even a refused key: scrubbed from anything printed later
    problem = key_problem(key)
    if problem:
        raise ConfigError(f"{source} is not a valid key: {problem}; paste one key only")
    return key


def key_problem(key: str) -> str | None:
    """Why `key` is no well-formed key (never quoting it), or None when it is."""
    if not key:
        return "it is empty"
    if any(char in "\r\n\x0b\x0c\x85\u2028\u2029" for char in key):
        return "it holds a line break (were two keys pasted?)"
    if any(char.isspace() for char in key):
        return "it holds a space or a tab"
    if not all(33 <= ord(char) <= 126 for char in key):
        return "it holds a control character or a character outside printable ASCII"
    if len(key) > KEY_MAX_CHARS:
        return f"it is longer than {KEY_MAX_CHARS} characters"
    return None


def read_key_file(key_file: Path) -> str:
    """The key a file holds on its one line (a BOM and surrounding blanks ignored)."""
    try:
        with key_file.open("rb") as stream:
            raw = stream.read(_KEY_FILE_MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read key file {key_file}: {exc.strerror or exc}") from None
    source = f"the key in {key_file}"
    if len(raw) > _KEY_FILE_MAX_BYTES:
        raise ConfigError(f"{source} is not a valid key: the file is far larger than one key")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(
            f"{source} is not a valid key: the file is not text; put one key on one line"
        ) from None
    lines = [line.strip() for line in text.strip().splitlines()]
    if not lines:
        raise ConfigError(f"key file {key_file} is empty; put the Face resource's key in it")
    if len(lines) > 1:
        raise ConfigError(
            f"{source} is not a valid key: the file holds more than one line; "
            "put one key only in it"
        )
    return checked_key(lines[0], source)


def key_fragments(key: str) -> frozenset[str]:
    """Every SCRUB_FRAGMENT-long piece of the key, lower-cased."""
    lowered = key.lower()
    size = min(SCRUB_FRAGMENT, len(lowered))
    return frozenset(lowered[i : i + size] for i in range(len(lowered) - size + 1))


def scrub_key(text: str, key: str, fragments: frozenset[str] | None = None) -> str:
    """`text` with every stretch covered by pieces of `key` as *** (case-insensitive:
    a message may upper-case a hex key, cut it, or escape a character of it)."""
    if not key or not text:
        return text
    pieces = key_fragments(key) if fragments is None else fragments
    size = min(SCRUB_FRAGMENT, len(key))
    lowered = text.lower()
    covered = [False] * len(text)
    for start in range(len(text) - size + 1):
        if lowered[start : start + size] in pieces:
            covered[start : start + size] = [True] * size
    if not any(covered):
        return text
    out: list[str] = []
    for index, char in enumerate(text):
        if not covered[index]:
            out.append(char)
        elif index == 0 or not covered[index - 1]:
            out.append("***")
    return "".join(out)


def scrub_keys_read(text: str) -> str:
    """`text` without any key this process read, nor any run of 8 characters of one."""
    for key in sorted(_keys_read):
        text = scrub_key(text, key)
    return text


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
    *,
    manifest_folder: Path | None = None,
) -> Connection:
    """Where calls go. With `manifest_folder`, an endpoint that is the emulator
    serving that folder's embedded data (its note names this URL) keeps the
    embedded default's identity."""
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
    endpoint = endpoint.rstrip("/")
    store = manifest_folder is not None and serves_embedded_data(endpoint, manifest_folder)
    return Connection(endpoint, key, tier, rate, embedded_store=store)


def serves_embedded_data(endpoint: str, manifest_folder: Path) -> bool:
    """Whether `endpoint` is the live emulator that owns the embedded default's data
    folder of `manifest_folder`: the note it leaves there while it runs (URL, pid)
    names this URL and a running process. Read without any call."""
    note = emulator_note_path(manifest_folder)
    try:
        doc = json.loads(note.read_text())
        url, pid = doc["url"], doc["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not isinstance(url, str) or not isinstance(pid, int) or isinstance(pid, bool):
        return False
    try:
        if endpoint_identity(url) != endpoint_identity(endpoint):
            return False
        os.kill(pid, 0)
    except PermissionError:
        return True  # alive, another user's
    except (OSError, ConfigError):
        return False
    return True
