"""Face analysis in vision worker processes, behind the same calls as in-process vision.

`analyse` and `landmarks` stand in for vision.analyse and landmarks.landmarks_27
in FaceService and Recognition. The scene cache stays in the server, so a
repeated image never reaches a worker; a new image is detected in one worker
task and each embedding it needs is one more (Detect with returnFaceId=false
still never pays for one). A worker that fails turns into the service's 500
for that call only: the next call gets a fresh worker.
"""

from __future__ import annotations

import logging
from typing import Any

from facesync.emulator import errors
from facesync.emulator.scenes import Rectangle, Scene, SceneCache, scene_of
from facesync.emulator.workers import WorkerFailed, WorkerPool

log = logging.getLogger(__name__)


class PooledVision:
    def __init__(self, workers: int) -> None:
        self.pool = WorkerPool(workers)
        self._cache = SceneCache()

    def analyse(self, image: bytes) -> Scene:
        """The faces of an image (cached by SHA-256); raises images.ImageRefused."""
        return self._cache.get_or_make(image, self._detect)

    def landmarks(self, image: bytes, rectangle: Rectangle) -> dict[str, dict[str, float]]:
        """Detect's 27 named landmarks of the face at `rectangle`."""
        found: dict[str, dict[str, float]] = self._run("landmarks", image, rectangle)
        return found

    def close(self) -> None:
        self.pool.close()

    def _detect(self, image: bytes) -> Scene:
        return scene_of(self._run("detect", image), self._embed)

    def _embed(self, chip: Any) -> Any:
        return self._run("embed", chip)

    def _run(self, task: str, *args: Any) -> Any:
        try:
            return self.pool.run(task, *args)
        except WorkerFailed as failure:
            log.warning("face analysis failed: %s", failure)
            raise errors.INTERNAL.error() from None
