"""report speed: PostgreSQL statistics on each alert's rule

The period review groups a year of alerts by their rule (`period_report.alert_rule`: the
`alertname` label, else the title). PostgreSQL keeps no statistics on that expression, guesses
200 rules and sorts two million rows to group them (spilling to disk); with statistics on the
expression it knows how few rules there are and hashes them: the year's noisiest rules took
1.6–2.1 s instead of 2.5–3.0 s on the bench (bench/README.md, "Period review of a year").

Statistics cost nothing on insert (ANALYZE gathers them); the expression must stay the one the
query compiles to, or PostgreSQL does not match them (tests/incidents/test_period_alert_figures.py
checks that it does). SQLite has no such statistics: nothing to do there.

Revision ID: 0017_report_speed
Revises: 0016_form_keys
Create Date: 2026-11-30 09:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0017_report_speed'
down_revision: str | None = '0016_form_keys'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULE = "coalesce(CAST(labels ->> 'alertname' AS VARCHAR), title)"


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"CREATE STATISTICS alert_rule_stats ON ({RULE}) FROM alert")
        # Until autovacuum analyzes the table, the statistics would be empty.
        op.execute("ANALYZE alert")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP STATISTICS alert_rule_stats")
