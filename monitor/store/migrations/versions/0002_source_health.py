"""source health for the daemon; revisions remember that their alerts were queued

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 20:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'source_health',
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('first_run', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_run', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_success', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_new', sa.DateTime(timezone=True), nullable=True),
        sa.Column('runs', sa.Integer(), nullable=False),
        sa.Column('consecutive_failures', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('last_counts', sa.Text(), nullable=False),
        sa.Column('problem', sa.String(length=20), nullable=True),
        sa.Column('problem_since', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('source'),
    )
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alerts_done_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_revisions_alerts_done_at'), ['alerts_done_at'], unique=False)
    # Texts stored before this migration were handled by the code of their day: never alert on them again.
    op.execute("UPDATE revisions SET alerts_done_at = stored_at")


def downgrade() -> None:
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revisions_alerts_done_at'))
        batch_op.drop_column('alerts_done_at')
    op.drop_table('source_health')
