"""Where the JSON Schemas are: inside an installed package (facesync.schemas)
or, when running from a checkout, the repository's top-level schemas/ folder."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

_CHECKOUT_DIR = Path(__file__).resolve().parent.parent / "schemas"


def schema_text(name: str) -> str:
    """The text of `schemas/<name>` (e.g. "manifest.schema.json")."""
    if (_CHECKOUT_DIR / name).is_file():
        return (_CHECKOUT_DIR / name).read_text(encoding="utf-8")
    return resources.files("facesync.schemas").joinpath(name).read_text(encoding="utf-8")


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads(schema_text(name))
