"""A package's public names imported on first use (PEP 562), so that a command pays only for what it touches."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_names(
    package: str, namespace: dict[str, Any], modules: Mapping[str, Iterable[str]]
) -> tuple[Callable[[str], Any], list[str]]:
    """The module ``__getattr__`` and ``__all__`` for ``package``: ``modules`` maps each module to the public names
    it defines; a name is imported when first asked for and kept in ``namespace`` (the package's globals) from then
    on. Type checkers see the names through the package's ``if TYPE_CHECKING:`` imports, written ``X as X`` so that
    each counts as re-exported without a literal ``__all__`` (tests/test_lazy_names.py keeps the two in step)."""
    home = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__, sorted(home)
