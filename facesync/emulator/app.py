"""The Flask app: every request goes through one pipeline, in the gateway's order.

latency -> key (401) -> rate limit (429) -> route (404) -> fault before the
change -> handler -> fault after the change. Flask's own routing is bypassed
(a before_request hook answers everything) so that no request ever meets a
Flask redirect, 405 or HTML error page: every answer is the service's JSON.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Response, request

from facesync.emulator import errors
from facesync.emulator.calls import Call
from facesync.emulator.errors import EmulatorError
from facesync.emulator.faults import Fault, FaultInjector
from facesync.emulator.handlers import Services, json_response, routes
from facesync.emulator.limiter import RateLimiter
from facesync.emulator.routing import Router

KEY_HEADER = "Ocp-Apim-Subscription-Key"
log = logging.getLogger(__name__)


class InFlight:
    """Counts requests being answered, so that stop() can let them finish."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self) -> None:
        with self._idle:
            self._count += 1

    def __exit__(self, *exc: object) -> None:
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout=timeout)


@dataclass
class Pipeline:
    services: Services
    key: str
    limiter: RateLimiter
    faults: FaultInjector
    latency_ms: int = 0

    def __post_init__(self) -> None:
        self.router = Router(routes())
        self.in_flight = InFlight()

    def answer(self) -> Response:
        try:
            return self._answer()
        except Exception:  # the last guard: a bug still answers the service's JSON
            log.exception("unexpected error on %s %s", request.method, request.path)
            return error_response(errors.INTERNAL.error())

    def _answer(self) -> Response:
        with self.in_flight:
            if self.latency_ms:
                time.sleep(self.latency_ms / 1000)
            given = request.headers.get(KEY_HEADER, "")
            if not hmac.compare_digest(given.encode("utf-8", "replace"), self.key.encode()):
                return error_response(errors.UNAUTHORIZED.error())
            wait = self.limiter.acquire()
            if wait is not None:
                return error_response(errors.RATE_LIMITED.error(seconds=wait))
            raw_path = request.environ.get("RAW_URI") or request.full_path
            match = self.router.match(request.method, raw_path)
            if match is None:
                return error_response(errors.RESOURCE_NOT_FOUND.error())
            fault = self.faults.draw(request.method)
            if fault is not None and not fault.after_commit:
                return fault_response(fault)
            response = self._handle(match.handler, match.params)
            if fault is not None:
                return fault_response(fault)
            return response

    def _handle(self, handler: Callable[..., Response], params: dict[str, str]) -> Response:
        try:
            return handler(self.services, Call(request, params))
        except EmulatorError as error:
            return error_response(error)
        except Exception:
            log.exception("unexpected error on %s %s", request.method, request.path)
            return error_response(errors.INTERNAL.error())


def error_response(error: EmulatorError) -> Response:
    response = json_response(error.body(), error.status)
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def fault_response(fault: Fault) -> Response:
    if fault.kind == "drop":
        connection = request.environ.get("werkzeug.socket")
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            return Response(b"", status=500)  # never reaches the client
        return error_response(errors.INTERNAL.error())
    spec = {"500": errors.INTERNAL, "503": errors.UNAVAILABLE, "429": errors.RATE_LIMITED}
    return error_response(spec[fault.kind].error(seconds=1))


def create_app(pipeline: Pipeline) -> Flask:
    """The WSGI app of one emulated Face resource."""
    app = Flask("facesync.emulator")
    app.url_map.merge_slashes = False
    app.before_request(pipeline.answer)
    return app
