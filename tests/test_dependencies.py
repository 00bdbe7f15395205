"""The package declares what it imports and imports what it declares: a runtime dependency nothing in ``monitor/``
uses is weight for every installation (datasketch was one), and an import that only arrives through another
package's dependencies (numpy did, through datasketch) breaks the day that package drops it."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

#: Declared but never imported by name, each for a reason.
USED_WITHOUT_IMPORT = {
    "pymorphy3-dicts-ru": "the dictionaries pymorphy3 loads",
    "pymorphy3-dicts-uk": "the dictionaries pymorphy3 loads",
    "python-multipart": "FastAPI parses the web's POST forms with it",
}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imported_top_levels() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "monitor").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n != "monitor" and n not in sys.stdlib_module_names}


def _distributions(top_levels: set[str]) -> dict[str, set[str]]:
    installed = packages_distributions()
    return {top: {d.lower().replace("_", "-") for d in installed.get(top, [])} for top in top_levels}


def test_every_runtime_dependency_is_imported_by_the_package() -> None:
    imported = set().union(*_distributions(_imported_top_levels()).values())
    unused = [_name(r) for r in PROJECT["dependencies"]
              if _name(r) not in imported and _name(r) not in USED_WITHOUT_IMPORT]
    assert unused == [], "declared in [project] dependencies but imported nowhere in monitor/: move or remove"


def test_every_third_party_import_is_declared() -> None:
    declared = {_name(r) for r in PROJECT["dependencies"]}
    extras = {_name(r) for name in ("postgres", "demo") for r in PROJECT["optional-dependencies"][name]}
    undeclared = {top: dists for top, dists in _distributions(_imported_top_levels()).items()
                  if not dists & (declared | extras)}
    assert undeclared == {}, "imported by monitor/ but not declared (a dependency's dependency is not enough)"
