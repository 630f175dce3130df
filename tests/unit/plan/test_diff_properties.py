"""Properties: whatever the manifests and the drift, one apply converges.

Applying a plan (recording each result with `record`, then `finish`) leaves
nothing to do: the next plan is empty, with or without a refresh, and the
server holds exactly what the manifest says.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from facesync.manifest.model import DesiredFace, DesiredPerson, Manifest
from facesync.markers import face_user_data, person_user_data

from .builders import World, applied, face, group, lines, manifest, person
from .fake_server import FakePerson

IMAGES = ["img-a", "img-b", "img-c", "img-d"]
PATHS = ["1.jpg", "2.jpg", "3.jpg", "4.jpg"]


@st.composite
def faces(draw: st.DrawFn) -> tuple[DesiredFace, ...]:
    images = draw(st.lists(st.sampled_from(IMAGES), unique=True, max_size=3))
    paths = draw(st.permutations(PATHS))
    return tuple(
        face(
            path,
            image=image,
            target_face=draw(st.sampled_from([None, (0, 0, 50, 50)])),
            user_data=draw(st.sampled_from([None, "u"])),
            detection_model=draw(st.sampled_from(["detection_01", "detection_03"])),
        )
        for image, path in zip(images, paths[: len(images)], strict=True)
    )


@st.composite
def persons(draw: st.DrawFn) -> tuple[DesiredPerson, ...]:
    keys = draw(st.lists(st.sampled_from(["p1", "p2", "p3"]), unique=True, max_size=3))
    return tuple(
        person(key, *draw(faces()), name=draw(st.sampled_from([None, "N"])),
               user_data=draw(st.sampled_from([None, "", "u"])))
        for key in keys
    )


@st.composite
def manifests(draw: st.DrawFn) -> Manifest:
    ids = draw(st.lists(st.sampled_from(["g1", "g2"]), unique=True, max_size=2))
    return manifest(*(
        group(
            gid,
            *draw(persons()),
            name=draw(st.sampled_from(["A", "B"])),
            kind=draw(st.sampled_from(["personGroup", "largePersonGroup"])),
            recognition_model=draw(st.sampled_from(["recognition_03", "recognition_04"])),
            user_data=draw(st.sampled_from([None, "u"])),
        )
        for gid in ids
    ))


DRIFTS = ["none", "drop group", "drop person", "drop face", "rename person", "untrain",
          "add unmanaged person", "add unmanaged face"]


def _drift(world: World, how: str, pick: int) -> None:
    """Change the server behind facesync's back."""
    groups = sorted(world.server.groups)
    if not groups or how == "none":
        return
    key = groups[pick % len(groups)]
    g = world.server.groups[key]
    persons = sorted(g.persons)
    if how == "drop group":
        del world.server.groups[key]
    elif how == "untrain":
        g.training = None
    elif how == "add unmanaged person":
        g.persons["zz-unmanaged"] = FakePerson("stranger", None)
    elif persons:
        p = g.persons[persons[pick % len(persons)]]
        faces_ = sorted(p.faces)
        if how == "drop person":
            del g.persons[persons[pick % len(persons)]]
        elif how == "rename person":
            p.name = "renamed by hand"
        elif how == "add unmanaged face":
            p.faces["zz-unmanaged-face"] = None
        elif faces_:
            del p.faces[faces_[pick % len(faces_)]]


def _server_matches(world: World, m: Manifest) -> None:
    """The managed part of the server is exactly the manifest."""
    for want in m.groups:
        g = world.server.groups[(want.kind, want.group_id)]
        assert (g.name, g.user_data or "", g.recognition_model) == (
            want.name, want.user_data or "", want.recognition_model)
        if want.persons:  # a group without persons is never trained (the service fails it)
            assert g.training == "succeeded"
        locked = world.lock.group(want.group_id)
        assert locked is not None
        for p in want.persons:
            lp = locked.person(p.key)
            assert lp is not None
            server_person = g.persons[lp.person_id]
            assert server_person.name == p.name
            assert server_person.user_data == person_user_data(p.key, p.user_data)
            expected = [face_user_data(f.sha256, f.user_data) for f in p.faces]
            managed = {fid: ud for fid, ud in server_person.faces.items()
                       if fid != "zz-unmanaged-face"}
            assert sorted(managed.values()) == sorted(expected)
            assert sorted(f.path for f in lp.faces) == sorted(f.path for f in p.faces)


@settings(max_examples=100, deadline=None)
@given(manifests(), manifests(), st.sampled_from(DRIFTS), st.integers(0, 7))
def test_one_apply_converges_whatever_the_change_and_the_drift(
    first: Manifest, second: Manifest, drift: str, pick: int
) -> None:
    world = applied(first)
    _drift(world, drift, pick)
    unmanaged_groups = set(world.server.groups) - {(g.kind, g.group_id) for g in world.lock.groups}
    world.apply(second)
    assert lines(world.plan(second)) == []
    assert world.plan(second).lock_updates == ()
    assert lines(world.plan(second, refresh=False)) == []
    _server_matches(world, second)
    assert unmanaged_groups <= set(world.server.groups)


@settings(max_examples=100, deadline=None)
@given(manifests())
def test_the_lock_after_an_apply_is_the_same_however_it_is_reached(m: Manifest) -> None:
    """Applying twice changes nothing the second time: same lock, no server call."""
    world = applied(m)
    lock, calls = world.lock, len(world.server.calls)
    world.apply(m)
    assert world.lock == lock
    assert len(world.server.calls) == calls
