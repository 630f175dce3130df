"""`facesync init`: a folder of photos, one subfolder per person -> a commented,
valid manifest; refusals in one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from facesync.commands import init
from facesync.commands.init_text import display_name, person_keys, scalar
from facesync.commands.options import GlobalOptions
from facesync.errors import UsageError
from facesync.manifest.load import load_manifest
from facesync.manifest.model import DesiredGroup

from ..manifest.support import REPO, age

GROUP_PHOTOS = REPO / "manifests" / "faces" / "groups"


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _photo(small_faces: Path, person: str, dest: Path, index: int = 0) -> Path:
    """The `index`th small sample photo of `person` copied to `dest`."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sorted((small_faces / person).glob("*.jpg"))[index], dest)
    age(dest)
    return dest


def _people(root: Path, small_faces: Path) -> Path:
    """people/alice (two photos of one person) and people/bob (one of another)."""
    _photo(small_faces, "christina_koch", root / "people/alice/01.jpg")
    _photo(small_faces, "barack_obama", root / "people/bob/portrait.jpg")
    _photo(small_faces, "barack_obama", root / "people/bob/speech.jpg", index=1)
    return root / "people"


def _group(path: Path) -> DesiredGroup:
    [group] = load_manifest(path).groups
    return group


def test_init_writes_a_manifest_of_every_person_and_photo(
    cwd: Path, small_faces: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _people(cwd, small_faces)
    assert init.run(GlobalOptions(), folder=Path("people")) == 0
    group = _group(cwd / "facesync.yaml")
    assert (group.group_id, group.name, group.kind) == ("people", "People", "personGroup")
    assert [(p.key, p.name) for p in group.persons] == [("alice", "Alice"), ("bob", "Bob")]
    assert [sorted(f.path for f in p.faces) for p in group.persons] == [
        ["people/alice/01.jpg"], ["people/bob/portrait.jpg", "people/bob/speech.jpg"]]
    out = capsys.readouterr().out
    assert "Wrote facesync.yaml: group 'people' with 2 person(s) and 3 photo(s)" in out
    assert "facesync plan " in out and "facesync apply " in out


def test_the_manifest_explains_each_part_in_comments(cwd: Path, small_faces: Path) -> None:
    _people(cwd, small_faces)
    init.run(GlobalOptions(), folder=Path("people"))
    text = (cwd / "facesync.yaml").read_text(encoding="utf-8")
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    for part in ("personGroup", "largePersonGroup", "targetFace", "userData",
                 "facesync plan", "facesync apply", "A person: a key", "248"):
        assert part in comments, part
    assert yaml.safe_load(text)["groups"]["people"]["persons"]["bob"]["faces"] == [
        "people/bob/portrait.jpg", "people/bob/speech.jpg"]


def test_the_same_folders_give_the_same_bytes(tmp_path: Path, small_faces: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    written = []
    for name in ("one", "two"):
        root = tmp_path / name
        _people(root, small_faces)
        monkeypatch.chdir(root)
        init.run(GlobalOptions(), folder=Path("people"))
        written.append((root / "facesync.yaml").read_bytes())
    assert written[0] == written[1]


def test_an_existing_manifest_is_never_overwritten(cwd: Path, small_faces: Path) -> None:
    _people(cwd, small_faces)
    (cwd / "facesync.yaml").write_text("mine\n")
    with pytest.raises(UsageError, match="facesync.yaml already exists: facesync init never "
                                         "overwrites a manifest"):
        init.run(GlobalOptions(), folder=Path("people"))
    assert (cwd / "facesync.yaml").read_text() == "mine\n"


def test_a_dangling_symlink_in_the_manifests_place_counts_as_existing(
    cwd: Path, small_faces: Path
) -> None:
    _people(cwd, small_faces)
    (cwd / "facesync.yaml").symlink_to(cwd / "elsewhere.yaml")
    with pytest.raises(UsageError, match="already exists"):
        init.run(GlobalOptions(), folder=Path("people"))
    assert not (cwd / "elsewhere.yaml").exists()


@pytest.mark.parametrize("layout", ["empty", "photos only", "folders without photos"])
def test_a_folder_with_no_person_folder_of_photos_is_refused(
    cwd: Path, small_faces: Path, layout: str
) -> None:
    top = cwd / "photos"
    top.mkdir()
    if layout == "photos only":
        _photo(small_faces, "christina_koch", top / "koch.jpg")
    elif layout == "folders without photos":
        (top / "alice").mkdir()
        (top / "alice" / "notes.txt").write_text("no photo")
    with pytest.raises(UsageError) as caught:
        init.run(GlobalOptions(), folder=Path("photos"))
    assert caught.value.message.startswith("photos/ holds no person folder with photos: put "
                                           "each person's photos in a folder of their own")
    assert "\n" not in caught.value.message
    assert not (cwd / "facesync.yaml").exists()


def test_the_refusal_names_a_subfolder_that_holds_the_person_folders(
    cwd: Path, small_faces: Path
) -> None:
    _people(cwd, small_faces)
    with pytest.raises(UsageError, match="its folder people/ holds folders of photos: "
                                         "run facesync init people"):
        init.run(GlobalOptions(), folder=None)


def test_folder_defaults_to_the_manifests_folder(cwd: Path, small_faces: Path) -> None:
    _people(cwd, small_faces)
    manifest = cwd / "people" / "facesync.yaml"
    assert init.run(GlobalOptions(manifest=manifest), folder=None) == 0
    group = _group(manifest)
    assert [f.path for p in group.persons for f in p.faces][0] == "alice/01.jpg"


def test_photo_paths_are_relative_to_the_manifest(cwd: Path, small_faces: Path) -> None:
    _people(cwd / "gallery", small_faces)
    manifest = Path("gallery/team.yaml")
    assert init.run(GlobalOptions(manifest=manifest), folder=Path("gallery/people")) == 0
    assert "people/alice/01.jpg" in (cwd / manifest).read_text()
    assert _group(cwd / manifest).persons[0].faces[0].path == "people/alice/01.jpg"


def test_a_folder_outside_the_manifests_folder_is_refused(cwd: Path, small_faces: Path) -> None:
    _people(cwd, small_faces)
    (cwd / "sub").mkdir()
    with pytest.raises(UsageError, match="people is outside sub, the manifest's folder"):
        init.run(GlobalOptions(manifest=Path("sub/facesync.yaml")), folder=Path("people"))


def test_a_missing_folder_is_refused(cwd: Path) -> None:
    with pytest.raises(UsageError, match="nope does not exist: name the folder of photos"):
        init.run(GlobalOptions(), folder=Path("nope"))


def test_folder_names_become_valid_distinct_keys_and_readable_names(
    cwd: Path, small_faces: Path
) -> None:
    for folder, person in [("Jane Doe", "kamala_harris"), ("Jane_Doe", "michelle_obama"),
                           ("王伟", "mike_pence"), ("josé.garcía", "mark_kelly")]:
        _photo(small_faces, person, cwd / "people" / folder / "1.jpg")
    init.run(GlobalOptions(), folder=Path("people"))
    group = _group(cwd / "facesync.yaml")
    assert {(p.key, p.name) for p in group.persons} == {
        ("Jane_Doe", "Jane Doe"),  # a folder already named by a valid key keeps it
        ("Jane_Doe-2", "Jane Doe"),
        ("person", "王伟"),
        ("jose.garcia", "José García"),
    }


def test_file_names_yaml_or_globs_would_misread_are_written_so_they_read_back(
    cwd: Path, small_faces: Path
) -> None:
    names = ["photo [1].jpg", "a: b.jpg", "#1.jpg", "yes.jpg", "*.jpg", "ü.png"]
    for i, name in enumerate(names):
        _photo(small_faces, "barack_obama" if i < 4 else "joe_biden",
               cwd / "people" / "p" / name, index=i if i < 4 else i - 4)
    init.run(GlobalOptions(), folder=Path("people"))
    [person] = _group(cwd / "facesync.yaml").persons
    assert sorted(f.path for f in person.faces) == sorted(f"people/p/{n}" for n in names)


def test_a_photo_the_checks_refuse_is_left_in_as_a_comment_saying_why(
    cwd: Path, small_faces: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _people(cwd, small_faces)
    (cwd / "people/bob/empty.jpg").write_bytes(b"")
    shutil.copyfile(sorted(GROUP_PHOTOS.glob("*obama-biden*"))[0],
                    cwd / "people/bob/pair.jpg")
    assert init.run(GlobalOptions(), folder=Path("people")) == 0
    text = (cwd / "facesync.yaml").read_text()
    assert ("# - people/bob/empty.jpg  # left out: the file is empty (0 bytes): replace it "
            "with a JPEG, PNG, GIF or BMP photo") in text
    [pair] = [line for line in text.splitlines() if "pair.jpg" in line]
    assert pair.lstrip().startswith("# - people/bob/pair.jpg  # left out: 2 faces detected")
    assert "add targetFace" in pair
    bob = _group(cwd / "facesync.yaml").person("bob")
    assert bob is not None and len(bob.faces) == 2
    err = capsys.readouterr().err
    assert "warning: left out people/bob/empty.jpg: the file is empty" in err
    assert "warning: left out people/bob/pair.jpg: 2 faces detected" in err


def test_the_same_bytes_twice_under_one_person_are_written_once(
    cwd: Path, small_faces: Path
) -> None:
    _people(cwd, small_faces)
    shutil.copyfile(cwd / "people/bob/portrait.jpg", cwd / "people/bob/zz-copy.jpg")
    init.run(GlobalOptions(), folder=Path("people"))
    text = (cwd / "facesync.yaml").read_text()
    assert ("# - people/bob/zz-copy.jpg  # left out: 'people/bob/zz-copy.jpg' has the same "
            "bytes as 'people/bob/portrait.jpg'") in text
    bob = _group(cwd / "facesync.yaml").person("bob")
    assert bob is not None and len(bob.faces) == 2


def test_a_person_with_no_usable_photo_is_left_in_as_a_commented_block(
    cwd: Path, small_faces: Path
) -> None:
    _people(cwd, small_faces)
    (cwd / "people/carol").mkdir()
    (cwd / "people/carol/x.jpg").write_bytes(b"not a photo" * 200)
    init.run(GlobalOptions(), folder=Path("people"))
    text = (cwd / "facesync.yaml").read_text()
    assert "      # carol:  (left out: none of the photos can be used)" in text
    assert "      #     - people/carol/x.jpg  # the content is not a JPEG" in text
    assert [p.key for p in _group(cwd / "facesync.yaml").persons] == ["alice", "bob"]


def test_no_usable_photo_at_all_is_refused_with_the_first_reason(cwd: Path) -> None:
    (cwd / "people/carol").mkdir(parents=True)
    (cwd / "people/carol/x.jpg").write_bytes(b"")
    with pytest.raises(UsageError, match="no photo under people/ can be used: the file is empty"):
        init.run(GlobalOptions(), folder=Path("people"))
    assert not (cwd / "facesync.yaml").exists()


def test_photos_beyond_the_limit_per_person_are_left_out(
    cwd: Path, small_faces: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(init, "FACES_PER_PERSON_MAX", 2)
    _people(cwd, small_faces)
    _photo(small_faces, "barack_obama", cwd / "people/bob/zz.jpg", index=2)
    init.run(GlobalOptions(), folder=Path("people"))
    text = (cwd / "facesync.yaml").read_text()
    assert "# - people/bob/zz.jpg  # left out: a person holds at most" in text


def test_hidden_names_and_other_files_are_skipped_and_stray_photos_named(
    cwd: Path, small_faces: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _people(cwd, small_faces)
    _photo(small_faces, "joe_biden", cwd / "people/.git/x.jpg")
    _photo(small_faces, "joe_biden", cwd / "people/alice/.hidden.jpg")
    (cwd / "people/alice/notes.txt").write_text("hello")
    _photo(small_faces, "joe_biden", cwd / "people/stray.jpg")
    init.run(GlobalOptions(), folder=Path("people"))
    group = _group(cwd / "facesync.yaml")
    assert sorted(f.path for p in group.persons for f in p.faces) == [
        "people/alice/01.jpg", "people/bob/portrait.jpg", "people/bob/speech.jpg"]
    assert "warning: left out people/stray.jpg: a photo directly in people/ belongs to no " \
        "person" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("folder", "name"),
    [("christina_koch", "Christina Koch"), ("JaneDoe", "JaneDoe"), ("mary-ann.o", "Mary Ann O"),
     ("\x07bell", "Bell"), ("x" * 200, "X" + "x" * 127)],
)
def test_a_persons_name_comes_from_the_folders_name(folder: str, name: str) -> None:
    assert display_name(folder) == name


def test_keys_are_made_valid_and_distinct() -> None:
    assert person_keys(["a b", "a_b", "a b!", "ab"]) == {
        "a b": "a_b-2", "a_b": "a_b", "a b!": "a_b-3", "ab": "ab"}


@pytest.mark.parametrize("text", ["yes", "007", "null", "a: b", "x #y", " lead", "~", "-x",
                                  "José", "O'Brien", "1.5", "[x]"])
def test_a_scalar_reads_back_as_itself(text: str) -> None:
    assert yaml.safe_load(f"k: {scalar(text)}") == {"k": text}
