"""The layer rules of ARCHITECTURE.md, checked on the code's own imports (read with ast, nothing run).

Each package imports only the packages below it, no module imports a private name from another
module, no import cycle exists between modules, and no facefarm import hides inside a function
unless it is a deliberate lazy import listed here (heavy optional back-ends, start-up speed of
the command line).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "facefarm"

#: package -> the facefarm packages it may import (besides itself). ``facefarm`` is the top
#: module (``__version__``), ``paths`` where assets and the cache live.
ALLOWED = {
    "catalog": {"paths"},
    "geometry": {"catalog"},
    "scene": {"geometry", "catalog", "paths"},
    "head": {"scene", "geometry", "catalog", "paths"},
    "compose": {"head", "scene", "geometry", "catalog", "paths"},
    "render": {"scene", "geometry", "catalog", "paths"},
    "sample": {"compose", "render", "head", "scene", "geometry", "catalog", "paths", "facefarm"},
    "dataset": {"sample", "scene", "geometry", "catalog", "paths", "facefarm"},
    "farm": {"dataset", "sample", "render", "compose", "head", "scene", "geometry", "catalog", "paths", "facefarm"},
    "cli": {
        "farm",
        "dataset",
        "sample",
        "render",
        "compose",
        "head",
        "scene",
        "geometry",
        "catalog",
        "paths",
        "facefarm",
    },
}
#: Imports inside functions that are allowed: (importing package, imported module prefix).
LAZY = {
    ("render", "facefarm.render.pyrender"),  # the registry starts a back-end only when asked for
    ("render", "facefarm.render.cycles"),  # importing bpy costs seconds and ~300 MB
    ("cli", "facefarm."),  # each verb imports what it runs, so `facefarm --help` starts fast
    ("farm", "facefarm."),  # Ray workers import the renderer in the worker process, not the driver
}


def _modules() -> dict[str, ast.Module]:
    out = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        rel = f.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        out[name] = ast.parse(f.read_text(encoding="utf-8"), filename=str(f))
    return out


def _imports(tree: ast.Module):
    """(imported module, names, at top level?) for every ``facefarm`` import in ``tree``."""
    top = set(map(id, tree.body))
    type_only = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only |= {id(n) for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("facefarm"):
            names = [a.name for a in node.names]
            submodules = [n for n in names if f"{node.module}.{n}" in _MODULE_NAMES]
            for n in submodules:  # "from facefarm.x import y" where y is a module
                yield f"{node.module}.{n}", [], id(node) in top
            if len(submodules) < len(names):
                yield node.module, [n for n in names if n not in submodules], id(node) in top
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("facefarm"):
                    yield a.name, [], id(node) in top


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "facefarm"


_MODULE_NAMES: set[str] = set()
MODULES = _modules()
_MODULE_NAMES |= set(MODULES)


def test_every_package_imports_only_the_layers_below_it():
    wrong = []
    for mod, tree in MODULES.items():
        pkg = _package(mod)
        if pkg not in ALLOWED:
            continue
        for target, _names, _top in _imports(tree):
            tpkg = _package(target)
            if tpkg != pkg and tpkg not in ALLOWED[pkg]:
                wrong.append(f"{mod} imports {target}")
    assert not wrong, "imports against the layers (ARCHITECTURE.md):\n" + "\n".join(wrong)


def test_no_private_name_is_imported_across_modules():
    wrong = [
        f"{mod}: from {target} import {n}"
        for mod, tree in MODULES.items()
        for target, names, _ in _imports(tree)
        for n in names
        if n.startswith("_") and not n.startswith("__") and target != mod
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_hides_in_a_function_except_deliberate_lazy_ones():
    wrong = [
        f"{mod} imports {target} inside a function"
        for mod, tree in MODULES.items()
        for target, _names, top in _imports(tree)
        if not top and not any(_package(mod) == p and target.startswith(pre) for p, pre in LAZY)
    ]
    assert not wrong, "\n".join(wrong)


def test_modules_import_no_cycle():
    graph: dict[str, set[str]] = {}
    for mod, tree in MODULES.items():
        deps = set()
        for target, names, top in _imports(tree):
            if not top:
                continue
            deps.add(target)
        graph[mod] = {d for d in deps if d in MODULES and d != mod and not mod.startswith(d + ".")}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                pytest.fail(
                    "import cycle: " + " -> ".join(path[path.index(d) :] + [d])
                    if d in path
                    else f"import cycle through {m} -> {d}"
                )
            if d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_every_backend_the_catalog_names_is_registered():
    from facefarm.catalog.vocabulary import BACKEND_NAMES
    from facefarm.render.backends import BACKENDS

    assert set(BACKENDS) == set(BACKEND_NAMES)
