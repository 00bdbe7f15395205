"""The search's Core view of the store's tables (monitor/search/schema.py) against the store's own declaration: the
same names, and types that read and bind the same way."""

from __future__ import annotations

from sqlalchemy import DateTime, TableClause, TypeDecorator

from monitor.search.schema import ARTICLES, REVISIONS, STORIES
from monitor.store.metadata import metadata


def test_every_column_the_search_reads_is_the_stores() -> None:
    tables = metadata().tables
    clauses: list[TableClause] = [ARTICLES, REVISIONS, STORIES]
    for clause in clauses:
        declared = tables[clause.name]
        for column in clause.columns:
            assert column.name in declared.c, f"{clause.name}.{column.name}: not a column of the store's table"
            theirs = declared.c[column.name].type
            if isinstance(theirs, TypeDecorator):  # SQLModel's AutoString: a String that only MySQL sizes itself
                theirs = theirs.impl_instance
            assert isinstance(theirs, type(column.type)), (clause.name, column.name, theirs, column.type)
            if isinstance(column.type, DateTime):
                assert isinstance(theirs, DateTime) and theirs.timezone == column.type.timezone, column.name
