"""资损: amount_cny renamed amount_involved_cny, loss_cny and recovered_cny added

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A rename, not a drop and an add: every incident keeps the amount it was graded on.
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.alter_column(
            'amount_cny',
            new_column_name='amount_involved_cny',
            existing_type=sa.Numeric(precision=16, scale=2),
            existing_nullable=True,
        )
        batch_op.add_column(sa.Column('loss_cny', sa.Numeric(precision=16, scale=2), nullable=True))
        batch_op.add_column(
            sa.Column('recovered_cny', sa.Numeric(precision=16, scale=2), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('recovered_cny')
        batch_op.drop_column('loss_cny')
        batch_op.alter_column(
            'amount_involved_cny',
            new_column_name='amount_cny',
            existing_type=sa.Numeric(precision=16, scale=2),
            existing_nullable=True,
        )
