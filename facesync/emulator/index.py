"""A trained group's identification index and the distance -> confidence mapping.

The index is one float32 matrix (faces x 128) with the faces of each person in
consecutive rows, so Identify is a matrix product, a per-person minimum
(`np.minimum.reduceat`) and a partial sort: a few milliseconds for 10,000
persons. Persons without faces have no rows and are never candidates.

Confidence is a logistic curve of the Euclidean distance between embeddings,
centred on dlib's usual same-person cut-off of 0.6:

    confidence = 1 / (1 + exp((distance - 0.6) / 0.05))

distance 0.30 -> 0.998, 0.45 -> 0.953, 0.55 -> 0.731, 0.60 -> 0.5,
0.65 -> 0.269, 0.75 -> 0.047. Values are rounded to 5 decimals, and the
threshold is compared with the rounded value the client sees.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from facesync.emulator.rows import SnapshotRow

EMBEDDING_SIZE = 128
CONFIDENCE_CENTRE = 0.6
CONFIDENCE_SCALE = 0.05
CONFIDENCE_DECIMALS = 5
CHUNK_ROWS = 1024  # faces per stored chunk: 512 KB


def confidence(distance: Any) -> Any:
    """Map embedding distances (scalar or array) to confidences in 0..1."""
    return 1.0 / (1.0 + np.exp((np.asarray(distance, dtype=np.float64) - CONFIDENCE_CENTRE)
                               / CONFIDENCE_SCALE))  # fmt: skip


@dataclass(frozen=True)
class Index:
    training_id: str
    recognition_model: str
    person_ids: tuple[str, ...]  # sorted
    counts: Any  # int32 faces per person
    matrix: Any  # float32, faces x 128
    starts: Any = field(init=False, repr=False, compare=False)  # first row of each person
    norms: Any = field(init=False, repr=False, compare=False)  # squared row norms

    def __post_init__(self) -> None:
        starts = np.concatenate(([0], np.cumsum(self.counts)[:-1])).astype(np.intp)
        object.__setattr__(self, "starts", starts)
        object.__setattr__(self, "norms", np.einsum("ij,ij->i", self.matrix, self.matrix))

    @classmethod
    def gather(
        cls,
        recognition_model: str,
        counts: Sequence[tuple[str, int]],
        batches: Iterable[bytes],
    ) -> Index | None:
        """From (personId, faces) by person and the embeddings in that order as
        runs of float32 rows: what training reads, copied straight into one
        matrix without per-face Python work. None when there is no face."""
        faces = sum(count for _, count in counts)
        if faces == 0:
            return None
        matrix = np.empty((faces, EMBEDDING_SIZE), dtype=np.float32)
        filled = _fill(matrix, batches)
        if filled != faces:
            raise ValueError(f"the group changed while it was read ({filled} of {faces} faces)")
        return cls(
            str(uuid.uuid4()),
            recognition_model,
            tuple(person_id for person_id, _ in counts),
            np.fromiter((count for _, count in counts), dtype=np.int32, count=len(counts)),
            matrix,
        )

    @classmethod
    def from_matrix(cls, row: SnapshotRow, matrix: Any) -> Index:
        """A trained index from its snapshot row and its embeddings file."""
        return cls(
            row.training_id,
            row.recognition_model,
            tuple(row.person_ids.split("\n")),
            np.frombuffer(row.counts, dtype="<i4"),
            matrix,
        )

    def snapshot_row(self, kind: str, group_id: str) -> SnapshotRow:
        return SnapshotRow(
            kind,
            group_id,
            self.training_id,
            self.recognition_model,
            "\n".join(self.person_ids),
            self.counts.astype("<i4").tobytes(),
        )

    @classmethod
    def from_snapshot(cls, row: SnapshotRow, chunks: Iterable[bytes]) -> Index:
        counts = np.frombuffer(row.counts, dtype="<i4")
        matrix = np.empty((int(counts.sum()), EMBEDDING_SIZE), dtype=np.float32)
        filled = _fill(matrix, chunks)
        if filled != len(matrix):
            raise ValueError(f"snapshot {row.training_id} holds {filled} of {len(matrix)} faces")
        return cls(
            row.training_id,
            row.recognition_model,
            tuple(row.person_ids.split("\n")),
            counts,
            matrix,
        )

    def to_snapshot(self, kind: str, group_id: str) -> tuple[SnapshotRow, Iterator[Any]]:
        """The snapshot row and its embeddings as CHUNK_ROWS-row views (no copies)."""
        row = self.snapshot_row(kind, group_id)
        matrix = np.ascontiguousarray(self.matrix, dtype="<f4")
        chunks = (
            memoryview(matrix[start : start + CHUNK_ROWS]).cast("B")
            for start in range(0, len(matrix), CHUNK_ROWS)
        )
        return row, chunks

    def search(
        self, queries: Any, max_candidates: int, threshold: float
    ) -> list[list[tuple[str, float]]]:
        """For each query embedding, the best persons at or above the threshold."""
        queries = np.asarray(queries, dtype=np.float32).reshape(-1, EMBEDDING_SIZE)
        squared = (
            np.einsum("ij,ij->i", queries, queries)[:, None]
            + self.norms[None, :]
            - 2.0 * (queries @ self.matrix.T)
        )
        np.maximum(squared, 0.0, out=squared)
        nearest = np.sqrt(np.minimum.reduceat(squared, self.starts, axis=1))
        scores = np.round(confidence(nearest), CONFIDENCE_DECIMALS)
        return [self._best(row, max_candidates, threshold) for row in scores]

    def _best(self, scores: Any, max_candidates: int, threshold: float) -> list[tuple[str, float]]:
        chosen = np.flatnonzero(scores >= threshold)
        if len(chosen) > max_candidates:
            chosen = chosen[np.argpartition(-scores[chosen], max_candidates - 1)[:max_candidates]]
        ranked = sorted(
            ((self.person_ids[i], float(scores[i])) for i in chosen),
            key=lambda item: (-item[1], item[0]),
        )
        return ranked[:max_candidates]


def _fill(matrix: Any, runs: Iterable[bytes]) -> int:
    """Copy runs of float32 rows into `matrix` in order; the rows copied (at most
    len(matrix): a run past the end is a ValueError)."""
    filled = 0
    for run in runs:
        rows = np.frombuffer(run, dtype="<f4").reshape(-1, EMBEDDING_SIZE)
        if filled + len(rows) > len(matrix):
            raise ValueError(f"more faces than the {len(matrix)} expected")
        matrix[filled : filled + len(rows)] = rows
        filled += len(rows)
    return filled
