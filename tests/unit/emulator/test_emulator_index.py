from __future__ import annotations

import numpy as np
import pytest

from facesync.emulator.index import Index, confidence

from .fakes import near, unit_vector


def build(persons: dict[str, list[np.ndarray]]) -> Index:
    counts = [(person_id, len(persons[person_id])) for person_id in sorted(persons)]
    runs = [np.asarray(persons[p], dtype="<f4").tobytes() for p, _ in counts]
    index = Index.gather("recognition_04", counts, runs)
    assert index is not None
    return index


def test_dlibs_usual_cut_off_maps_to_one_half() -> None:
    assert confidence(0.6) == pytest.approx(0.5)


def test_confidence_falls_as_distance_grows_and_stays_in_0_1() -> None:
    distances = np.linspace(0.0, 2.0, 201)

    scores = confidence(distances)

    assert np.all(np.diff(scores) < 0)
    assert scores[0] <= 1.0 and scores[-1] >= 0.0


def test_same_person_distances_score_high_and_strangers_low() -> None:
    assert confidence(0.46) > 0.9  # the farthest same-person pair of the sample photos
    assert confidence(0.637) < 0.35  # the closest different-person pair


def test_a_person_scores_by_their_nearest_face() -> None:
    query = unit_vector(1)
    index = build({"a": [unit_vector(2), near(query, 0.3)], "b": [near(query, 0.5)]})

    found = index.search([query], max_candidates=2, threshold=0.0)[0]

    assert [person for person, _ in found] == ["a", "b"]
    assert found[0][1] == pytest.approx(round(float(confidence(0.3)), 5), abs=1e-4)


def test_search_keeps_the_best_candidates_above_the_threshold() -> None:
    query = unit_vector(1)
    index = build({f"p{d}": [near(query, d / 10)] for d in range(1, 10)})

    found = index.search([query], max_candidates=3, threshold=0.5)[0]

    assert [person for person, _ in found] == ["p1", "p2", "p3"]
    assert index.search([query], max_candidates=100, threshold=0.5)[0][-1][0] == "p6"


def test_an_index_round_trips_through_its_snapshot() -> None:
    index = build({"a": [unit_vector(1)], "b": [unit_vector(2), unit_vector(3)]})

    row, chunks = index.to_snapshot("personGroup", "staff")
    again = Index.from_snapshot(row, [bytes(chunk) for chunk in chunks])

    assert again.person_ids == ("a", "b") and list(again.counts) == [1, 2]
    assert np.array_equal(again.matrix, index.matrix)


def test_no_faces_build_no_index() -> None:
    assert Index.gather("recognition_01", [], []) is None
    assert Index.gather("recognition_01", [("a", 0)], []) is None


def test_rows_that_do_not_match_the_counts_build_no_index() -> None:
    with pytest.raises(ValueError):
        Index.gather("recognition_01", [("a", 2)], [unit_vector(1).astype("<f4").tobytes()])
    with pytest.raises(ValueError):
        Index.gather("recognition_01", [("a", 1)], [np.zeros((2, 128), "<f4").tobytes()])


def test_a_large_index_round_trips_through_the_store_in_chunks(store) -> None:
    vectors = np.random.default_rng(5).normal(size=(2500, 128)).astype("<f4")
    counts = [(f"{person:04d}", 5) for person in range(500)]
    runs = [vectors[:1000].tobytes(), vectors[1000:].tobytes()]
    index = Index.gather("recognition_04", counts, runs)
    assert index is not None

    with store.write() as tx:
        tx.save_snapshot(*index.to_snapshot("personGroup", "staff"))
    with store.read() as tx:
        row = tx.snapshot("personGroup", "staff")
        assert row is not None
        chunks = list(tx.snapshot_chunks("personGroup", "staff"))
        again = Index.from_snapshot(row, chunks)

    assert len(chunks) == 3
    assert np.array_equal(again.matrix, vectors)
    assert again.person_ids == index.person_ids
