"""The package's layers (issue 13): every import points down or sideways, never up.

    array backends -> Tensor -> engine (and version bookkeeping) -> ops
    -> creation / interop / autograd / gradcheck / linalg / statistics / distributions
    -> losses / nn / optim / data
    -> models / serialization / explain / viz / compile / CLI

The one documented exception: ``tensor.py`` imports the engine, the ops and
``interop`` at its bottom (its methods and operators are one-line delegations
to them, and they are built on Tensor). Every other import, at module level or
inside a function, must go to the same layer or a lower one, and module-level
imports must have no cycle outside that exception. A new module must be given a
layer here.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "minigrad"

LAYERS: list[set[str]] = [
    {"backends", "_malloc"},
    {"tensor"},
    {"engine", "grad_mode", "versions", "graph", "_fastpath"},
    {"ops"},
    {"creation", "interop", "autograd", "gradcheck", "linalg", "statistics", "distributions",
     "_dask"},
    {"losses", "nn", "optim", "data"},
    {"models", "serialization", "explain", "viz", "_draw", "compile", "compiler", "_codegen",
     "_trace",
     "__main__",
     "__init__"},
]
# tensor.py's bottom import block: Tensor's operator sugar (documented in tensor.py)
BACK_EDGE_FROM = "tensor"
BACK_EDGE_TO = {"engine", "versions", "interop", "ops"}


def _unit(module: str) -> str:
    """'minigrad.ops.shape' -> 'ops', 'minigrad.nn.modules' -> 'nn', 'minigrad' -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(unit: str) -> int:
    for rank, units in enumerate(LAYERS):
        if unit in units:
            return rank
    raise AssertionError(
        f"minigrad/{unit}: no layer given; add it to LAYERS in tests/test_layering.py "
        "(the lowest layer whose modules it needs)")


def _modules() -> dict[str, pathlib.Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: pathlib.Path, module: str, known: set[str]):
    """(imported minigrad module, line, at module level?) for every import in the file."""
    tree = ast.parse(path.read_text())
    top_level = {id(node) for node in tree.body}
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                     for a in node.names]
        else:
            continue
        for name in names:
            if name == "minigrad" or name.startswith("minigrad."):
                while name not in known and "." in name:
                    name = name.rsplit(".", 1)[0]
                yield name, node.lineno, id(node) in top_level


def _edges():
    modules = _modules()
    known = set(modules)
    for module, path in sorted(modules.items()):
        for target, line, top in _imports(path, module, known):
            if target != module:
                yield module, target, line, top, path


def test_every_module_has_a_layer():
    for module in _modules():
        _layer(_unit(module))


def test_no_import_points_up_except_tensors_documented_bottom_block():
    upward = []
    for module, target, line, _, path in _edges():
        a, b = _unit(module), _unit(target)
        if _layer(b) <= _layer(a):
            continue
        if a == BACK_EDGE_FROM and b in BACK_EDGE_TO:
            text = path.read_text().splitlines()
            below = text[line - 1:]
            if all(not s.startswith(("def ", "class ")) for s in below):
                continue  # at the bottom of tensor.py: the documented back-edge
        upward.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {module} imports "
                      f"{target} (layer {_layer(a)} -> {_layer(b)})")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_module_level_imports_have_no_cycle_outside_the_back_edge():
    graph: dict[str, set[str]] = {}
    for module, target, _, top, _ in _edges():
        if not top or (_unit(module) == BACK_EDGE_FROM and _unit(target) in BACK_EDGE_TO):
            continue
        if target == "minigrad" or module == "minigrad":
            continue  # the package namespace re-exports everything
        if target.startswith(module + "."):
            continue  # a package importing its own submodules (minigrad.nn -> nn.modules)
        graph.setdefault(module, set()).add(target)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_engine_imports_nothing_above_it():
    targets = {t for m, t, *_ in _edges() if m == "minigrad.engine"}
    assert targets <= {"minigrad.backends", "minigrad.grad_mode", "minigrad.versions",
                       "minigrad.graph", "minigrad.tensor"}, targets


def test_import_minigrad_needs_only_numpy():
    """With every optional package hidden (graphviz, scipy, dask, ...), the engine
    imports and runs; the graphviz error appears only when a drawing is asked for."""
    blocked = ["graphviz", "pygraphviz", "scipy", "dask", "cupy", "torch", "matplotlib",
               "tqdm", "jax", "array_api_compat", "zarr", "distributed"]
    code = (
        "import importlib.abc, sys\n"
        f"BLOCKED = {blocked!r}\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in BLOCKED:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import minigrad as mg\n"
        "x = mg.tensor([1.0, 2.0], requires_grad=True)\n"
        "(x * x).sum().backward()\n"
        "assert x.grad.tolist() == [2.0, 4.0]\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in BLOCKED)\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail("import minigrad with only NumPy failed:\n" + result.stderr[-3000:])
