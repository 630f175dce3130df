"""One HTTP request to the Face API, with pacing, bounded retries and clean errors.

Retry rules (docs/apply.md has the why):
- 429 means the request was refused, so any method is repeated after the
  wait the server names (every thread pauses, the window is shared);
- 503 is repeated the same way for idempotent requests only: it may come
  after the change was made;
- 500/502/504, a read timeout or a dropped connection may come after the
  change was made, so only idempotent requests are repeated; a POST that
  creates something is not (it could create it twice);
- a refused connection or a connect timeout never reached the server and is
  repeated a couple of times whatever the method.
An error after which the change may exist (any of the above given up on, or
any answer after an attempt that may have worked) is `ambiguous`:
apply reads the server before it tries again (docs/recovery.md).
Redirects are never followed: requests would carry the key's header to
wherever a 3xx points. The key travels in a header only and is scrubbed
(whole, or any 8 characters of it) from anything we report; every failure
of requests, urllib3 or http.client becomes an ApiError whose text went
through that scrub, never their own exception text with a header in it.
--debug's one line per request is `http_trace`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from facesync.backends.connection import key_fragments, key_problem, scrub_key
from facesync.backends.endpoint import API_PREFIX, endpoint_base
from facesync.backends.http_trace import shown_target, trace_log, tracing
from facesync.backends.pacer import CallPacer
from facesync.backends.service_errors import (
    MAY_HAVE_HAPPENED,
    REFUSED,
    SERVER_ERRORS,
    THROTTLED,
    parse_error,
)
from facesync.backends.waits import MAX_SINGLE_WAIT, backoff, throttle_wait
from facesync.errors import ApiError, ApiUnreachableError, ConfigError, one_line

CONNECT_RETRIES = 2  # a refused connection: the server may be restarting, not gone
USER_AGENT = "facesync/0.1"
_FIX_ENDPOINT = "check --endpoint / FACESYNC_ENDPOINT"
_FIX_KEY = "check FACESYNC_KEY / --key-file"
# Failures while reading an answer: the request went out, the answer broke off.
_BROKEN_ANSWER = (
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # below /face/v1.0, starting with "/"
    operation: str  # "create person", for messages
    address: str = ""  # the resource, e.g. "staff/<personId>"
    params: list[tuple[str, str]] = field(default_factory=list)
    json: Any = None
    data: bytes | None = None
    idempotent: bool = True


class Transport:
    """Sends requests; thread-safe; counts every request it puts on the wire."""

    def __init__(
        self,
        endpoint: str,
        key: str,
        *,
        rate: float | None,
        timeout: float,
        max_retries: int,
        pool_size: int,
        sleep: Callable[[float], None],
        log: Callable[[str], None] | None,
    ) -> None:
        self.endpoint = endpoint_base(endpoint)
        if key and key_problem(key):
            raise ConfigError(f"the key is not a valid key: {key_problem(key)}; paste one key only")
        self._key = key
        self._fragments = key_fragments(key)
        self._timeout = (min(timeout, 10.0), timeout)
        self._max_retries = max_retries
        self._sleep = sleep
        self._log = log
        self._pacer = CallPacer(rate, sleep=sleep)
        self._rng = random.Random()
        self._count_mutex = threading.Lock()
        self.calls_made = 0
        self._session = requests.Session()
        # pool_block: a worker beyond pool_size waits for a connection instead of
        # opening one that urllib3 would discard with a warning on stderr.
        adapter = HTTPAdapter(
            pool_connections=4, pool_maxsize=pool_size, max_retries=0, pool_block=True
        )
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update({"Ocp-Apim-Subscription-Key": key, "User-Agent": USER_AGENT})

    def __repr__(self) -> str:
        return f"Transport({self.endpoint!r})"

    def close(self) -> None:
        self._session.close()

    def send(self, req: Request) -> requests.Response:
        """The successful response, or an ApiError after any allowed retries."""
        attempt = 0
        maybe_done = False  # an earlier attempt may have made the change
        while True:
            self._pacer.acquire()
            try:
                response = self._put_on_wire(req, attempt)
            except (requests.ConnectionError, requests.Timeout, *_BROKEN_ANSWER) as exc:
                failure = _classify(exc)
                budget = self._retry_budget(req, failure)
                if attempt < budget:
                    maybe_done = maybe_done or failure.sent
                    wait = backoff(attempt, self._rng)
                    self._wait(wait, req, failure.reason, attempt, budget)
                    attempt += 1
                    continue
                raise self._unreachable(req, failure, maybe_done) from None
            status = response.status_code
            if 300 <= status < 400:
                raise self._redirected(response, req, maybe_done)
            if status < 400:
                return response
            body = parse_error(status, response.content)
            repeatable = status in REFUSED or (status in THROTTLED and req.idempotent)
            if repeatable and attempt < self._max_retries:
                maybe_done = maybe_done or status in MAY_HAVE_HAPPENED
                wait = throttle_wait(response.headers, body.message, attempt, self._rng)
                self._note(req, f"HTTP {status}", wait, attempt, self._max_retries)
                self._pacer.pause(wait)
                attempt += 1
                continue
            if status in SERVER_ERRORS and req.idempotent and attempt < self._max_retries:
                maybe_done = True
                wait = backoff(attempt, self._rng)
                self._wait(wait, req, f"HTTP {status}", attempt, self._max_retries)
                attempt += 1
                continue
            # e.g. a PUT answered 409 "exists" after a first try that lost its answer
            ambiguous = maybe_done or status in MAY_HAVE_HAPPENED
            raise self.api_error(status, body.code, body.message, req, ambiguous=ambiguous)

    def api_error(
        self, status: int, code: str, message: str, req: Request, *, ambiguous: bool = False
    ) -> ApiError:
        if status == 401:
            message = (
                f"access denied: the key was refused; {_FIX_KEY} and "
                "that the key belongs to this endpoint"
            )
        return ApiError(
            status, self._scrub(code), self._scrub(message), operation=req.operation,
            address=one_line(req.address), ambiguous=ambiguous,
        )

    # --- internals --------------------------------------------------------

    def _put_on_wire(self, req: Request, attempt: int) -> requests.Response:
        """One request, traced; a failure of the HTTP stack other than the
        network's (a header it refuses, say) becomes an ApiError here."""
        with self._count_mutex:
            self.calls_made += 1
        started = time.monotonic()
        try:
            response = self._request(req)
        except (requests.ConnectionError, requests.Timeout, *_BROKEN_ANSWER) as exc:
            self._trace(req, attempt, started, _classify(exc).reason)
            raise
        except (requests.RequestException, ValueError, UnicodeError) as exc:
            self._trace(req, attempt, started, "not sent")
            raise self._unsendable(req, exc) from None
        self._trace(req, attempt, started, f"HTTP {response.status_code}")
        return response

    def _request(self, req: Request) -> requests.Response:
        headers = {"Content-Type": "application/octet-stream"} if req.data is not None else None
        return self._session.request(
            req.method,
            self.endpoint + API_PREFIX + req.path,
            params=req.params or None,
            json=req.json,
            data=req.data,
            headers=headers,
            timeout=self._timeout,
            allow_redirects=False,
        )

    def _trace(self, req: Request, attempt: int, started: float, outcome: str) -> None:
        """--debug's line for one request: never a header, never a body."""
        if not tracing():
            return
        elapsed_ms = (time.monotonic() - started) * 1000
        target = shown_target(API_PREFIX + req.path, req.params)
        retry = f" (retry {attempt})" if attempt else ""
        trace_log.debug(
            self._scrub(f"{req.method} {target} -> {outcome} in {elapsed_ms:.0f} ms{retry}")
        )

    def _unsendable(self, req: Request, exc: BaseException) -> ApiError:
        """The HTTP stack refused to send: their text may quote a header, so say
        what it was, never what it quoted, unless the key cannot be in it."""
        if isinstance(exc, (requests.exceptions.InvalidHeader, UnicodeError)):
            detail = f"a header or URL could not be encoded; {_FIX_KEY}"
        else:
            detail = f"{type(exc).__name__}: {exc}"
        return ApiError(
            0, "NotSent", self._scrub(one_line(detail)), operation=req.operation,
            address=one_line(req.address),
        )

    def _redirected(
        self, response: requests.Response, req: Request, maybe_done: bool
    ) -> ApiError:
        """A 3xx: not followed, since the key's header would go along with it."""
        target = urlsplit(response.headers.get("Location", ""))
        where = f" to {target.scheme}://{target.netloc}" if target.netloc else ""
        message = (
            f"the endpoint redirected{where}; facesync does not follow redirects (the key "
            f"would travel along): set --endpoint / FACESYNC_ENDPOINT to the final URL"
        )
        return self.api_error(
            response.status_code, "Redirected", one_line(message), req,
            ambiguous=maybe_done,
        )

    def _retry_budget(self, req: Request, failure: _Failure) -> int:
        if failure.reason == "host name not found":
            return 0
        if not failure.sent:
            return min(CONNECT_RETRIES, self._max_retries)
        return self._max_retries if req.idempotent else 0

    def _wait(self, seconds: float, req: Request, why: str, attempt: int, budget: int) -> None:
        self._note(req, why, seconds, attempt, budget)
        self._sleep(min(seconds, MAX_SINGLE_WAIT))

    def _note(self, req: Request, why: str, seconds: float, attempt: int, budget: int) -> None:
        line = (
            f"{req.operation}: {why}; retrying in {seconds:.1f} s "
            f"(retry {attempt + 1} of {budget})"
        )
        if self._log:
            self._log(line)
        if tracing():
            trace_log.debug(self._scrub(line))

    def _unreachable(
        self, req: Request, failure: _Failure, maybe_done: bool = False
    ) -> ApiUnreachableError:
        detail = failure.reason
        if failure.reason == "no answer":
            detail = f"no answer within {self._timeout[1]:g} s"
        sentence = f"cannot reach {self.endpoint}: {detail}; {_FIX_ENDPOINT}"
        if failure.sent and not req.idempotent:
            sentence += f" ({req.operation} may have been done; facesync plan shows what remains)"
        # The request may have reached the server: one lost answer, not a dead endpoint.
        return ApiUnreachableError(
            self._scrub(sentence), operation=req.operation, address=one_line(req.address),
            ambiguous=failure.sent or maybe_done,
        )

    def _scrub(self, text: str) -> str:
        """`text` with the key, and any run of it 8 characters long or more, as ***."""
        return scrub_key(text, self._key, self._fragments)


@dataclass(frozen=True)
class _Failure:
    reason: str
    sent: bool  # the request may have reached the server


def _classify(exc: BaseException) -> _Failure:
    """What went wrong below HTTP, from the chain of wrapped exceptions."""
    if isinstance(exc, requests.ConnectTimeout):
        return _Failure("no connection within the timeout", sent=False)
    if isinstance(exc, requests.ReadTimeout):
        return _Failure("no answer", sent=True)
    if isinstance(exc, _BROKEN_ANSWER):
        return _Failure("the answer broke off", sent=True)
    names = " ".join(type(e).__name__ for e in _chain(exc))
    text = " ".join(str(e) for e in _chain(exc)).lower()
    if (
        "NameResolutionError" in names
        or "name or service not known" in text
        or ("getaddrinfo" in text)
    ):
        return _Failure("host name not found", sent=False)
    if "NewConnectionError" in names or "refused" in text:
        return _Failure("connection refused", sent=False)
    if "SSLError" in names:
        return _Failure("TLS handshake failed", sent=False)
    return _Failure("the connection was dropped before an answer", sent=True)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend([item.__cause__, item.__context__, getattr(item, "reason", None)])
        todo.extend(a for a in item.args if isinstance(a, BaseException))
    return seen
