"""The text `facesync init` writes: names made valid, YAML quoted where needed,
comments that explain each part. Deterministic: the same folders give the same
bytes."""

from __future__ import annotations

import glob
import json
import posixpath
import re
import unicodedata
from dataclasses import dataclass

import yaml

from facesync.errors import one_line
from facesync.limits import GROUP_ID_RE, NAME_MAX_CHARS, PERSON_KEY_RE
from facesync.manifest.model import (
    DEFAULT_RECOGNITION_MODEL,
    LARGE_PERSON_GROUP,
    PERSON_GROUP,
)
from facesync.text_rules import utf16_len

KEY_MAX = 64
PERSON_GROUP_MAX = 1000  # persons of a personGroup on the free tier; more: largePersonGroup
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*")
# Letters (any script), digits and a few marks, single spaces between words: the
# plain scalars a person's name is usually written as
_PLAIN_TEXT = re.compile(r"[^\W_](?:[\w.'-]| (?! ))*(?<! )")
_SEPARATORS = re.compile(r"[\s_.-]+")


@dataclass
class Photo:
    path: str  # relative to the manifest's folder, POSIX
    left_out: str | None = None  # why it is written as a comment

    @property
    def usable(self) -> bool:
        return self.left_out is None


@dataclass
class Person:
    key: str
    name: str
    photos: list[Photo]

    @property
    def usable(self) -> bool:
        return any(photo.usable for photo in self.photos)


def person_keys(folder_names: list[str]) -> dict[str, str]:
    """A distinct valid person key for each folder name: the name itself when it is
    one (as personsFrom would take it), else an ASCII spelling of it."""
    keys: dict[str, str] = {n: n for n in folder_names if PERSON_KEY_RE.match(n)}
    taken = set(keys.values())
    for name in folder_names:
        if name not in keys:
            keys[name] = _distinct(_valid(name, r"[^A-Za-z0-9._-]+", "person"), taken)
            taken.add(keys[name])
    return keys


def group_naming(folder_name: str) -> tuple[str, str]:
    """(group id, name) from the photos folder's name."""
    group_id = _valid(folder_name.lower(), r"[^a-z0-9_-]+", "gallery")
    assert GROUP_ID_RE.match(group_id)
    return group_id, display_name(folder_name) or "Gallery"


def display_name(folder_name: str) -> str:
    """`christina_koch` -> `Christina Koch`: separators become spaces, and an
    all-lowercase name gets capitals; '' when nothing printable is left."""
    printable = "".join(c for c in folder_name if not unicodedata.category(c).startswith("C"))
    words = [w for w in _SEPARATORS.split(printable) if w]
    if printable == printable.lower():
        words = [w[:1].upper() + w[1:] for w in words]
    name = " ".join(words)
    while utf16_len(name) > NAME_MAX_CHARS:
        name = name[:-1]
    return name.rstrip()


def _valid(name: str, invalid: str, fallback: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(invalid, "_", ascii_name).strip("._-")[:KEY_MAX].rstrip("._-") or fallback


def _distinct(key: str, taken: set[str]) -> str:
    n, candidate = 2, key
    while candidate in taken:
        suffix = f"-{n}"
        candidate, n = key[: KEY_MAX - len(suffix)] + suffix, n + 1
    return candidate


def scalar(text: str) -> str:
    """`text` as a YAML scalar: plain when YAML reads it back as that text, else
    double-quoted (JSON's quoting is YAML's)."""
    if _PLAIN.fullmatch(text) and "/" in text:  # a path: no YAML type looks like one
        return text
    if _PLAIN_TEXT.fullmatch(text) and _reads_back(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _reads_back(text: str) -> bool:
    try:
        return yaml.safe_load(f"k: {text}") == {"k": text}
    except yaml.YAMLError:
        return False


def _entry(path: str) -> str:
    """A face entry naming exactly this file: glob characters in a name escaped."""
    return scalar(glob.escape(path))


def render(group_id: str, group_name: str, persons: list[Person], *,
           rel_top: str, lock_name: str) -> tuple[str, dict[int, Photo]]:
    """The manifest's text and the photo each face entry's line (1-based) names."""
    example = posixpath.join(posixpath.dirname(persons[0].photos[0].path), "team.jpg")
    lines = _header(rel_top, lock_name) + _group(group_id, group_name, persons, example)
    photo_at: dict[int, Photo] = {}
    for person in persons:
        if person.usable:
            lines += [f"      {scalar(person.key)}:", f"        name: {scalar(person.name)}",
                      "        faces:"]
            for photo in person.photos:
                photo_at[len(lines) + 1] = photo
                lines.append(f"          - {_entry(photo.path)}" if photo.usable else
                             f"          # - {_entry(photo.path)}  # left out: "
                             f"{one_line(photo.left_out or '')}")
        else:
            lines += [f"      # {scalar(person.key)}:  (left out: none of the photos can be used)",
                      f"      #   name: {scalar(person.name)}", "      #   faces:"]
            lines += [f"      #     - {_entry(p.path)}  # {one_line(p.left_out or '')}"
                      for p in person.photos]
    return "\n".join(lines) + "\n", photo_at


def _header(rel_top: str, lock_name: str) -> list[str]:
    command = f"facesync init {scalar(rel_top)}" if rel_top else "facesync init"
    return [
        "# facesync manifest: the Face API person group, its persons and their face photos",
        f"# as the server should hold them. Written by `{command}`; edit it freely.",
        "#   facesync plan    shows what apply would change on the server",
        f"#   facesync apply   makes the change and records every server id in {lock_name}",
        "# facesync's docs/manifest.md explains every key.",
        "version: 1",
        "groups:",
    ]


def _group(group_id: str, group_name: str, persons: list[Person], example: str) -> list[str]:
    kind = PERSON_GROUP if len(persons) <= PERSON_GROUP_MAX else LARGE_PERSON_GROUP
    return [
        "  # The group id is the personGroupId on the server: 1 to 64 of a-z, 0-9, _ and -.",
        "  # Changing it, kind or recognitionModel later replaces the group, which deletes",
        "  # everything in it on the server (the plan warns first).",
        f"  {scalar(group_id)}:",
        f"    name: {scalar(group_name)}  # what people see; up to 128 characters",
        "    # kind: personGroup holds up to 1,000 persons (10,000 on the S0 tier);",
        "    # largePersonGroup up to 1,000,000.",
        f"    kind: {kind}",
        f"    recognitionModel: {DEFAULT_RECOGNITION_MODEL}  # the newest; the service's "
        "default is recognition_01",
        '    # userData: "free text kept with the group on the server, up to 16 KB"',
        "    persons:",
        "      # A person: a key (1 to 64 of A-Z, a-z, 0-9, ., _ and -), your stable name for",
        "      # them here and in the lock file (the server gives them a personId); a name,",
        "      # which identify shows; optional userData (up to 16 KB of free text); and 1 to",
        "      # 248 photos, paths relative to this file. A photo should show their face",
        "      # alone; for one with several faces, write the long form with the box of",
        "      # theirs (`facesync faces PHOTO` lists the boxes):",
        f"      #   - path: {_entry(example)}",
        "      #     targetFace: [left, top, width, height]  # the face whose centre is inside",
        '      #     userData: "up to 1 KB of free text"',
    ]
