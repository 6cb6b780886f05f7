"""The code's layers: each imports only those below it, and no modules import each other in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

# From the bottom up; a module may import its own layer's modules and any layer below.
LAYERS = [
    {
        "app.config",
        "app.messages",
        "app.metrics",
        "app.logs",
        "app.private",
        "app.asgi",
        "app.reach",
        "app.garbage",
    },
    {"app.storage", "app.model", "app.rendering", "app.files", "app.settings", "app.webhooks"},
    {"app.answers"},
    {"app.people"},
    {"app.web", "app.api"},
    {"app.views"},
    {"app", "app.__main__"},
]


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    """The layer of a module: the one naming it or the package holding it."""
    for number in range(len(LAYERS) - 1, -1, -1):
        for name in LAYERS[number]:
            if module == name or (name != "app" and module.startswith(name + ".")):
                return number
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")


def imports(path: Path) -> set[str]:
    """The app modules a file imports, by their full names."""
    tree = ast.parse(path.read_text())
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("app")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("app"):
                continue
            named = {f"{target}.{alias.name}" for alias in node.names}
            submodules = {name for name in named if _is_module(name)}
            # `from .. import messages` imports a module; `from ..storage import Row` the package
            # holding a name.
            found |= submodules if submodules == named else submodules | {target}
    return found


def _is_module(name: str) -> bool:
    path = APP.parent / name.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in APP.rglob("*.py")}
    return {
        name: {target for target in imports(path) if target in modules} - {name}
        for name, path in modules.items()
    }


def test_no_module_imports_a_layer_above_its_own():
    upward = [
        f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
        for module, targets in graph().items()
        for target in targets
        if layer_of(target) > layer_of(module)
    ]
    assert upward == []


def test_no_modules_import_each_other_in_a_circle():
    edges = graph()
    # A package's __init__ may gather what its own modules define; that is not a cycle of meaning.
    edges = {
        module: {t for t in targets if not module.startswith(t + ".")} for module, targets in edges.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append(trail[trail.index(target) :] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_every_module_is_in_a_layer():
    for module in graph():
        layer_of(module)
