"""What PostgreSQL does for the index's statements: the statements a call runs, explained (EXPLAIN ANALYZE) again in
one transaction as it ran them, and how many rows their plans read a tsvector of to test the query."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


def explained(engine: Engine, call: Callable[[], object]) -> list[dict[str, Any]]:
    """The plans of the search index statements ``call`` runs (settings it makes run again too, EXPLAIN ANALYZE
    executing them)."""
    ran: list[tuple[str, Any]] = []

    def capture(_connection: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                _many: bool) -> None:
        if "search_documents" in statement or "set_config" in statement:
            ran.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    plans = []
    with engine.connect() as connection:
        for statement, parameters in ran:
            plan = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters).scalar_one()
            plans.append((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"])
    return plans


def rows_tested(node: dict[str, Any]) -> int:
    """The rows whose tsvector the plan read to test the query one by one: those a filter with ``@@`` saw, and
    those a bitmap scan rechecked (the index's answer not exact: lossy pages, or a field's weight)."""
    rows = int(node["Actual Rows"])
    loops = int(node.get("Actual Loops", 1))
    own = 0
    if "@@" in str(node.get("Filter", "")):
        own = (rows + int(node.get("Rows Removed by Filter", 0))) * loops
    elif "@@" in str(node.get("Recheck Cond", "")) and (node.get("Rows Removed by Index Recheck")
                                                        or node.get("Lossy Heap Blocks")):
        own = (rows + int(node.get("Rows Removed by Index Recheck", 0))) * loops
    return own + sum(rows_tested(child) for child in node.get("Plans", []))


def node_types(node: dict[str, Any]) -> list[str]:
    """Every node of the plan, as "<type> on <index or relation>"."""
    name = node.get("Index Name") or node.get("Relation Name") or ""
    return [f"{node['Node Type']} on {name}"] + [t for child in node.get("Plans", []) for t in node_types(child)]
