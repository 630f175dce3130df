"""Real face detection and recognition on the CPU with dlib, in this process.

Detection: dlib's HOG frontal face detector on a copy scaled to a long side of
at most 1024 px, upsampled once so that faces of the service's 36 px minimum
are found in ordinary photos; weak detections (score < DETECTION_MIN_SCORE)
are dropped. Recognition: the 5-point shape predictor aligns a 150 px chip and
dlib's ResNet turns it into a 128-d embedding. `detect` and `embed` are the
whole of the work, so that a vision worker (workers.py) runs exactly them;
`analyse` is the in-process entry point, cached by the image's SHA-256.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import queue
import threading
from pathlib import Path
from typing import Any

from facesync.emulator import images
from facesync.emulator.scenes import (
    Box,
    Detection,
    FoundFace,
    Rectangle,
    Scene,
    SceneCache,
    scene_of,
)
from facesync.errors import FacesyncError
from facesync.face_rules import min_face_px
from facesync.limits import FACE_MAX_PX

__all__ = [
    "Box", "Detection", "FoundFace", "Rectangle", "Scene", "VisionUnavailableError", "analyse",
    "detect", "embed", "find_faces", "load_models", "min_face_px", "model_folder",
    "require_vision",
]  # fmt: skip

DETECTION_MIN_SCORE = 0.4  # real faces in the sample photos score 0.9-2.9, false ones < 0.15
DETECTION_UPSAMPLE = 1
MAX_FACES = 100
SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
RECOGNITION_MODEL = "dlib_face_recognition_resnet_model_v1.dat"

class VisionUnavailableError(FacesyncError):
    """The local extra (numpy, dlib, face models) is not installed."""

    def __init__(self, missing: str) -> None:
        super().__init__(
            f"The local Face API emulator needs {missing}: run pip install 'facesync[local]'."
        )


def model_folder() -> Path | None:
    """Where face_recognition_models keeps its files (found without importing it:
    its import pulls in pkg_resources)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def require_vision() -> None:
    """Raise VisionUnavailableError unless numpy, dlib and the face models are there."""
    for module in ("numpy", "dlib"):
        try:
            importlib.import_module(module)
        except (ImportError, OSError):  # missing, or a binary that does not load here
            raise VisionUnavailableError(module) from None
    folder = model_folder()
    if folder is None or not all((folder / name).is_file() for name in _model_files()):
        raise VisionUnavailableError("face-recognition-models")


def _model_files() -> tuple[str, str]:
    return (SHAPE_MODEL, RECOGNITION_MODEL)


class _Models:
    """dlib models, loaded once. Detectors come from a pool (one per concurrent
    detection; building one takes about a second, and the server starts a thread
    per request); the ResNet is shared behind a lock (its buffers are not
    thread-safe)."""

    def __init__(self) -> None:
        require_vision()
        import dlib

        folder = model_folder()
        assert folder is not None
        self._dlib = dlib
        self.shape = dlib.shape_predictor(str(folder / SHAPE_MODEL))
        self.net = dlib.face_recognition_model_v1(str(folder / RECOGNITION_MODEL))
        self._detectors: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._detectors.put(dlib.get_frontal_face_detector())
        self._net_mutex = threading.Lock()

    def detect(self, pixels: Any) -> tuple[Any, Any]:
        """dlib rectangles and scores, upsampled DETECTION_UPSAMPLE times."""
        try:
            detector = self._detectors.get_nowait()
        except queue.Empty:
            detector = self._dlib.get_frontal_face_detector()
        try:
            rects, scores, _ = detector.run(pixels, DETECTION_UPSAMPLE, 0.0)
        finally:
            self._detectors.put(detector)
        return rects, scores

    def embed(self, chip: Any) -> Any:
        import numpy as np

        with self._net_mutex:
            vector = self.net.compute_face_descriptor(chip, 1)
        return np.asarray(vector, dtype=np.float32)

    def chip(self, pixels: Any, shape: Any) -> Any:
        """The aligned 150 px chip the ResNet embeds."""
        return self._dlib.get_face_chip(pixels, shape, size=150, padding=0.25)


_models_mutex = threading.Lock()
_models_instance: _Models | None = None


def _models() -> _Models:
    global _models_instance
    with _models_mutex:
        if _models_instance is None:
            _models_instance = _Models()
        return _models_instance


_cache = SceneCache()
# Bounds memory when many large images arrive at once.
_decode_slots = threading.BoundedSemaphore(max(2, os.cpu_count() or 2))


def load_models() -> None:
    """Load the dlib models now (a worker at start, or the warm-up of `serve`)."""
    _models()


def analyse(image: bytes) -> Scene:
    """Detect the faces of an image (cached by SHA-256); raises images.ImageRefused."""
    return _cache.get_or_make(image, _analyse)


def find_faces(image: bytes) -> list[FoundFace]:
    """Every face the service would detect, largest first, with its embedding."""
    scene = analyse(image)
    return [scene.face(index) for index in range(len(scene.boxes))]


def embed(chip: Any) -> Any:
    """The 128-d embedding (float32) of an aligned face chip."""
    return _models().embed(chip)


def _analyse(image: bytes) -> Scene:
    with _decode_slots:
        found = detect(image)
    return scene_of(found, embed)


def detect(image: bytes) -> Detection:
    """The faces of an image, largest first, with their aligned chips (no embeddings)."""
    import numpy as np

    models = _models()
    picture = images.decode(image)
    pixels = np.asarray(picture.rgb, dtype=np.uint8)
    rects, scores = models.detect(pixels)
    smallest = min_face_px(picture.width, picture.height)
    found = []
    for rect, score in zip(rects, scores, strict=True):
        if score < DETECTION_MIN_SCORE:
            continue
        rectangle = _to_original(rect, picture)
        if not smallest <= rectangle[2] <= FACE_MAX_PX:
            continue
        found.append((rectangle, float(score), rect))
    found.sort(key=lambda item: (-item[0][2] * item[0][3], item[0][1], item[0][0]))
    boxes, chips = [], []
    for rectangle, score, rect in found[:MAX_FACES]:
        shape = models.shape(pixels, rect)
        points = tuple(
            (round(p.x / picture.scale, 1), round(p.y / picture.scale, 1)) for p in shape.parts()
        )
        boxes.append(Box(rectangle, score, points))
        chips.append(models.chip(pixels, shape))
    return Detection(picture.width, picture.height, tuple(boxes), tuple(chips))


def _to_original(rect: Any, picture: images.Picture) -> Rectangle:
    """A dlib rectangle on the scaled copy, in the original grid, clipped to the image."""
    left = max(0, round(rect.left() / picture.scale))
    top = max(0, round(rect.top() / picture.scale))
    right = min(picture.width, round((rect.right() + 1) / picture.scale))
    bottom = min(picture.height, round((rect.bottom() + 1) / picture.scale))
    return (left, top, max(0, right - left), max(0, bottom - top))
