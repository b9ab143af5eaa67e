"""form keys: the idempotency keys of page form posts

`form_key` holds, per digest of a form's idempotency key and body, where its first post led, so a
double click or a retry leads there instead of filing twice (`incidents.form_keys`). Rows are kept
for a day.

Revision ID: 0016_form_keys
Revises: 0015_grade_hits
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

import incidents.db
from alembic import op

revision: str = '0016_form_keys'
down_revision: str | None = '0015_grade_hits'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'form_key',
        sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column('location', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column('claimed_at', incidents.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('digest'),
    )
    op.create_index('ix_form_key_claimed_at', 'form_key', ['claimed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_form_key_claimed_at', table_name='form_key')
    op.drop_table('form_key')
