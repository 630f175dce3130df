"""`facesync force-unlock`: break the run lock of a facesync process that is gone."""

from __future__ import annotations

import click

from facesync.commands.options import GlobalOptions
from facesync.state.run_lock import force_unlock


def run(options: GlobalOptions) -> int:
    """Say what was found and done; a holder that still runs here is an error."""
    path = options.lock_path
    result = force_unlock(path)
    if result.outcome == "broken":
        who = str(result.holder) if result.holder else "a facesync process that left no note"
        click.echo(
            f"Broke the run lock of {path} held by {who}; make sure that process no longer "
            "runs, or two applies could interleave."
        )
    elif result.outcome == "stale":
        click.echo(
            f"Removed the stale run lock note of {path}: {result.holder} is no longer running."
        )
    else:
        click.echo(f"{path} is not locked: nothing to do.")
    return 0
