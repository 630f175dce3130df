"""`facesync identify IMAGE`: detect the faces in IMAGE and name each one with
the person the lock records for the best candidate, by the manifest's name."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from facesync.commands.common import connection, load, read_state, say
from facesync.commands.options import GlobalOptions
from facesync.engine.identify import NamedFace, identify_faces
from facesync.errors import FacesyncError, UsageError
from facesync.image_fit import to_send
from facesync.manifest.images import ImageProblem, check_image_bytes
from facesync.state.model import LockedGroup, LockState

_RECT_KEYS = ("left", "top", "width", "height")


def run(
    options: GlobalOptions, *, image: Path, group_id: str | None, threshold: float, as_json: bool
) -> int:
    data = read_image(image)
    conn = connection(options)
    lock = read_state(options, conn)
    group = _pick_group(lock, group_id)
    names = _manifest_names(options, group.group_id)
    sendable = to_send(data)  # a photo above the service's limits goes downscaled
    named = identify_faces(
        conn, options.manifest_path.parent, sendable.data, group, threshold=threshold, say=say
    )
    if sendable.geometry is not None:  # boxes in the photo's own grid, as targetFace is
        named = [
            replace(face, rectangle=sendable.box_in_original(face.rectangle))
            for face in named
        ]
    if as_json:
        rows = [_row(face, names) for face in named]
        document = {"image": str(image), "group": group.group_id, "faces": rows}
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        _print(named, names, image, group.group_id, threshold)
    return 0


def read_image(image: Path) -> bytes:
    """The bytes of a photo given on the command line, refused as the manifest
    refuses an image the service would not take."""
    try:
        data = image.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read image {image}: {exc.strerror or exc}") from None
    try:
        check_image_bytes(data)
    except ImageProblem as exc:
        raise UsageError(f"{image}: {exc}") from None
    return data


def _pick_group(lock: LockState, group_id: str | None) -> LockedGroup:
    if group_id is not None:
        group = lock.group(group_id)
        if group is None:
            known = ", ".join(g.group_id for g in lock.groups) or "none"
            raise UsageError(f"group {group_id!r} is not in the lock (known: {known})")
        return group
    if len(lock.groups) == 1:
        return lock.groups[0]
    if not lock.groups:
        raise UsageError("the lock manages no group yet: run `facesync apply` first")
    known = ", ".join(g.group_id for g in lock.groups)
    raise UsageError(f"the lock manages several groups ({known}); pick one with --group")


def _manifest_names(options: GlobalOptions, group_id: str) -> dict[str, str]:
    """Person key -> the manifest's name for the group; {} (keys are shown) when
    the manifest cannot be read, since the lock keeps names only as digests."""
    try:
        manifest = load(options)
    except FacesyncError:
        say(
            f"Showing person keys, not names: {options.named_manifest} has problems "
            "(`facesync validate` lists them)."
        )
        return {}
    group = manifest.group(group_id)
    return {p.key: p.name for p in group.persons} if group is not None else {}


def _row(face: NamedFace, names: dict[str, str]) -> dict[str, Any]:
    """One face as --json gives it: `person` (the key) as before, plus `name` and `personId`."""
    return {
        "faceRectangle": dict(zip(_RECT_KEYS, face.rectangle, strict=True)),
        "person": face.person,
        "name": _name(face, names),
        "personId": face.person_id,
        "confidence": face.confidence,
    }


def _name(face: NamedFace, names: dict[str, str]) -> str | None:
    """The manifest's name of a managed person (its key when the manifest has none)."""
    if not face.managed or face.person is None:
        return None
    return names.get(face.person, face.person)


def _who(face: NamedFace, names: dict[str, str]) -> str:
    if face.person is None:
        return "unknown"
    if not face.managed:
        return f"personId {face.person_id} (not managed by this lock)"
    name = _name(face, names)
    return face.person if name == face.person else f"{name} ({face.person})"


def _print(
    faces: list[NamedFace], names: dict[str, str], image: Path, group_id: str, threshold: float
) -> None:
    if not faces:
        click.echo(f"No face found in {image}.")
        return
    count = f"1 face in {image}" if len(faces) == 1 else f"{len(faces)} faces in {image}"
    order = "" if len(faces) == 1 else ", largest first"
    click.echo(f"{count}{order} (group {group_id}, threshold {threshold:.0%}):")
    table = [("FACE [left, top, width, height]", "CONFIDENCE", "PERSON")]
    for face in faces:
        confidence = "" if face.confidence is None else f"{face.confidence:.0%}"
        table.append((str(list(face.rectangle)), confidence, _who(face, names)))
    widths = [max(len(line[column]) for line in table) for column in range(2)]
    for box, confidence, who in table:
        click.echo(f"  {box:<{widths[0]}}  {confidence:<{widths[1]}}  {who}".rstrip())
