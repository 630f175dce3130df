"""`facesync show [--json]`: what the lock file records (no network)."""

from __future__ import annotations

import json

import click

from facesync.commands.common import say
from facesync.commands.options import GlobalOptions
from facesync.engine.checkpoint import recorded_state
from facesync.errors import UsageError
from facesync.state.model import LockState


def run(options: GlobalOptions, *, as_json: bool) -> int:
    path = options.lock_path
    if not path.exists():
        raise UsageError(f"no lock file at {path}: run `facesync apply` first")
    state = recorded_state(path, "", rebind=True, warn=say)  # show any lock, whatever its endpoint
    if as_json:
        click.echo(json.dumps(_as_dict(state), indent=2, sort_keys=True))
        return 0
    click.echo(f"{path} (serial {state.serial}, endpoint {state.endpoint})")
    for group in state.groups:
        training = group.training_status or "never trained"
        if group.needs_training:
            training += ", changed since"
        click.echo(
            f"{group.group_id}  {group.kind}  {group.recognition_model}  training: {training}"
        )
        for person in group.persons:
            click.echo(f"  {person.key}  personId {person.person_id}  {len(person.faces)} face(s)")
            for face in sorted(person.faces, key=lambda f: f.path):
                click.echo(f"    {face.path}  persistedFaceId {face.persisted_face_id}")
    return 0


def _as_dict(state: LockState) -> dict:
    return {
        "endpoint": state.endpoint,
        "serial": state.serial,
        "groups": {
            g.group_id: {
                "kind": g.kind,
                "recognitionModel": g.recognition_model,
                "trainingStatus": g.training_status,
                "needsTraining": g.needs_training,
                "persons": {
                    p.key: {
                        "personId": p.person_id,
                        "faces": [
                            {"path": f.path, "sha256": f.sha256,
                             "persistedFaceId": f.persisted_face_id}
                            for f in sorted(p.faces, key=lambda f: f.path)
                        ],
                    }
                    for p in g.persons
                },
            }
            for g in state.groups
        },
    }
