"""`facesync validate`: schema, image and local face checks, no network.

The face checks are those `plan` and `apply` make (facesync.commands.face_checks);
`--faces` is kept as an alias that changes nothing, since they always run.
"""

from __future__ import annotations

import click

from facesync.commands.face_checks import check_faces
from facesync.commands.options import GlobalOptions

from .common import load, say


def run(options: GlobalOptions, *, faces: bool = False) -> int:
    """`faces` is the old `--faces` flag: accepted, and the same as leaving it out."""
    del faces
    manifest = load(options)
    check_faces(manifest, say=say)
    persons = sum(len(g.persons) for g in manifest.groups)
    images = sum(len(p.faces) for g in manifest.groups for p in g.persons)
    click.echo(
        f"{manifest.path} is valid: {len(manifest.groups)} group(s), "
        f"{persons} person(s), {images} face image(s)."
    )
    return 0
