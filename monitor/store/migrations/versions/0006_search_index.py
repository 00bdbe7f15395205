"""search index: analysed tokens of each article's latest text; FTS5 on SQLite, tsvector + GIN on PostgreSQL

The tables are filled on ingest and by `monitor index rebuild` (an existing archive is not indexed here: that
takes minutes to hours, and an upgrade must not). They are not declared in the SQLModel metadata (an FTS5
virtual table and its shadow tables cannot be): :mod:`monitor.search.index` reads and writes them, and the
migration environment leaves every ``search_`` table out of its comparison with the metadata.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 05:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.errors import StoreError

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# SQLite: the tokens of each field as text (FTS5's external content); the virtual table indexes them, kept in
# step by triggers. "ascii" cuts only at ASCII punctuation and spaces, which tokens never hold; detail=column: the
# index answers which field holds a token, not where (no query needs positions: phrases and NEAR are checked
# by the evaluator), which keeps it small. The FTS rowid ``ord`` orders by the article's date (its second, then
# its id): FTS5 gives a query's newest matches first without sorting them all (monitor.search.index.date_order).
_SQLITE = (
    """CREATE TABLE search_documents (
        ord INTEGER NOT NULL PRIMARY KEY,
        article_pk INTEGER NOT NULL UNIQUE REFERENCES articles (id) ON DELETE CASCADE,
        revision INTEGER NOT NULL,
        title TEXT NOT NULL,
        teaser TEXT NOT NULL,
        body TEXT NOT NULL)""",
    """CREATE VIRTUAL TABLE search_fts USING fts5(title, teaser, body, content='search_documents',
        content_rowid='ord', tokenize="ascii tokenchars '='", detail=column, columnsize=0)""",
    """CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN
        INSERT INTO search_fts (rowid, title, teaser, body) VALUES (new.ord, new.title, new.teaser, new.body);
    END""",
    """CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN
        INSERT INTO search_fts (search_fts, rowid, title, teaser, body)
        VALUES ('delete', old.ord, old.title, old.teaser, old.body);
    END""",
    """CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN
        INSERT INTO search_fts (search_fts, rowid, title, teaser, body)
        VALUES ('delete', old.ord, old.title, old.teaser, old.body);
        INSERT INTO search_fts (rowid, title, teaser, body) VALUES (new.ord, new.title, new.teaser, new.body);
    END""",
)
# PostgreSQL: one tsvector per article, its lexemes our tokens as they are (cast from a literal, so PostgreSQL's
# parser and dictionaries, 'simple' included, change nothing), the field as the weight: A title, B teaser, D body.
_POSTGRES = (
    """CREATE TABLE search_documents (
        article_pk INTEGER NOT NULL PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
        revision INTEGER NOT NULL,
        tokens TSVECTOR NOT NULL)""",
    "CREATE INDEX ix_search_documents_tokens ON search_documents USING GIN (tokens)",
)
# How far `monitor index rebuild` got (resumable).
_STATE = """CREATE TABLE search_state (name VARCHAR(100) NOT NULL PRIMARY KEY, value TEXT NOT NULL)"""


def _check_fts5(bind: sa.Connection) -> None:
    try:
        bind.exec_driver_sql("CREATE VIRTUAL TABLE temp.search_fts5_probe USING fts5(x)")
        bind.exec_driver_sql("DROP TABLE temp.search_fts5_probe")
    except sa.exc.OperationalError:
        version = bind.exec_driver_sql("SELECT sqlite_version()").scalar()
        raise StoreError(f"this Python's SQLite ({version}) has no FTS5, which the search index needs: use a Python "
                         "built with FTS5 (the python.org and Debian builds are), or PostgreSQL ([storage] url)"
                         ) from None


def upgrade() -> None:
    bind = op.get_bind()
    statements: tuple[str, ...] = _POSTGRES
    if bind.dialect.name == "sqlite":
        _check_fts5(bind)
        statements = _SQLITE
    for statement in (*statements, _STATE):
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    for name in ("search_state", "search_fts", "search_documents"):
        if name != "search_fts" or bind.dialect.name == "sqlite":
            bind.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
