from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from facesync.emulator.errors import EmulatorError, ErrorSpec
from facesync.emulator.kinds import GroupKind


def assert_error(
    spec: ErrorSpec,
    call: Callable[..., Any],
    *args: Any,
    kind: GroupKind | None = None,
    **values: object,
) -> EmulatorError:
    """`call(*args)` fails with exactly the service's status and body for `spec`."""
    with pytest.raises(EmulatorError) as caught:
        call(*args)
    expected = spec.error(kind, **values)
    assert (caught.value.status, caught.value.body()) == (expected.status, expected.body())
    return caught.value
