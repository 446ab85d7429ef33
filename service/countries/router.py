"""HTTP routes for countries, groupings and factors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from models import Country, Factor, Grouping
from service.countries import service
from service.countries.schemas import (
    CountryRead,
    CountryUpdate,
    FactorCreate,
    FactorRead,
    FactorUpdate,
    GroupingCreate,
    GroupingRead,
    GroupingUpdate,
)
from service.deps import AdminDep, IfMatch, PrincipalDep, SessionDep
from service.errors_doc import responses, versioned
from service.versions import etag

router = APIRouter(tags=["reference data"])


def _grouping_read(grouping: Grouping) -> GroupingRead:
    return GroupingRead(code=grouping.code, name=grouping.name, kind=grouping.kind,
                        members=[c.iso3 for c in grouping.countries], version=grouping.version)


@router.get("/countries", response_model=list[CountryRead], responses=responses(401, 422))
def list_countries(
    session: SessionDep,
    _principal: PrincipalDep,
    member: Annotated[bool | None, Query(description="Members (true) or non-members")] = None,
    enabled: Annotated[bool | None, Query(description="Enabled to take part")] = None,
    grouping: Annotated[str | None, Query(max_length=32, description="Grouping code")] = None,
    q: Annotated[str | None, Query(
        max_length=100, description="Part of the name (any letter case, accents ignored)")] = None,
) -> list[Country]:
    """List ISO 3166-1 countries with their languages, membership and groupings; an unknown
    grouping code is a 422 naming it and the known codes."""
    return service.list_countries(session, member=member, enabled=enabled, grouping=grouping, q=q)


@router.get("/countries/{iso3}", response_model=CountryRead,
            responses=versioned() | responses(401, 404))
def get_country(iso3: str, session: SessionDep, _principal: PrincipalDep,
                response: Response) -> Country:
    """Get one country by ISO 3166-1 alpha-3 code; its version is in `ETag`."""
    country = service.get_country_or_raise(session, iso3)
    response.headers["ETag"] = etag(country)
    return country


@router.patch("/countries/{iso3}", response_model=CountryRead,
              responses=versioned() | responses(400, 401, 403, 404, 412, 422))
def update_country(iso3: str, data: CountryUpdate, session: SessionDep, _admin: AdminDep,
                   response: Response, if_match: IfMatch = None) -> Country:
    """Change membership, participation (`enabled`), languages or groupings (admins).

    Send `If-Match` with the ETag you read (`GET /countries/{iso3}`) so that a change made
    meanwhile by another admin is not overwritten: a stale one gets 412 (a malformed one 400).
    """
    country = service.get_country_or_raise(session, iso3, lock=True)
    country = service.update_country(session, country=country, data=data, if_match=if_match)
    response.headers["ETag"] = etag(country)
    return country


@router.get("/groupings", response_model=list[GroupingRead], responses=responses(401))
def list_groupings(session: SessionDep, _principal: PrincipalDep) -> list[GroupingRead]:
    """List regional groupings and their members."""
    return [_grouping_read(g) for g in service.list_groupings(session)]


@router.post("/groupings", response_model=GroupingRead, status_code=status.HTTP_201_CREATED,
             responses=responses(401, 403, 409, 422))
def create_grouping(data: GroupingCreate, session: SessionDep, _admin: AdminDep) -> GroupingRead:
    """Add a regional grouping (admins)."""
    grouping = service.create_grouping(session, data=data)
    return _grouping_read(grouping)


@router.get("/groupings/{code}", response_model=GroupingRead,
            responses=versioned() | responses(401, 404))
def get_grouping(code: str, session: SessionDep, _principal: PrincipalDep,
                 response: Response) -> GroupingRead:
    """Get one regional grouping and its members by code (any letter case); its version is in
    `ETag`."""
    grouping = service.get_grouping_or_raise(session, code)
    response.headers["ETag"] = etag(grouping)
    return _grouping_read(grouping)


@router.patch("/groupings/{code}", response_model=GroupingRead,
              responses=versioned() | responses(400, 401, 403, 404, 412, 422))
def update_grouping(code: str, data: GroupingUpdate, session: SessionDep, _admin: AdminDep,
                    response: Response, if_match: IfMatch = None) -> GroupingRead:
    """Rename a grouping, change its kind or replace its members (admins); the code stays.

    Send `If-Match` with the ETag you read (`GET /groupings/{code}`) so that a change made
    meanwhile (by another admin, or to a member country's `groupings`) is not overwritten: a
    stale one gets 412 (a malformed one 400).
    """
    grouping = service.get_grouping_or_raise(session, code, lock=True)
    grouping = service.update_grouping(session, grouping=grouping, data=data, if_match=if_match)
    response.headers["ETag"] = etag(grouping)
    return _grouping_read(grouping)


@router.delete("/groupings/{code}", status_code=status.HTTP_204_NO_CONTENT,
               response_class=Response, responses=responses(400, 401, 403, 404, 409, 412))
def delete_grouping(code: str, session: SessionDep, _admin: AdminDep,
                    if_match: IfMatch = None) -> None:
    """Delete a grouping without members (admins); one with members is a 409 naming them
    (`members`): empty it first with a PATCH. A stale `If-Match` gets 412."""
    grouping = service.get_grouping_or_raise(session, code, lock=True)
    service.delete_grouping(session, grouping=grouping, if_match=if_match)


@router.get("/factors", response_model=list[FactorRead], responses=responses(401))
def list_factors(session: SessionDep, _principal: PrincipalDep) -> list[Factor]:
    """List the accelerator factors with labels in es/pt/en/fr."""
    return service.list_factors(session)


@router.get("/factors/{code}", response_model=FactorRead,
            responses=versioned() | responses(401, 404))
def get_factor(code: str, session: SessionDep, _principal: PrincipalDep,
               response: Response) -> Factor:
    """Get one accelerator factor by code (any letter case); its version is in `ETag`."""
    factor = service.get_factor_or_raise(session, code)
    response.headers["ETag"] = etag(factor)
    return factor


@router.post("/factors", response_model=FactorRead, status_code=status.HTTP_201_CREATED,
             responses=responses(401, 403, 409, 422))
def create_factor(data: FactorCreate, session: SessionDep, _admin: AdminDep) -> Factor:
    """Add an accelerator factor (admins)."""
    return service.create_factor(session, data=data)


@router.patch("/factors/{code}", response_model=FactorRead,
              responses=versioned() | responses(400, 401, 403, 404, 412, 422))
def update_factor(code: str, data: FactorUpdate, session: SessionDep, _admin: AdminDep,
                  response: Response, if_match: IfMatch = None) -> Factor:
    """Change a factor's labels, descriptions or position (admins); a null label or
    description removes it, but a factor keeps one label at least.

    Send `If-Match` with the ETag you read (`GET /factors/{code}`): a stale one gets 412 and
    changes nothing (a malformed one 400).
    """
    factor = service.get_factor_or_raise(session, code, lock=True)
    factor = service.update_factor(session, factor=factor, data=data, if_match=if_match)
    response.headers["ETag"] = etag(factor)
    return factor


