"""The built-in plugins import one way only: a static import graph over ``plugins/unireward_builtins`` (every
import statement, those inside functions included) has no cycle, and each aligner package imports in a fresh
interpreter whatever module of it comes first, in every order of the aligners."""

from __future__ import annotations

import ast
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BUILTINS = Path(__file__).resolve().parents[2] / "plugins" / "unireward_builtins"
ALIGNERS = ("diffusion_dpo", "video_diffusion_dpo", "vlm_dpo")
HEAVY = ("torch", "transformers", "diffusers", "trl", "accelerate", "peft")


def module_names(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under the package folder ``root``."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the modules of the same package tree it imports, read with ast (no import runs)."""
    modules = module_names(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                    base = f"{base}.{node.module}" if node.module else base
                else:
                    base = node.module or ""
                # `from pkg import sub` imports the submodule; `from pkg import name` only the package
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_checker_finds_a_cycle_through_an_import_inside_a_function(tmp_path):
    # the shape the aligners had: the hook module imports its implementation lazily, which imports it back
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "hook.py").write_text("def create():\n    from ._impl import Impl\n    return Impl()\n")
    (pkg / "_impl.py").write_text("from .hook import create\nclass Impl: ...\n")
    (pkg / "sub" / "a.py").write_text("from .. import hook\nfrom pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("import pkg.sub.a\n")
    graph = import_graph(pkg)
    assert graph["pkg.hook"] == {"pkg._impl"} and graph["pkg.sub.a"] == {"pkg.hook", "pkg.sub.b"}
    assert cycles(graph) == [["pkg._impl", "pkg.hook"], ["pkg.sub.a", "pkg.sub.b"]]


def test_the_builtin_plugins_have_no_import_cycle():
    graph = import_graph(BUILTINS)
    assert "unireward_builtins.aligners.diffusion_dpo.trainer" in graph["unireward_builtins.aligners.diffusion_dpo"]
    assert cycles(graph) == []


def test_each_aligner_is_a_package_with_a_hook_a_config_and_a_trainer():
    for name in ALIGNERS:
        folder = BUILTINS / "aligners" / name
        assert {"__init__.py", "config.py", "trainer.py"} <= {p.name for p in folder.iterdir()}, name


def _run(body: str) -> dict:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("UNIREWARD_")},
           "PYTHONPATH": os.pathsep.join([str(BUILTINS.parents[1]), str(BUILTINS.parent),
                                          os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", body], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_aligner_hook_modules_are_light():
    body = ("import json, sys\n"
            + "".join(f"import unireward_builtins.aligners.{name}\n" for name in ALIGNERS)
            + f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    assert _run(body) == []


def _order(aligners: tuple[str, ...]) -> list[str]:
    """Each aligner's modules, implementation first (the entry point that used to meet the hook half-built),
    its hook module last; then the shared diffusion modules."""
    modules = module_names(BUILTINS)
    order = []
    for name in aligners:
        package = f"unireward_builtins.aligners.{name}"
        order += sorted((m for m in modules if m.startswith(package + ".")), reverse=True) + [package]
    return order + sorted(m for m in modules if m.startswith("unireward_builtins.aligners.diffusion_common"))


@pytest.mark.parametrize("aligners", list(itertools.permutations(ALIGNERS)), ids="-".join)
def test_every_aligner_module_imports_first_in_a_fresh_interpreter(aligners):
    pytest.importorskip("torch")
    order = _order(aligners)
    body = ("import importlib, json\n"
            f"for name in {order!r}:\n"
            "    importlib.import_module(name)\n"
            "names = {}\n"
            f"for name in {list(aligners)!r}:\n"
            "    hook = importlib.import_module('unireward_builtins.aligners.' + name)\n"
            "    names[name] = [spec.name for spec in hook.unireward_register_aligners()]\n"
            "print(json.dumps(names))")
    assert _run(body) == {name: [name] for name in aligners}


def test_orders_cover_every_aligner_module():
    modules = {m for m in module_names(BUILTINS) if m.startswith("unireward_builtins.aligners.")}
    assert set(_order(ALIGNERS)) == modules
    firsts = {_order(p)[0] for p in itertools.permutations(ALIGNERS)}
    assert firsts == {f"unireward_builtins.aligners.{name}.trainer" for name in ALIGNERS}

