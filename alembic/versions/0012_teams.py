"""teams: the incident's 责任团队, and which team answers for each system

`incident.team` is stored, not looked up: an incident takes its system's team when filed (and
when its system changes), so a mapping changed later leaves past incidents' 故障积分 where it
fell. Existing incidents start without a team; mapping a system (`stabilog team map`, PUT
/api/v1/system-teams/{system}) gives its teamless incidents the team.

The column is added with a plain ALTER TABLE, not in batch mode: on SQLite batch mode would copy
`incident` and drop the similar-incident triggers of revision 0011 with the old table.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import incidents.db
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'incident',
        sa.Column('team', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    )
    op.create_index(op.f('ix_incident_team'), 'incident', ['team'], unique=False)
    op.create_table(
        'system_team',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('system', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('team', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('updated_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('system'),
    )


def downgrade() -> None:
    op.drop_table('system_team')
    op.drop_index(op.f('ix_incident_team'), table_name='incident')
    op.drop_column('incident', 'team')
