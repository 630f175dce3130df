"""`facesync validate [--faces]`: schema and image checks, no network."""

from __future__ import annotations

from pathlib import Path

import click

from facesync.commands.options import GlobalOptions
from facesync.errors import Diagnostic, ManifestError
from facesync.face_rules import Rectangle, Refusal, centred_in, choose_face
from facesync.manifest.model import DesiredFace, Manifest
from facesync.schemas_dir import json_path

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
    """Run the local detector on every image (needs the local extra).

    Each image goes through the emulator's own face-pick rule, so that validate
    passes exactly the images an add-face call would accept.
    """
    from facesync.emulator.images import ImageRefused
    from facesync.emulator.vision import analyse, require_vision

    require_vision()
    problems = []
    for group in manifest.groups:
        for person in group.persons:
            for face in person.faces:
                try:
                    scene = analyse(Path(face.abs_path).read_bytes())
                except ImageRefused as exc:  # the manifest's checks agree; a file changed?
                    message: str | None = (
                        f"{face.path}: the Face API would refuse it ({exc.spec.message}): "
                        "replace it with an intact JPEG, PNG, GIF or BMP photo"
                    )
                except OSError as exc:
                    message = (
                        f"'{face.path}' cannot be read ({exc.strerror or exc}): check that it "
                        "exists and is readable"
                    )
                else:
                    found = [box.rectangle for box in scene.boxes]
                    message = _face_problem(face, found, (scene.width, scene.height))
                if message:
                    where = json_path(("groups", group.group_id, "persons", person.key, "faces"))
                    problems.append(Diagnostic(str(manifest.path), face.line, where, message))
    if problems:
        raise ManifestError(problems)


def _face_problem(
    face: DesiredFace, found: list[Rectangle], size: tuple[int, int]
) -> str | None:
    """What to fix so that add-face accepts `face`, or None when it would."""
    target = face.target_face
    choice = choose_face(found, size, target)
    if not isinstance(choice, Refusal):
        return None
    if not found:
        if target is None:
            return f"no face detected in {face.path}; use a photo with one clear face"
        return (
            f"no face detected inside targetFace {list(target)} of {face.path}: "
            "the photo has no face at all; use a photo with one clear face"
        )
    if target is None:
        return (
            f"{len(found)} faces detected in {face.path}; "
            "add targetFace: [left, top, width, height] to pick one "
            f"(found faces at {_boxes(found)})"
        )
    if choice is Refusal.TARGET_OUTSIDE_IMAGE:  # the manifest loader normally catches this
        return (
            f"targetFace {list(target)} reaches outside the {size[0]}x{size[1]} image "
            f"{face.path}: keep left + width <= {size[0]} and top + height <= {size[1]}"
        )
    if choice is Refusal.NO_FACE:
        return (
            f"no face detected inside targetFace {list(target)} of {face.path}; "
            f"found faces at {_boxes(found)}: move targetFace so that one face's centre "
            "lies inside it"
        )
    inside = [found[index] for index in centred_in(found, target)]
    return (
        f"{len(inside)} faces detected inside targetFace {list(target)} of {face.path}; "
        f"found faces at {_boxes(inside)}: shrink targetFace so that only one face's "
        "centre lies inside it"
    )


def _boxes(rectangles: list[Rectangle]) -> str:
    """Rectangles as the manifest writes a targetFace, ready to copy: [l, t, w, h], ..."""
    return ", ".join(str(list(rectangle)) for rectangle in rectangles)
