"""The layout says what it holds: layers that point one way, no import cycles, one name for one
job, and no silenced type checks in the product."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The product's layers, lowest first: a module may import its own layer and those below.
LAYERS = ("advisor", "settings", "storage", "handoff", "dialogs", "bootstrap", "frontends", "bot")
#: Libraries a layer must not import (the domain is pure; the dialog knows no Telegram).
FORBIDDEN = {
    "advisor": ("telegram", "transitions", "aiohttp", "asyncpg", "sqlite3"),
    "dialogs": ("telegram",),
    "handoff": ("telegram", "transitions"),
    "storage": ("telegram", "transitions"),
}


def product_files() -> Iterator[Path]:
    for layer in LAYERS:
        folder = ROOT / layer
        if folder.is_dir():
            yield from sorted(folder.rglob("*.py"))
        else:
            yield ROOT / f"{layer}.py"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> Iterator[str]:
    """Every module a file imports, at the top or inside a function, relative ones resolved
    (``from . import x`` imports the module ``x``; ``from .m import name``, the module ``m``)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                yield submodule if is_module(submodule) else module


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def layer_of(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in LAYERS else None


def test_every_layer_imports_only_itself_and_the_layers_below() -> None:
    upward = []
    for path in product_files():
        own = layer_of(module_name(path))
        assert own is not None
        for imported in imports(path):
            layer = layer_of(imported)
            if layer is not None and LAYERS.index(layer) > LAYERS.index(own):
                upward.append(f"{path.relative_to(ROOT)} imports {imported}")
            if imported.split(".")[0] in FORBIDDEN.get(own, ()):
                upward.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert upward == []


def test_no_two_product_modules_import_each_other_even_through_others() -> None:
    modules = {module_name(path): path for path in product_files()}
    graph = {
        name: sorted({m for m in imports(path) if m in modules and m != name})
        for name, path in modules.items()
    }
    cycles = []
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done

    def walk(name: str, path: list[str]) -> None:
        state[name] = 1
        for other in graph[name]:
            if state.get(other) == 1:
                cycles.append(" → ".join([*path[path.index(other) :], other]))
            elif other not in state:
                walk(other, [*path, other])
        state[name] = 2

    for name in graph:
        if name not in state:
            walk(name, [name])
    assert cycles == []


def test_no_two_product_modules_share_a_name() -> None:
    seen: dict[str, list[str]] = {}
    for path in product_files():
        if path.name not in ("__init__.py", "__main__.py"):
            seen.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}


def test_the_product_silences_no_type_check() -> None:
    silenced = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in product_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "type: ignore" in line
    ]
    assert silenced == []
