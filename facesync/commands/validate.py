"""`facesync validate [--faces]`: schema and image checks, no network."""

from __future__ import annotations

import click

from facesync.commands.options import GlobalOptions
from facesync.errors import Diagnostic, ManifestError
from facesync.manifest.model import DesiredFace, Manifest
from facesync.manifest.paths import format_path

from .common import load


def run(options: GlobalOptions, *, faces: bool) -> int:
    manifest = load(options)
    if faces:
        _check_faces(manifest)
    persons = sum(len(g.persons) for g in manifest.groups)
    images = sum(len(p.faces) for g in manifest.groups for p in g.persons)
    click.echo(
        f"{manifest.path} is valid: {len(manifest.groups)} group(s), "
        f"{persons} person(s), {images} face image(s)."
    )
    return 0


def _check_faces(manifest: Manifest) -> None:
    """Run the local detector on every image (needs the local extra)."""
    from facesync.emulator.vision import find_faces, require_vision

    require_vision()
    problems = []
    for group in manifest.groups:
        for person in group.persons:
            for face in person.faces:
                message = _face_problem(face, find_faces(face.abs_path.read_bytes()))
                if message:
                    where = format_path(("groups", group.group_id, "persons", person.key, "faces"))
                    problems.append(Diagnostic(str(manifest.path), face.line, where, message))
    if problems:
        raise ManifestError(problems)


def _face_problem(face: DesiredFace, found: list) -> str | None:
    if face.target_face is None:
        if not found:
            return f"no face detected in {face.path}; use a photo with one clear face"
        if len(found) > 1:
            return (
                f"{len(found)} faces detected in {face.path}; "
                "add targetFace: [left, top, width, height] to pick one"
            )
        return None
    left, top, width, height = face.target_face
    inside = [
        f for f in found
        if _overlap(f.rectangle, (left, top, width, height)) > 0.5
    ]
    if not inside:
        return f"no face detected inside targetFace {list(face.target_face)} of {face.path}"
    return None


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """The share of rectangle a that lies inside rectangle b."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return (w * h) / float(aw * ah) if aw and ah else 0.0
