"""Start and stop the emulator: in-process on a background thread, or in the foreground.

Binds to 127.0.0.1 by default and refuses any other address without a key.
One emulator at a time owns a data folder (a lock file), so two processes never
train or cache the same groups. This module imports without the `local` extra
(numpy, dlib), so that a missing extra is one clear sentence from
require_vision(), never an ImportError.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
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

from facesync.emulator import vision
from facesync.emulator.fetch import is_loopback_host
from facesync.emulator.private import FILE_MODE, loose_warning, make_private_dir
from facesync.emulator.store import Store, StoreError
from facesync.errors import ConfigError
from facesync.limits import TIER_RATES

if TYPE_CHECKING:
    from facesync.emulator.app import Pipeline
    from facesync.emulator.pooled_vision import PooledVision
    from facesync.emulator.training import Trainer

LOCK_NAME = "emulator.lock"
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

    with listener:
        server = make_server(
            config.host, config.port, create_app(pipeline), threaded=True,
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
        raise ConfigError(
            f"Another emulator is using {data_dir}: stop it or pass another --data folder."
        ) from None
    return lock


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
