"""`facesync show [--json]`: what the lock file records (no network).

The lock keeps names only as digests, so the human view takes them from the
manifest when there is one; an object the manifest no longer has is shown
without a name, and says so. `--json` is the lock's own content: its keys
are kept as they are (new ones are added, none renamed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import click

from facesync.commands.common import load, say
from facesync.commands.options import GlobalOptions
from facesync.digest import text_digest
from facesync.engine.checkpoint import recorded_state
from facesync.errors import FacesyncError, UsageError
from facesync.manifest.model import Manifest
from facesync.plan.render import counted
from facesync.state.model import LockedFace, LockedGroup, LockedPerson, LockState

NOT_IN_MANIFEST = "(not in the manifest: no name)"


@dataclass(frozen=True)
class Names:
    """Where the names come from: a manifest, or nothing (and why)."""

    manifest: Manifest | None
    note: str  # the header's word on names

    def group(self, group: LockedGroup) -> str:
        if self.manifest is None:
            return ""
        want = self.manifest.group(group.group_id)
        return NOT_IN_MANIFEST if want is None else _name(want.name, group.name_digest)

    def person(self, group: LockedGroup, person: LockedPerson) -> str:
        if self.manifest is None:
            return ""
        want = self.manifest.group(group.group_id)
        found = want.person(person.key) if want is not None else None
        return NOT_IN_MANIFEST if found is None else _name(found.name, person.name_digest)


def _name(name: str, recorded_digest: str) -> str:
    """The manifest's name, marked when the server still has another (not applied)."""
    shown = json.dumps(name, ensure_ascii=False)
    if text_digest(name) != recorded_digest:
        return f"{shown} (not applied yet)"
    return shown


def run(options: GlobalOptions, *, as_json: bool) -> int:
    path = options.lock_path
    state = recorded_state(path, "", rebind=True, warn=say)  # show any lock, whatever its endpoint
    written = path.exists()
    if not written and not state.groups:
        raise UsageError(f"no lock file at {path}: run `facesync apply` first")
    if as_json:
        click.echo(json.dumps(_as_dict(state), indent=2, sort_keys=True))
        return 0
    names = _names(options)
    if written:
        about = f"version {state.serial} of this lock, endpoint {state.endpoint}"
    else:  # a second Ctrl-C before the first write: the results log holds every id
        about = "not written yet: what an interrupted apply logged (the next apply writes it)"
    click.echo(f"{path}: {about}; {names.note}")
    for group in state.groups:
        click.echo("")
        for line in _group_lines(group, names):
            click.echo(line)
    return 0


def _names(options: GlobalOptions) -> Names:
    manifest_path = options.named_manifest
    if not manifest_path.exists():
        return Names(None, f"no names (no manifest at {manifest_path}).")
    try:
        manifest = load(options)
    except FacesyncError:
        return Names(
            None, f"no names ({manifest_path} cannot be read: run facesync validate)."
        )
    return Names(manifest, f"names from {manifest_path}.")


def _group_lines(group: LockedGroup, names: Names) -> list[str]:
    training = group.training_status or "never trained"
    trained_at = _trained_at(group)
    if trained_at:
        training += f" at {trained_at}"
    if group.needs_training:
        training += ", changed since"
    head = " ".join(p for p in (group.group_id, names.group(group)) if p)
    lines = [
        f"{head}  {group.kind}, {group.recognition_model}, training: {training}, "
        f"{counted(len(group.persons), 'person')}"
    ]
    for person in group.persons:
        label = " ".join(p for p in (person.key, names.person(group, person)) if p)
        lines.append(
            f"  {label}  personId {person.person_id}, {counted(len(person.faces), 'face')}"
        )
        lines += [f"    {_face_text(face)}" for face in sorted(person.faces, key=_by_path)]
    return lines


def _trained_at(group: LockedGroup) -> str | None:
    """When the group last finished training, for a lock that records it."""
    value = getattr(group, "trained_at", None)
    return value if isinstance(value, str) and value else None


def _face_text(face: LockedFace) -> str:
    text = f"{face.path}  persistedFaceId {face.persisted_face_id}"
    if face.target_face is not None:
        text += f", targetFace [{', '.join(str(n) for n in face.target_face)}]"
    return text


def _by_path(face: LockedFace) -> str:
    return face.path


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
                             "persistedFaceId": f.persisted_face_id,
                             "targetFace": list(f.target_face) if f.target_face else None}
                            for f in sorted(p.faces, key=_by_path)
                        ],
                    }
                    for p in g.persons
                },
            }
            for g in state.groups
        },
    }
