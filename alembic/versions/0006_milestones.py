"""1-5-10 milestones: acknowledged, located, mitigation started and mitigated; timeline marks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

import incidents.db
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MILESTONE_COLUMNS = ('acknowledged_at', 'located_at', 'mitigation_started_at', 'mitigated_at')


def upgrade() -> None:
    # All nullable: incidents filed before this revision simply have none of these times, and
    # count as unknown in 1-5-10 rather than being given made-up ones.
    with op.batch_alter_table('incident', schema=None) as batch_op:
        for name in MILESTONE_COLUMNS:
            batch_op.add_column(
                sa.Column(name, incidents.db.UTCDateTime(timezone=True), nullable=True)
            )
    with op.batch_alter_table('timeline_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('milestone', sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('timeline_entry', schema=None) as batch_op:
        batch_op.drop_column('milestone')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        for name in reversed(MILESTONE_COLUMNS):
            batch_op.drop_column(name)
