"""indexes for the weekly report at a year of data

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 14:21:35.033791
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import incidents.db
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Partial: a full index holds every NULL, and SQLite then plans a week's membership test
    # on it (autogenerate does not compare WHERE clauses, so this part is written by hand).
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_report_week')
        batch_op.create_index(
            'ix_incident_report_week',
            ['report_week'],
            unique=False,
            sqlite_where=sa.text('report_week IS NOT NULL'),
            postgresql_where=sa.text('report_week IS NOT NULL'),
        )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_received_at'))
        batch_op.create_index('ix_alert_received_follow_up', ['received_at', 'first_follow_up_at', 'valid', 'incident_id'], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_report_week')
        batch_op.create_index('ix_incident_report_week', ['report_week'], unique=False)
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_received_follow_up')
        batch_op.create_index(batch_op.f('ix_alert_received_at'), ['received_at'], unique=False)

    # ### end Alembic commands ###
