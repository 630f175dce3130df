"""`facesync faces IMAGE`: every face the local detector finds in a photo, with
its box in the manifest's targetFace form, so that a group photo's face can be
picked without a trained group."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from facesync.commands.face_checks import boxes, found_in
from facesync.commands.identify import read_image
from facesync.commands.options import GlobalOptions
from facesync.errors import FacesyncError
from facesync.face_rules import Rectangle

_RECT_KEYS = ("left", "top", "width", "height")


def run(options: GlobalOptions, *, image: Path, as_json: bool) -> int:
    data = read_image(image)
    width, height, faces = _detect(image, data)
    if as_json:
        rows = [
            {"targetFace": list(face), "faceRectangle": dict(zip(_RECT_KEYS, face, strict=True))}
            for face in faces
        ]
        click.echo(json.dumps(rows, indent=2, sort_keys=True))
        return 0
    if not faces:
        click.echo(
            f"No face found in {image} ({width}x{height}): add-face would refuse it; "
            "use a photo with one clear face."
        )
        return 0
    count = "1 face" if len(faces) == 1 else f"{len(faces)} faces"
    order = "" if len(faces) == 1 else ", largest first"
    click.echo(f"{count} in {image} ({width}x{height}){order}:")
    table = [("FACE (as targetFace)", "SIZE")]
    table += [(boxes([face]), f"{face[2]}x{face[3]} px") for face in faces]
    widest = max(len(box) for box, _ in table)
    for box, size in table:
        click.echo(f"  {box:<{widest}}  {size}")
    click.echo(_hint(options, image, faces))
    return 0


def _detect(image: Path, data: bytes) -> tuple[int, int, list[Rectangle]]:
    """The image's size and its faces, largest first, as the face checks find them."""
    from facesync.emulator import vision
    from facesync.emulator.images import ImageRefused

    try:
        vision.require_vision()
    except vision.VisionUnavailableError:
        raise FacesyncError(
            "facesync faces needs the local face detector: run pip install 'facesync[local]'"
        ) from None
    try:
        found = found_in(data)
    except ImageRefused as exc:
        raise FacesyncError(
            f"{image}: the Face API would refuse it ({exc.spec.message}): "
            "use an intact JPEG, PNG, GIF or BMP photo"
        ) from None
    return found.width, found.height, list(found.faces)


def _hint(options: GlobalOptions, image: Path, faces: list[Rectangle]) -> str:
    if len(faces) == 1:
        return "A face entry of this photo needs no targetFace: add-face enrols its only face."
    return (
        "To enrol one of them, give its face entry that box as targetFace:\n"
        f"  - path: {_entry_path(options, image)}\n"
        f"    targetFace: {list(faces[0])}"
    )


def _entry_path(options: GlobalOptions, image: Path) -> str:
    """`image` as a face entry of the manifest writes it: relative to the manifest's
    folder when it lies inside it, else as given."""
    folder = options.named_manifest.parent.resolve()
    real = image.resolve()
    if real.is_relative_to(folder):
        return real.relative_to(folder).as_posix()
    return os.fspath(image)
