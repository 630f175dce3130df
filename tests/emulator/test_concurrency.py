"""Writes to one person are serialised; different persons run in parallel."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .support import (
    PERSON_GROUP,
    Api,
    Photos,
    add_face,
    create_group,
    create_person,
    expect_error,
    expect_json,
)

KIND = PERSON_GROUP


def faces_of(api: Api, group: str, person: str) -> list[str]:
    return expect_json(api.get(KIND.path(group, "persons", person)))["persistedFaceIds"]


def test_parallel_adds_to_one_person_all_land(api: Api, photos: Photos) -> None:
    group = create_group(api, KIND)
    person = create_person(api, KIND, group)
    with ThreadPoolExecutor(8) as pool:
        ids = list(
            pool.map(lambda _: add_face(api, KIND, group, person, photos.small_face), range(24))
        )
    assert len(set(ids)) == 24
    assert sorted(faces_of(api, group, person)) == sorted(ids)


def test_parallel_adds_to_different_persons_keep_every_count_right(
    api: Api, photos: Photos
) -> None:
    group = create_group(api, KIND)
    persons = [create_person(api, KIND, group, f"P{i}") for i in range(6)]
    jobs = [person for person in persons for _ in range(8)]
    with ThreadPoolExecutor(12) as pool:
        ids = list(pool.map(lambda p: (p, add_face(api, KIND, group, p, photos.small_face)), jobs))
    for person in persons:
        mine = sorted(face for owner, face in ids if owner == person)
        assert len(mine) == 8
        assert sorted(faces_of(api, group, person)) == mine


def test_parallel_person_creates_all_land(api: Api) -> None:
    group = create_group(api, KIND)
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: create_person(api, KIND, group, f"P{i}"), range(30)))
    listed = [p["personId"] for p in expect_json(api.get(KIND.path(group, "persons")))]
    assert sorted(ids) == listed


def test_parallel_adds_never_pass_the_248_face_limit(api: Api, photos: Photos) -> None:
    group = create_group(api, KIND)
    person = create_person(api, KIND, group)
    for _ in range(240):
        add_face(api, KIND, group, person, photos.small_face)
    path = KIND.path(group, "persons", person, "persistedfaces")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: api.post_image(path, photos.small_face), range(16)))
    assert sorted(r.status_code for r in answers) == [200] * 8 + [403] * 8
    for refused in (r for r in answers if r.status_code == 403):
        expect_error(refused, 403, "QuotaExceeded", "Persisted face number reached limit.")
    assert len(faces_of(api, group, person)) == 248


def test_parallel_deletes_and_adds_on_one_person_stay_consistent(api: Api, photos: Photos) -> None:
    group = create_group(api, KIND)
    person = create_person(api, KIND, group)
    doomed = [add_face(api, KIND, group, person, photos.small_face) for _ in range(10)]
    face_path = KIND.path(group, "persons", person, "persistedfaces")

    def work(i: int) -> str | None:
        if i < 10:
            assert api.delete(f"{face_path}/{doomed[i]}").status_code == 200
            return None
        return add_face(api, KIND, group, person, photos.small_face)

    with ThreadPoolExecutor(8) as pool:
        added = [face for face in pool.map(work, range(20)) if face]
    assert sorted(faces_of(api, group, person)) == sorted(added)
