"""grade hits: the grading rules that fired, as data, so each reader words them in its language

`incident.grade_hits` holds the rule hits (`[{"rule": "failed_min", "value": 1200, "limit": 1000,
"grade": "B"}, ...]`) that `grade_reason` words in English. Existing rows keep NULL: the English
text cannot be read back into hits, so they go on showing their `grade_reason`.

Revision ID: 0015_grade_hits
Revises: 0014_oncall
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0015_grade_hits'
down_revision: str | None = '0014_oncall'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('incident') as batch_op:
        batch_op.add_column(sa.Column('grade_hits', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incident') as batch_op:
        batch_op.drop_column('grade_hits')
