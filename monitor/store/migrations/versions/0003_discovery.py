"""discovery: a text may return (A -> B -> A); page state (language, failed pages' retries); pending-alerts index

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 04:30:00
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_PENDING = "alerts_done_at IS NULL"


def upgrade() -> None:
    op.create_table(
        'page_state',
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('site', sa.String(length=200), nullable=False),
        sa.Column('language', sa.String(length=20), nullable=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('next_attempt', sa.DateTime(timezone=True), nullable=True),
        sa.Column('given_up', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('url'),
    )
    with op.batch_alter_table('page_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_page_state_next_attempt'), ['next_attempt'], unique=False)
    # Texts whose alerts never ran and that the daemon's catch-up (two days back) will never look at again: those
    # of `monitor ingest` before it recorded them as done. Done now, so the partial index holds only the backlog.
    before = datetime.now(UTC) - timedelta(days=2)
    op.get_bind().execute(
        sa.text(f"UPDATE revisions SET alerts_done_at = stored_at WHERE {_PENDING} AND stored_at < :before")
        .bindparams(sa.bindparam('before', before, type_=sa.DateTime(timezone=True))))
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.drop_constraint('uq_revisions_text', type_='unique')
        # An index of every revision, mostly done ones: SQLite preferred it to the partial one below.
        batch_op.drop_index('ix_revisions_alerts_done_at')
        batch_op.create_index('ix_revisions_alerts_pending', ['stored_at'], unique=False,
                              sqlite_where=sa.text(_PENDING), postgresql_where=sa.text(_PENDING))


def downgrade() -> None:
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.drop_index('ix_revisions_alerts_pending', sqlite_where=sa.text(_PENDING),
                            postgresql_where=sa.text(_PENDING))
        batch_op.create_index('ix_revisions_alerts_done_at', ['alerts_done_at'], unique=False)
        batch_op.create_unique_constraint('uq_revisions_text', ['article_pk', 'content_hash'])
    op.drop_table('page_state')
