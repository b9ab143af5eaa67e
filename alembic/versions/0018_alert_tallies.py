"""alert tallies: the alerts counted per hour and rule, and follow-up times per day

`alert_hour` and `alert_follow_up` keep the sums a window's alert figures are made of, so a
year's review reads about ten thousand tally rows instead of two million alerts
(`incidents.alerts.tally`, bench/README.md "Period review of a year"). The upgrade counts the
alerts already stored. The statistics revision 0017 kept on the rule expression served the
review's grouping of every alert by rule, which the tallies replace: dropped.

Revision ID: 0018_alert_tallies
Revises: 0017_report_speed
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op
from incidents.alerts import tally

revision: str = '0018_alert_tallies'
down_revision: str | None = '0017_report_speed'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULE = "coalesce(CAST(labels ->> 'alertname' AS VARCHAR), title)"


def upgrade() -> None:
    op.create_table(
        'alert_hour',
        sa.Column('hour', sa.Integer(), nullable=False),
        sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('silenced', sa.Boolean(), nullable=False),
        sa.Column('alerts', sa.Integer(), nullable=False),
        sa.Column('followed', sa.Integer(), nullable=False),
        sa.Column('follow_up_seconds', sa.Float(), nullable=False),
        sa.Column('concluded', sa.Integer(), nullable=False),
        sa.Column('judged', sa.Integer(), nullable=False),
        sa.Column('valid', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('hour', 'rule', 'silenced'),
    )
    op.create_table(
        'alert_follow_up',
        sa.Column('day', sa.Integer(), nullable=False),
        sa.Column('seconds', sa.Integer(), nullable=False),
        sa.Column('alerts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'seconds'),
    )
    # The alerts stored so far, counted by the same code that keeps the tallies from now on.
    tally.rebuild(op.get_bind())
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS alert_rule_stats")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"CREATE STATISTICS alert_rule_stats ON ({RULE}) FROM alert")
    op.drop_table('alert_follow_up')
    op.drop_table('alert_hour')
