"""The JSON Schemas (manifest, lock, plan) and what every reader of them shares.

They live inside an installed package (facesync.schemas) or, when running
from a checkout, in the repository's top-level schemas/ folder. Validators
are built from the inlined schema (no reference lookup per value) and
problems are located with one path format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

_CHECKOUT_DIR = Path(__file__).resolve().parent.parent / "schemas"
_DEFS_PREFIX = "#/$defs/"
_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "$comment"})
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def schema_text(name: str) -> str:
    """The text of `schemas/<name>` (e.g. "manifest.schema.json")."""
    if (_CHECKOUT_DIR / name).is_file():
        return (_CHECKOUT_DIR / name).read_text(encoding="utf-8")
    return resources.files("facesync.schemas").joinpath(name).read_text(encoding="utf-8")


@cache
def load_schema(name: str) -> dict[str, Any]:
    return json.loads(schema_text(name))


@cache
def inlined_schema(name: str) -> dict[str, Any]:
    """`schemas/<name>` with each local `#/$defs/X` reference replaced by its
    target: the same rules, but validating thousands of faces no longer pays
    for a reference lookup per value. Our schemas have no recursive references."""
    schema = load_schema(name)
    return inline_refs(schema, schema.get("$defs", {}))


def inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: inline_refs(v, defs) for k, v in node.items() if k not in ("$ref", "$defs")}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_DEFS_PREFIX):
        target = inline_refs(defs[ref[len(_DEFS_PREFIX) :]], defs)
        if set(out) <= _ANNOTATIONS:
            out = {**target, **out}  # a description beside the $ref wins over the target's
        else:
            out["allOf"] = [*out.get("allOf", []), target]
    elif ref is not None:
        out["$ref"] = ref
    return out


def json_path(parts: Iterable[str | int], *, top: str = "") -> str:
    """`groups.staff.persons.alice.faces[2]`; keys with other characters are
    quoted (`persons["a.b"]`); `top` when there are no parts."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{_quote(str(part))}]"
    return out or top


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def compiled_check(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """A compiled yes/no check of `schema` (fastjsonschema: many times faster than
    jsonschema on a valid gallery; jsonschema still says where and why)."""
    import fastjsonschema

    compiled = fastjsonschema.compile(_draft7(schema), use_default=False)

    def check(value: Any) -> bool:
        try:
            compiled(value)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return check


def _draft7(node: Any) -> Any:
    """A copy (the compiler edits what it is given) with the same rules in draft 7,
    the newest the compiler knows: our schemas' only newer keyword is prefixItems,
    which draft 7 writes as a list under items."""
    if isinstance(node, list):
        return [_draft7(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _draft7(v) for k, v in node.items() if k not in _ANNOTATIONS}
    if "prefixItems" in out:
        out["items"] = out.pop("prefixItems")
    if "$schema" in out:
        out["$schema"] = "http://json-schema.org/draft-07/schema#"
    return out
