"""Thin handlers: parse the call, ask the models, serialise the answer.

ROUTES lists every operation under /face/v1.0 once per group kind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from flask import Response

from facesync.emulator import validation, wire
from facesync.emulator.calls import Call
from facesync.emulator.kinds import KINDS, GroupKind
from facesync.emulator.models import FaceService
from facesync.emulator.recognition import Recognition
from facesync.emulator.training import Trainer


@dataclass(frozen=True)
class Services:
    faces: FaceService
    trainer: Trainer
    recognition: Recognition


Handler = Callable[[Services, Call], Response]


def json_response(value: Any, status: int = 200) -> Response:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, mimetype="application/json")


def empty(status: int = 200) -> Response:
    """The service's bodiless success (200 for writes, 202 for train)."""
    response = Response(b"", status=status)
    del response.headers["Content-Type"]
    return response


def _with_model(call: Call) -> bool:
    return validation.boolean(
        "returnRecognitionModel", call.query.get("returnRecognitionModel"), False
    )


# -- groups ---------------------------------------------------------------------------------
def list_groups(kind: GroupKind, svc: Services, call: Call) -> Response:
    with_model = _with_model(call)
    groups = svc.faces.list_groups(kind, call.query.get("start"), call.query.get("top"))
    return json_response([wire.group_json(kind, group, with_model) for group in groups])


def create_group(kind: GroupKind, svc: Services, call: Call) -> Response:
    svc.faces.create_group(kind, call.params["group"], call.json())
    return empty()


def get_group(kind: GroupKind, svc: Services, call: Call) -> Response:
    group = svc.faces.get_group(kind, call.params["group"])
    return json_response(wire.group_json(kind, group, _with_model(call)))


def update_group(kind: GroupKind, svc: Services, call: Call) -> Response:
    svc.faces.update_group(kind, call.params["group"], call.json())
    return empty()


def delete_group(kind: GroupKind, svc: Services, call: Call) -> Response:
    svc.faces.delete_group(kind, call.params["group"])
    return empty()


def train(kind: GroupKind, svc: Services, call: Call) -> Response:
    group_id = call.params["group"]
    svc.trainer.train(kind, group_id)
    response = empty(202)
    root = call.request.host_url.rstrip("/")
    response.headers["Operation-Location"] = f"{root}/face/v1.0/{kind.prefix}/{group_id}/training"
    response.headers["Access-Control-Expose-Headers"] = "Operation-Location"
    return response


def training(kind: GroupKind, svc: Services, call: Call) -> Response:
    return json_response(wire.training_json(kind, svc.trainer.status(kind, call.params["group"])))


# -- persons --------------------------------------------------------------------------------
def create_person(kind: GroupKind, svc: Services, call: Call) -> Response:
    person_id = svc.faces.create_person(kind, call.params["group"], call.json())
    return json_response({"personId": person_id})


def list_persons(kind: GroupKind, svc: Services, call: Call) -> Response:
    persons = svc.faces.list_persons(
        kind, call.params["group"], call.query.get("start"), call.query.get("top")
    )
    return json_response([wire.person_json(person, faces) for person, faces in persons])


def get_person(kind: GroupKind, svc: Services, call: Call) -> Response:
    person, faces = svc.faces.get_person(kind, call.params["group"], call.params["person"])
    return json_response(wire.person_json(person, faces))


def update_person(kind: GroupKind, svc: Services, call: Call) -> Response:
    p = call.params
    svc.faces.update_person(kind, p["group"], p["person"], call.json())
    return empty()


def delete_person(kind: GroupKind, svc: Services, call: Call) -> Response:
    svc.faces.delete_person(kind, call.params["group"], call.params["person"])
    return empty()


# -- persisted faces ------------------------------------------------------------------------
def add_face(kind: GroupKind, svc: Services, call: Call) -> Response:
    p = call.params
    face_id = svc.faces.add_face(kind, p["group"], p["person"], call.image(), call.query)
    return json_response({"persistedFaceId": face_id})


def get_face(kind: GroupKind, svc: Services, call: Call) -> Response:
    p = call.params
    face = svc.faces.get_face(kind, p["group"], p["person"], p["face"])
    return json_response(wire.face_json(face))


def update_face(kind: GroupKind, svc: Services, call: Call) -> Response:
    p = call.params
    svc.faces.update_face(kind, p["group"], p["person"], p["face"], call.json())
    return empty()


def delete_face(kind: GroupKind, svc: Services, call: Call) -> Response:
    p = call.params
    svc.faces.delete_face(kind, p["group"], p["person"], p["face"])
    return empty()


# -- recognition ----------------------------------------------------------------------------
def detect(svc: Services, call: Call) -> Response:
    return json_response(svc.recognition.detect(call.image(), call.query))


def identify(svc: Services, call: Call) -> Response:
    return json_response(svc.recognition.identify(call.json()))


_GROUP = "{prefix}/{{group}}"
_PERSON = _GROUP + "/persons/{{person}}"
_FACE = _PERSON + "/persistedfaces/{{face}}"
_KIND_ROUTES: tuple[tuple[str, str, Callable[..., Response]], ...] = (
    ("GET", "{prefix}", list_groups),
    ("PUT", _GROUP, create_group),
    ("GET", _GROUP, get_group),
    ("PATCH", _GROUP, update_group),
    ("DELETE", _GROUP, delete_group),
    ("POST", _GROUP + "/train", train),
    ("GET", _GROUP + "/training", training),
    ("POST", _GROUP + "/persons", create_person),
    ("GET", _GROUP + "/persons", list_persons),
    ("GET", _PERSON, get_person),
    ("PATCH", _PERSON, update_person),
    ("DELETE", _PERSON, delete_person),
    ("POST", _PERSON + "/persistedfaces", add_face),
    ("GET", _FACE, get_face),
    ("PATCH", _FACE, update_face),
    ("DELETE", _FACE, delete_face),
)


def routes() -> list[tuple[str, str, Handler]]:
    """(method, path under /face/v1.0, handler) for every operation."""
    found: list[tuple[str, str, Handler]] = [
        ("POST", "detect", detect),
        ("POST", "identify", identify),
    ]
    for kind in KINDS:
        for method, path, handler in _KIND_ROUTES:
            found.append((method, path.format(prefix=kind.prefix), partial(handler, kind)))
    return found
