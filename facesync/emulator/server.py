"""Start and stop the emulator: in-process on a background thread, or in the foreground.

Binds to 127.0.0.1 by default and refuses any other address without a key.
One emulator at a time owns a data folder (a lock file), so two processes never
train or cache the same groups. This module imports without the `local` extra
(numpy, dlib), so that a missing extra is one clear sentence from
require_vision(), never an ImportError.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout
from werkzeug.serving import (
    BaseWSGIServer,
    WSGIRequestHandler,
    get_sockaddr,
    make_server,
    select_address_family,
)
from werkzeug.wsgi import ClosingIterator

from facesync.emulator import vision
from facesync.emulator.fetch import is_loopback_host
from facesync.emulator.private import (
    FILE_MODE,
    loose_warning,
    make_private_dir,
    open_private,
)
from facesync.emulator.store import Store, StoreError
from facesync.errors import ConfigError
from facesync.limits import TIER_RATES

if TYPE_CHECKING:
    from facesync.emulator.app import Pipeline
    from facesync.emulator.pooled_vision import PooledVision
    from facesync.emulator.training import Trainer

LOCK_NAME = "emulator.lock"
# Where the emulator that owns a data folder says how to reach it (URL, key, pid),
# so that a second command on the same folder uses it instead of failing.
SERVER_NOTE = "server.json"  # facesync.workspace.EMULATOR_NOTE reads it by name
KEY_NAME = "key"  # `serve`'s key, kept with its data
STOP_GRACE_SECONDS = 10
# How often the serving loop looks for a stop request: what stop() waits at most.
POLL_SECONDS = 0.02
MAX_WORKERS = 32
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmulatorConfig:
    data_dir: Path
    key: str | None = None  # None -> a random key is generated
    host: str = "127.0.0.1"
    port: int = 5005  # 0 -> any free port
    tier: str = "unlimited"  # "free" | "S0" | "unlimited"
    latency_ms: int = 0
    fault_rate: float = 0.0  # 0..1, mutating requests only
    fault_seed: int | None = None  # makes fault injection reproducible
    # Load the dlib models at start (a long-running `serve`), or only when a call
    # first needs vision (the embedded default: a plan that only lists never does).
    warm_up: bool = True
    # Vision worker processes (started with warm_up, else when a call first needs
    # one); 0 analyses in this process, as the embedded emulator does: a short
    # apply never waits for fresh interpreters to load the models.
    workers: int = 0
    # One line per request (method, path, status, ms), for `serve`'s log; None: silent.
    request_log: Callable[[str], None] | None = None

    def validate(self) -> None:
        if self.key is not None and not _usable_key(self.key):
            raise ConfigError(
                "The emulator key must be 1 to 256 printable ASCII characters without spaces."
            )
        if not is_loopback_host(self.host) and self.key is None:
            raise ConfigError(
                f"Refusing to serve on {self.host} without a key: pass --key, or keep the"
                " default host 127.0.0.1."
            )
        if self.tier not in TIER_RATES:
            tiers = ", ".join(sorted(TIER_RATES))
            raise ConfigError(f"Unknown tier {self.tier!r}: use one of {tiers}.")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ConfigError(f"The fault rate must be between 0 and 1, not {self.fault_rate}.")
        if self.latency_ms < 0:
            raise ConfigError(f"The latency must be 0 ms or more, not {self.latency_ms}.")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"The port must be between 0 and 65535, not {self.port}.")
        if not _usable_workers(self.workers):
            raise ConfigError(
                f"The number of vision workers (--workers) must be a whole number from 0 to"
                f" {MAX_WORKERS}, not {self.workers!r}."
            )


class DataFolderBusy(ConfigError):
    """Another emulator process owns the data folder."""


def default_workers() -> int:
    """`serve`'s vision workers: one per core, at most two (each holds its own models)."""
    return max(1, min(2, os.cpu_count() or 1))


def _usable_workers(workers: object) -> bool:
    whole = isinstance(workers, int) and not isinstance(workers, bool)
    return whole and 0 <= workers <= MAX_WORKERS  # type: ignore[operator]


def _usable_key(key: str) -> bool:
    return 0 < len(key) <= 256 and all(33 <= ord(char) <= 126 for char in key)


class _QuietHandler(WSGIRequestHandler):
    """Request lines go to the debug log, not stderr; idle clients time out."""

    timeout = 60

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s %s", self.command, self.path, code)

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 (werkzeug's name)
        log.debug(message, *args)


class RunningEmulator:
    """An emulator serving on a background thread until stop()."""

    def __init__(
        self, server: BaseWSGIServer, pipeline: Pipeline, trainer: Trainer, store: Store,
        lock: FileLock, host: str, pooled: PooledVision | None = None,
    ) -> None:  # fmt: skip
        self._server = server
        self._pipeline = pipeline
        self._trainer = trainer
        self._store = store
        self._data_lock = lock
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{server.port}"
        self.key = pipeline.key
        self.faults = pipeline.faults  # counts requests and injected faults (tests, benches)
        self._pooled = pooled
        # One line per data file that others may read, for the caller to show.
        self.warnings = tuple(loose_warning(path) for path in store.loose_files)
        # The vision workers (tests, benches: started(), pids()); None when analysing in-process.
        self.workers = pooled.pool if pooled is not None else None
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS},
            name="facesync-emulator", daemon=True,
        )
        self._stopped = False
        self._note = _write_server_note(store.path.parent, self.url, self.key)
        self._thread.start()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being answered (one a killed client sent may
        still commit); False if some still run after `timeout` seconds."""
        return self._pipeline.in_flight.wait_idle(timeout)

    def stop(self) -> None:
        """Stop serving, let running requests and trainings end, close the data."""
        if self._stopped:
            return
        self._stopped = True
        if self._note is not None:
            self._note.unlink(missing_ok=True)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._pipeline.in_flight.wait_idle(STOP_GRACE_SECONDS)
        self._trainer.stop()
        if self._pooled is not None:
            self._pooled.close()
        self._store.close()
        self._data_lock.release()


def start_emulator(config: EmulatorConfig) -> RunningEmulator:
    """Serve on a background thread; returns once the socket listens."""
    config.validate()
    vision.require_vision()
    lock = _lock_data_dir(config.data_dir)
    try:
        store = Store(config.data_dir)
    except StoreError as error:
        lock.release()
        raise ConfigError(str(error)) from None
    try:
        listener = _listen(config.host, config.port)
    except ConfigError:
        store.close()
        lock.release()
        raise
    pooled = _pooled_vision(config)
    pipeline, trainer = _assemble(config, store, pooled)
    from facesync.emulator.app import create_app

    app: Any = create_app(pipeline)
    if config.request_log is not None:
        app = _RequestLog(app, config.request_log)
    with listener:
        server = make_server(
            config.host, config.port, app, threaded=True,
            request_handler=_QuietHandler, fd=listener.fileno(),
        )  # fmt: skip
    trainer.resume()
    if config.warm_up and pooled is not None:
        pooled.pool.warm_up()
    elif config.warm_up:
        threading.Thread(target=_warm_up, name="facesync-emulator-warm-up", daemon=True).start()
    return RunningEmulator(server, pipeline, trainer, store, lock, config.host, pooled)


def _pooled_vision(config: EmulatorConfig) -> PooledVision | None:
    if config.workers == 0:
        return None
    from facesync.emulator.pooled_vision import PooledVision

    return PooledVision(config.workers)


def _assemble(
    config: EmulatorConfig, store: Store, pooled: PooledVision | None
) -> tuple[Pipeline, Trainer]:
    """The emulated resource: models, training, recognition and the request pipeline."""
    from facesync.emulator.app import Pipeline
    from facesync.emulator.faults import FaultInjector
    from facesync.emulator.handlers import Services
    from facesync.emulator.landmarks import landmarks_27
    from facesync.emulator.limiter import RateLimiter
    from facesync.emulator.models import FaceService
    from facesync.emulator.recognition import Recognition
    from facesync.emulator.training import IndexCache, Trainer

    indexes = IndexCache()
    trainer = Trainer(store, indexes)
    analyse = pooled.analyse if pooled is not None else vision.analyse
    landmarks = pooled.landmarks if pooled is not None else landmarks_27
    services = Services(
        FaceService(store, config.tier, analyse, indexes.forget),
        trainer,
        Recognition(store, analyse, indexes, landmarks),
    )
    pipeline = Pipeline(
        services,
        key=config.key if config.key is not None else secrets.token_hex(16),
        limiter=RateLimiter(config.tier),
        faults=FaultInjector(config.fault_rate, config.fault_seed),
        latency_ms=config.latency_ms,
    )
    return pipeline, trainer


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket, bound here so that a busy port is a ConfigError (the
    server's own bind would print to stderr and exit)."""
    family = select_address_family(host, port)
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(get_sockaddr(host, port, family))
        listener.listen(128)
    except OSError as error:
        listener.close()
        reason = error.strerror or str(error)
        raise ConfigError(
            f"Cannot listen on {host}:{port} ({reason}): choose another --port or --host."
        ) from None
    return listener


def _lock_data_dir(data_dir: Path) -> FileLock:
    try:
        make_private_dir(data_dir)  # face data: the owner's alone
    except OSError as error:
        raise ConfigError(
            f"Cannot use {data_dir} as the emulator's data folder: {error}."
        ) from None
    lock = FileLock(str(data_dir / LOCK_NAME), timeout=0, mode=FILE_MODE)
    try:
        lock.acquire()
    except Timeout:
        raise DataFolderBusy(
            f"Another emulator is using {data_dir}: stop it or pass another --data folder."
        ) from None
    return lock


def _write_server_note(data_dir: Path, url: str, key: str) -> Path | None:
    """Say how to reach this emulator, 0600 like the rest of its data (the key is in
    it); best effort: without it a second command fails as before."""
    note = data_dir / SERVER_NOTE
    data = json.dumps({"url": url, "key": key, "pid": os.getpid()}).encode()
    temp = note.with_name(f".{SERVER_NOTE}.{os.getpid()}")
    try:
        fd = open_private(temp)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(temp, note)
    except OSError:
        temp.unlink(missing_ok=True)
        return None
    return note


def running_emulator(data_dir: Path) -> tuple[str, str] | None:
    """(url, key) of the live emulator process that owns `data_dir`, if any: its
    note names a process that is still running and the folder's lock is held."""
    try:
        doc = json.loads((data_dir / SERVER_NOTE).read_text())
        url, key, pid = doc["url"], doc["key"], doc["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not (isinstance(url, str) and isinstance(key, str) and isinstance(pid, int)):
        return None
    try:
        os.kill(pid, 0)
    except PermissionError:
        pass  # alive, another user's: its folder is not ours to use, but it is held
    except OSError:
        return None
    probe = FileLock(str(data_dir / LOCK_NAME), timeout=0, mode=FILE_MODE)
    try:
        probe.acquire()
    except Timeout:
        return url, key  # held: the owner still runs
    probe.release()
    return None  # nobody holds it: a note left by a killed process


def stored_key(data_dir: Path) -> str:
    """`serve`'s key for `data_dir`: the one kept there, else a new random one
    saved 0600, so that clients keep working across restarts."""
    make_private_dir(data_dir)
    path = data_dir / KEY_NAME
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    except OSError as error:
        raise ConfigError(f"Cannot read the emulator's key {path}: {error.strerror}.") from None
    if _usable_key(key):
        return key
    key = secrets.token_hex(16)
    try:
        fd = open_private(path)
        try:
            os.write(fd, (key + "\n").encode())
        finally:
            os.close(fd)
    except OSError as error:
        raise ConfigError(f"Cannot save the emulator's key in {path}: {error.strerror}.") from None
    return key


class _RequestLog:
    """WSGI middleware: one line per request, `POST /face/v1.0/... 200 12 ms`
    (the path only: never a header, a query or a body)."""

    def __init__(self, app: Any, sink: Callable[[str], None]) -> None:
        self._app = app
        self._sink = sink

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        status = ["-"]

        def recording(code: str, headers: Any, *rest: Any) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, *rest)

        def done() -> None:
            ms = (time.perf_counter() - started) * 1000
            method, path = environ.get("REQUEST_METHOD", "?"), environ.get("PATH_INFO", "")
            with contextlib.suppress(Exception):  # a log line never fails a request
                self._sink(f"{method} {path} {status[0]} {ms:.0f} ms")

        return ClosingIterator(self._app(environ, recording), [done])


def _warm_up() -> None:
    """Load the dlib models early, so that the first add-face is not slower."""
    try:
        vision.load_models()
    except Exception:  # reported again, clearly, by the first request that needs them
        log.debug("loading the face models failed", exc_info=True)


def serve(
    config: EmulatorConfig,
    announce: Callable[[str], None] = print,
    warn: Callable[[str], None] | None = None,
) -> None:
    """Serve in the foreground until Ctrl-C (or SIGTERM); `warn` (else
    `announce`) is told of data files other users may read."""
    running = start_emulator(config)
    for line in running.warnings:
        (warn or announce)(line)
    announce(
        f"Face API emulator on {running.url}/face/v1.0 — key: {running.key}"
        f" (set FACESYNC_ENDPOINT={running.url} and FACESYNC_KEY={running.key})"
    )
    announce(
        f"Data in {config.data_dir}: facesync commands without an endpoint whose embedded"
        " emulator keeps its data there use this server too. Ctrl-C stops it."
    )
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
