"""The package is built in layers and its imports point down: number systems, then the core loops,
then the oracle, then input and output, then teaching, then the command line and the public face.

Read from the source with :mod:`ast`, not by importing, so that a lazy import inside a function is
seen too. A module-level import may only point to its own layer or one below; an import that points
up is allowed only inside a function, and only where it is listed in ``UPWARD`` with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import backprop_ref

PACKAGE = Path(backprop_ref.__file__).resolve().parent

LAYERS = ["arithmetic", "core", "oracle", "io", "teaching", ""]
"""Bottom to top; "" is the top level: cli, bench, testing, interop, __init__, __main__."""

UPWARD = {
    ("backprop_ref.core.network", "backprop_ref.io.interop"):
        "Network.from_torch and Network.from_arrays, public conveniences that build a network "
        "from another library's objects",
    ("backprop_ref.core.network", "backprop_ref.io.keras_adapter"):
        "Network.from_keras, a public convenience that builds a network from a Keras model",
    ("backprop_ref.core.network", "backprop_ref.io.flax_adapter"):
        "Network.from_flax, a public convenience that builds a network from a Flax parameter tree",
}


def module_name(path: Path) -> str:
    parts = ["backprop_ref", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else "")


def imports(path: Path) -> list:
    """``(target module, at module level?)`` for every import of the package's own modules."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    for node in ast.walk(tree):  # imports inside `if TYPE_CHECKING:` count as module level
        if isinstance(node, ast.If):
            top.update(map(id, node.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("backprop_ref"):
                continue
            for alias in node.names:  # `from . import interop` imports a module
                sub = f"{target}.{alias.name}"
                found.append((sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists()
                              or (PACKAGE.parent / sub.replace(".", "/")).is_dir() else target,
                              id(node) in top))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("backprop_ref"):
                    found.append((alias.name, id(node) in top))
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_the_folders_are_the_layers():
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()) == sorted(
        LAYERS[:-1])


def test_module_level_imports_point_down():
    wrong = [f"{name} imports {target}" for name, path in MODULES.items()
             for target, at_top in imports(path) if at_top and layer(target) > layer(name)]
    assert not wrong, wrong


def test_an_upward_import_is_a_listed_lazy_convenience():
    upward = {(name, target) for name, path in MODULES.items()
              for target, at_top in imports(path) if layer(target) > layer(name)}
    assert upward == set(UPWARD), upward ^ set(UPWARD)


def test_no_import_cycle_at_module_level():
    graph = {name: {t for t, at_top in imports(path) if at_top and t in MODULES and t != name}
             for name, path in MODULES.items()}
    # a package's __init__ is imported by its submodules' import machinery, not by their code
    state: dict = {}
    cycles = []

    def visit(node: str, trail: list) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, cycles


def test_the_core_never_imports_numpy_or_torch_at_module_level():
    heavy = ("numpy", "torch", "matplotlib", "jax", "gmpy2", "flint", "dask")
    found = []
    for name, path in MODULES.items():
        if layer(name) > layer("backprop_ref.oracle.x"):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{name}: {n}" for n in names if n.split(".")[0] in heavy]
    assert not found, found
