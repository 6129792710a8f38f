"""Layers only import downward, and no two modules import each other (directly or around a loop).

Every module under ``simlab/`` is parsed with `ast`; every import counts: at
module level, inside functions, under ``if TYPE_CHECKING:``. A module's layer is
its first path component under ``simlab/`` (``simlab/engine/protocols/base.py``
is in ``engine``); the top-level modules ``errors``, ``types`` and ``registry``
are the bottom layer and any other top-level module (``cli``, ``__init__``, an
``api`` module) is the top. A package missing from `LAYERS` fails the test, so
a new subpackage gets its place in the table (and in docs/architecture.md) the
day it is added. Lazy ``"module:Class"`` strings in registries are not imports:
they are how a low layer names a class of a higher one without importing it.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "simlab"

# Lowest first. Names on one row share a level and may import each other (never in a cycle).
LAYERS: list[tuple[str, ...]] = [
    ("errors", "types", "registry"),
    ("config",),
    ("stats", "store", "interop"),
    ("llm", "emotion"),
    ("strategies",),
    ("decision",),
    ("engine",),
    ("learn",),
    ("sweep",),
    ("report", "dashboard"),
    ("cli",),
]
LEVEL = {name: i for i, row in enumerate(LAYERS) for name in row}
TOP = LEVEL["cli"]


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str, root: Path = ROOT) -> str:
    """The layer name of a module ``simlab.<first>...`` (top-level modules other than the bottom row: cli)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "cli"  # simlab/__init__.py
    first = parts[1]
    if (root / first).is_dir():
        return first
    return first if first in LAYERS[0] else "cli"


def _is_module(name: str, root: Path) -> bool:
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    return (root / rel).with_suffix(".py").is_file() or (root / rel / "__init__.py").is_file()


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, imported simlab module) for every import in the file, wherever it appears."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "simlab"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "simlab":
                continue
            for alias in node.names:  # ``from simlab.engine import prompts`` imports the submodule
                sub = f"{target}.{alias.name}"
                out.append((node.lineno, sub if _is_module(sub, root) else target))
    return out


FILES = sorted(ROOT.rglob("*.py"))


def _graph() -> dict[str, dict[str, int]]:
    graph: dict[str, dict[str, int]] = {}
    for path in FILES:
        edges = graph.setdefault(module_name(path), {})
        for line, target in imports_of(path):
            if target != module_name(path):
                edges.setdefault(target, line)
    return graph


def test_every_package_has_a_layer():
    unknown = sorted({p.relative_to(ROOT).parts[0] for p in FILES if len(p.relative_to(ROOT).parts) > 1} - set(LEVEL))
    assert not unknown, (
        f"simlab/{unknown[0]}/ has no layer: add it to LAYERS in tests/test_layers.py and to docs/architecture.md"
    )


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_only_point_down(path):
    here = module_name(path)
    mine = LEVEL.get(layer_of(here), TOP)
    bad = []
    for line, target in imports_of(path):
        theirs = LEVEL.get(layer_of(target), TOP)
        if theirs > mine:
            bad.append(f"simlab/{path.relative_to(ROOT)}:{line} imports {target} ({layer_of(target)} is above {layer_of(here)})")
    assert not bad, "\n".join(bad)


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, {}))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(graph.get(child, {})))))
                    break
                if child in on:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        m = stack.pop()
                        on.discard(m)
                        comp.append(m)
                        if m == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_cycles():
    graph = _graph()
    lines = []
    for comp in _cycles(graph):
        members = set(comp)
        edges = [f"{a} -> {b} (line {graph[a][b]})" for a in comp for b in sorted(graph.get(a, {})) if b in members]
        lines.append("cycle: " + "; ".join(edges))
    assert not lines, "\n".join(lines)


def test_the_checker_sees_function_level_and_type_checking_imports(tmp_path):
    """A planted upward import under TYPE_CHECKING and one inside a function are both found; a loop is a cycle."""
    pkg = tmp_path / "simlab"
    (pkg / "config").mkdir(parents=True)
    (pkg / "engine").mkdir()
    for p in (pkg / "__init__.py", pkg / "config" / "__init__.py", pkg / "engine" / "__init__.py", pkg / "engine" / "model.py"):
        p.write_text("")
    planted = pkg / "config" / "models.py"
    planted.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from simlab.engine.model import M\n"
        "def f():\n    from simlab.engine import model\n    from . import loader\n    return model\n"
    )
    found = sorted(imports_of(planted, pkg))
    assert found == [(3, "simlab.engine.model"), (5, "simlab.engine.model"), (6, "simlab.config")]
    assert [layer_of(t, pkg) for _, t in found] == ["engine", "engine", "config"]
    assert _cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]
