"""Packaging guards: every subpackage ships, and the layering holds."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_every_subpackage_is_listed_in_pyproject() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(REPO).parts)
        for p in (REPO / "facesync").rglob("__init__.py")
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_pure_layers_do_no_cli_or_network_imports() -> None:
    """manifest, plan.model and plan.diff stay free of I/O layers (STYLE.md)."""
    pure = [*(REPO / "facesync" / "manifest").glob("*.py"),
            REPO / "facesync" / "plan" / "model.py", REPO / "facesync" / "plan" / "diff.py"]
    forbidden = ("click", "requests", "facesync.cli", "facesync.commands", "facesync.backends",
                 "facesync.engine", "facesync.emulator")
    for path in pure:
        bad = {m for m in _imports(path) if m.startswith(forbidden)}
        assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}"


def test_only_the_cli_module_knows_click_among_the_core_layers() -> None:
    for folder in ("manifest", "state", "plan", "apply", "backends", "emulator"):
        for path in (REPO / "facesync" / folder).glob("*.py"):
            assert "click" not in _imports(path), f"{path.relative_to(REPO)} imports click"
