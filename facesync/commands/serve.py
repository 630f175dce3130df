"""`facesync serve`: the local Face API emulator in the foreground.

Its key comes from `--key` (visible in `ps`), else FACESYNC_KEY, else
`--key-file`, checked as a client checks its key; with none, the key kept in
the data folder (made at the first start, 0600), so clients keep working
across restarts; the start line prints that one. A key the user gave is
never printed: they know it, and a terminal log or CI output should not.
Every request is logged on stderr: method, path, status, milliseconds.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import click

from facesync.backends.connection import KEY_ENV, checked_key, read_key_file
from facesync.commands.options import GlobalOptions
from facesync.errors import ConfigError


def run(
    options: GlobalOptions,
    *,
    host: str,
    port: int,
    data_dir: Path,
    key: str | None,
    latency_ms: int,
    fault_rate: float,
    workers: int | None = None,
) -> int:
    """Serve until Ctrl-C. `workers` is the number of vision worker processes
    (None: one per core, at most two; 0: analyse in the server process)."""
    from facesync.emulator.server import EmulatorConfig, default_workers, serve, stored_key
    from facesync.emulator.vision import require_vision

    given, source = serve_key(key, options.key_file)
    _require_key_off_loopback(host, given)
    config = EmulatorConfig(
        data_dir=data_dir,
        key=given,
        host=host,
        port=port,
        tier=options.tier or "S0",
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        workers=default_workers() if workers is None else workers,
        request_log=lambda line: click.echo(line, err=True),
    )
    config.validate()
    require_vision()
    if given is None:  # checked first: a refused option creates no data folder
        config = replace(config, key=stored_key(data_dir))
    serve(
        config,
        announce=lambda line: click.echo(_hidden(line, given, source)),
        warn=lambda line: click.echo(line, err=True),
    )
    return 0


def serve_key(flag: str | None, key_file: Path | None) -> tuple[str | None, str]:
    """The key `serve` requires and where it came from (None: make a random one)."""
    if flag is not None:
        return checked_key(flag.strip(), "--key"), "--key"
    from_env = os.environ.get(KEY_ENV, "").strip()
    if from_env:
        return checked_key(from_env, KEY_ENV), KEY_ENV
    if key_file is not None:
        return read_key_file(key_file), f"--key-file {key_file}"
    return None, "random"


def _require_key_off_loopback(host: str, key: str | None) -> None:
    from facesync.emulator.fetch import is_loopback_host

    if key is None and not is_loopback_host(host):
        raise ConfigError(
            f"Refusing to serve on {host} without a key: set FACESYNC_KEY or pass --key-file"
            " (or --key, which other local users can see in ps), or keep the default host"
            " 127.0.0.1."
        )


def _hidden(line: str, key: str | None, source: str) -> str:
    """The start line with a key the user gave replaced by where it came from
    (only where the line names the key: a short key may occur in the URL too)."""
    if key is None:
        return line
    shown = f"<the key from {source}>"
    line = line.replace(f"key: {key} ", f"key: {shown} ")
    return line.replace(f"{KEY_ENV}={key})", f"{KEY_ENV}={shown})")
