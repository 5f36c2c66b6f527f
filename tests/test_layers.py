"""Data flows one way: plan → models → notifications → flows.

Every import in every module of the four packages is read from its source (``ast``, so a
function-local import counts as much as a module-level one, and ``TYPE_CHECKING`` blocks
too): a lower layer that names a higher one fails here, with the file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("plan", "models", "notifications", "flows")


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in ``path``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def violations(layer: str) -> list[str]:
    higher = set(LAYERS[LAYERS.index(layer) + 1:])
    out = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for line, package in imported_packages(path):
            if package in higher:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {package}")
    return out


@pytest.mark.parametrize("layer", LAYERS[:-1])
def test_lower_layers_never_import_higher_ones(layer: str) -> None:
    assert violations(layer) == []


def test_the_check_sees_a_function_local_import(tmp_path: Path) -> None:
    # The checker itself must be able to fail: an import hidden inside a function is found.
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from notifications.render import render_notice\n", encoding="utf-8")
    assert imported_packages(module) == [(2, "notifications")]


def project_imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, imported names) of every absolute import of a project module in ``path``."""
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name, []) for a in node.names if a.name.split(".")[0] in PROJECT)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] in PROJECT:
            found.append((node.lineno, node.module, [a.name for a in node.names]))
    return found


PROJECT = (*LAYERS, "bench", "tests")


def test_every_import_of_a_project_module_resolves() -> None:
    """A moved module leaves no import behind, not even one inside a function that only a
    rare command runs (``duban api`` once imported the CLI console from its old place)."""
    import importlib.util

    missing = []
    for package in PROJECT:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, module, names in project_imports(path):
                if importlib.util.find_spec(module) is None:
                    missing.append(f"{path.relative_to(ROOT)}:{line} {module}")
                    continue
                for name in names:  # `from flows import serve`: a submodule or an attribute
                    spec = importlib.util.find_spec(f"{module}.{name}") if _is_package(module) else None
                    if spec is None and not _defines(module, name):
                        missing.append(f"{path.relative_to(ROOT)}:{line} {module}.{name}")
    assert missing == []


def _is_package(module: str) -> bool:
    import importlib.util

    spec = importlib.util.find_spec(module)
    return spec is not None and spec.submodule_search_locations is not None


def _defines(module: str, name: str) -> bool:
    import importlib

    return hasattr(importlib.import_module(module), name)
