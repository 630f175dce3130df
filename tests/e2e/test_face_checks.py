"""Faces the local detector can judge are judged before any server call: by
`validate` always, and by `plan` and `apply` (with the local extra), each
refusal one `file:line: path: message` line that names the boxes found."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from facesync.commands.face_checks import NOT_CHECKED

from .conftest import Project, people

FACES = Path(__file__).resolve().parents[2] / "manifests" / "faces"
PAIR = FACES / "groups" / "group_obama-biden_2010-05-10_composite.jpg"  # two faces
CUP = FACES / "no_face" / "coffee-cup.jpg"
PAIR_BOXES = "[788, 70, 172, 172], [240, 52, 171, 171]"
DIAGNOSTIC = re.compile(r"^facesync\.yaml:(\d+): groups\.[\w-]+\.persons\.(\w+)\.faces: (.+)$")


def _bad_gallery(project: Project, small_faces: Path, gid: str) -> None:
    """One good person, and three whose photos add-face would refuse."""
    good = project.add_photo("harris", people(small_faces, "kamala_harris")[0])
    cup = project.add_photo("cup", CUP)
    pair = project.add_photo("pair", PAIR)
    project.write_manifest({gid: {"name": "Team", "persons": {
        "harris": {"faces": [good]},
        "cup": {"faces": [cup]},
        "pair": {"faces": [pair]},
        "off": {"faces": [{"path": pair, "targetFace": [0, 400, 200, 200]}]},
    }}})


def _diagnostics(err: str) -> dict[str, tuple[int, str]]:
    """Person key -> (line, message) of each diagnostic line on stderr."""
    found = {}
    for line in err.rstrip("\n").removeprefix("Error: ").splitlines():
        match = DIAGNOSTIC.match(line)
        assert match, f"not a file:line: path: message diagnostic: {line!r}"
        found[match.group(2)] = (int(match.group(1)), match.group(3))
    return found


def _assert_the_three_refusals(err: str, project: Project) -> None:
    found = _diagnostics(err)
    assert set(found) == {"cup", "pair", "off"}, err
    lines = project.manifest.read_text().splitlines()
    folders = {"cup": "/cup/", "pair": "/pair/", "off": "/pair/"}
    for key, (line, _) in found.items():  # each line is the face entry's own
        assert folders[key] in lines[line - 1], (key, line, lines[line - 1])
    assert found["cup"][1].startswith("no face detected in faces/cup/coffee-cup.jpg")
    assert found["pair"][1].startswith("2 faces detected in faces/pair/")
    assert "add targetFace" in found["pair"][1] and PAIR_BOXES in found["pair"][1]
    assert "no face detected inside targetFace [0, 400, 200, 200]" in found["off"][1]
    assert PAIR_BOXES in found["off"][1]
    assert "Traceback" not in err and "HTTP" not in err


def test_validate_judges_faces_without_being_asked(
    project: Project, small_faces: Path, gid: str
) -> None:
    _bad_gallery(project, small_faces, gid)
    result = project.cli("validate")
    assert result.code == 1 and result.out == ""
    _assert_the_three_refusals(result.err, project)
    aliased = project.cli("validate", "--faces")  # the old flag: accepted, the same
    assert (aliased.code, aliased.err) == (1, result.err)


def test_plan_and_apply_refuse_bad_faces_before_any_call(
    project: Project, small_faces: Path, gid: str
) -> None:
    """Needs plan.py and apply.py to call check_faces after loading the manifest."""
    _bad_gallery(project, small_faces, gid)
    for command in (["plan"], ["apply", "--yes"]):
        result = project.cli(*command)
        assert result.code == 1, (command, result.out, result.err)
        _assert_the_three_refusals(result.err, project)
    assert project.server.group(gid).status_code == 404  # nothing was sent
    assert not project.lock.exists()


def _plan_with_import_times(project: Project) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "facesync", "plan"],
        cwd=project.root, env=project.env, capture_output=True, text=True, timeout=300,
    )


def _imported(stderr: str) -> set[str]:
    """The modules `-X importtime` lists (not those importlib.import_module loads
    itself: dlib shows as its extension module, _dlib_pybind11)."""
    return {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if "|" in line}


def _dlib_or_numpy(modules: set[str]) -> set[str]:
    return {m for m in modules if "dlib" in m or m.split(".")[0] == "numpy"}


def test_a_warm_plan_checks_faces_without_importing_dlib(
    project: Project, small_faces: Path, gid: str
) -> None:
    """Needs plan.py to call check_faces after loading the manifest."""
    photos = [project.add_photo("harris", p) for p in people(small_faces, "kamala_harris")]
    pair = project.add_photo("pair", PAIR)
    project.write_manifest({gid: {"name": "Team", "persons": {
        "harris": {"faces": photos},
        "pair": {"faces": [{"path": pair, "targetFace": [700, 0, 300, 300]}]},
    }}})
    cold = _plan_with_import_times(project)
    assert cold.returncode == 0, cold.stderr[-2000:]
    assert "_dlib_pybind11" in _imported(cold.stderr)  # the cold plan did look at the faces
    assert (project.root / ".facesync" / "faces.cache").is_file()

    warm = _plan_with_import_times(project)
    assert warm.returncode == 0, warm.stderr[-2000:]
    assert warm.stdout == cold.stdout
    modules = _imported(warm.stderr)
    assert _dlib_or_numpy(modules) == set()
    assert not any(m.startswith("facesync.emulator") for m in modules)


def _without_dlib(project: Project, tmp_path: Path) -> dict[str, str]:
    """The environment of a machine without the local extra: `import dlib` fails."""
    fake = tmp_path / "no-local-extra" / "dlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('dlib is not installed')\n")
    return {"PYTHONPATH": f"{fake.parent}:{project.env['PYTHONPATH']}"}


def test_without_the_local_extra_validate_says_once_that_faces_were_not_checked(
    project: Project, small_faces: Path, gid: str, tmp_path: Path
) -> None:
    _bad_gallery(project, small_faces, gid)
    result = project.cli("validate", env=_without_dlib(project, tmp_path))
    assert result.code == 0, result.err
    assert result.err.splitlines().count(NOT_CHECKED) == 1, result.err
    assert "is valid" in result.out


def test_without_the_local_extra_plan_says_once_that_faces_were_not_checked(
    project: Project, small_faces: Path, gid: str, tmp_path: Path
) -> None:
    """Needs plan.py to call check_faces after loading the manifest."""
    _bad_gallery(project, small_faces, gid)
    result = project.cli("plan", env=_without_dlib(project, tmp_path))
    assert result.code == 0, result.err
    assert result.err.splitlines().count(NOT_CHECKED) == 1, result.err
    assert f"+ {gid}/pair" in result.out


def test_a_fixed_manifest_passes_and_applies(
    project: Project, small_faces: Path, gid: str
) -> None:
    """The boxes a refusal lists are ready to copy as targetFace."""
    pair = project.add_photo("pair", PAIR)
    project.write_manifest({gid: {"name": "Team", "persons": {"p": {"faces": [pair]}}}})
    refused = project.cli("validate")
    assert refused.code == 1
    first_box = re.search(r"found faces at (\[[\d, ]+\])", refused.err)
    assert first_box, refused.err
    target = [int(n) for n in first_box.group(1).strip("[]").split(", ")]
    entry = {"path": pair, "targetFace": target}
    project.write_manifest({gid: {"name": "Team", "persons": {"p": {"faces": [entry]}}}})
    assert project.cli("validate").code == 0
    applied = project.cli("apply", "--yes")
    assert applied.code == 0, applied.err
    [person] = project.server.persons(gid)
    assert len(person["persistedFaceIds"]) == 1
    (project.root / ".facesync" / "faces.cache").unlink()  # cold again: still agrees
    assert project.cli("plan", "--detailed-exitcode").code == 0
