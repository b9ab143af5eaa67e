"""复盘 review workflow: owner, team, channels and lessons on the postmortem; reviewers' verdicts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import incidents.db
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # All nullable: a 复盘 written before this revision has none of them, and publishing it
    # again is what asks for the ones it needs. Its status is kept: a published one stays so.
    with op.batch_alter_table('postmortem', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lessons_learned', sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                'responsible_team', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True
            )
        )
        batch_op.add_column(sa.Column('detection_channel', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('recovery_method', sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column('related_change', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
        batch_op.add_column(
            sa.Column('staged_rollout_should_have_caught', sa.Boolean(), nullable=True)
        )
        batch_op.add_column(sa.Column('no_action_reason', sa.Text(), nullable=True))

    op.create_table(
        'postmortem_review',
        sa.Column('verdict', sa.String(length=20), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('reviewer', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['incident_id'], ['postmortem.incident_id'], ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('postmortem_review', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_postmortem_review_incident_id'), ['incident_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('postmortem_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postmortem_review_incident_id'))
    op.drop_table('postmortem_review')
    with op.batch_alter_table('postmortem', schema=None) as batch_op:
        for name in (
            'no_action_reason',
            'staged_rollout_should_have_caught',
            'related_change',
            'recovery_method',
            'detection_channel',
            'responsible_team',
            'owner',
            'lessons_learned',
        ):
            batch_op.drop_column(name)
