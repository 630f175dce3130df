"""Listing groups: sort order and start/top paging exactly as the service pages them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from .support import PERSON_GROUP, Api, Kind, api_for, create_group, expect_error, expect_json


def listed(api: Api, kind: Kind, **params: Any) -> list[dict]:
    return expect_json(api.get(f"/{kind.collection}", params=params))


def listed_ids(api: Api, kind: Kind, **params: Any) -> list[str]:
    return [g[kind.id_field] for g in listed(api, kind, **params)]


@pytest.fixture
def five_groups(api: Api, kind: Kind) -> tuple[str, list[str]]:
    """group1..group5 under a prefix that no other test uses."""
    prefix = create_group(api, kind)  # sorts just before prefix-group1
    ids = [create_group(api, kind, f"{prefix}-group{i}", name=f"G{i}") for i in range(1, 6)]
    return prefix, ids


def test_the_list_is_sorted_by_id_and_has_the_get_shape(
    api: Api, kind: Kind, five_groups: tuple[str, list[str]]
) -> None:
    prefix, ids = five_groups
    everything = listed(api, kind)
    all_ids = [g[kind.id_field] for g in everything]
    assert all_ids == sorted(all_ids)
    mine = [g for g in everything if g[kind.id_field] in ids]
    assert [(g[kind.id_field], g["name"]) for g in mine] == [
        (group_id, f"G{i}") for i, group_id in enumerate(ids, start=1)
    ]
    assert all(set(g) <= {kind.id_field, "name", "userData"} for g in mine)


def test_paging_follows_the_contract_example(
    api: Api, kind: Kind, five_groups: tuple[str, list[str]]
) -> None:
    prefix, ids = five_groups
    assert listed_ids(api, kind, start=prefix, top=2) == ids[:2]
    assert listed_ids(api, kind, start=ids[1], top=3) == ids[2:]


def test_start_is_exclusive_and_compared_as_a_string(
    api: Api, kind: Kind, five_groups: tuple[str, list[str]]
) -> None:
    prefix, ids = five_groups
    assert listed_ids(api, kind, start=ids[2], top=1) == [ids[3]]
    # "prefix-group2a" is not an id; everything strictly greater follows
    assert listed_ids(api, kind, start=ids[1] + "a", top=2) == ids[2:4]


def test_paging_with_the_last_id_visits_every_group_once(
    api: Api, kind: Kind, five_groups: tuple[str, list[str]]
) -> None:
    _, ids = five_groups
    seen: list[str] = []
    start = ""
    for _ in range(1000):
        page = listed_ids(api, kind, start=start, top=2)
        if not page:
            break
        seen += page
        start = page[-1]
    assert seen == listed_ids(api, kind)
    assert set(ids) <= set(seen)


def test_an_empty_start_lists_from_the_beginning(
    api: Api, kind: Kind, five_groups: tuple[str, list[str]]
) -> None:
    assert listed_ids(api, kind, start="", top=3) == listed_ids(api, kind)[:3]


def test_the_list_carries_the_recognition_model_only_when_asked(
    api: Api, kind: Kind, five_groups: tuple[str, list[str]]
) -> None:
    prefix, ids = five_groups
    asked = listed(api, kind, start=prefix, top=5, returnRecognitionModel="true")
    assert [g.get("recognitionModel") for g in asked] == ["recognition_01"] * 5
    assert all("recognitionModel" not in g for g in listed(api, kind, start=prefix, top=5))


@pytest.mark.parametrize("top", ["0", "-1", "1001", "abc", "1.5", str(10**30)])
def test_a_top_outside_1_to_1000_is_refused(api: Api, kind: Kind, top: str) -> None:
    resp = api.get(f"/{kind.collection}", params={"top": top})
    expect_error(resp, 400, "BadArgument", "'top' is invalid.")


def test_top_1000_and_a_64_char_start_are_accepted(api: Api, kind: Kind) -> None:
    assert isinstance(listed(api, kind, top=1000, start="z" * 64), list)


def test_a_start_longer_than_64_chars_is_refused(api: Api, kind: Kind) -> None:
    resp = api.get(f"/{kind.collection}", params={"start": "a" * 65})
    expect_error(resp, 400, "BadArgument", "'start' is too long.")


def test_the_list_returns_1000_groups_by_default(make_emulator: Any) -> None:
    emu = make_emulator()
    api = api_for(emu.url, emu.key)
    ids = [f"g{i:04d}" for i in range(1001)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda g: create_group(api, PERSON_GROUP, g), ids))
    assert listed_ids(api, PERSON_GROUP) == ids[:1000]
    assert listed_ids(api, PERSON_GROUP, start=ids[999]) == ids[1000:]
