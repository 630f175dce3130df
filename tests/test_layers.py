"""The package map of docs/architecture.md holds: imports point one way.

Two checks: the import-linter contracts in pyproject.toml (layers, commands
that reach the server only through the engine, an emulator that knows no
client code), and no import cycle between the sibling packages of any
package in facesync/, whatever the contracts say.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def package_cycles(graph: grimp.ImportGraph, root: str) -> list[list[str]]:
    """Cycles among the direct children of every package under `root`, each as
    the list of child names it passes through."""
    cycles = []
    packages = [m for m in graph.modules if m == root or m.startswith(root + ".")]
    for package in sorted(packages):
        children = graph.find_children(package)
        if len(children) < 2:
            continue
        edges: dict[str, set[str]] = defaultdict(set)
        for child in children:
            for other in children - {child}:
                if graph.direct_import_exists(
                    importer=child, imported=other, as_packages=True
                ):
                    edges[child].add(other)
        cycle = _a_cycle(edges)
        if cycle:
            cycles.append(cycle)
    return cycles


def _a_cycle(edges: dict[str, set[str]]) -> list[str]:
    """One cycle of a directed graph (depth-first search), or [] if it has none."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for start in sorted(edges):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return []


def test_the_import_contracts_of_pyproject_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename="pyproject.toml", no_cache=True, no_logo=True) == 0


def test_no_package_of_facesync_imports_its_siblings_in_a_circle() -> None:
    assert package_cycles(grimp.build_graph("facesync", cache_dir=None), "facesync") == []


def test_the_cycle_check_finds_a_cycle_between_two_subpackages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: a package whose `a` and `b` import each other."""
    pkg = tmp_path / "circular_demo"
    for sub in ("a", "b", "c"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "x.py").write_text("from circular_demo.b import y\n")
    (pkg / "b" / "y.py").write_text("import circular_demo.a.x\n")
    (pkg / "c" / "z.py").write_text("from circular_demo.a import x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    cycles = package_cycles(grimp.build_graph("circular_demo", cache_dir=None), "circular_demo")
    assert cycles == [["circular_demo.a", "circular_demo.b", "circular_demo.a"]]
