"""What an analysed image is, apart from where it was analysed.

A Scene holds an image's size, its faces largest first and the aligned face
chips; each embedding is computed on demand by the `embed` function it was
given (dlib in this process, or a vision worker), so that Detect with
returnFaceId=false never pays for one. SceneCache keeps the most recent scenes
by the SHA-256 of the image, so a repeated image is never analysed again.
No dlib here: the worker pool and the in-process vision share these types.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

CACHE_ENTRIES = 128

Rectangle = tuple[int, int, int, int]  # left, top, width, height


@dataclass(frozen=True)
class FoundFace:
    rectangle: Rectangle
    embedding: Any  # numpy float32 array of 128 values, read-only
    score: float = 0.0
    landmarks: tuple[tuple[float, float], ...] = ()  # 5 points, original pixel grid


@dataclass(frozen=True)
class Box:
    """One detected face, before (or without) its embedding."""

    rectangle: Rectangle
    score: float
    landmarks: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Detection:
    """What detection finds in one image: picklable, so a worker can send it back."""

    width: int
    height: int
    boxes: tuple[Box, ...]
    chips: tuple[Any, ...]  # numpy uint8 150x150x3 aligned chips, one per box


class Scene:
    """One analysed image: its size, its faces largest first, embeddings on demand."""

    def __init__(
        self,
        width: int,
        height: int,
        boxes: tuple[Box, ...],
        chips: Sequence[Any],
        embed: Callable[[Any], Any],  # chip -> embedding, in this process or a worker
    ) -> None:
        self.width = width
        self.height = height
        self.boxes = boxes
        self._chips = chips
        self._embed = embed
        self._embeddings: dict[int, Any] = {}
        self._mutex = threading.Lock()

    def embedding(self, index: int) -> Any:
        with self._mutex:
            if index not in self._embeddings:
                vector = self._embed(self._chips[index])
                vector.setflags(write=False)
                self._embeddings[index] = vector
            return self._embeddings[index]

    def face(self, index: int) -> FoundFace:
        box = self.boxes[index]
        return FoundFace(box.rectangle, self.embedding(index), box.score, box.landmarks)


def scene_of(detection: Detection, embed: Callable[[Any], Any]) -> Scene:
    return Scene(detection.width, detection.height, detection.boxes, detection.chips, embed)


class SceneCache:
    """The CACHE_ENTRIES most recently used scenes, by the SHA-256 of the image."""

    def __init__(self, entries: int = CACHE_ENTRIES) -> None:
        self._scenes: OrderedDict[str, Scene] = OrderedDict()
        self._mutex = threading.Lock()
        self._entries = entries

    def get_or_make(self, image: bytes, make: Callable[[bytes], Scene]) -> Scene:
        """The cached scene of `image`, or `make(image)` (not under the lock:
        different images are analysed in parallel)."""
        key = hashlib.sha256(image).hexdigest()
        with self._mutex:
            if key in self._scenes:
                self._scenes.move_to_end(key)
                return self._scenes[key]
        scene = make(image)
        with self._mutex:
            self._scenes[key] = scene
            while len(self._scenes) > self._entries:
                self._scenes.popitem(last=False)
        return scene
