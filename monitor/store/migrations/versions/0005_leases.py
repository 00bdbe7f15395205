"""leases: processes and their heartbeats, named leases with deadlines, the shared schedule of sources; outbox rows
remember which process claimed them

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'monitor_processes',
        sa.Column('id', sa.Text(), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('started', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'leases',
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('holder', sa.Text(), nullable=True),
        sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('free_after', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_table(
        'source_schedule',
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('next_due', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_started', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_by', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('source'),
    )
    with op.batch_alter_table('alert_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alert_outbox', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
    op.drop_table('source_schedule')
    op.drop_table('leases')
    op.drop_table('monitor_processes')
