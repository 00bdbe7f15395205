"""One exception tree (monitor/errors.py): every exception the package defines descends from MonitorError, so the
CLI's and the web's handlers of MonitorError see it, and anything else is a bug."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"
_BUILTIN_ERRORS = {name for name, value in vars(builtins).items()
                   if isinstance(value, type) and issubclass(value, BaseException)}


def _outside_the_tree(source: str) -> list[str]:
    """Classes whose bases are all built-in exceptions (MonitorError itself aside)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef) and node.bases and node.name != "MonitorError":
            names = [base.id if isinstance(base, ast.Name) else ast.unparse(base) for base in node.bases]
            if all(name in _BUILTIN_ERRORS for name in names):
                found.append(node.name)
    return found


def test_every_exception_of_the_package_is_in_the_one_tree() -> None:
    offenders = [f"{path.relative_to(PACKAGE)}: {name}" for path in sorted(PACKAGE.rglob("*.py"))
                 for name in _outside_the_tree(path.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_check_sees_an_exception_outside_the_tree() -> None:
    assert _outside_the_tree("class A(Exception): ...\nclass B(MonitorError, ValueError): ...\n"
                             "class C(ValueError, KeyError): ...\nclass D: ...\n") == ["A", "C"]
