"""search index: pending articles, and the date order on PostgreSQL

``search_pending``: an article whose latest revision the index does not hold yet, with that revision. A trigger on
``revisions`` writes it in the transaction that records the revision, so a text archived while the index write
after it fails (or before the process gets to it) is known to be missing from the index, exactly, and is caught up
later (:mod:`monitor.search.index`); an index write of that revision (or a newer one) deletes it. Filled here with
the articles whose entry is missing or older than their latest revision.

PostgreSQL's ``search_documents`` gets the date order SQLite's rowid already is (``ord``: the article's date's
second, then its id; ``monitor.search.index.date_order``) with a btree on it: the newest matches of a common word
are then read in date order, a window at a time, instead of all of them being sorted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 07:20:00
"""

from __future__ import annotations

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_PENDING = """CREATE TABLE search_pending (
    article_pk INTEGER NOT NULL PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    revision INTEGER NOT NULL)"""
_FILL = """INSERT INTO search_pending (article_pk, revision)
    SELECT a.id, a.revision_count - 1 FROM articles a LEFT JOIN search_documents d ON d.article_pk = a.id
    WHERE a.revision_count > 0 AND (d.article_pk IS NULL OR d.revision < a.revision_count - 1)"""
# The upsert keeps the newest revision: two writers' revisions of one article, committed in either order.
_UPSERT = """INSERT INTO search_pending (article_pk, revision) VALUES (NEW.article_pk, NEW.number)
        ON CONFLICT (article_pk) DO UPDATE SET revision = {greatest}(search_pending.revision, excluded.revision)"""
_SQLITE = (
    f"""CREATE TRIGGER search_pending_revision AFTER INSERT ON revisions BEGIN
        {_UPSERT.format(greatest="max")};
    END""",
)
# The order as monitor.search.index.date_order computes it: seconds since 1970 clamped to a signed 32-bit range,
# shifted up to start at 0, above 30 bits of article id.
_ORDER = """((LEAST(GREATEST(floor(extract(epoch FROM coalesce(a.published, a.first_seen)))::bigint,
        -2147483648), 2147483647) + 2147483648) << 30) | d.article_pk"""
_POSTGRES = (
    "ALTER TABLE search_documents ADD COLUMN ord BIGINT",
    f"UPDATE search_documents d SET ord = {_ORDER} FROM articles a WHERE a.id = d.article_pk",
    "ALTER TABLE search_documents ALTER COLUMN ord SET NOT NULL",
    "CREATE UNIQUE INDEX ix_search_documents_ord ON search_documents (ord)",
    f"""CREATE FUNCTION search_pending_revision() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_UPSERT.format(greatest="GREATEST")};
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER search_pending_revision AFTER INSERT ON revisions FOR EACH ROW
        EXECUTE FUNCTION search_pending_revision()""",
)


def upgrade() -> None:
    bind = op.get_bind()
    statements = _POSTGRES if bind.dialect.name == "postgresql" else _SQLITE
    for statement in (_PENDING, _FILL, *statements):
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    bind.exec_driver_sql("DROP TRIGGER IF EXISTS search_pending_revision" +
                         (" ON revisions" if bind.dialect.name == "postgresql" else ""))
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS search_pending_revision()")
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_search_documents_ord")
        bind.exec_driver_sql("ALTER TABLE search_documents DROP COLUMN IF EXISTS ord")
    bind.exec_driver_sql("DROP TABLE IF EXISTS search_pending")
