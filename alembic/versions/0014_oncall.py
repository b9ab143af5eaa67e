"""on-call: rotas, overrides, routing rules, escalation policies, the steps taken, ack links

`rota`, `rota_member` and `rota_override` (调班) say who is on call; `route_rule` sends an alert's
source and severity to a rota and `escalation_policy` (one per rota) lists its steps;
`escalation_notice` records each step taken, unique per alert and step so two instances never
send one twice. `server_secret` holds the secret that signs acknowledge links (made on first
use, shared by every instance), `ack_link_use` the links already used. `notification` gains
`mentions`, the people a robot message @-mentions; existing messages mention nobody.

Revision ID: 0014_oncall
Revises: 0013_silences
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import incidents.db
from alembic import op

revision: str = '0014_oncall'
down_revision: str | None = '0013_silences'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'rota',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('period', sa.String(length=10), nullable=False),
        sa.Column('handoff_time', sa.Time(), nullable=False),
        sa.Column('start_date', sa.Date(), nullable=False),
        sa.Column('holiday_members', sa.JSON(), nullable=False),
        sa.Column('created_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'server_secret',
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('created_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_table(
        'escalation_policy',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('rota_id', sa.Integer(), nullable=False),
        sa.Column('steps', sa.JSON(), nullable=False),
        sa.Column('created_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['rota_id'], ['rota.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
        sa.UniqueConstraint('rota_id'),
    )
    op.create_table(
        'rota_member',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rota_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('mobile', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
        sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('dingtalk_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column('wecom_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column('feishu_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column('in_rotation', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['rota_id'], ['rota.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('rota_id', 'name', name='uq_rota_member_name'),
    )
    op.create_index(op.f('ix_rota_member_rota_id'), 'rota_member', ['rota_id'], unique=False)
    op.create_table(
        'rota_override',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rota_id', sa.Integer(), nullable=False),
        sa.Column('member', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('starts_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ends_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('created_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['rota_id'], ['rota.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_rota_override_rota_id'), 'rota_override', ['rota_id'], unique=False)
    op.create_table(
        'route_rule',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=True),
        sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column('rota_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['rota_id'], ['rota.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['source_id'], ['source.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'ack_link_use',
        sa.Column('signature', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('used_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('judged_at', incidents.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('signature'),
    )
    op.create_index(op.f('ix_ack_link_use_alert_id'), 'ack_link_use', ['alert_id'], unique=False)
    op.create_table(
        'escalation_notice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('rota', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('person', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('channel_id', sa.Integer(), nullable=True),
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('notified_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('alert_id', 'step', name='uq_escalation_notice_step'),
    )
    op.create_index(
        op.f('ix_escalation_notice_alert_id'), 'escalation_notice', ['alert_id'], unique=False
    )
    # A plain ALTER TABLE (no batch copy); the default fills the rows already queued.
    op.add_column(
        'notification',
        sa.Column('mentions', sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )


def downgrade() -> None:
    with op.batch_alter_table('notification') as batch:
        batch.drop_column('mentions')
    op.drop_index(op.f('ix_escalation_notice_alert_id'), table_name='escalation_notice')
    op.drop_table('escalation_notice')
    op.drop_index(op.f('ix_ack_link_use_alert_id'), table_name='ack_link_use')
    op.drop_table('ack_link_use')
    op.drop_table('route_rule')
    op.drop_index(op.f('ix_rota_override_rota_id'), table_name='rota_override')
    op.drop_table('rota_override')
    op.drop_index(op.f('ix_rota_member_rota_id'), table_name='rota_member')
    op.drop_table('rota_member')
    op.drop_table('escalation_policy')
    op.drop_table('server_secret')
    op.drop_table('rota')
