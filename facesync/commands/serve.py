"""`facesync serve`: the local Face API emulator in the foreground."""

from __future__ import annotations

from pathlib import Path

import click

from facesync.commands.options import GlobalOptions


def run(
    options: GlobalOptions,
    *,
    host: str,
    port: int,
    data_dir: Path,
    key: str | None,
    latency_ms: int,
    fault_rate: float,
) -> int:
    from facesync.emulator.server import EmulatorConfig, serve
    from facesync.emulator.vision import require_vision

    config = EmulatorConfig(
        data_dir=data_dir,
        key=key,
        host=host,
        port=port,
        tier=options.tier or "S0",
        latency_ms=latency_ms,
        fault_rate=fault_rate,
    )
    config.validate()
    require_vision()
    serve(config, announce=lambda line: click.echo(line))
    return 0
