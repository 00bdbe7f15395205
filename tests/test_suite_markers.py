"""The test suite's own conventions: a test that starts a process is marked ``slow`` (``pytest -m "not slow"`` is
the quick run), whether it calls subprocess itself or through a helper of its module."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _unmarked_spawners(source: str) -> list[str]:
    tree = ast.parse(source)
    module_slow = any(isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark"
                                                           for t in node.targets)
                      and "slow" in ast.unparse(node.value) for node in tree.body)
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]

    def uses(function: ast.FunctionDef, names: set[str]) -> bool:
        """Whether the function reads ``subprocess.<anything>`` or calls one of ``names``."""
        return any((isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "subprocess")
                   or (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names)
                   for node in ast.walk(function))

    helpers = {f.name for f in functions if not f.name.startswith("test_") and uses(f, set())}
    found = []
    for test in (f for f in functions if f.name.startswith("test_")):
        if uses(test, helpers) and not module_slow and not any("slow" in ast.unparse(d) for d in test.decorator_list):
            found.append(test.name)
    return found


def test_every_test_that_starts_a_process_is_marked_slow() -> None:
    unmarked = [f"{path.name}::{name}" for path in sorted(TESTS.glob("test_*.py"))
                for name in _unmarked_spawners(path.read_text(encoding="utf-8"))]
    assert unmarked == []


def test_the_check_sees_a_process_started_through_a_helper() -> None:
    source = ("import subprocess\ndef _pid():\n    return subprocess.run(['true']).returncode\n"
              "def test_a():\n    _pid()\n@pytest.mark.slow\ndef test_b():\n    _pid()\ndef test_c():\n    pass\n")
    assert _unmarked_spawners(source) == ["test_a"]
