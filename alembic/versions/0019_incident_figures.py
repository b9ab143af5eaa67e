"""incident figures: the detection index carries what a period's figures read

`ix_incident_detected_figures` (detected_at, grade, system, team, detection, business_impact,
impact_minutes, occurred_at, located_at, recovered_at) replaces the plain `ix_incident_detected_at`,
its first column: a period review counts the incidents of its window several ways, and each pass
now reads index entries instead of whole incident rows (bench/README.md, "Period review of a
year"). Incidents are written by people, so the wider index costs nothing that matters.

Revision ID: 0019_incident_figures
Revises: 0018_alert_tallies
Create Date: 2026-11-30 12:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0019_incident_figures'
down_revision: str | None = '0018_alert_tallies'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIGURE_COLUMNS = [
    'detected_at',
    'grade',
    'system',
    'team',
    'detection',
    'business_impact',
    'impact_minutes',
    'occurred_at',
    'located_at',
    'recovered_at',
]


def upgrade() -> None:
    op.create_index('ix_incident_detected_figures', 'incident', FIGURE_COLUMNS, unique=False)
    op.drop_index('ix_incident_detected_at', table_name='incident')


def downgrade() -> None:
    op.create_index('ix_incident_detected_at', 'incident', ['detected_at'], unique=False)
    op.drop_index('ix_incident_detected_figures', table_name='incident')
