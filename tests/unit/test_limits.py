"""Ids with a trailing newline are refused everywhere (Python's "$" alone would
accept them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from facesync.errors import ManifestError
from facesync.limits import GROUP_ID_RE, PERSON_KEY_RE
from facesync.manifest.load import load_manifest


def test_the_id_patterns_refuse_a_trailing_newline() -> None:
    assert GROUP_ID_RE.match("staff") and not GROUP_ID_RE.match("staff\n")
    assert PERSON_KEY_RE.match("alice") and not PERSON_KEY_RE.match("alice\n")


def test_a_manifest_group_id_with_a_trailing_newline_is_an_error(tmp_path: Path) -> None:
    manifest = tmp_path / "facesync.yaml"
    manifest.write_text('version: 1\ngroups:\n  "staff\\n":\n    name: S\n    persons: {}\n')
    with pytest.raises(ManifestError, match="not a valid group id"):
        load_manifest(manifest)


def test_a_control_character_in_a_key_stays_on_one_diagnostic_line(tmp_path: Path) -> None:
    manifest = tmp_path / "facesync.yaml"
    manifest.write_text('version: 1\ngroups:\n  "staff\\n":\n    name: S\n    persons: {}\n')
    with pytest.raises(ManifestError) as caught:
        load_manifest(manifest)
    assert "\n" not in str(caught.value)
    assert "'staff\\n'" in str(caught.value)
