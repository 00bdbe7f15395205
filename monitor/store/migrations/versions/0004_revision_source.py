"""revisions remember the configured source whose run archived them (monitor status counts "today" per source)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_revisions_source_stored_at', ['source', 'stored_at'], unique=False)
    # Texts stored before this migration keep no source: nobody recorded which run archived them.


def downgrade() -> None:
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.drop_index('ix_revisions_source_stored_at')
        batch_op.drop_column('source')
