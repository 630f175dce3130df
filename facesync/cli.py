"""Command-line parsing, dispatch and exit codes: the only CLI-aware module.

Global options are accepted before or after the command name (README: Commands): each
is declared on the group and on every command and lands in one GlobalOptions
object. Errors become one sentence on stderr; tracebacks only with --debug.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from facesync import __version__
from facesync.commands.options import GlobalOptions
from facesync.errors import EXIT_ERROR, EXIT_INTERRUPTED, FacesyncError, os_error_line
from facesync.workspace import serve_data_dir


def _store(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is None or value is False:
            return
        options = ctx.find_root().ensure_object(GlobalOptions)
        setattr(options, name, value)

    return callback


_GLOBAL_OPTIONS = [
    click.option("-m", "--manifest", type=click.Path(path_type=Path), expose_value=False,
                 callback=_store("manifest"), help="Manifest file (default: facesync.yaml)."),
    click.option("--lock", "lock", type=click.Path(path_type=Path), expose_value=False,
                 callback=_store("lock"), help="Lock file (default: <manifest>.lock.json)."),
    click.option("--endpoint", expose_value=False, callback=_store("endpoint"),
                 help="Face API endpoint URL (or FACESYNC_ENDPOINT); none = embedded emulator."),
    click.option("--key-file", type=click.Path(path_type=Path), expose_value=False,
                 callback=_store("key_file"),
                 help="File holding the key on one line (FACESYNC_KEY wins when set)."),
    click.option("--tier", type=click.Choice(["free", "S0", "unlimited"]), expose_value=False,
                 callback=_store("tier"), help="Pricing tier whose rate limit to follow."),
    click.option("--allow-outside", is_flag=True, default=None, expose_value=False,
                 callback=_store("allow_outside"),
                 help="Allow image paths outside the manifest's folder."),
    click.option("--debug", is_flag=True, default=None, expose_value=False,
                 callback=_store("debug"),
                 help="Show tracebacks, and one stderr line per HTTP call: method, path,"
                      " status, ms, retry (never the key, a header or a body)."),
]


def global_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_GLOBAL_OPTIONS):
        func = option(func)
    return func


def _options() -> GlobalOptions:
    return click.get_current_context().find_root().ensure_object(GlobalOptions)


_REBIND = click.option("--rebind", is_flag=True,
                       help="Accept a lock written for another endpoint and move it to this one.")
_TARGET = click.option("--target", "targets", multiple=True, metavar="GROUP[/PERSON]",
                       help="Limit to a group or person (repeatable).")
_ADOPT_GROUP = click.option(
    "--adopt-group", "adopt_groups", multiple=True, metavar="GROUP_KEY",
    help="Take over this group although nothing proves facesync made it (it already exists "
         "on the server, or --rebind moved the lock to an endpoint where a group with its "
         "id exists). Its persons are listed, left alone, and deleted only with the group. "
         "Repeatable.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="facesync")
@global_options
def main_group() -> None:
    """Keep Face API person groups in Git: manifest -> plan -> apply -> lock."""


@main_group.command()
@click.option("--faces", is_flag=True, help="Also detect faces locally (needs the local extra).")
@global_options
def validate(faces: bool) -> int:
    """Check the manifest and its images; no network."""
    from facesync.commands import validate as cmd

    return cmd.run(_options(), faces=faces)


@main_group.command()
@click.option("-o", "--out", "out", type=click.Path(path_type=Path), help="Save the plan here.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes.")
@click.option("--refresh/--no-refresh", default=True, help="Read the server first (default).")
@_TARGET
@_REBIND
@_ADOPT_GROUP
@global_options
def plan(out: Path | None, as_json: bool, detailed_exitcode: bool, refresh: bool,
         targets: tuple[str, ...], rebind: bool, adopt_groups: tuple[str, ...]) -> int:
    """Show what apply would change."""
    from facesync.commands import plan as cmd

    return cmd.run(_options(), out=out, as_json=as_json, detailed_exitcode=detailed_exitcode,
                   refresh=refresh, targets=targets, rebind=rebind, adopt_groups=adopt_groups)


@main_group.command()
@click.argument("plan_file", required=False, type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--parallelism", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option("--rate", type=float, help="Calls per second to allow (overrides the tier).")
@click.option("--no-train", is_flag=True, help="Do not train changed groups.")
@click.option("--no-wait", is_flag=True, help="Start training but do not wait for it.")
@_TARGET
@_REBIND
@_ADOPT_GROUP
@global_options
def apply(plan_file: Path | None, yes: bool, parallelism: int, rate: float | None,
          no_train: bool, no_wait: bool, targets: tuple[str, ...], rebind: bool,
          adopt_groups: tuple[str, ...]) -> int:
    """Make the server match the manifest and record every id in the lock."""
    from facesync.commands import apply as cmd

    return cmd.run(_options(), plan_file=plan_file, yes=yes, parallelism=parallelism,
                   rate=rate, train=not no_train, wait=not no_wait, targets=targets,
                   rebind=rebind, adopt_groups=adopt_groups)


@main_group.command()
@click.option("--json", "as_json", is_flag=True)
@global_options
def show(as_json: bool) -> int:
    """Show what the lock file records."""
    from facesync.commands import show as cmd

    return cmd.run(_options(), as_json=as_json)


@main_group.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--parallelism", default=8, show_default=True, type=click.IntRange(1, 64))
@_TARGET
@global_options
def destroy(yes: bool, parallelism: int, targets: tuple[str, ...]) -> int:
    """Delete everything the lock manages."""
    from facesync.commands import destroy as cmd

    return cmd.run(_options(), yes=yes, parallelism=parallelism, targets=targets)


@main_group.command()
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--group", "group_id", help="Group to search (optional with one group).")
@click.option("--threshold", default=0.5, show_default=True, type=click.FloatRange(0, 1))
@click.option("--json", "as_json", is_flag=True)
@global_options
def identify(image: Path, group_id: str | None, threshold: float, as_json: bool) -> int:
    """Name the faces in IMAGE from a trained group."""
    from facesync.commands import identify as cmd

    return cmd.run(_options(), image=image, group_id=group_id, threshold=threshold,
                   as_json=as_json)


@main_group.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5005, show_default=True, type=click.IntRange(0, 65535))
@click.option("--data", "data_dir", type=click.Path(path_type=Path),
              default=serve_data_dir(), show_default=True,
              help="Folder for the emulator's database.")
@click.option("--key", help="Key clients must send. Visible to every local user in the"
                            " process list (ps): prefer FACESYNC_KEY or --key-file.")
@click.option("--latency-ms", default=0, show_default=True, type=click.IntRange(0, 60000))
@click.option("--fault-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1))
@click.option("--workers", type=int, default=None,
              help="Processes that analyse faces (default: one per core, at most 2;"
                   " 0: in the server process).")
@global_options
def serve(host: str, port: int, data_dir: Path, key: str | None, latency_ms: int,
          fault_rate: float, workers: int | None) -> int:
    """Run the local Face API emulator in the foreground.

    The key clients must send comes from --key, else FACESYNC_KEY, else the one
    line of --key-file (the order clients read the last two in); with none of
    them, a random key is made and printed. A key you give is never printed.
    """
    from facesync.commands import serve as cmd

    return cmd.run(_options(), host=host, port=port, data_dir=data_dir, key=key,
                   latency_ms=latency_ms, fault_rate=fault_rate, workers=workers)


@main_group.command("force-unlock")
@global_options
def force_unlock() -> int:
    """Break the run lock left by a facesync process that is gone."""
    from facesync.commands import force_unlock as cmd

    return cmd.run(_options())


def _fail(message: str, code: int = EXIT_ERROR) -> int:
    from facesync.backends.connection import scrub_keys_read

    click.echo(f"Error: {scrub_keys_read(message)}", err=True)
    return code


def _show_traceback() -> None:
    """--debug's traceback, with no key in it (an exception text may quote one)."""
    from facesync.backends.connection import scrub_keys_read

    click.echo(scrub_keys_read(traceback.format_exc()).rstrip("\n"), err=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a command and turn every outcome into an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    if debug:
        from facesync.backends.http_trace import show_http_calls

        show_http_calls()
    try:
        result = main_group.main(args=args, prog_name="facesync", standalone_mode=False,
                                 obj=GlobalOptions())
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        return _fail(exc.format_message())
    except FacesyncError as exc:
        if debug:
            _show_traceback()
        return _fail(exc.message, exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except OSError as exc:  # a full disk, a read-only folder: the file and the fix
        if debug:
            _show_traceback()
        return _fail(os_error_line(exc))
    except Exception as exc:  # a bug: one line, traceback only with --debug
        if debug:
            _show_traceback()
        return _fail(f"unexpected {type(exc).__name__}: {exc} (run with --debug for details)")
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
