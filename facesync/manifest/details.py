"""`personsFrom.details`: the names and userData of folder persons, from one CSV file.

A header row names the columns (`key`, and optionally `name` and `userData`);
each further row gives one person folder's details. An empty cell leaves the
value unset. Every problem carries the CSV file's own name and line.
"""

from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass
from itertools import compress
from typing import Any, NamedTuple

from facesync.limits import PERSON_KEY_RE

from .faces import Located
from .schema_check import details_columns, details_problems
from .yaml_source import DocPath


class PersonDetails(NamedTuple):
    """One row (a tuple: a gallery has 100,000)."""

    line: int
    name: str | None
    user_data: str | None


@dataclass
class DetailsFile:
    """What a details file says, by person key, and what is wrong with it."""

    label: str  # the file as diagnostics name it
    persons: dict[str, PersonDetails]
    problems: list[Located]


def parse_details(raw: bytes, label: str, group: DocPath) -> DetailsFile:
    """`group` is the group's path (`("groups", id)`): problems of a row are
    located at the person's path below it."""
    result = DetailsFile(label, {}, [])
    where = (*group, "personsFrom", "details")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        result.problems.append(Located(where, line, (
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x}): save it as UTF-8"
        ), label))
        return result
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        line = 1
        for record in reader:
            if any(record):
                rows.append((line, record))
            line = reader.line_num + 1
    except csv.Error as exc:
        result.problems.append(Located(where, reader.line_num, (
            f"the file is not valid CSV ({exc}): fix the quoting (a value with a comma, quote "
            'or line break goes in double quotes, a quote inside it doubled: "say ""hi""")'
        ), label))
        return result
    if not rows:
        result.problems.append(Located(where, 1, (
            "the file is empty: start it with the header row key,name,userData"
        ), label))
        return result
    columns = _header(rows[0], where, result)
    if columns is not None:
        _rows(rows[1:], columns, group, where, result, ascii_only=raw.isascii())
    return result


def _header(header: tuple[int, list[str]], where: DocPath, result: DetailsFile) -> list[str] | None:
    """The column names, or None when the rows cannot be read."""
    line, names = header
    allowed = details_columns()
    usable = True
    for index, name in enumerate(names):
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
            fix = f"did you mean '{close[0]}'?" if close else "remove it or correct its spelling"
            result.problems.append(Located(where, line, (
                f"unknown column '{name}' (allowed: {', '.join(allowed)}): {fix}"
            ), result.label))
            usable = False
        elif name in names[:index]:
            result.problems.append(Located(where, line, (
                f"the column '{name}' appears twice: keep one"
            ), result.label))
            usable = False
    if "key" not in names:
        result.problems.append(Located(where, line, (
            "the header row has no 'key' column: add it (the person key, the name of the "
            "person's folder)"
        ), result.label))
        usable = False
    return names if usable else None


def _rows(
    rows: list[tuple[int, list[str]]],
    columns: list[str],
    group: DocPath,
    where: DocPath,
    result: DetailsFile,
    *,
    ascii_only: bool,
) -> None:
    label, key_at = result.label, columns.index("key")
    name_at = columns.index("name") if "name" in columns else None
    data_at = columns.index("userData") if "userData" in columns else None
    checked: list[dict[str, Any]] = []
    checked_keys: list[tuple[int, str]] = []
    persons, match_key = result.persons, PERSON_KEY_RE.match
    for line, record in rows:
        if len(record) != len(columns):
            result.problems.append(Located(where, line, (
                f"the row has {len(record)} cells, the header {len(columns)}: quote a value "
                'that holds a comma ("Doe, Jane")'
            ), label))
            continue
        key = record[key_at]
        if not key or key in persons or not match_key(key):
            result.problems.append(Located(where, line, _key_problem(key, persons), label))
            continue
        values = dict(compress(zip(columns, record, strict=True), record))  # empty: unset
        name = record[name_at] if name_at is not None else ""
        user_data = record[data_at] if data_at is not None else ""
        persons[key] = PersonDetails(line, name or None, user_data or None)
        checked.append(values)
        checked_keys.append((line, key))
    for problem in details_problems(checked, ascii_only=ascii_only):
        index, *rest = problem.path
        line, key = checked_keys[index]  # type: ignore[index]
        person = (*group, "persons", key, *rest)
        result.problems.append(Located(person, line, problem.message, label))


def _key_problem(key: str, seen: dict[str, PersonDetails]) -> str:
    if not key:
        return "the row has no key: write the person key (the name of the person's folder)"
    if not PERSON_KEY_RE.match(key):
        return f"'{key}' is not a valid person key: use 1-64 of A-Z, a-z, 0-9, ., _ and -"
    return f"duplicate row for '{key}' (first on line {seen[key].line}): keep only one"
