"""HTTP routes for offers and needs (one router factory, two kinds)."""

# No `from __future__ import annotations` here: the route functions are built inside
# `build_router`, so FastAPI must see the real schema classes (locals), not their names.

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel

from service.deps import (
    IfMatch,
    PageLimit,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    country_filter,
    factor_filter,
    page_size,
)
from service.errors_doc import responses, versioned
from service.items import service
from service.items.schemas import (
    ItemReadBase,
    NeedCreate,
    NeedRead,
    NeedUpdate,
    OfferCreate,
    OfferRead,
    OfferUpdate,
    Status,
)
from service.items.service import ItemFilters, ItemRow, Kind
from service.schemas import DIGITS, MAX_ID, Page, RowSerializer, json_response
from service.scoring import Modality
from service.versions import etag

ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="Id of the item"), DIGITS]


def build_router(kind: Kind, create_schema: type[BaseModel], update_schema: type[BaseModel],
                 read_schema: type[ItemReadBase]) -> APIRouter:
    """Build the CRUD routes of offers or needs."""
    plural = f"{kind}s"
    router = APIRouter(prefix=f"/{plural}", tags=[plural])
    list_rows = RowSerializer(read_schema)

    def _read(item: ItemRow, *, status_code: int = 200,
              headers: dict[str, str] | None = None) -> Response:
        return json_response(read_schema.model_validate(item), status_code=status_code,
                             headers={"ETag": etag(item), **(headers or {})})

    @router.get("", response_model=Page[read_schema], name=f"list_{plural}",  # type: ignore[valid-type]
                responses=responses(400, 401, 422))
    def list_items(
        session: SessionDep,
        principal: PrincipalDep,
        settings: SettingsDep,
        country: Annotated[str | None, country_filter(f"Only the {plural} of this country")],
        factor: Annotated[str | None, factor_filter(f"Only the {plural} on this factor")],
        language: Annotated[str | None, Query(min_length=2, max_length=2,
                                              description="ISO 639-1 code (any case)")] = None,
        modality: Modality | None = None,
        status_: Annotated[Status | None, Query(alias="status")] = None,
        q: Annotated[str | None, Query(min_length=1, max_length=200,
                                       description="Text in title, description or population")]
        = None,
        limit: PageLimit = None,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Response:
        """List the offers or needs visible to the caller, filtered, by ascending id."""
        size = page_size(limit, settings)
        filters = ItemFilters(country=country, factor=factor, language=language,
                              modality=modality, status=status_, q=q)
        rows, total, next_cursor = service.list_items(
            session, kind=kind, principal=principal, filters=filters, limit=size, cursor=cursor)
        return list_rows.page(rows, total=total, limit=size, next_cursor=next_cursor)

    @router.post("", response_model=read_schema, status_code=status.HTTP_201_CREATED,
                 name=f"create_{kind}",
                 responses=versioned(201) | responses(401, 403, 409, 413, 422))
    def create_item(data: create_schema, session: SessionDep,  # type: ignore[valid-type]
                    principal: PrincipalDep) -> Response:
        """Submit an offer or need for the caller's country (admins: any country)."""
        item = service.create_item(session, kind=kind, data=data, principal=principal)
        return _read(item, status_code=status.HTTP_201_CREATED,
                     headers={"Location": f"/api/v1/{plural}/{item.id}"})

    @router.get("/{item_id}", response_model=read_schema, name=f"get_{kind}",
                responses=versioned() | responses(401, 404))
    def get_item(item_id: ItemId, session: SessionDep, principal: PrincipalDep) -> Response:
        """Get one offer or need; its version is in the `ETag` header."""
        return _read(service.get_item_or_raise(session, kind, item_id, principal))

    @router.patch("/{item_id}", response_model=read_schema, name=f"update_{kind}",
                  responses=versioned() | responses(401, 403, 404, 409, 412, 413, 422))
    def update_item(item_id: ItemId, data: update_schema,  # type: ignore[valid-type]
                    session: SessionDep, principal: PrincipalDep,
                    if_match: IfMatch = None) -> Response:
        """Change some fields; send `If-Match` with the ETag you read to avoid lost updates."""
        item = service.get_item_or_raise(session, kind, item_id, principal, lock=True)
        item = service.update_item(session, kind=kind, item=item, data=data,
                                   principal=principal, if_match=if_match, locked=True)
        return _read(item)

    @router.delete("/{item_id}", response_model=read_schema, name=f"withdraw_{kind}",
                   responses=versioned() | responses(401, 403, 404, 412))
    def withdraw_item(item_id: ItemId, session: SessionDep, principal: PrincipalDep,
                      if_match: IfMatch = None) -> Response:
        """Withdraw (never hard-delete): the record stays for the pairings that refer to it."""
        item = service.get_item_or_raise(session, kind, item_id, principal, lock=True)
        item = service.withdraw_item(session, kind=kind, item=item, principal=principal,
                                     if_match=if_match, locked=True)
        return _read(item)

    return router


offers_router = build_router("offer", OfferCreate, OfferUpdate, OfferRead)
needs_router = build_router("need", NeedCreate, NeedUpdate, NeedRead)
