"""action items that get verified: acceptance criteria, verifier, tracker, verified_at/by

Under the old rules an item was closed by whoever marked it `done`; now `done` is the owner's
word and the item closes when its verifier accepts it (`verified`). Items `done` before this
revision were closed by the rules of their time, counted as closed on time or late in every
weekly section since, so they become `verified` as of their `closed_at`, with `verified_by`
left empty (nobody verified them) and an audit entry saying why. Leaving them `done` would
reopen them as waiting for 验收 and rewrite the 改进项按期闭环率 of past weeks.

Each item gets as verifier its 复盘's owner, else its incident's owner, as a new item does;
with neither it keeps none, and only an admin verifies it (or anybody names one).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel

import incidents.db
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MIGRATED = 'migration 0010'
REASON = 'done before verification existed: closed by the rules of its time'


def upgrade() -> None:
    with op.batch_alter_table('action_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acceptance_criteria', sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column('verifier', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
        batch_op.add_column(
            sa.Column('tracker', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
        batch_op.add_column(
            sa.Column('verified_at', incidents.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column('verified_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )

    op.execute(
        "UPDATE action_item SET verifier = ("
        " SELECT COALESCE(postmortem.owner, incident.owner) FROM incident"
        " LEFT JOIN postmortem ON postmortem.incident_id = incident.id"
        " WHERE incident.id = action_item.incident_id)"
    )
    op.get_bind().execute(
        sa.text(
            "INSERT INTO audit_entry (incident_id, at, actor, action, field, old_value,"
            " new_value, reason) SELECT incident_id, :at, :actor,"
            " 'action_item:' || CAST(id AS VARCHAR(20)), 'status', 'done', 'verified', :reason"
            " FROM action_item WHERE status = 'done'"
        ).bindparams(
            sa.bindparam('at', datetime.now(UTC), incidents.db.UTCDateTime(timezone=True)),
            actor=MIGRATED,
            reason=REASON,
        )
    )
    op.execute(
        "UPDATE action_item SET status = 'verified',"
        " closed_at = COALESCE(closed_at, created_at) WHERE status = 'done'"
    )
    op.execute(
        "UPDATE action_item SET verified_at = closed_at"
        " WHERE status IN ('verified', 'not_doing')"
    )


def downgrade() -> None:
    # The old rules know no verification: verified is done again, a request not to do an item
    # is an item in progress.
    op.execute("UPDATE action_item SET status = 'done' WHERE status = 'verified'")
    op.execute(
        "UPDATE action_item SET status = 'in_progress' WHERE status = 'not_doing_requested'"
    )
    with op.batch_alter_table('action_item', schema=None) as batch_op:
        for name in ('verified_by', 'verified_at', 'tracker', 'verifier', 'acceptance_criteria'):
            batch_op.drop_column(name)
