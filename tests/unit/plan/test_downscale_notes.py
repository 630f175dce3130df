"""The plan names the photos it sends as a downscaled copy, and only those it sends."""

from __future__ import annotations

from dataclasses import replace

from facesync.limits import IMAGE_MAX_BYTES
from facesync.manifest.model import DesiredFace
from facesync.plan.downscale import NAMED_MAX
from facesync.plan.render import render_human

from .builders import applied, empty_world, face, group, manifest, person

BIG = int(9.8 * 2**20)


def _big(path: str, *, image: str | None = None, dims: tuple[int, int] | None = (4032, 3024),
         size: int = BIG) -> DesiredFace:
    return replace(face(path, image=image), size=size, downscaled_from=dims)


def test_a_new_oversized_photo_gets_a_note_with_its_size_and_dimensions() -> None:
    m = manifest(group("staff", person("alice", _big("photos/x.jpg"), face("photos/y.jpg"))))
    plan = empty_world().plan(m)
    assert plan.notes == (
        "photos/x.jpg (9.8 MB, 4032x3024) is sent downscaled to fit the service's limits",
    )
    assert "Note: photos/x.jpg (9.8 MB, 4032x3024) is sent downscaled" in render_human(plan)


def test_a_photo_too_wide_but_small_in_bytes_is_noted_too() -> None:
    m = manifest(group("staff", person("alice", _big("wide.png", size=800_000, dims=(6000, 900)))))
    assert empty_world().plan(m).notes == (
        "wide.png (0.8 MB, 6000x900) is sent downscaled to fit the service's limits",
    )


def test_an_oversized_file_is_noted_by_its_size_when_its_dimensions_are_unknown() -> None:
    m = manifest(group("staff", person("alice", _big("x.jpg", size=IMAGE_MAX_BYTES + 1,
                                                      dims=None))))
    assert empty_world().plan(m).notes == (
        "x.jpg (6.0 MB) is sent downscaled to fit the service's limits",
    )


def test_an_enrolled_oversized_photo_sends_nothing_and_gets_no_note() -> None:
    m = manifest(group("staff", person("alice", _big("photos/x.jpg"))))
    world = applied(m)
    plan = world.plan(m)
    assert not plan.has_changes and plan.notes == ()


def test_new_bytes_of_an_oversized_photo_are_noted_on_the_replacement() -> None:
    world = applied(manifest(group("staff", person("alice", face("photos/x.jpg")))))
    plan = world.plan(manifest(group("staff", person("alice", _big("photos/x.jpg", image="v2")))))
    assert [c.action.symbol for c in plan.changes if c.address.face] == ["-/+"]
    assert plan.notes == (
        "photos/x.jpg (9.8 MB, 4032x3024) is sent downscaled to fit the service's limits",
    )


def test_many_oversized_photos_are_named_up_to_a_few_then_counted() -> None:
    faces = [_big(f"photos/{n:02}.jpg") for n in range(NAMED_MAX + 3)]
    plan = empty_world().plan(manifest(group("staff", person("alice", *faces))))
    assert len(plan.notes) == NAMED_MAX + 1
    assert plan.notes[-1] == "3 more photos above the service's limits are sent downscaled"
