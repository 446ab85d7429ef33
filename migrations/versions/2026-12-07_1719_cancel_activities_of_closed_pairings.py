"""Cancel the open activities of pairings declined or withdrawn before closings cancelled them

Declining or withdrawing a pairing now cancels its planned and in-progress follow-up
activities in the same transaction. A pairing closed before that kept them open for good: they
were listed as open and counted so in the reports. This data migration cancels them as the
closing does now: each activity becomes `cancelled` with its version bumped and `updated_at`
set, and the pairing's history gets one `activity_updated` event per activity, with the details
the closing writes (`pairing_closed`) and the migration as the actor (`sscmatch migrate`, role
admin, no key), because no one person cancelled them. Done and cancelled activities, and the
activities of open pairings, stay as they are.

Two statements per closing stage (set-based, fast on large tables): the events are inserted
first, from the activities as they still are (status before, version after), then the
activities are updated.

Revision ID: d0ba640f230b
Revises: b9e77c584aff
Create Date: 2026-12-07 17:19:48.314283
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "d0ba640f230b"
down_revision: str | None = "b9e77c584aff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLOSING_STAGES = ("declined", "withdrawn")
OPEN_STATUSES = ("planned", "in_progress")
ACTOR_NAME = "sscmatch migrate"
ACTOR_ROLE = "admin"

pairings = sa.table(
    "pairings", sa.column("id", sa.Integer), sa.column("stage", sa.String),
    sa.column("version", sa.Integer),
)
activities = sa.table(
    "followup_activities", sa.column("id", sa.Integer), sa.column("pairing_id", sa.Integer),
    sa.column("status", sa.String), sa.column("version", sa.Integer),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
events = sa.table(
    "pairing_events", sa.column("pairing_id", sa.Integer),
    sa.column("at", sa.DateTime(timezone=True)), sa.column("action", sa.String),
    sa.column("from_stage", sa.String), sa.column("to_stage", sa.String),
    sa.column("actor_key_id", sa.Integer), sa.column("actor_name", sa.String),
    sa.column("actor_role", sa.String), sa.column("actor_country", sa.String),
    sa.column("on_behalf_of", sa.String), sa.column("reason", sa.Text),
    sa.column("details", sa.JSON), sa.column("version", sa.Integer),
)


def _text(value: str) -> sa.ColumnElement[str]:
    """A string written into the statement: PostgreSQL's json_build_object cannot tell the
    type of a bound parameter."""
    return sa.literal_column("'" + value.replace("'", "''") + "'", sa.String)


def _json_object(fields: dict[str, sa.ColumnElement[Any]]) -> sa.ColumnElement[Any]:
    """A JSON object built by the database, keys in the given order."""
    build = (sa.func.json_build_object if op.get_bind().dialect.name == "postgresql"
             else sa.func.json_object)
    return build(*(part for key, value in fields.items() for part in (_text(key), value)))


def _cancel_open_activities(stage: str, now: datetime) -> None:
    """Cancel the open activities of the pairings at `stage`, each with its event."""
    open_of_closed = sa.and_(activities.c.status.in_(OPEN_STATUSES),
                             activities.c.pairing_id.in_(
                                 sa.select(pairings.c.id).where(pairings.c.stage == stage)))
    details = _json_object({
        "activity_id": activities.c.id,
        "version": activities.c.version + 1,
        "changes": _json_object({"status": _json_object({"from": activities.c.status,
                                                         "to": _text("cancelled")})}),
        "pairing_closed": _text(stage),
    })
    reason = f"The pairing was {stage} before closing a pairing cancelled its activities"
    op.execute(events.insert().from_select(
        ["pairing_id", "at", "action", "from_stage", "to_stage", "actor_key_id", "actor_name",
         "actor_role", "actor_country", "on_behalf_of", "reason", "details", "version"],
        sa.select(pairings.c.id, sa.literal(now, sa.DateTime(timezone=True)),
                  _text("activity_updated"), _text(stage), _text(stage),
                  sa.null(), _text(ACTOR_NAME), _text(ACTOR_ROLE), sa.null(), sa.null(),
                  _text(reason), details, pairings.c.version)
        .select_from(activities.join(pairings, pairings.c.id == activities.c.pairing_id))
        .where(open_of_closed)
        .order_by(pairings.c.id, activities.c.id)))
    op.execute(activities.update().where(open_of_closed).values(
        status="cancelled", version=activities.c.version + 1, updated_at=now))


def upgrade() -> None:
    now = datetime.now(UTC)
    for stage in CLOSING_STAGES:
        _cancel_open_activities(stage, now)


def downgrade() -> None:
    # A data migration: nothing to undo. The schema is as it was, and the code before it reads
    # cancelled activities as such; reopening them would show them open again, and the
    # history keeps the events. Upgrading again finds nothing left to cancel.
    pass
