"""HTTP routes of pairings: create, list, read, history, transitions and partners."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request, Response, status
from fastapi.responses import JSONResponse

from models import CooperationTable, Need, Offer
from service.deps import (
    AfterWindowDep,
    IfMatch,
    IndexCacheDep,
    KeysetWindowDep,
    PrincipalDep,
    SessionDep,
    country_filter,
    item_filter,
    table_filter,
)
from service.errors_doc import responses, versioned
from service.matching import service as matching
from service.pairings import audit, idempotency, lifecycle, service
from service.pairings.schemas import (
    EventRead,
    History,
    PairingCreate,
    PairingRead,
    PartnerWrite,
    Stage,
    TransitionRequest,
)
from service.pairings.service import PairingFilters
from service.schemas import DIGITS, MAX_ID, Page
from service.scoring import ScoredPairing
from service.versions import etag

router = APIRouter(prefix="/pairings", tags=["pairings"])
PairingId = Annotated[int, Path(ge=1, le=MAX_ID, description="Id of the pairing"), DIGITS]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=200,
    description="Any unique string (a UUID): a retry with the same key returns the first "
                "response and changes nothing again")]


def _read(session: SessionDep, principal: PrincipalDep,
          pairing_id: int) -> tuple[PairingRead, dict[str, str]]:
    pairing = service.get_pairing_or_raise(session, pairing_id, principal)
    disabled = service.disabled_countries(session)
    return service.to_read(pairing, principal, disabled=disabled), {"ETag": etag(pairing)}


@router.post("", response_model=PairingRead, status_code=status.HTTP_201_CREATED,
             responses=versioned(201) | responses(401, 403, 409, 413, 422))
def create_pairing(data: PairingCreate, request: Request, session: SessionDep,
                   principal: PrincipalDep, cache: IndexCacheDep,
                   idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Propose a pairing of a need and an offer of two countries.

    Organisers create it `suggested` (from a suggestion); the recipient country creates it at
    `expression_of_interest` ("we are interested in this offer"). One open pairing per
    (need, offer): a second is a 409 naming the first. The pairing carries the pair's score
    and its components, with the table's weights when it belongs to one.
    """
    def score(need: Need, offer: Offer, table_id: int | None) -> ScoredPairing | None:
        table = None if table_id is None else session.get(CooperationTable, table_id)
        return matching.score_pairing(session, cache, need=need, offer=offer, table=table)

    def action() -> tuple[PairingRead, dict[str, str]]:
        pairing = service.create_pairing(session, data=data, principal=principal,
                                         scorer=score)
        body = service.to_read(pairing, principal,
                               disabled=service.disabled_countries(session))
        return body, {"ETag": etag(pairing), "Location": f"/api/v1/pairings/{pairing.id}"}

    return idempotency.respond(session, request, principal=principal, key=idempotency_key,
                               payload=data.model_dump(mode="json"), status_code=201,
                               action=action)


PairingCountry = Annotated[str | None, country_filter(
    "Only the pairings where this country is provider or recipient")]
PairingTable = Annotated[int | None, table_filter("Only the pairings of this table")]
PairingNeed = Annotated[int | None, item_filter("need", "Only the pairings of this need")]
PairingOffer = Annotated[int | None, item_filter("offer", "Only the pairings of this offer")]


@router.get("", response_model=Page[PairingRead], responses=responses(400, 401, 404, 422))
def list_pairings(
    session: SessionDep,
    principal: PrincipalDep,
    window: KeysetWindowDep,
    country: PairingCountry,
    table_id: PairingTable,
    need_id: PairingNeed,
    offer_id: PairingOffer,
    stage: Stage | None = None,
) -> Page[PairingRead]:
    """List the pairings visible to the caller (country keys: their own), newest first."""
    filters = PairingFilters(table_id=table_id, stage=stage, country=country, need_id=need_id,
                             offer_id=offer_id)
    rows, total = service.list_pairings(session, principal=principal, filters=filters,
                                        limit=window.limit + 1, offset=window.offset,
                                        before=window.before)
    disabled = service.disabled_countries(session)
    return window.keyset_page(Page[PairingRead], rows,
                              [service.to_read(p, principal, disabled=disabled) for p in rows],
                              total)


@router.get("/{pairing_id}", response_model=PairingRead,
            responses=versioned() | responses(401, 404))
def get_pairing(pairing_id: PairingId, session: SessionDep, principal: PrincipalDep,
                response: Response) -> PairingRead:
    """Get a pairing with its consents, what it waits for and where it may go next."""
    body, headers = _read(session, principal, pairing_id)
    response.headers.update(headers)
    return body


@router.get("/{pairing_id}/history", response_model=History,
            responses=responses(400, 401, 404, 422))
def get_pairing_history(pairing_id: PairingId, session: SessionDep, principal: PrincipalDep,
                        window: AfterWindowDep) -> History:
    """The audit trail: every change, who made it (key, role, country, delegation
    represented), when, from which stage to which, and why. Never edited.

    Oldest first, one page at a time (`limit`, then `cursor` or `offset`), as every list;
    `next_cursor` continues after the last event seen, so events added while you page come
    on later pages and none is repeated or skipped.
    """
    service.get_pairing_or_raise(session, pairing_id, principal)
    rows, total = audit.history(session, pairing_id, limit=window.limit + 1,
                                offset=window.offset, after=window.after)
    return History(pairing_id=pairing_id, total=total, limit=window.limit,
                   events=[EventRead.model_validate(e) for e in rows[:window.limit]],
                   next_cursor=window.keyset_cursor(rows))


@router.post("/{pairing_id}/transitions", response_model=PairingRead,
             responses=versioned() | responses(401, 403, 404, 409, 412, 413, 422))
def transition_pairing(pairing_id: PairingId, data: TransitionRequest, request: Request,
                       session: SessionDep, principal: PrincipalDep, if_match: IfMatch = None,
                       idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """Move a pairing forward, or give your side's consent.

    - `expression_of_interest`: the recipient.
    - `commitment`, `agreement`: each country confirms with its own key; the stage changes
      when the last consent is in (for an agreement with a triangular partner, also the
      organiser's confirmation of the partner).
    - `declined`, `withdrawn`: either country, with a `reason`. An organiser or admin may
      also withdraw a `suggested` pairing in its own name (no `on_behalf_of`), at any time:
      a suggestion is the secretariat's own until a country takes it up.

    Organisers may act for a delegation (`on_behalf_of`) while the table is `in_session`; the
    audit trail records it. Any other move is a 409 listing the `allowed` ones; so is a move
    on while the need or offer is not published or either country is disabled (only
    `declined` and `withdrawn` are allowed meanwhile).
    """
    def action() -> tuple[PairingRead, dict[str, str]]:
        pairing = service.get_pairing_or_raise(session, pairing_id, principal, lock=True)
        lifecycle.transition(session, pairing=pairing, data=data, principal=principal,
                             if_match=if_match)
        return _read(session, principal, pairing_id)

    payload = {"body": data.model_dump(mode="json"), "if_match": if_match}
    return idempotency.respond(session, request, principal=principal, key=idempotency_key,
                               payload=payload, status_code=200, action=action)


@router.put("/{pairing_id}/partner", response_model=PairingRead,
            responses=versioned() | responses(401, 404, 409, 412, 422))
def set_pairing_partner(pairing_id: PairingId, data: PartnerWrite, session: SessionDep,
                        principal: PrincipalDep, response: Response,
                        if_match: IfMatch = None) -> PairingRead:
    """Name (or change) the triangular partner; either country or an organiser. Agreement
    consents given so far are cleared, since they were for another arrangement."""
    pairing = service.get_pairing_or_raise(session, pairing_id, principal, lock=True)
    lifecycle.set_partner(session, pairing=pairing, data=data, principal=principal,
                          if_match=if_match)
    body, headers = _read(session, principal, pairing_id)
    response.headers.update(headers)
    return body


@router.delete("/{pairing_id}/partner", response_model=PairingRead,
               responses=versioned() | responses(401, 404, 409, 412))
def remove_pairing_partner(pairing_id: PairingId, session: SessionDep,
                           principal: PrincipalDep, response: Response,
                           if_match: IfMatch = None) -> PairingRead:
    """Remove the triangular partner (before the agreement)."""
    pairing = service.get_pairing_or_raise(session, pairing_id, principal, lock=True)
    lifecycle.remove_partner(session, pairing=pairing, principal=principal, if_match=if_match)
    body, headers = _read(session, principal, pairing_id)
    response.headers.update(headers)
    return body


@router.post("/{pairing_id}/partner/confirmation", response_model=PairingRead,
             responses=versioned() | responses(401, 403, 404, 409, 412, 422))
def confirm_pairing_partner(pairing_id: PairingId, request: Request, session: SessionDep,
                            principal: PrincipalDep, if_match: IfMatch = None,
                            idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """The organiser confirms the triangular partner for the agreement (organisers only);
    if both countries have signed, the pairing becomes an `agreement`."""
    def action() -> tuple[PairingRead, dict[str, str]]:
        pairing = service.get_pairing_or_raise(session, pairing_id, principal, lock=True)
        lifecycle.confirm_partner(session, pairing=pairing, principal=principal,
                                  if_match=if_match)
        return _read(session, principal, pairing_id)

    return idempotency.respond(session, request, principal=principal, key=idempotency_key,
                               payload={"if_match": if_match}, status_code=200, action=action)
