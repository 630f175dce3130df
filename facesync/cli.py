"""Command-line parsing, dispatch and exit codes: the only CLI-aware module.

Global options are accepted before the command name and after it where they
mean something (README: Commands): the group declares them all, each command
the ones it uses, so that its --help lists only those; all land in one
GlobalOptions object. Errors become one sentence on stderr; tracebacks only
with --debug.
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

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _store(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is None or value is False:
            return
        options = ctx.find_root().ensure_object(GlobalOptions)
        setattr(options, name, value)

    return callback


def _path_option(*decls: str, name: str, help: str) -> Decorator:  # noqa: A002 (click's name)
    return click.option(*decls, type=click.Path(path_type=Path), expose_value=False,
                        callback=_store(name), help=help)


def _flag(*decls: str, name: str, help: str) -> Decorator:  # noqa: A002 (click's name)
    return click.option(*decls, is_flag=True, default=None, expose_value=False,
                        callback=_store(name), help=help)


# Each global option by its GlobalOptions field: (declaration, default help).
_GLOBAL: dict[str, Callable[[str], Decorator]] = {
    "manifest": lambda h: _path_option("-m", "--manifest", name="manifest", help=h),
    "lock": lambda h: _path_option("--lock", name="lock", help=h),
    "endpoint": lambda h: click.option(
        "--endpoint", metavar="URL", expose_value=False, callback=_store("endpoint"), help=h),
    "key_file": lambda h: _path_option("--key-file", name="key_file", help=h),
    "tier": lambda h: click.option(
        "--tier", type=click.Choice(["free", "S0", "unlimited"]), expose_value=False,
        callback=_store("tier"), help=h),
    "allow_outside": lambda h: _flag("--allow-outside", name="allow_outside", help=h),
    "quiet": lambda h: _flag("-q", "--quiet", name="quiet", help=h),
    "no_color": lambda h: _flag("--no-color", name="no_color", help=h),
    "debug": lambda h: _flag("--debug", name="debug", help=h),
}
_HELP = {
    "manifest": "Manifest file (default: facesync.yaml).",
    "lock": "Lock file (default: the manifest's name with .lock.json).",
    "endpoint": "Face API endpoint (or FACESYNC_ENDPOINT); none: the embedded emulator.",
    "key_file": "File with the key on one line (FACESYNC_KEY wins when set).",
    "tier": "Rate limit to follow (default: S0 for an endpoint).",
    "allow_outside": "Allow image paths outside the manifest's folder.",
    "quiet": "Print no informational notes (warnings and errors stay).",
    "no_color": "No colours (also when NO_COLOR is set).",
    "debug": "Tracebacks, and one stderr line per HTTP call (never a key or a body).",
}
OUTPUT = ("quiet", "no_color", "debug")  # every command but serve
INPUTS = ("manifest", "allow_outside")  # reading the manifest
CLIENT = ("manifest", "lock", "endpoint", "key_file", "tier", "allow_outside")  # + a server


def global_options(*names: str, **helps: str) -> Decorator:
    """Declare these global options on a command (`helps`: a help of its own)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for name in reversed(names):
            func = _GLOBAL[name](helps.get(name, _HELP[name]))(func)
        return func

    return decorate


def _options() -> GlobalOptions:
    """The run's global options; --quiet and --no-color take effect here."""
    from facesync.commands.common import set_output

    options = click.get_current_context().find_root().ensure_object(GlobalOptions)
    set_output(options)
    return options


def _examples(*lines: str) -> str:
    """An epilog that click prints as written (`\\b`: no rewrapping)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


_REBIND = click.option("--rebind", is_flag=True,
                       help="Accept a lock written for another endpoint and move it to this one.")
_TARGET = click.option("--target", "targets", multiple=True, metavar="GROUP[/PERSON]",
                       help="Limit to a group or person (repeatable).")
_FACE_CHECK = click.option(
    "--face-check/--no-face-check", default=True,
    help="Check every photo with the local face detector before any call (default; needs "
         "the local extra, cached by image). --no-face-check leaves faces to the service, "
         "e.g. where its detector and the local one disagree.")
_ADOPT_GROUP = click.option(
    "--adopt-group", "adopt_groups", multiple=True, metavar="GROUP",
    help="Take over this existing server group although nothing proves facesync made it.")
_PARALLELISM = click.option(
    "--parallelism", default=8, show_default=True, type=click.IntRange(1, 64),
    help="Calls at once, across persons (one at a time per person).")


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=_examples(
        "facesync init photos",
        "facesync plan",
        "facesync apply",
        "facesync identify team.jpg",
    ),
)
@click.version_option(__version__, prog_name="facesync")
@global_options(*CLIENT, *OUTPUT)
def main_group() -> None:
    """Keep Face API person groups in Git: manifest -> plan -> apply -> lock."""


@main_group.command(epilog=_examples("facesync validate", "facesync validate -m gallery.yaml"))
@click.option("--faces", is_flag=True,
              help="Accepted for old scripts; the local face checks always run.")
@global_options(*INPUTS, *OUTPUT)
def validate(faces: bool) -> int:
    """Check the manifest, its images and (with the local extra) its faces; no network."""
    from facesync.commands import validate as cmd

    return cmd.run(_options(), faces=faces)


@main_group.command(epilog=_examples(
    "facesync plan",
    "facesync plan --target staff/alice",
    "facesync plan -o next.plan && facesync apply next.plan",
))
@click.option("-o", "--out", "out", type=click.Path(path_type=Path),
              help="Save the plan to this file for `apply PLAN`.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes.")
@click.option("--refresh/--no-refresh", default=True,
              help="Read the server first (default), or trust the lock.")
@_TARGET
@_REBIND
@_ADOPT_GROUP
@_FACE_CHECK
@global_options(*CLIENT, *OUTPUT)
def plan(out: Path | None, as_json: bool, detailed_exitcode: bool, refresh: bool,
         targets: tuple[str, ...], rebind: bool, adopt_groups: tuple[str, ...],
         face_check: bool) -> int:
    """Show what apply would change."""
    from facesync.commands import plan as cmd

    return cmd.run(_options(), out=out, as_json=as_json, detailed_exitcode=detailed_exitcode,
                   refresh=refresh, targets=targets, rebind=rebind, adopt_groups=adopt_groups,
                   face_check=face_check)


@main_group.command(epilog=_examples(
    "facesync apply",
    "facesync apply --yes --target staff",
    "facesync apply next.plan",
))
@click.argument("plan_file", required=False, type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_PARALLELISM
@click.option("--rate", type=float, help="Calls per second to allow (overrides the tier).")
@click.option("--no-train", is_flag=True, help="Do not train changed groups.")
@click.option("--no-wait", is_flag=True, help="Start training but do not wait for it.")
@_TARGET
@_REBIND
@_ADOPT_GROUP
@_FACE_CHECK
@global_options(*CLIENT, *OUTPUT)
def apply(plan_file: Path | None, yes: bool, parallelism: int, rate: float | None,
          no_train: bool, no_wait: bool, targets: tuple[str, ...], rebind: bool,
          adopt_groups: tuple[str, ...], face_check: bool) -> int:
    """Make the server match the manifest and record every id in the lock."""
    from facesync.commands import apply as cmd

    return cmd.run(_options(), plan_file=plan_file, yes=yes, parallelism=parallelism,
                   rate=rate, train=not no_train, wait=not no_wait, targets=targets,
                   rebind=rebind, adopt_groups=adopt_groups, face_check=face_check)


@main_group.command(epilog=_examples("facesync show", "facesync show --json"))
@click.option("--json", "as_json", is_flag=True,
              help="Print what the lock records as JSON (ids, paths, training).")
@global_options("manifest", "lock", "allow_outside", *OUTPUT,
                manifest="Manifest to take names from (default: facesync.yaml).")
def show(as_json: bool) -> int:
    """Show what the lock file records, with the manifest's names."""
    from facesync.commands import show as cmd

    return cmd.run(_options(), as_json=as_json)


@main_group.command(epilog=_examples("facesync destroy", "facesync destroy --target staff/alice"))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_PARALLELISM
@_TARGET
@global_options(*CLIENT, *OUTPUT)
def destroy(yes: bool, parallelism: int, targets: tuple[str, ...]) -> int:
    """Delete everything the lock manages (or the targets)."""
    from facesync.commands import destroy as cmd

    return cmd.run(_options(), yes=yes, parallelism=parallelism, targets=targets)


@main_group.command(epilog=_examples(
    "facesync identify team.jpg", "facesync identify team.jpg --group staff --json"))
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--group", "group_id", help="Group to search (optional with one group).")
@click.option("--threshold", default=0.5, show_default=True, type=click.FloatRange(0, 1),
              help="Lowest confidence that names a person.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the faces as JSON (box, person, name, confidence).")
@global_options(*CLIENT, *OUTPUT)
def identify(image: Path, group_id: str | None, threshold: float, as_json: bool) -> int:
    """Name the faces in IMAGE from a trained group."""
    from facesync.commands import identify as cmd

    return cmd.run(_options(), image=image, group_id=group_id, threshold=threshold,
                   as_json=as_json)


@main_group.command(epilog=_examples("facesync faces photos/team.jpg"))
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the faces as JSON.")
@global_options(*OUTPUT)
def faces(image: Path, as_json: bool) -> int:
    """List the faces the local detector finds in a photo, with boxes in the manifest's form."""
    from facesync.commands import faces as cmd

    return cmd.run(_options(), image=image, as_json=as_json)


@main_group.command(epilog=_examples("facesync init photos", "facesync init photos -m team.yaml"))
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@global_options("manifest", *OUTPUT, manifest="Manifest to write (default: facesync.yaml).")
def init(folder: Path | None) -> int:
    """Write a first facesync.yaml from a folder of photos, one subfolder per person."""
    from facesync.commands import init as cmd

    return cmd.run(_options(), folder=folder)


@main_group.command(epilog=_examples(
    "facesync serve", "facesync serve --port 5005 --tier free --latency-ms 200"))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (another one needs a key).")
@click.option("--port", default=5005, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--data", "data_dir", type=click.Path(path_type=Path),
              default=serve_data_dir(), show_default=True,
              help="Folder for the emulator's data.")
@click.option("--key", help="Key clients must send. Visible to every local user in the"
                            " process list (ps): prefer FACESYNC_KEY or --key-file.")
@click.option("--latency-ms", default=0, show_default=True, type=click.IntRange(0, 60000),
              help="Delay added to every request.")
@click.option("--fault-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of mutating requests that fail (500, 503, 429, dropped).")
@click.option("--workers", type=int, default=None,
              help="Processes that analyse faces (default: one per core, at most 2;"
                   " 0: in the server process).")
@global_options("key_file", "tier", "debug",
                key_file="File with the key clients must send, on one line.",
                tier="Rate limits to enforce (default: S0).")
def serve(host: str, port: int, data_dir: Path, key: str | None, latency_ms: int,
          fault_rate: float, workers: int | None) -> int:
    """Run the local Face API emulator in the foreground.

    The key clients must send comes from --key, else FACESYNC_KEY, else the one
    line of --key-file (the order clients read the last two in); with none of
    them, the key kept in the data folder (made at the first start), which the
    start line prints. A key you give is never printed.
    """
    from facesync.commands import serve as cmd

    return cmd.run(_options(), host=host, port=port, data_dir=data_dir, key=key,
                   latency_ms=latency_ms, fault_rate=fault_rate, workers=workers)


@main_group.command("force-unlock", epilog=_examples("facesync force-unlock -m gallery.yaml"))
@global_options("manifest", "lock", *OUTPUT,
                manifest="Manifest whose lock to unlock (default: facesync.yaml).")
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
