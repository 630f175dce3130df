"""Validation against schemas/manifest.schema.json, the one source of the
format's rules, with jsonschema's errors turned into sentences that say what
to fix.

One reading differs from JSON Schema's: `maxLength` counts UTF-16 code units,
as the service does (facesync.text_rules), not code points, so a name of 100
emoji (200 units) is refused here and not half-way through an apply.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from facesync.schemas_dir import compiled_check, inline_refs, inlined_schema, load_schema
from facesync.text_rules import may_hold_astral, too_long, utf16_len

from .yaml_source import DocPath

SCHEMA_NAME = "manifest.schema.json"
_TARGET_FACE_PARTS = ("left", "top", "width", "height")
_TYPE_WORDS = {
    "string": "text",
    "object": "a mapping",
    "array": "a list",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}
_MISSING_HINTS = {
    "version": "add 'version: 1' at the top",
    "groups": "add 'groups:' with at least one group, or 'groups: {}'",
    "name": "add the group's display name",
    "faces": "list 1 to 248 images of the person",
    "path": "add the image's path",
    "folder": "add the folder that holds one subfolder per person",
}


@dataclass(frozen=True)
class SchemaProblem:
    path: DocPath  # where the problem is reported
    line_path: DocPath  # whose line it carries (an unknown key's own line, say)
    message: str


@cache
def manifest_validator() -> Draft202012Validator:
    schema = load_schema(SCHEMA_NAME)
    from jsonschema import Draft202012Validator  # slow to import: only to explain problems

    Draft202012Validator.check_schema(schema)
    return _utf16_validator()(inlined_schema(SCHEMA_NAME))


def schema_problems(data: Any, source: bytes | None = None) -> list[SchemaProblem]:
    """Every way `data` breaks the schema, once each, in document order of discovery.

    A compiled check answers for a valid manifest (jsonschema takes seconds on
    100,000 persons); jsonschema then finds and explains what is wrong. The
    compiled check counts code points: when `source` (the bytes `data` was read
    from; None when unknown) may hold a character beyond U+FFFF, the texts long
    enough to differ are counted again in UTF-16 units.
    """
    if _fast_check("")(data) and (
        (source is not None and not may_hold_astral(source)) or not _longer_in_utf16(data)
    ):
        return []
    return _problems(manifest_validator(), data)


def details_columns() -> list[str]:
    """The columns a personsFrom.details CSV file may have."""
    return list(load_schema(SCHEMA_NAME)["$defs"]["personDetails"]["properties"])


def details_problems(
    rows: list[dict[str, Any]], *, ascii_only: bool = False
) -> list[SchemaProblem]:
    """The problems of the rows of a details file (paths start with the row's index);
    `ascii_only`: the file is ASCII, so its texts are as long in UTF-16 units."""
    if _fast_check("personDetails")(rows) and (ascii_only or not _longer_in_utf16(rows)):
        return []
    return _problems(_details_validator(), rows)


def _problems(validator: Draft202012Validator, data: Any) -> list[SchemaProblem]:
    found: dict[SchemaProblem, None] = {}
    for error in validator.iter_errors(data):
        for problem in _explain(error):
            found.setdefault(problem)
    return list(found)


@cache
def _details_validator() -> Draft202012Validator:
    return _utf16_validator()(_rows_schema(inlined_schema(SCHEMA_NAME)))


@cache
def _utf16_validator() -> type[Draft202012Validator]:
    """Draft 2020-12 with `maxLength` in UTF-16 code units."""
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError

    def max_length(validator: Any, limit: int, instance: Any, schema: Any) -> Iterator[Any]:
        if validator.is_type(instance, "string") and too_long(instance, limit):
            yield ValidationError(f"{instance!r} is too long")

    return validators.extend(Draft202012Validator, {"maxLength": max_length})


def _longer_in_utf16(data: Any) -> bool:
    """True when some text of `data` is longer in UTF-16 units than in code points
    and long enough for that to break the schema's smallest maxLength."""
    shortest = _smallest_max_length()
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if 2 * len(value) > shortest and utf16_len(value) > len(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


@cache
def _smallest_max_length() -> int:
    found: list[int] = []
    stack: list[Any] = [load_schema(SCHEMA_NAME)]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("maxLength"), int):
                found.append(node["maxLength"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return min(found, default=0)


def _rows_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A list of personDetails rows."""
    defs = load_schema(SCHEMA_NAME)["$defs"]
    return {"$schema": schema["$schema"], "type": "array",
            "items": inline_refs(defs["personDetails"], defs)}


@cache
def _fast_check(part: str) -> Callable[[Any], bool]:
    """The compiled check of the manifest ("") or of a list of `part` rows."""
    schema = inlined_schema(SCHEMA_NAME)
    return compiled_check(schema if not part else _rows_schema(schema))


def _explain(error: ValidationError) -> Iterator[SchemaProblem]:
    path = tuple(error.absolute_path)
    keyword = error.validator
    if "propertyNames" in error.absolute_schema_path:
        key = error.instance
        yield SchemaProblem(path, (*path, key), _bad_key_message(path, key))
    elif keyword == "additionalProperties" and error.validator_value is False:
        allowed = list(error.schema.get("properties", {}))
        for key in sorted(k for k in error.instance if k not in allowed):
            yield SchemaProblem(path, (*path, key), _unknown_key_message(key, allowed))
    elif keyword == "required":
        for key in error.validator_value:
            if key not in error.instance:
                hint = _MISSING_HINTS.get(key, "add it")
                yield SchemaProblem(path, path, f"missing required key '{key}': {hint}")
    else:
        yield SchemaProblem(path, path, _value_message(error, path))


def _bad_key_message(path: DocPath, key: str) -> str:
    if path and path[-1] == "persons":
        return f"'{key}' is not a valid person key: use 1-64 of A-Z, a-z, 0-9, ., _ and -"
    return f"'{key}' is not a valid group id: use 1-64 of a-z, 0-9, _ and -"


def _unknown_key_message(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    fix = f"did you mean '{close[0]}'?" if close else "remove it or correct its spelling"
    return f"unknown key '{key}' (allowed: {', '.join(allowed)}): {fix}"


def _value_message(error: ValidationError, path: DocPath) -> str:
    value, limit, label = error.instance, error.validator_value, _label(path)
    match error.validator:
        case "type":
            return _type_message(label, _expected_words(path, limit), value)
        case "const":
            if isinstance(value, int) and not isinstance(value, bool):
                return f"unsupported manifest version {value}: this facesync reads version {limit}"
            return f"{label} must be {limit}: write 'version: {limit}'"
        case "enum":
            allowed = ", ".join(map(str, limit))
            return f"'{value}' is not a valid {path[-1]}: use one of {allowed}"
        case "maxLength":
            size = utf16_len(value)
            length = f"{size:,} characters long" if size == len(value) else (
                f"{size:,} UTF-16 units long (the Face API counts an emoji as 2)"
            )
            return f"{label} is {length}, above the limit of {limit:,}: shorten it"
        case "minLength":
            return f"{label} is empty: write at least one character"
        case "minItems" | "maxItems" if path and path[-1] == "targetFace":
            count = len(value)
            return f"targetFace has {count} numbers: give exactly 4, [left, top, width, height]"
        case "minItems":
            return "the person lists no faces: add 1 to 248 images"
        case "maxItems":
            count = len(value)
            return f"the person lists {count} faces, more than the limit of {limit}: remove some"
        case "minimum":
            return f"{label} is {value}: it must be {limit} or more"
    return f"{label}: {error.message}"


def _label(path: DocPath) -> str:
    if not path:
        return "the manifest"
    last, parent = path[-1], path[-2] if len(path) > 1 else None
    if isinstance(last, int):
        if parent == "targetFace" and last < len(_TARGET_FACE_PARTS):
            return f"targetFace {_TARGET_FACE_PARTS[last]}"
        return "the face entry" if parent == "faces" else "the item"
    if len(path) == 2 and path[0] == "groups":
        return "the group"
    if len(path) == 4 and path[2] == "persons":
        return "the person"
    return f"'{last}'"


def _expected_words(path: DocPath, expected: str | list[str]) -> str:
    if not path:
        return "a mapping with 'version' and 'groups'"
    label = _label(path)
    if label == "the face entry":
        return "an image path or a mapping with 'path'"
    if label == "the group":
        return "a mapping with 'name'"
    if label == "the person":
        return "a mapping with 'faces'"
    kinds = [expected] if isinstance(expected, str) else expected
    return " or ".join(_TYPE_WORDS.get(kind, kind) for kind in kinds)


def _type_message(label: str, expected: str, value: Any) -> str:
    if value is None:
        return f"{label} is empty: give it {expected}"
    found = _describe(value)
    scalar = found in ("a number", "true or false", "a date")
    quote = ": put it in quotes" if expected == "text" and scalar else ""
    return f"{label} must be {expected}, not {found}{quote}"


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime.date):
        return "a date"
    if isinstance(value, bytes):
        return "binary data"
    return type(value).__name__
