"""source health remembers the kind of its last run error (monitor.run_errors.RunErrorKind)

The health decides by kind whether a source's failures are those of its article pages (a run whose feeds answered
304 then neither heals nor fails it); before this column it could only read the error's wording. Rows a failing
source saved before get their kind from that wording once, here.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 08:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source_health', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_error_kind', sa.String(length=20), nullable=True))
    op.execute("UPDATE source_health SET last_error_kind = 'pages_failed' "
               "WHERE consecutive_failures > 0 AND last_error LIKE 'all article pages tried failed%'")


def downgrade() -> None:
    with op.batch_alter_table('source_health', schema=None) as batch_op:
        batch_op.drop_column('last_error_kind')
