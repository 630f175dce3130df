"""Detect and Identify: temporary faceIds and the search of a trained group.

A faceId lives in memory for faceIdTimeToLive seconds (default 24 h) with its
embedding and the recognition model it was detected with; a restart forgets
them (clients detect again, as they must after expiry anyway). Identify reads
only the group's last successful training, never live data.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from facesync.emulator import errors, validation
from facesync.emulator.attributes import face_attributes, parse_attributes
from facesync.emulator.images import ImageRefused, check_size
from facesync.emulator.kinds import LARGE_PERSON_GROUP, PERSON_GROUP, GroupKind
from facesync.emulator.landmarks import landmarks_27
from facesync.emulator.store import Store
from facesync.emulator.training import IndexCache
from facesync.limits import GROUP_ID_RE, IDENTIFY_FACE_IDS_MAX

FACE_ID_TTL_DEFAULT = 86400
FACE_ID_TTL_MIN = 60
FACE_ID_CAPACITY = 200_000  # oldest faceIds are forgotten first past this
DEFAULT_CONFIDENCE_THRESHOLD = 0.5  # the service's is unpublished; Verify's cut-off is 0.5
DEFAULT_MAX_CANDIDATES = 1  # v1.0
MAX_CANDIDATES_LIMIT = 100  # today's docs (v1.0's swagger said 5)


@dataclass(frozen=True)
class TemporaryFace:
    embedding: Any
    recognition_model: str
    expires: float  # time.monotonic()


class FaceIdRegistry:
    def __init__(self, capacity: int = FACE_ID_CAPACITY) -> None:
        self._faces: OrderedDict[str, TemporaryFace] = OrderedDict()
        self._mutex = threading.Lock()
        self._capacity = capacity

    def add(self, embedding: Any, recognition_model: str, ttl: int) -> str:
        face_id = str(uuid.uuid4())
        with self._mutex:
            self._faces[face_id] = TemporaryFace(
                embedding, recognition_model, time.monotonic() + ttl
            )
            while len(self._faces) > self._capacity:
                self._faces.popitem(last=False)
        return face_id

    def get(self, face_id: str) -> TemporaryFace | None:
        with self._mutex:
            face = self._faces.get(face_id)
            if face is not None and face.expires <= time.monotonic():
                del self._faces[face_id]
                return None
            return face


@dataclass(frozen=True)
class DetectOptions:
    return_face_id: bool
    return_landmarks: bool
    attributes: tuple[str, ...]
    recognition_model: str
    return_recognition_model: bool
    detection_model: str
    ttl: int


def detect_options(query: Mapping[str, str]) -> DetectOptions:
    detection_model = validation.detection_model(query.get("detectionModel"))
    recognition_model = validation.recognition_model(
        query.get("recognitionModel") or validation.ABSENT
    )
    landmarks = validation.boolean("returnFaceLandmarks", query.get("returnFaceLandmarks"), False)
    if landmarks and detection_model == "detection_02":
        raise errors.LANDMARKS_NOT_WITH_DETECTION_02.error()
    return DetectOptions(
        return_face_id=validation.boolean("returnFaceId", query.get("returnFaceId"), True),
        return_landmarks=landmarks,
        attributes=parse_attributes(
            query.get("returnFaceAttributes"), detection_model, recognition_model
        ),
        recognition_model=recognition_model,
        return_recognition_model=validation.boolean(
            "returnRecognitionModel", query.get("returnRecognitionModel"), False
        ),
        detection_model=detection_model,
        ttl=validation.integer(
            "faceIdTimeToLive",
            query.get("faceIdTimeToLive"),
            FACE_ID_TTL_DEFAULT,
            FACE_ID_TTL_MIN,
            FACE_ID_TTL_DEFAULT,
        ),
    )


Landmarks = Callable[[bytes, tuple[int, int, int, int]], dict[str, dict[str, float]]]


class Recognition:
    def __init__(
        self,
        store: Store,
        analyse: Callable[[bytes], Any],
        indexes: IndexCache,
        landmarks: Landmarks = landmarks_27,
    ) -> None:
        self.store = store
        self.analyse = analyse  # bytes -> Scene: in this process, or in a vision worker
        self.landmarks = landmarks
        self.indexes = indexes
        self.face_ids = FaceIdRegistry()

    def detect(self, image: Callable[[], bytes], query: Mapping[str, str]) -> list[dict[str, Any]]:
        """Detect's JSON answer: faces largest first, at most 100."""
        options = detect_options(query)
        data = image()
        try:
            check_size(data)
            scene = self.analyse(data)
        except ImageRefused as problem:
            raise problem.spec.error() from None
        return [
            self._detected(scene, index, options, data) for index in range(len(scene.boxes))
        ]

    def _detected(
        self, scene: Any, index: int, options: DetectOptions, data: bytes
    ) -> dict[str, Any]:
        box = scene.boxes[index]
        left, top, width, height = box.rectangle
        face: dict[str, Any] = {}
        if options.return_face_id:
            face["faceId"] = self.face_ids.add(
                scene.embedding(index), options.recognition_model, options.ttl
            )
        if options.return_recognition_model:
            face["recognitionModel"] = options.recognition_model
        face["faceRectangle"] = {"top": top, "left": left, "width": width, "height": height}
        if options.return_landmarks:
            face["faceLandmarks"] = self.landmarks(data, box.rectangle)
        if options.attributes:
            face["faceAttributes"] = face_attributes(options.attributes, box.rectangle)
        return face

    def identify(self, body: Any) -> list[dict[str, Any]]:
        fields = validation.body_object(body)
        face_ids = _face_ids(validation.field(fields, "faceIds"))
        kind, group_id = _target_group(fields)
        max_candidates = _max_candidates(validation.field(fields, "maxNumOfCandidatesReturned"))
        threshold = _threshold(validation.field(fields, "confidenceThreshold"))
        if not GROUP_ID_RE.fullmatch(group_id):
            raise errors.IDENTIFY_GROUP_ID_INVALID.error(kind)
        with self.store.read() as tx:
            group = tx.group(kind.name, group_id)
            if group is None:
                raise errors.IDENTIFY_GROUP_NOT_FOUND.error(kind)
            training = tx.training(kind.name, group_id)
            running = training is not None and training.status == "running"
            if running and not kind.large:
                raise errors.TRAINING_NOT_FINISHED.error(kind)
            index = self.indexes.current(tx, kind, group_id)
        if index is None:
            if running:
                raise errors.TRAINING_NOT_FINISHED.error(kind)
            raise errors.IDENTIFY_NOT_TRAINED.error(kind)
        queries = []
        for face_id in face_ids:
            face = self.face_ids.get(face_id)
            if face is None:
                raise errors.FACE_NOT_FOUND.error()
            if face.recognition_model != group.recognition_model:
                raise errors.RECOGNITION_MODEL_INCOMPATIBLE.error()
            queries.append(face.embedding)
        results = index.search(queries, max_candidates, threshold)
        return [
            {
                "faceId": face_id,
                "candidates": [
                    {"personId": person_id, "confidence": score} for person_id, score in found
                ],
            }
            for face_id, found in zip(face_ids, results, strict=True)
        ]


def _face_ids(value: Any) -> list[str]:
    if value is validation.ABSENT:
        raise errors.FACE_IDS_LENGTH.error()
    if not isinstance(value, list):
        raise errors.BODY_INVALID.error()
    if not 1 <= len(value) <= IDENTIFY_FACE_IDS_MAX:
        raise errors.FACE_IDS_LENGTH.error()
    found = []
    for item in value:
        if not isinstance(item, str) or validation.guid(item) is None:
            raise errors.BODY_INVALID.error()
        found.append(item.lower())
    return found


def _target_group(fields: Mapping[str, Any]) -> tuple[GroupKind, str]:
    group_id = validation.field(fields, "personGroupId")
    large_id = validation.field(fields, "largePersonGroupId")
    if group_id is not validation.ABSENT and large_id is not validation.ABSENT:
        raise errors.GROUP_IDS_BOTH_NOT_NULL.error()
    if group_id is validation.ABSENT and large_id is validation.ABSENT:
        raise errors.GROUP_IDS_BOTH_NULL.error()
    if group_id is not validation.ABSENT:
        return PERSON_GROUP, validation.text(group_id)
    return LARGE_PERSON_GROUP, validation.text(large_id)


def _max_candidates(value: Any) -> int:
    if value is validation.ABSENT:
        return DEFAULT_MAX_CANDIDATES
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.MAX_CANDIDATES_INVALID.error()
    if not 1 <= value <= MAX_CANDIDATES_LIMIT:
        raise errors.MAX_CANDIDATES_INVALID.error()
    return value


def _threshold(value: Any) -> float:
    if value is validation.ABSENT:
        return DEFAULT_CONFIDENCE_THRESHOLD
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.CONFIDENCE_THRESHOLD_INVALID.error()
    if not 0.0 <= float(value) <= 1.0:
        raise errors.CONFIDENCE_THRESHOLD_INVALID.error()
    return float(value)
