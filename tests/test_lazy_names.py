"""The packages that import their public names on first use (monitor, monitor.store): what type checkers see (the
``if TYPE_CHECKING:`` imports) is what runs (``__all__``, ``__getattr__``), name for name and module for module."""

from __future__ import annotations

import ast
import importlib
import inspect
from types import ModuleType

import pytest

import monitor
import monitor.store

PACKAGES = [monitor, monitor.store]


def _checked_imports(package: ModuleType) -> dict[str, str]:
    """Each name the package's ``if TYPE_CHECKING:`` block imports, with the module it comes from."""
    found: dict[str, str] = {}
    for node in ast.parse(inspect.getsource(package)).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for imported in node.body:
                assert isinstance(imported, ast.ImportFrom) and imported.module
                for alias in imported.names:
                    assert alias.asname == alias.name, f"{alias.name}: write it 'X as X' so it counts as re-exported"
                    found[alias.name] = imported.module
    return found


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_the_type_checked_names_are_the_lazy_ones(package: ModuleType) -> None:
    checked = _checked_imports(package)
    assert checked and set(checked) == set(package.__all__) - {"__version__"}
    for name, module in checked.items():
        assert getattr(package, name) is getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_an_unknown_name_is_an_attribute_error(package: ModuleType) -> None:
    with pytest.raises(AttributeError, match=f"module '{package.__name__}' has no attribute 'nothing_here'"):
        package.nothing_here  # noqa: B018
