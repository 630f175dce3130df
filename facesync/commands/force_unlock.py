"""`facesync force-unlock`: break the run lock of a facesync process that is gone."""

from __future__ import annotations

import click

from facesync.settings import Settings
from facesync.state.run_lock import force_unlock


def run(settings: Settings) -> int:
    path = settings.lock_path
    if force_unlock(path):
        click.echo(f"Removed the run lock of {path}.")
    else:
        click.echo(f"{path} was not locked.")
    return 0
