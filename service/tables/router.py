"""HTTP routes for cooperation tables (organisers and admins manage; everyone reads)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from service.deps import IfMatch, KeysetWindowDep, PrincipalDep, RowId, SessionDep, StaffDep
from service.errors_doc import responses, versioned
from service.schemas import Page
from service.tables import service
from service.tables.schemas import TableCreate, TableRead, TableStatus, TableUpdate
from service.versions import etag

router = APIRouter(prefix="/tables", tags=["cooperation tables"])
TableId = RowId


@router.get("", response_model=Page[TableRead], responses=responses(400, 401, 422))
def list_tables(
    session: SessionDep,
    _principal: PrincipalDep,
    window: KeysetWindowDep,
    status_: Annotated[TableStatus | None, Query(alias="status")] = None,
) -> Page[TableRead]:
    """List cooperation tables, newest first."""
    rows, total = service.list_tables(session, status=status_, limit=window.limit + 1,
                                      offset=window.offset, before=window.before)
    return window.keyset_page(Page[TableRead], rows, [service.to_read(t) for t in rows],
                              total)


@router.post("", response_model=TableRead, status_code=status.HTTP_201_CREATED,
             responses=versioned(201) | responses(401, 403, 422))
def create_table(data: TableCreate, session: SessionDep, _staff: StaffDep,
                 response: Response) -> TableRead:
    """Create a cooperation table (organisers); its version is in `ETag`, for the first
    conditional PATCH."""
    table = service.create_table(session, data=data)
    response.headers["Location"] = f"/api/v1/tables/{table.id}"
    response.headers["ETag"] = etag(table)
    return service.to_read(table)


@router.get("/{table_id}", response_model=TableRead,
            responses=versioned() | responses(401, 404))
def get_table(table_id: TableId, session: SessionDep, _principal: PrincipalDep,
              response: Response) -> TableRead:
    """Get a cooperation table with its effective settings; its version is in `ETag`."""
    table = service.get_table_or_raise(session, table_id)
    response.headers["ETag"] = etag(table)
    return service.to_read(table)


@router.patch("/{table_id}", response_model=TableRead,
              responses=versioned() | responses(401, 403, 404, 409, 412, 422))
def update_table(table_id: TableId, data: TableUpdate, session: SessionDep,
                 staff: StaffDep, response: Response,
                 if_match: IfMatch = None) -> TableRead:
    """Change a table's settings, participants or status.

    The status only moves forward, `planning → open → matching → in_session → closed`, and
    may skip steps; a move back is 409 with `current_status`, `requested_status` and
    `allowed` (the statuses it may still move to). A closed table takes no change (409 with
    `current_status` and the `fields` refused); closing it again changes nothing.

    Send `If-Match` with the ETag you read (`GET /tables/{id}`) so that a change made
    meanwhile by another organiser is not overwritten: a stale one gets 412 (a malformed one
    400).

    Closing the table withdraws the suggestions nobody took up. A country removed from the
    participants has its suggestions at the table withdrawn too; while it takes part in
    pairings under way there (expression of interest or later), its removal is refused
    (409, with `pairings` and `countries`): decline or withdraw those pairings first.
    """
    table = service.get_table_or_raise(session, table_id, lock=True)
    table = service.update_table(session, table=table, data=data, principal=staff,
                                 if_match=if_match)
    response.headers["ETag"] = etag(table)
    return service.to_read(table)
