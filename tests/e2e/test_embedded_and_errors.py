"""The embedded default, and bad inputs that must fail cleanly: exit 1, one
sentence on stderr, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path

from .conftest import Project, people


def test_with_no_endpoint_facesync_runs_the_embedded_emulator_and_says_so(
    embedded_project: Project, small_faces: Path
) -> None:
    project = embedded_project
    photo = project.add_photo("harris", people(small_faces, "kamala_harris")[0])
    project.write_manifest({"team": {"name": "Team", "persons": {"harris": {"faces": [photo]}}}})
    result = project.cli("apply", "--yes")
    assert result.code == 0, result.err
    assert "embedded Face API emulator" in result.err
    assert project.lock_json()["endpoint"] == "embedded"
    assert (project.root / ".facesync" / "emulator").is_dir()
    assert (project.root / ".facesync" / ".gitignore").read_text().strip().endswith("*")
    again = project.cli("plan", "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
    named = project.cli("identify", str(people(small_faces, "kamala_harris")[1]))
    assert named.code == 0, named.err
    assert "harris" in named.out.split()


def test_a_corrupt_lock_is_refused_and_left_untouched(project: Project, small_faces: Path) -> None:
    photo = project.add_photo("harris", people(small_faces, "kamala_harris")[0])
    project.write_manifest({"team": {"name": "Team", "persons": {"harris": {"faces": [photo]}}}})
    project.lock.write_text('{"version": 1, "serial": ')
    before = project.lock.read_bytes()
    for command in (["plan"], ["apply", "--yes"]):
        result = project.cli(*command)
        assert result.code == 1
        assert "Traceback" not in result.err
        assert str(project.lock.name) in result.err
        assert len(result.err.strip().splitlines()) == 1
    assert project.lock.read_bytes() == before


def test_a_lock_for_another_endpoint_is_refused(project: Project, small_faces: Path) -> None:
    photo = project.add_photo("harris", people(small_faces, "kamala_harris")[0])
    project.write_manifest({"team-x": {"name": "Team", "persons": {"h": {"faces": [photo]}}}})
    project.lock.write_text(
        '{\n  "endpoint": "https://other.example:443",\n  "groups": {},\n'
        '  "serial": 1,\n  "version": 1\n}\n'
    )
    before = project.lock.read_bytes()
    result = project.cli("plan")
    assert result.code == 1
    assert "--rebind" in result.err
    assert project.lock.read_bytes() == before


def test_a_wrong_key_is_one_clear_error_that_never_shows_the_key(
    project: Project, small_faces: Path
) -> None:
    photo = project.add_photo("harris", people(small_faces, "kamala_harris")[0])
    project.write_manifest({"team": {"name": "Team", "persons": {"harris": {"faces": [photo]}}}})
    wrong = "f00d" * 8
    result = project.cli("plan", "--debug", env={"FACESYNC_KEY": wrong})
    assert result.code == 1
    assert "401" in result.err
    assert wrong not in result.out + result.err


def test_an_unreachable_endpoint_is_one_clear_error(project: Project, small_faces: Path) -> None:
    photo = project.add_photo("harris", people(small_faces, "kamala_harris")[0])
    project.write_manifest({"team": {"name": "Team", "persons": {"harris": {"faces": [photo]}}}})
    result = project.cli("plan", env={"FACESYNC_ENDPOINT": "http://127.0.0.1:9"})
    assert result.code == 1
    assert "Traceback" not in result.err
    assert "127.0.0.1:9" in result.err
    assert not project.lock.exists()


def test_a_manifest_with_errors_reports_them_all_and_calls_nothing(project: Project) -> None:
    project.manifest.write_text(
        "version: 1\ngroups:\n  Bad!:\n    name: x\n    persons: {}\n"
        "  good:\n    nmae: typo\n    persons: {}\n"
    )
    result = project.cli("plan")
    assert result.code == 1
    assert "Traceback" not in result.err
    lines = [line for line in result.err.splitlines() if "facesync.yaml:" in line]
    assert len(lines) >= 2
    assert not project.lock.exists()


def test_global_options_work_after_the_command(project: Project, small_faces: Path) -> None:
    photo = project.add_photo("harris", people(small_faces, "kamala_harris")[0])
    (project.root / "other.yaml").write_text(
        "version: 1\ngroups:\n  t:\n    name: T\n    persons:\n"
        f"      h:\n        faces: [{photo}]\n"
    )
    result = project.cli("validate", "-m", "other.yaml")
    assert result.code == 0, result.err
    assert "other.yaml is valid" in result.out


def test_a_missing_manifest_is_one_clear_error(project: Project) -> None:
    result = project.cli("plan")
    assert result.code == 1
    assert "facesync.yaml does not exist" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_an_unknown_flag_is_a_usage_error_with_exit_1(project: Project) -> None:
    result = project.cli("plan", "--no-such-flag")
    assert result.code == 1
    assert "no-such-flag" in result.err
