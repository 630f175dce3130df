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
    workers: int | None = None,
) -> int:
    """Serve until Ctrl-C. `workers` is the number of vision worker processes
    (None: one per core, at most two; 0: analyse in the server process)."""
    from facesync.emulator.server import EmulatorConfig, default_workers, serve
    from facesync.emulator.vision import require_vision

    config = EmulatorConfig(
        data_dir=data_dir,
        key=key,
        host=host,
        port=port,
        tier=options.tier or "S0",
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        workers=default_workers() if workers is None else workers,
    )
    config.validate()
    require_vision()
    serve(config, announce=lambda line: click.echo(line))
    return 0
