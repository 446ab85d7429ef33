"""HTTP routes of the follow-up: activities, progress notes and the overdue list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from models import FollowupActivity
from service.cursors import encode_due_cursor
from service.deps import (
    AsOf,
    DueWindowDep,
    IfMatch,
    PrincipalDep,
    RowId,
    SessionDep,
    WindowDep,
    country_filter,
    table_filter,
)
from service.errors_doc import responses, versioned
from service.followups import service
from service.followups.schemas import (
    ActivityCreate,
    ActivityRead,
    ActivityStatus,
    ActivityUpdate,
    NoteCreate,
    NoteRead,
)
from service.followups.service import FollowupFilters
from service.pairings import idempotency
from service.pairings import service as pairings_service
from service.pairings.router import IdempotencyKey
from service.schemas import Page
from service.versions import etag

router = APIRouter(tags=["follow-up"])


Id = RowId


def _due_cursor(activity: FollowupActivity) -> str:
    """The cursor that continues after `activity` in a list by due date, then id."""
    return encode_due_cursor(activity.due_on, activity.id)


@router.post("/pairings/{pairing_id}/activities", response_model=ActivityRead,
             status_code=201, responses=versioned(201) | responses(401, 404, 409, 413, 422))
def create_activity(pairing_id: Id, data: ActivityCreate, request: Request,
                    session: SessionDep, principal: PrincipalDep,
                    idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Add a joint-monitoring activity to a commitment or agreement (either country or an
    organiser): title, responsible country, optional start date, due date, status."""
    def action() -> tuple[ActivityRead, dict[str, str]]:
        pairing = pairings_service.get_pairing_or_raise(session, pairing_id, principal,
                                                        lock=True)
        activity = service.create_activity(session, pairing=pairing, data=data,
                                           principal=principal)
        return (service.to_read(activity, pairing, service.today()),
                {"ETag": etag(activity), "Location": f"/api/v1/activities/{activity.id}"})

    return idempotency.respond(session, request, principal=principal, key=idempotency_key,
                               payload=data.model_dump(mode="json"), status_code=201,
                               action=action)


@router.get("/pairings/{pairing_id}/activities", response_model=Page[ActivityRead],
            responses=responses(400, 401, 404, 422))
def list_pairing_activities(pairing_id: Id, session: SessionDep, principal: PrincipalDep,
                            window: DueWindowDep) -> Page[ActivityRead]:
    """A pairing's activities by due date, one page at a time (`limit`, then `cursor` or
    `offset`), as every list; `next_cursor` continues after the last row seen, so an
    activity added or moved to another date meanwhile skips no row of the next page."""
    pairing = pairings_service.get_pairing_or_raise(session, pairing_id, principal)
    rows, total = service.list_activities(session, pairing, limit=window.limit + 1,
                                          offset=window.offset, after=window.after_due)
    as_of = service.today()
    return window.keyset_page(
        Page[ActivityRead], rows,
        [service.to_read(a, pairing, as_of) for a in rows[:window.limit]], total,
        cursor_of=_due_cursor)


@router.get("/activities/{activity_id}", response_model=ActivityRead,
            responses=versioned() | responses(401, 404))
def get_activity(activity_id: Id, session: SessionDep, principal: PrincipalDep,
                 response: Response) -> ActivityRead:
    """Get an activity, with its version as `ETag` (send it as `If-Match` when you change
    it). Country keys see the activities of their own pairings only (404 otherwise)."""
    activity, pairing = service.get_activity_or_raise(session, activity_id, principal)
    response.headers["ETag"] = etag(activity)
    return service.to_read(activity, pairing, service.today())


@router.patch("/activities/{activity_id}", response_model=ActivityRead,
              responses=versioned() | responses(401, 404, 409, 412, 413, 422))
def update_activity(activity_id: Id, data: ActivityUpdate, session: SessionDep,
                    principal: PrincipalDep, response: Response,
                    if_match: IfMatch = None) -> ActivityRead:
    """Change an activity (status: planned → in_progress → done, or cancelled, as
    `allowed_status` says); send `If-Match` with the ETag you read (`GET /activities/{id}`).

    Declining or withdrawing a pairing cancels its planned and in-progress activities (each
    change in the pairing's history, with the closing's actor and reason); a closed pairing's
    activities change no more, but a PATCH that sends them back as they are (`cancelled`
    included) is accepted and changes nothing."""
    activity, pairing = service.get_activity_or_raise(session, activity_id, principal, lock=True)
    service.update_activity(session, activity=activity, pairing=pairing, data=data,
                            principal=principal, if_match=if_match)
    response.headers["ETag"] = etag(activity)
    return service.to_read(activity, pairing, service.today())


@router.post("/pairings/{pairing_id}/notes", response_model=NoteRead, status_code=201,
             responses=responses(401, 404, 409, 413, 422))
def create_note(pairing_id: Id, data: NoteCreate, request: Request, session: SessionDep,
                principal: PrincipalDep, idempotency_key: IdempotencyKey = None
                ) -> JSONResponse:
    """Report progress on a commitment or agreement (at most 4,000 characters)."""
    def action() -> tuple[NoteRead, dict[str, str]]:
        pairing = pairings_service.get_pairing_or_raise(session, pairing_id, principal,
                                                        lock=True)
        note = service.create_note(session, pairing=pairing, data=data, principal=principal)
        return NoteRead.model_validate(note), {}

    return idempotency.respond(session, request, principal=principal, key=idempotency_key,
                               payload=data.model_dump(mode="json"), status_code=201,
                               action=action)


@router.get("/pairings/{pairing_id}/notes", response_model=Page[NoteRead],
            responses=responses(400, 401, 404, 422))
def list_notes(pairing_id: Id, session: SessionDep, principal: PrincipalDep,
               window: WindowDep) -> Page[NoteRead]:
    """A pairing's progress notes, oldest first, one page at a time (`limit`, then `cursor`
    or `offset`), as every list."""
    pairing = pairings_service.get_pairing_or_raise(session, pairing_id, principal)
    rows, total = service.list_notes(session, pairing, limit=window.limit, offset=window.offset)
    return window.page(Page[NoteRead], [NoteRead.model_validate(n) for n in rows], total)


ActivityCountry = Annotated[str | None, country_filter(
    "Only the activities of the pairings where this country is provider or recipient")]
ResponsibleCountry = Annotated[str | None, country_filter(
    "Only the activities this country must carry out", name="responsible")]
ActivityTable = Annotated[int | None, table_filter(
    "Only the activities of the pairings of this table")]


@router.get("/followups", response_model=Page[ActivityRead],
            responses=responses(400, 401, 404, 422))
def list_followups(
    session: SessionDep,
    principal: PrincipalDep,
    window: DueWindowDep,
    country: ActivityCountry,
    responsible: ResponsibleCountry,
    table_id: ActivityTable,
    overdue: Annotated[bool | None, Query(description=(
        "Only late (true) or not late (false) activities, judged on `as_of` (default: "
        "today, UTC)"))] = None,
    status: ActivityStatus | None = None,
    as_of: AsOf = None,
) -> Page[ActivityRead]:
    """Follow-up activities by due date: `overdue=true` lists what is late; `country` keeps
    the pairings of a country (either side), `responsible` the activities it must carry out.
    Country keys see their own pairings only. `next_cursor` continues after the last row
    seen, so activities that leave the list meanwhile (marked done while paging the overdue
    ones) skip no row of the next page."""
    filters = FollowupFilters(overdue=overdue, country=country, responsible=responsible,
                              table_id=table_id, status=status, as_of=as_of)
    rows, total = service.list_followups(session, principal=principal, filters=filters,
                                         limit=window.limit + 1, offset=window.offset,
                                         after=window.after_due)
    when = as_of or service.today()
    return window.keyset_page(
        Page[ActivityRead], rows, [service.to_read(a, p, when) for a, p in rows[:window.limit]],
        total, cursor_of=lambda row: _due_cursor(row[0]))
