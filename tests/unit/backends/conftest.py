"""The stub Face endpoint the HTTP client tests talk to, one per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .stub_server import StubServer


@pytest.fixture
def server() -> Iterator[StubServer]:
    stub = StubServer()
    yield stub
    stub.stop()
