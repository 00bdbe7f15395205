"""The package's import graph: no cycle among the imports a module runs when it is loaded, nor through imports
inside functions (deferred for start-up time, never to hide a cycle; ``if TYPE_CHECKING:`` blocks never run), and
the stages below the pipeline never import it, not even inside a function: the flow goes one way,
cli/scheduler/web -> pipeline -> stages."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"
# Stages the pipeline wires together (ingesting one page among them); they must not know it.
BELOW_PIPELINE = ("analysis", "archive", "decoding", "dedupe", "discovery", "http", "ingest", "model", "notify",
                  "prepare", "render", "rules", "run_errors", "search", "sites", "store", "urls")


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING"))


def _targets(node: ast.stmt, modules: dict[str, Path]) -> set[str]:
    """The monitor modules an import statement loads (``from P import M`` with M a module: P.M)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in modules}
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module in modules:
        submodules = {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules}
        plain = [a for a in node.names if f"{node.module}.{a.name}" not in modules]
        return submodules | ({node.module} if plain else set())
    return set()


def _loaded_imports(tree: ast.Module, modules: dict[str, Path]) -> set[str]:
    """Imports run when the module loads: its top level, including try/if blocks but not TYPE_CHECKING ones."""
    found: set[str] = set()
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if _is_type_checking(node):
            continue
        found |= _targets(node, modules)
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            pending.extend(node.body)
            pending.extend(getattr(node, "orelse", []))
            pending.extend(getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                pending.extend(handler.body)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_when_modules_load() -> None:
    modules = _modules()
    graph = {name: _loaded_imports(ast.parse(path.read_text(encoding="utf-8")), modules) - {name}
             for name, path in modules.items()}
    assert len(graph) > 80
    assert _cycles(graph) == []


def test_a_cycle_is_found() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_stages_below_the_pipeline_never_import_it() -> None:
    modules = _modules()
    offenders = []
    for name, path in modules.items():
        if name.split(".")[1:2] and name.split(".")[1] in BELOW_PIPELINE:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.stmt) and "monitor.pipeline" in _targets(node, modules):
                    offenders.append(name)
    assert offenders == []


def _web_boundary_offences(path: Path) -> list[str]:
    """What a web module does beyond the store's public face: imports SQLAlchemy/SQLModel, a private module or name
    of monitor.store, or its tables, or reaches for a store's engine."""
    offences = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported = [(a.name, "") for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported = [(node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Attribute) and node.attr == "engine":
            offences.append(f"{path.name}:{node.lineno}: .engine")
            continue
        else:
            continue
        for module, name in imported:
            parts = module.split(".")
            if parts[0] in ("sqlalchemy", "sqlmodel") or (
                    parts[:2] == ["monitor", "store"]
                    and (any(p.startswith("_") for p in parts) or "tables" in parts or name.startswith("_"))):
                offences.append(f"{path.name}:{node.lineno}: {module} {name}".rstrip())
    return offences


def test_the_web_reads_the_database_only_through_the_stores_public_methods() -> None:
    offences = [o for path in sorted((PACKAGE / "web").rglob("*.py")) for o in _web_boundary_offences(path)]
    assert offences == []


def test_the_web_boundary_check_sees_what_it_forbids(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import sqlalchemy\nfrom monitor.store.outbox import _item\nfrom monitor.store.tables import A\n"
                      "from monitor.store._records import B\nfrom monitor.store import Store\nstore.engine.connect()\n",
                      encoding="utf-8")
    assert _web_boundary_offences(sample) == [
        "sample.py:1: sqlalchemy", "sample.py:2: monitor.store.outbox _item", "sample.py:3: monitor.store.tables A",
        "sample.py:4: monitor.store._records B", "sample.py:6: .engine"]


def _all_imports(tree: ast.Module, modules: dict[str, Path]) -> set[str]:
    """Every import a module may run, inside functions too (but not ``if TYPE_CHECKING:`` blocks, which never run)."""
    found: set[str] = set()
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.stmt) and _is_type_checking(node):
            continue
        if isinstance(node, ast.stmt):
            found |= _targets(node, modules)
        pending.extend(ast.iter_child_nodes(node))
    return found


def _deferred_cycles(package: str) -> list[list[str]]:
    modules = _modules()
    inside = {name: path for name, path in modules.items() if name == package or name.startswith(package + ".")}
    graph = {name: (_all_imports(ast.parse(path.read_text(encoding="utf-8")), modules) & set(inside)) - {name}
             for name, path in inside.items()}
    return _cycles(graph)


def test_no_import_cycle_even_through_imports_inside_functions() -> None:
    """A function-level import hides a cycle from the loader, not from the reader: two modules that need each other
    share a third instead (as monitor.search.candidates serves the search service and the index)."""
    assert _deferred_cycles("monitor") == []


def test_a_cycle_through_a_function_level_import_is_found() -> None:
    tree = ast.parse("import monitor.a\n"
                     "def f():\n    from monitor.b import x\n"
                     "if TYPE_CHECKING:\n    import monitor.c\n")
    modules = {name: Path() for name in ("monitor.a", "monitor.b", "monitor.c")}
    assert _all_imports(tree, modules) == {"monitor.a", "monitor.b"}
