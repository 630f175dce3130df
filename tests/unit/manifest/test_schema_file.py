"""schemas/manifest.schema.json is the one source of the format's rules: it is a
valid 2020-12 schema, documents itself, and agrees with the limits the emulator
and the model use."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator

from facesync import limits
from facesync.manifest import model
from facesync.schemas_dir import load_schema

SCHEMA = load_schema("manifest.schema.json")
DEFS = SCHEMA["$defs"]


def _subschemas(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if "type" in node or "enum" in node or "const" in node or "$ref" in node:
            yield where, node
        for key, value in node.items():
            if key not in ("enum", "const", "default", "required"):
                yield from _subschemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _subschemas(value, f"{where}/{index}")


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)


def test_every_entry_of_the_schema_has_a_description() -> None:
    missing = [where for where, node in _subschemas(SCHEMA) if not node.get("description")]
    # A $ref without its own description takes the referenced one.
    missing = [w for w in missing if "$ref" not in _at(w)]
    assert missing == []


def _at(where: str) -> dict[str, Any]:
    node: Any = SCHEMA
    for part in where.split("/")[1:]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def test_every_mapping_refuses_unknown_keys() -> None:
    objects = [w for w, node in _subschemas(SCHEMA) if node.get("type") == "object"]
    assert objects
    for where in objects:
        node = _at(where)
        assert node.get("additionalProperties") is not None, where


def test_the_patterns_match_the_api_limits() -> None:
    assert DEFS["groupId"]["pattern"] == limits.GROUP_ID_RE.pattern
    assert DEFS["personKey"]["pattern"] == limits.PERSON_KEY_RE.pattern
    assert re.fullmatch(DEFS["groupId"]["pattern"], "staff_2024-a")


def test_the_lengths_match_the_api_limits() -> None:
    assert DEFS["name"]["maxLength"] == limits.NAME_MAX_CHARS
    assert DEFS["userData"]["maxLength"] == limits.USER_DATA_MAX_CHARS
    assert DEFS["face"]["properties"]["userData"]["maxLength"] == limits.FACE_USER_DATA_MAX_CHARS
    assert DEFS["person"]["properties"]["faces"]["maxItems"] == limits.FACES_PER_PERSON_MAX


def test_the_enums_and_defaults_match_the_model() -> None:
    group = DEFS["group"]["properties"]
    face = DEFS["face"]["properties"]
    assert tuple(group["recognitionModel"]["enum"]) == limits.RECOGNITION_MODELS
    assert tuple(face["detectionModel"]["enum"]) == limits.DETECTION_MODELS
    assert group["kind"]["enum"] == [model.PERSON_GROUP, model.LARGE_PERSON_GROUP]
    assert group["kind"]["default"] == model.PERSON_GROUP
    assert group["recognitionModel"]["default"] == model.DEFAULT_RECOGNITION_MODEL
    assert face["detectionModel"]["default"] == model.DEFAULT_DETECTION_MODEL
