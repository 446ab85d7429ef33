"""Follow-up rules: activities and notes on commitments and agreements, overdue listing.

Whoever may read a pairing (its two countries, organisers, admins) may add activities and
notes to it; each activity change is also an event in the pairing's audit trail, which keeps
the activity's created state and, for every later change, each field's value before and after.
When a pairing is declined or withdrawn, its planned and in-progress activities are cancelled
in the same transaction (`cancel_open_activities`), so no list or report shows them open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from models import FollowupActivity, Pairing, ProgressNote
from service.auth.service import Principal
from service.codes import upper_code
from service.errors import Conflict, NotFound, Unprocessable, reject_nulls
from service.followups.schemas import ActivityCreate, ActivityRead, ActivityUpdate, NoteCreate
from service.pairings import audit
from service.pairings import service as pairings_service
from service.pairings.audit import Actor
from service.versions import check_if_match

FOLLOWED_STAGES = ("commitment", "agreement")
OPEN_STATUSES = ("planned", "in_progress")
NEXT_STATUS: dict[str, tuple[str, ...]] = {
    "planned": ("in_progress", "done", "cancelled"),
    "in_progress": ("done", "cancelled"),
    "done": (),
    "cancelled": (),
}


@dataclass(frozen=True, slots=True)
class FollowupFilters:
    """Filters of `GET /followups`; None means no filter."""

    overdue: bool | None = None
    country: str | None = None
    responsible: str | None = None
    table_id: int | None = None
    status: str | None = None
    as_of: date | None = None


def today() -> date:
    """Today's date in UTC (due dates are compared with it)."""
    return datetime.now(UTC).date()


def is_overdue(activity: FollowupActivity, pairing: Pairing, as_of: date) -> bool:
    """Planned or in progress, due before `as_of`, of a pairing still followed (a declined
    or withdrawn pairing has nothing overdue)."""
    return (activity.status in OPEN_STATUSES and activity.due_on < as_of
            and pairing.stage in FOLLOWED_STAGES)


def overdue_clause(as_of: date) -> ColumnElement[bool]:
    """`is_overdue` as SQL, over `followup_activities` joined with their `pairings`."""
    return and_(FollowupActivity.status.in_(OPEN_STATUSES), FollowupActivity.due_on < as_of,
                Pairing.stage.in_(FOLLOWED_STAGES))


def allowed_statuses(activity: FollowupActivity, pairing: Pairing) -> list[str]:
    """Return the statuses a change may move the activity to: the next ones while its pairing
    is followed; none once the pairing is declined or withdrawn, since closing it cancelled
    its open activities (`cancel_open_activities`; migration d0ba640f230b for those closed
    before)."""
    if pairing.stage not in FOLLOWED_STAGES:
        return []
    return list(NEXT_STATUS[activity.status])


def to_read(activity: FollowupActivity, pairing: Pairing, as_of: date) -> ActivityRead:
    """Serialise an activity with its pairing's countries and stage."""
    return ActivityRead(
        id=activity.id, pairing_id=pairing.id, table_id=pairing.table_id,
        recipient=pairing.recipient_iso3, provider=pairing.provider_iso3,
        pairing_stage=pairing.stage, title=activity.title, description=activity.description,
        responsible_country=activity.responsible_iso3, starts_on=activity.starts_on,
        due_on=activity.due_on, status=activity.status,
        overdue=is_overdue(activity, pairing, as_of),
        allowed_status=allowed_statuses(activity, pairing),
        version=activity.version, created_by=activity.created_by,
        created_at=activity.created_at, updated_at=activity.updated_at)


def _require_followed(pairing: Pairing) -> None:
    if pairing.stage not in FOLLOWED_STAGES:
        raise Conflict(f"Pairing {pairing.id} is at '{pairing.stage}'; activities and progress "
                       "notes belong to commitments and agreements.", stage=pairing.stage)


def _require_party(pairing: Pairing, country: str) -> None:
    parties = (pairing.recipient_iso3, pairing.provider_iso3)
    if country not in parties:
        raise Unprocessable(
            f"The responsible country is one of the pairing's: {' or '.join(parties)}.",
            errors=[{"field": "responsible_country", "message": f"one of {', '.join(parties)}"}])


def _state(activity: FollowupActivity) -> dict[str, str | None]:
    """The fields a user sets, as the audit trail keeps them (dates as ISO strings)."""
    return {"title": activity.title, "description": activity.description,
            "responsible": activity.responsible_iso3,
            "starts_on": activity.starts_on.isoformat() if activity.starts_on else None,
            "due_on": activity.due_on.isoformat(), "status": activity.status}


def create_activity(session: Session, *, pairing: Pairing, data: ActivityCreate,
                    principal: Principal) -> FollowupActivity:
    """Add an activity to a commitment or agreement."""
    _require_followed(pairing)
    _require_party(pairing, data.responsible_country)
    actor = Actor.of(principal)
    activity = FollowupActivity(
        pairing_id=pairing.id, title=data.title, description=data.description,
        responsible_iso3=data.responsible_country, starts_on=data.starts_on,
        due_on=data.due_on, status=data.status, version=1, created_by=actor.label()[:160])
    session.add(activity)
    session.flush()
    audit.record(session, pairing=pairing, action="activity_added", actor=actor,
                 from_stage=pairing.stage, to_stage=pairing.stage,
                 details={"activity_id": activity.id, **_state(activity)})
    return activity


def get_activity_or_raise(session: Session, activity_id: int, principal: Principal, *,
                          lock: bool = False) -> tuple[FollowupActivity, Pairing]:
    """Return a visible activity and its pairing (both locked for a change), or raise 404.

    The pairing is locked before the activity, as when an activity or note is added, so that
    a change racing a decline or withdrawal of the pairing waits for it and sees it.
    """
    stmt = select(FollowupActivity).where(FollowupActivity.id == activity_id)
    if lock:
        pairing_id = session.scalar(select(FollowupActivity.pairing_id)
                                    .where(FollowupActivity.id == activity_id))
        if pairing_id is not None:
            session.execute(select(Pairing.id).where(Pairing.id == pairing_id).with_for_update())
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    activity = session.scalar(stmt)
    pairing = (session.get(Pairing, activity.pairing_id, populate_existing=lock)
               if activity else None)
    if activity is None or pairing is None or not pairings_service.can_see(pairing, principal):
        raise NotFound(f"No activity with id {activity_id}.")
    return activity, pairing


def update_activity(session: Session, *, activity: FollowupActivity, pairing: Pairing,
                    data: ActivityUpdate, principal: Principal,
                    if_match: str | None) -> FollowupActivity:
    """Change an activity: status only moves forward, dates stay ordered; 412 if stale."""
    check_if_match(activity, if_match, what=f"Activity {activity.id}")
    changes = data.model_dump(exclude_unset=True)
    allowed = allowed_statuses(activity, pairing)
    # By the activity's columns; fields sent back as they are change nothing (a form sends
    # them all): only the others count as a change of a closed pairing's activity.
    columns = {"responsible_iso3" if k == "responsible_country" else k: v
               for k, v in changes.items()}
    changed = {k: v for k, v in columns.items() if getattr(activity, k) != v}
    if pairing.stage not in FOLLOWED_STAGES and changed not in ({}, {"status": "cancelled"}):
        raise Conflict(f"Pairing {pairing.id} is {pairing.stage}: its activities can only be "
                       f"cancelled; activity {activity.id} is already {activity.status}.",
                       stage=pairing.stage, allowed=allowed)
    reject_nulls(changes, nullable={"starts_on"})
    status = changes.get("status", activity.status)
    if status != activity.status and status not in allowed:
        raise Conflict(f"An activity that is '{activity.status}' cannot become '{status}'. "
                       f"Allowed: {', '.join(allowed) or 'none'}.", allowed=allowed)
    if "responsible_country" in changes:
        _require_party(pairing, changes["responsible_country"])
    starts = columns.get("starts_on", activity.starts_on)
    due = columns.get("due_on", activity.due_on)
    if starts is not None and due < starts:
        raise Unprocessable(f"due_on ({due}) must not be before starts_on ({starts}).",
                            errors=[{"field": "due_on", "message": "before starts_on"}])
    if changed:
        _change(session, activity=activity, pairing=pairing, changed=changed,
                actor=Actor.of(principal))
    return activity


def _change(session: Session, *, activity: FollowupActivity, pairing: Pairing,
            changed: dict[str, object], actor: Actor, reason: str | None = None,
            details: dict[str, object] | None = None) -> None:
    """Set an activity's columns, bump its version and record an `activity_updated` event."""
    before = _state(activity)
    for key, value in changed.items():
        setattr(activity, key, value)
    activity.version += 1
    session.flush()
    after = _state(activity)
    # Before and after, so the history alone rebuilds every version of the activity.
    audit.record(session, pairing=pairing, action="activity_updated", actor=actor,
                 from_stage=pairing.stage, to_stage=pairing.stage, reason=reason,
                 details={"activity_id": activity.id, "version": activity.version,
                          "changes": {k: {"from": before[k], "to": after[k]}
                                      for k in after if after[k] != before[k]},
                          **(details or {})})


def cancel_open_activities(session: Session, *, pairing: Pairing, actor: Actor,
                           reason: str | None) -> list[int]:
    """Cancel the planned and in-progress activities of a pairing just declined or withdrawn
    (in the transaction of that change, the pairing's row locked), each with an
    `activity_updated` event by the same actor, with the same reason, naming the closing
    (`pairing_closed`); return their ids. Done and cancelled activities stay as they are."""
    activities = session.scalars(
        select(FollowupActivity).where(FollowupActivity.pairing_id == pairing.id,
                                       FollowupActivity.status.in_(OPEN_STATUSES))
        .order_by(FollowupActivity.id).with_for_update()
        .execution_options(populate_existing=True)).all()
    for activity in activities:
        _change(session, activity=activity, pairing=pairing, changed={"status": "cancelled"},
                actor=actor, reason=reason, details={"pairing_closed": pairing.stage})
    return [activity.id for activity in activities]


def _after_due(after: tuple[date, int] | None) -> list[ColumnElement[bool]]:
    """The condition of the activities after (due date, id) `after` in due-date order."""
    if after is None:
        return []
    due, last_id = after
    return [or_(FollowupActivity.due_on > due,
                and_(FollowupActivity.due_on == due, FollowupActivity.id > last_id))]


def list_activities(session: Session, pairing: Pairing, *, limit: int, offset: int,
                    after: tuple[date, int] | None = None
                    ) -> tuple[list[FollowupActivity], int]:
    """Return a page of a pairing's activities by due date then id (those after the
    (due date, id) `after`, if given), and their total count."""
    mine = FollowupActivity.pairing_id == pairing.id
    total = session.scalar(select(func.count(FollowupActivity.id)).where(mine)) or 0
    rows = session.scalars(select(FollowupActivity).where(mine, *_after_due(after))
                           .order_by(FollowupActivity.due_on, FollowupActivity.id)
                           .limit(limit).offset(offset))
    return list(rows), total


def list_followups(session: Session, *, principal: Principal, filters: FollowupFilters,
                   limit: int, offset: int, after: tuple[date, int] | None = None
                   ) -> tuple[list[tuple[FollowupActivity, Pairing]], int]:
    """Return activities visible to the caller, by due date then id (those after the
    (due date, id) `after`, if given), and the total count of the list."""
    as_of = filters.as_of or today()
    conds: list[ColumnElement[bool]] = [pairings_service.visible_clause(principal)]
    if filters.overdue is not None:
        late = overdue_clause(as_of)
        conds.append(late if filters.overdue else ~late)
    if filters.country:
        conds.append(pairings_service.involving([upper_code(filters.country)]))
    if filters.responsible:
        conds.append(FollowupActivity.responsible_iso3 == upper_code(filters.responsible))
    if filters.table_id is not None:
        conds.append(Pairing.table_id == filters.table_id)
    if filters.status:
        conds.append(FollowupActivity.status == filters.status)
    base = select(FollowupActivity, Pairing).join(
        Pairing, Pairing.id == FollowupActivity.pairing_id).where(*conds)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    base = base.where(*_after_due(after))
    rows = session.execute(base.order_by(FollowupActivity.due_on, FollowupActivity.id)
                           .limit(limit).offset(offset))
    return [(activity, pairing) for activity, pairing in rows], total


def create_note(session: Session, *, pairing: Pairing, data: NoteCreate,
                principal: Principal) -> ProgressNote:
    """Add a progress note to a commitment or agreement (optionally about an activity)."""
    _require_followed(pairing)
    if data.activity_id is not None:
        activity = session.get(FollowupActivity, data.activity_id)
        if activity is None or activity.pairing_id != pairing.id:
            raise Unprocessable(f"Pairing {pairing.id} has no activity {data.activity_id}.",
                                errors=[{"field": "activity_id", "message": "unknown"}])
    actor = Actor.of(principal)
    note = ProgressNote(pairing_id=pairing.id, activity_id=data.activity_id, text=data.text,
                        author_key_id=actor.key_id, author_name=actor.name,
                        author_role=actor.role, author_country=actor.country)
    session.add(note)
    session.flush()
    audit.record(session, pairing=pairing, action="note_added", actor=actor,
                 from_stage=pairing.stage, to_stage=pairing.stage,
                 details={"note_id": note.id, "activity_id": note.activity_id})
    return note


def list_notes(session: Session, pairing: Pairing, *, limit: int, offset: int
               ) -> tuple[list[ProgressNote], int]:
    """Return a page of a pairing's progress notes, oldest first, and their total count."""
    mine = ProgressNote.pairing_id == pairing.id
    total = session.scalar(select(func.count(ProgressNote.id)).where(mine)) or 0
    rows = session.scalars(select(ProgressNote).where(mine).order_by(ProgressNote.id)
                           .limit(limit).offset(offset))
    return list(rows), total
