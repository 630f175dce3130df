"""Fake vision for fast model tests: images are opaque bytes mapped to scenes."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from facesync.emulator import errors
from facesync.emulator.images import ImageRefused
from facesync.emulator.vision import Box


def unit_vector(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return vector / np.linalg.norm(vector)


def near(vector: np.ndarray, distance: float, seed: int = 99) -> np.ndarray:
    """A vector at exactly `distance` from `vector`."""
    step = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    step -= step.dot(vector) * vector  # orthogonal, so the distance is exact
    return (vector + step / np.linalg.norm(step) * distance).astype(np.float32)


@dataclass
class FakeScene:
    width: int
    height: int
    boxes: tuple[Box, ...]
    embeddings: list[np.ndarray]

    def embedding(self, index: int) -> np.ndarray:
        return self.embeddings[index]


@dataclass
class FakeVision:
    """analyse() for FaceService/Recognition: bytes made by image() map to a scene."""

    scenes: dict[bytes, FakeScene] = field(default_factory=dict)
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def image(
        self,
        *faces: tuple[tuple[int, int, int, int], np.ndarray],
        size: tuple[int, int] = (800, 600),
    ) -> bytes:
        with self.lock:
            data = f"fake image {len(self.scenes)}".encode().ljust(2048, b".")
            boxes = tuple(Box(rect, 2.0, ()) for rect, _ in faces)
            self.scenes[data] = FakeScene(*size, boxes, [vector for _, vector in faces])
        return data

    def face(self, seed: int) -> bytes:
        """An image with one face whose embedding is unit_vector(seed)."""
        return self.image(((100, 100, 200, 200), unit_vector(seed)))

    def analyse(self, data: bytes) -> FakeScene:
        with self.lock:
            self.calls += 1
            scene = self.scenes.get(data)
        if scene is None:
            raise ImageRefused(errors.IMAGE_UNSUPPORTED)
        return scene
