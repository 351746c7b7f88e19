"""The package's shape (DESIGN.md): imports go down the layers only, and no module reaches into another's private names.

Layers, bottom to top; a module may import its own layer and those below, never one above:

0. ``check_ids``, ``conf``, ``context``, ``guard``, ``_compat``, ``tokens``, ``redact``, ``multiproc`` (and the package's ``__init__``)
1. ``models``, ``metrics``, ``logging``, ``tracing``, ``migrations``
2. ``errors``, ``health``, ``monitoring``, ``outbound``, ``observe`` (the public helpers), ``gunicorn``
3. ``middleware``, ``urls``, ``checks``, ``sentry``, ``celery``
4. ``admin``, ``management``, ``templatetags``, ``demo``, ``apps``
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "django_observe"

LAYERS: dict[str, int] = {
    "__init__": 0, "check_ids": 0, "conf": 0, "context": 0, "guard": 0, "_compat": 0, "tokens": 0, "redact": 0, "multiproc": 0,
    "models": 1, "metrics": 1, "logging": 1, "tracing": 1, "migrations": 1,
    "errors": 2, "health": 2, "monitoring": 2, "outbound": 2, "observe": 2, "gunicorn": 2,
    "middleware": 3, "urls": 3, "checks": 3, "sentry": 3, "celery": 3,
    "admin": 4, "management": 4, "templatetags": 4, "demo": 4, "apps": 4,
}  # fmt: skip


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(module: str, path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, absolute module imported, names imported from it) for every import, lazy ones included."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target, [alias.name for alias in node.names]


def test_every_room_has_a_layer() -> None:
    rooms = {_room(module) for module, _ in _modules()}
    assert rooms <= set(LAYERS), f"give these a layer in LAYERS (and DESIGN.md): {sorted(rooms - set(LAYERS))}"


def test_imports_go_down_the_layers_only() -> None:
    upward = []
    for module, path in _modules():
        own = LAYERS[_room(module)]
        for line, target, names in _imports(module, path):
            if not target.startswith("django_observe"):
                continue
            targets = [target] if target != "django_observe" else [f"django_observe.{name}" for name in names]
            for imported in targets:
                layer = LAYERS.get(_room(imported), 0)
                if layer > own:
                    upward.append(
                        f"{path.relative_to(PACKAGE.parent)}:{line} ({_room(module)}, layer {own}) imports {imported} (layer {layer})"
                    )
    assert upward == []


def test_no_private_name_is_imported_or_used_across_modules() -> None:
    found = []
    for module, path in _modules():
        tree = ast.parse(path.read_text(), str(path))
        our_modules: set[str] = set()  # local names bound to one of our modules
        for line, target, names in _imports(module, path):
            if not target.startswith("django_observe") or target == module:
                continue
            for name in names:
                if name.startswith("_") and not name.startswith("__"):
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}.{name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("django_observe")):
                our_modules.update(alias.asname or alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                our_modules.update(
                    (alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name.startswith("django_observe")
                )
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in our_modules
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert found == []


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE.parent)): n
        for _, path in _modules()
        if (n := len(path.read_text().splitlines())) > 400 and "migrations" not in path.parts
    }
    assert long == {}
