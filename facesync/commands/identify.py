"""`facesync identify IMAGE`: detect the faces in IMAGE and name each one
with the person key the lock records for the best candidate."""

from __future__ import annotations

import json
from pathlib import Path

import click

from facesync.commands.common import connection, read_state, say
from facesync.commands.options import GlobalOptions
from facesync.engine.identify import identify_faces
from facesync.errors import UsageError
from facesync.manifest.images import ImageProblem, check_image_bytes
from facesync.state.model import LockedGroup, LockState

_RECT_KEYS = ("left", "top", "width", "height")


def run(
    options: GlobalOptions, *, image: Path, group_id: str | None, threshold: float, as_json: bool
) -> int:
    data = _read_image(image)
    conn = connection(options)
    lock = read_state(options, conn)
    group = _pick_group(lock, group_id)
    named = identify_faces(
        conn, options.manifest_path.parent, data, group, threshold=threshold, say=say
    )
    rows = [
        {
            "faceRectangle": dict(zip(_RECT_KEYS, f.rectangle, strict=True)),
            "person": f.person,
            "confidence": f.confidence,
        }
        for f in named
    ]
    _print(rows, image, group.group_id, as_json)
    return 0


def _read_image(image: Path) -> bytes:
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


def _print(rows: list[dict], image: Path, group_id: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"image": str(image), "group": group_id, "faces": rows},
                              indent=2, sort_keys=True))
        return
    if not rows:
        click.echo(f"No face found in {image}.")
    for row in rows:
        r = row["faceRectangle"]
        box = f"{r['left']},{r['top']},{r['width']}x{r['height']}"
        if row["person"] is None:
            click.echo(f"{box}  unknown")
        else:
            click.echo(f"{box}  {row['person']}  {row['confidence']:.2f}")
