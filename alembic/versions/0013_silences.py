"""silences, flapping and storms: alerts that are stored and shown but page nobody

`silence` holds the team's silences (one-off or weekly windows, matchers on source and labels);
`alert_storm` one row per storm of new alerts from one source. `alert` gains `silence_id`,
`flapping` and `storm_id`, set at ingest; existing alerts are none of these.

The follow-up index gains `silence_id`, so the metrics that leave silenced alerts out of their
denominators still read only the index.

Silences and storms are never deleted (expiring a silence ends it), so the foreign keys need no
ON DELETE: removing one would silently change past follow-up rates.

Revision ID: 0013_silences
Revises: 0012
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import incidents.db
from alembic import op

revision: str = '0013_silences'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'silence',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=True),
        sa.Column('matchers', sa.JSON(), nullable=False),
        sa.Column('starts_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ends_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('weekdays', sa.JSON(), nullable=True),
        sa.Column('window_start', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True),
        sa.Column('window_end', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('created_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expired_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(['source_id'], ['source.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'alert_storm',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('started_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('announced_alerts', sa.Integer(), nullable=False),
        sa.Column('top_labels', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['source_id'], ['source.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('silence_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('flapping', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column('storm_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_alert_silence_id_silence', 'silence', ['silence_id'], ['id'])
        batch_op.create_foreign_key('fk_alert_storm_id_alert_storm', 'alert_storm', ['storm_id'], ['id'])
        batch_op.drop_index('ix_alert_received_follow_up')
        batch_op.create_index(
            'ix_alert_received_follow_up',
            ['received_at', 'first_follow_up_at', 'valid', 'incident_id', 'silence_id'],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_received_follow_up')
        batch_op.create_index(
            'ix_alert_received_follow_up',
            ['received_at', 'first_follow_up_at', 'valid', 'incident_id'],
            unique=False,
        )
        batch_op.drop_constraint('fk_alert_storm_id_alert_storm', type_='foreignkey')
        batch_op.drop_constraint('fk_alert_silence_id_silence', type_='foreignkey')
        batch_op.drop_column('storm_id')
        batch_op.drop_column('flapping')
        batch_op.drop_column('silence_id')
    op.drop_table('alert_storm')
    op.drop_table('silence')
