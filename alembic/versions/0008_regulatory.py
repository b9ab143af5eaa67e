"""regulatory triggers on incidents and the regulator's report register

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import incidents.db
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What `regulatory = true` of 0.1 means under the named triggers (incidents.models).
LEGACY_TRIGGER = 'other_major_event'


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('regulatory_triggers', sa.JSON(), nullable=False, server_default='[]')
        )
    incident = sa.table(
        'incident', sa.column('regulatory', sa.Boolean), sa.column('regulatory_triggers', sa.JSON)
    )
    # An incident marked reportable keeps its grade and its meaning: the catch-all trigger.
    op.execute(
        incident.update()
        .where(incident.c.regulatory.is_(True))
        .values(regulatory_triggers=[LEGACY_TRIGGER])
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.alter_column('regulatory_triggers', server_default=None)

    op.create_table(
        'regulatory_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('triggers', sa.JSON(), nullable=False),
        sa.Column('opened_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('due_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('reported_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('reported_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('channel', sa.String(length=20), nullable=True),
        sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('written_report_due', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('written_report_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('warned_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('overdue_notified_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('incident_id'),
    )
    with op.batch_alter_table('regulatory_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_regulatory_report_due_at'), ['due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('regulatory_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_regulatory_report_due_at'))
    op.drop_table('regulatory_report')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('regulatory_triggers')
