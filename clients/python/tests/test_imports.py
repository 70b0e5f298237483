"""The package's modules import one another without a cycle — counting the
imports under ``if TYPE_CHECKING:`` and those inside functions — and each
imports on its own, without the package's ``__init__`` having imported the
others first. Modules that import each other end up reaching into each
other's private fields; an acyclic graph keeps each module to the ones
below it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from typing import Dict, List, Optional, Set

import pytest
import runlog

PACKAGE = "runlog"
FOLDER = os.path.dirname(os.path.abspath(runlog.__file__))


def modules() -> Dict[str, str]:
    """Module name -> source file, for every module of the package."""
    out = {}
    for name in sorted(os.listdir(FOLDER)):
        if name.endswith(".py"):
            mod = PACKAGE if name == "__init__.py" else f"{PACKAGE}.{name[:-3]}"
            out[mod] = os.path.join(FOLDER, name)
    return out


def imports_of(path: str, known: Set[str]) -> Set[str]:
    """The package's modules that the file at path imports, anywhere in it."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    found: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level > 1:
                raise AssertionError(f"{path}:{node.lineno}: relative import beyond the package")
            if node.level == 1:
                base = PACKAGE + ("." + node.module if node.module else "")
            elif node.module and (node.module == PACKAGE or node.module.startswith(PACKAGE + ".")):
                base = node.module
            else:
                continue
            # `from . import _x` and `from .pkg import mod` import modules;
            # `from ._x import name` imports _x.
            subs = {f"{base}.{a.name}" for a in node.names} & known
            found |= subs if subs else {base}
    return found


def find_cycle(graph: Dict[str, Set[str]]) -> Optional[List[str]]:
    """A cycle of graph as a list of nodes (first repeated last), or None."""
    state: Dict[str, int] = {}  # 1: on the path, 2: done
    path: List[str] = []

    def visit(n: str) -> Optional[List[str]]:
        state[n] = 1
        path.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return path[path.index(m):] + [m]
            if m not in state:
                c = visit(m)
                if c is not None:
                    return c
        path.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            c = visit(n)
            if c is not None:
                return c
    return None


def test_find_cycle_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle() -> None:
    mods = modules()
    graph = {m: imports_of(p, set(mods)) - {m} for m, p in mods.items()}
    for m, deps in graph.items():
        assert deps <= set(mods), f"{m} imports {sorted(deps - set(mods))}, which are not modules of the package"
    # Submodules never import the package itself (which imports them all).
    assert not [m for m, deps in graph.items() if m != PACKAGE and PACKAGE in deps]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


_ALONE = """
import importlib, os, sys, types, typing
typing.TYPE_CHECKING = True  # run the imports that only type checkers see, too
pkg = types.ModuleType({package!r})
pkg.__path__ = [{folder!r}]
sys.modules[{package!r}] = pkg  # the package without its __init__
importlib.import_module({module!r})
"""


@pytest.mark.parametrize("module", sorted(m for m in modules() if m != PACKAGE))
def test_module_imports_on_its_own(module: str) -> None:
    code = _ALONE.format(package=PACKAGE, folder=FOLDER, module=module)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
