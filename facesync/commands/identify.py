"""`facesync identify IMAGE`: detect the faces in IMAGE and name each one
with the person key the lock records for the best candidate."""

from __future__ import annotations

import json
from pathlib import Path

import click

from facesync.backends.connect import open_backend
from facesync.commands.options import GlobalOptions
from facesync.errors import UsageError
from facesync.limits import IDENTIFY_FACE_IDS_MAX
from facesync.manifest.images import ImageProblem, check_image_bytes
from facesync.manifest.model import DEFAULT_DETECTION_MODEL
from facesync.state.model import LockedGroup, LockState

from .common import connection, read_state

_RECT_KEYS = ("left", "top", "width", "height")


def run(
    options: GlobalOptions, *, image: Path, group_id: str | None, threshold: float, as_json: bool
) -> int:
    data = _read_image(image)
    conn = connection(options)
    lock = read_state(options, conn)
    group = _pick_group(lock, group_id)
    names = {p.person_id: p.key for p in group.persons}
    folder = options.manifest_path.parent
    with open_backend(conn, folder) as backend:
        faces = backend.detect(
            data, recognition_model=group.recognition_model, detection_model=DEFAULT_DETECTION_MODEL
        )
        best: dict[str, tuple[str, float]] = {}
        ids = [f.face_id for f in faces if f.face_id]
        for start in range(0, len(ids), IDENTIFY_FACE_IDS_MAX):
            batch = ids[start : start + IDENTIFY_FACE_IDS_MAX]
            for result in backend.identify(
                batch, group.kind, group.group_id, max_candidates=1, threshold=threshold
            ):
                if result.candidates:
                    top = result.candidates[0]
                    best[result.face_id] = (names.get(top.person_id, top.person_id), top.confidence)
    rows = [
        {
            "faceRectangle": dict(zip(_RECT_KEYS, f.rectangle, strict=True)),
            "person": best.get(f.face_id or "", (None, None))[0],
            "confidence": best.get(f.face_id or "", (None, None))[1],
        }
        for f in faces
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
