"""The Face API over HTTP (docs/emulator.md lists what it serves): one method per operation.

Wire details live here (paths, query strings, JSON shapes); pacing, retries
and error mapping live in `transport`. Every id put in a path (from the
manifest, the lock file or a server's answer) is percent-escaped whole, so
a `/`, `?` or `#` in it stays inside its segment; an id that is empty, `.`
or `..` is refused, since HTTP stacks resolve those as path steps whatever
their escaping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from facesync.backends.base import (
    Candidate,
    DetectedFace,
    FaceInfo,
    GroupInfo,
    IdentifyResult,
    PersonInfo,
    TrainingInfo,
)
from facesync.backends.transport import Request, Transport
from facesync.errors import ApiError
from facesync.limits import LIST_TOP_MAX

_PREFIX = {"personGroup": "/persongroups", "largePersonGroup": "/largepersongroups"}
_ID_FIELD = {"personGroup": "personGroupId", "largePersonGroup": "largePersonGroupId"}
_NOT_STARTED = {"notstarted", "nonstarted"}
_PATH_STEPS = frozenset({"", ".", ".."})


class HttpBackend:
    """A FaceBackend that talks to an Azure Face endpoint or facesync's emulator."""

    def __init__(
        self,
        endpoint: str,
        key: str,
        *,
        rate: float | None = None,
        timeout: float = 30.0,
        max_retries: int = 6,
        pool_size: int = 16,
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[str], None] | None = None,
        page_size: int = LIST_TOP_MAX,
    ) -> None:
        self._t = Transport(
            endpoint,
            key,
            rate=rate,
            timeout=timeout,
            max_retries=max_retries,
            pool_size=pool_size,
            sleep=sleep,
            log=log,
        )
        self.endpoint = self._t.endpoint
        self.page_size = page_size

    def __repr__(self) -> str:
        return f"HttpBackend({self.endpoint!r})"

    @property
    def calls_made(self) -> int:
        return self._t.calls_made

    def close(self) -> None:
        self._t.close()

    # --- groups -------------------------------------------------------------

    def create_group(
        self, kind: str, group_id: str, name: str, user_data: str | None, recognition_model: str
    ) -> None:
        body = _drop_none(
            {"name": name, "userData": user_data, "recognitionModel": recognition_model}
        )
        self._call("PUT", _group(kind, group_id), "create group", group_id, json=body)

    def get_group(self, kind: str, group_id: str) -> GroupInfo:
        params = [("returnRecognitionModel", "true")]
        item = self._json("GET", _group(kind, group_id), "get group", group_id, params=params)
        return _group_info(kind, item, group_id)

    def list_groups(self, kind: str) -> list[GroupInfo]:
        items = self._pages(_PREFIX[_kind(kind)], "list groups", "", _ID_FIELD[kind], True)
        return sorted((_group_info(kind, i) for i in items), key=lambda g: g.group_id)

    def update_group(
        self, kind: str, group_id: str, name: str | None, user_data: str | None
    ) -> None:
        body = _drop_none({"name": name, "userData": user_data})
        self._call("PATCH", _group(kind, group_id), "update group", group_id, json=body)

    def delete_group(self, kind: str, group_id: str) -> None:
        self._call("DELETE", _group(kind, group_id), "delete group", group_id)

    def train_group(self, kind: str, group_id: str) -> None:
        # Repeating a train is harmless (409 while it runs), so it counts as idempotent.
        self._call("POST", _group(kind, group_id) + "/train", "train group", group_id)

    def get_training_status(self, kind: str, group_id: str) -> TrainingInfo:
        item = self._json("GET", _group(kind, group_id) + "/training", "get training", group_id)
        return parse_training(item)

    # --- persons ------------------------------------------------------------

    def create_person(self, kind: str, group_id: str, name: str, user_data: str | None) -> str:
        body = _drop_none({"name": name, "userData": user_data})
        path = _group(kind, group_id) + "/persons"
        item = self._json("POST", path, "create person", group_id, json=body, idempotent=False)
        return _required(item, "personId", "create person")

    def list_persons(self, kind: str, group_id: str) -> list[PersonInfo]:
        path = _group(kind, group_id) + "/persons"
        items = self._pages(path, "list persons", group_id, "personId", False)
        return [_person_info(i) for i in items]

    def get_person(self, kind: str, group_id: str, person_id: str) -> PersonInfo:
        path = _person(kind, group_id, person_id)
        return _person_info(self._json("GET", path, "get person", f"{group_id}/{person_id}"))

    def update_person(
        self, kind: str, group_id: str, person_id: str, name: str | None, user_data: str | None
    ) -> None:
        body = _drop_none({"name": name, "userData": user_data})
        path = _person(kind, group_id, person_id)
        self._call("PATCH", path, "update person", f"{group_id}/{person_id}", json=body)

    def delete_person(self, kind: str, group_id: str, person_id: str) -> None:
        path = _person(kind, group_id, person_id)
        self._call("DELETE", path, "delete person", f"{group_id}/{person_id}")

    # --- faces ----------------------------------------------------------------

    def add_face(
        self,
        kind: str,
        group_id: str,
        person_id: str,
        image: bytes,
        *,
        user_data: str | None = None,
        target_face: tuple[int, int, int, int] | None = None,
        detection_model: str | None = None,
    ) -> str:
        params = []
        if user_data is not None:
            params.append(("userData", user_data))
        if target_face is not None:
            params.append(("targetFace", ",".join(str(int(v)) for v in target_face)))
        if detection_model is not None:
            params.append(("detectionModel", detection_model))
        path = _person(kind, group_id, person_id) + "/persistedfaces"
        item = self._json(
            "POST",
            path,
            "add face",
            f"{group_id}/{person_id}",
            params=params,
            data=image,
            idempotent=False,
        )
        return _required(item, "persistedFaceId", "add face")

    def get_face(self, kind: str, group_id: str, person_id: str, face_id: str) -> FaceInfo:
        path = _face(kind, group_id, person_id, face_id)
        item = self._json("GET", path, "get face", f"{group_id}/{person_id}/{face_id}")
        return FaceInfo(_required(item, "persistedFaceId", "get face"), item.get("userData"))

    def update_face(
        self, kind: str, group_id: str, person_id: str, face_id: str, user_data: str
    ) -> None:
        path = _face(kind, group_id, person_id, face_id)
        address = f"{group_id}/{person_id}/{face_id}"
        self._call("PATCH", path, "update face", address, json={"userData": user_data})

    def delete_face(self, kind: str, group_id: str, person_id: str, face_id: str) -> None:
        path = _face(kind, group_id, person_id, face_id)
        self._call("DELETE", path, "delete face", f"{group_id}/{person_id}/{face_id}")

    # --- recognition ------------------------------------------------------------

    def detect(
        self, image: bytes, *, recognition_model: str, detection_model: str
    ) -> list[DetectedFace]:
        params = [
            ("returnFaceId", "true"),
            ("recognitionModel", recognition_model),
            ("detectionModel", detection_model),
        ]
        items = self._json("POST", "/detect", "detect", "", params=params, data=image)
        return [_detected(i) for i in _list(items, "detect")]

    def identify(
        self,
        face_ids: list[str],
        kind: str,
        group_id: str,
        *,
        max_candidates: int = 1,
        threshold: float | None = None,
    ) -> list[IdentifyResult]:
        body: dict[str, Any] = {
            "faceIds": list(face_ids),
            _ID_FIELD[_kind(kind)]: group_id,
            "maxNumOfCandidatesReturned": max_candidates,
        }
        if threshold is not None:
            body["confidenceThreshold"] = threshold
        items = self._json("POST", "/identify", "identify", group_id, json=body)
        return [_identified(i) for i in _list(items, "identify")]

    # --- plumbing -------------------------------------------------------------------

    def _call(self, method: str, path: str, operation: str, address: str, **kw: Any) -> Any:
        return self._t.send(Request(method, path, operation, address, **kw))

    def _json(self, method: str, path: str, operation: str, address: str, **kw: Any) -> Any:
        response = self._call(method, path, operation, address, **kw)
        try:
            return response.json()
        except ValueError:
            req = Request(method, path, operation, address)
            raise self._t.api_error(
                response.status_code,
                "InvalidResponse",
                "the endpoint did not answer with Face API JSON; check --endpoint",
                req,
            ) from None

    def _pages(
        self, path: str, operation: str, address: str, id_field: str, models: bool
    ) -> list[dict]:
        """Every item of a paged list: `start` is the last id of the previous page."""
        items: list[dict] = []
        start = ""
        while True:
            params = [("top", str(self.page_size))]
            if start:
                params.append(("start", start))
            if models:
                params.append(("returnRecognitionModel", "true"))
            page = _list(self._json("GET", path, operation, address, params=params), operation)
            items.extend(page)
            if len(page) < self.page_size:
                return items
            start = _required(page[-1], id_field, operation)


def parse_training(item: Any) -> TrainingInfo:
    """Training status, tolerant of the spellings and fields of every version."""
    if not isinstance(item, dict) or not isinstance(item.get("status"), str):
        raise ApiError(
            200,
            "InvalidResponse",
            "training status without a status field",
            operation="get training",
        )
    status = item["status"].strip().lower()
    message = item.get("message")
    return TrainingInfo(
        status="notstarted" if status in _NOT_STARTED else status,
        created=item.get("createdDateTime"),
        last_action=item.get("lastActionDateTime"),
        last_successful=item.get("lastSuccessfulTrainingDateTime"),
        message=message if isinstance(message, str) else None,
    )


def _kind(kind: str) -> str:
    if kind not in _PREFIX:
        raise ValueError(f"unknown group kind {kind!r}")
    return kind


def _group(kind: str, group_id: str) -> str:
    return f"{_PREFIX[_kind(kind)]}/{segment(group_id, 'group id')}"


def _person(kind: str, group_id: str, person_id: str) -> str:
    return f"{_group(kind, group_id)}/persons/{segment(person_id, 'personId')}"


def _face(kind: str, group_id: str, person_id: str, face_id: str) -> str:
    path = _person(kind, group_id, person_id)
    return f"{path}/persistedfaces/{segment(face_id, 'persistedFaceId')}"


def segment(value: str, what: str) -> str:
    """`value` escaped as one path segment, whatever it holds; an ApiError for
    the values no escaping keeps in place (requests turns %2E back into a dot)."""
    if value in _PATH_STEPS:
        raise ApiError(
            0, "InvalidId",
            f"{what} {value!r} is not an id the Face API can have; check the lock file"
            " and the manifest",
        )  # fmt: skip
    return quote(value, safe="")


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def _required(item: Any, key: str, operation: str) -> str:
    if isinstance(item, dict) and isinstance(item.get(key), str) and item[key]:
        return item[key]
    raise ApiError(200, "InvalidResponse", f"the answer has no {key}", operation=operation)


def _list(items: Any, operation: str) -> list:
    if isinstance(items, list):
        return items
    raise ApiError(200, "InvalidResponse", "expected a JSON array", operation=operation)


def _group_info(kind: str, item: Any, group_id: str | None = None) -> GroupInfo:
    if not isinstance(item, dict):
        raise ApiError(200, "InvalidResponse", "expected a group object", operation="get group")
    gid = item.get(_ID_FIELD[kind]) or item.get("personGroupId") or group_id or ""
    return GroupInfo(
        gid, item.get("name") or "", item.get("userData"), item.get("recognitionModel")
    )


def _person_info(item: Any) -> PersonInfo:
    person_id = _required(item, "personId", "list persons")
    faces = item.get("persistedFaceIds") or []
    return PersonInfo(
        person_id, item.get("name") or "", item.get("userData"), tuple(str(f) for f in faces)
    )


def _detected(item: dict) -> DetectedFace:
    r = item.get("faceRectangle") or {}
    rect = (
        int(r.get("left", 0)),
        int(r.get("top", 0)),
        int(r.get("width", 0)),
        int(r.get("height", 0)),
    )
    return DetectedFace(item.get("faceId"), rect)


def _identified(item: dict) -> IdentifyResult:
    candidates = tuple(
        Candidate(str(c["personId"]), float(c.get("confidence", 0.0)))
        for c in item.get("candidates") or []
    )
    return IdentifyResult(str(item.get("faceId", "")), candidates)
