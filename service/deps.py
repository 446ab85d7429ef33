"""Injected dependencies shared by the routers: session, settings, principal and roles.

FastAPI runs a plain `def` dependency in its thread pool, a hop that costs about 0.1 ms of CPU
(bench/load.py's CPU per request); the dependencies that do no I/O are therefore `async def`
and run on the event loop. Those that touch the database stay `def`; the session itself is
opened on the loop and ended in a worker thread (`service.db.get_session`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Path, Query, Request
from fastapi.dependencies.models import Dependant
from sqlalchemy.orm import Session

from service.auth.service import Principal, authenticate
from service.config import Settings, get_settings
from service.countries import service as countries_service
from service.cursors import decode_cursor, decode_due_cursor, encode_cursor
from service.db import get_session
from service.errors import Forbidden, ServiceError, Unprocessable, invalid_cursor
from service.items.service import Kind
from service.matching.index import IndexCache
from service.pairings import service as pairings_service
from service.schemas import DIGITS, MAX_ID, Day, Page
from service.tables import service as tables_service

SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def _settings() -> Settings:
    return get_settings()


SettingsDep = Annotated[Settings, Depends(_settings)]


def _query_names(dependant: Dependant) -> list[str]:
    """The query parameters an operation takes, its dependencies' included, as spelled in URLs."""
    names = [param.alias for param in dependant.query_params]
    for sub in dependant.dependencies:
        names += [name for name in _query_names(sub) if name not in names]
    return names


_TAKEN: dict[int, tuple[object, tuple[str, ...]]] = {}  # by id(route): (route, names)


def _taken_by(route: object) -> tuple[str, ...]:
    """The query parameters a route takes, found once per route (routes are not hashable)."""
    known = _TAKEN.get(id(route))
    if known is not None and known[0] is route:
        return known[1]
    dependant = getattr(route, "dependant", None)
    names = tuple(_query_names(dependant)) if isinstance(dependant, Dependant) else ()
    _TAKEN[id(route)] = (route, names)
    return names


async def known_query_only(request: Request) -> None:
    """Refuse a query parameter the operation does not take, with a 422 naming it and those
    it takes: a mistyped filter (`date_from` for `from`) or one an endpoint lacks was ignored,
    and the answer covered more than was asked while looking right. A parameter given more
    than once is refused the same way."""
    if not request.url.query:
        return
    taken = _taken_by(request.scope.get("route"))
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in taken]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        takes = f"takes: {', '.join(taken)}" if taken else "takes none"
        raise Unprocessable(
            f"Unknown query parameter{plural}: {', '.join(unknown)}. This operation {takes}.",
            errors=[{"field": f"query.{name}", "message": "unknown query parameter"}
                    for name in unknown])
    # Every query parameter takes one value: given twice, only the last was read
    # (`?status=planning&status=closed` listed the closed tables alone).
    names = [name for name, _value in request.query_params.multi_items()]
    repeated = [name for name in dict.fromkeys(names) if names.count(name) > 1]
    if repeated:
        raise Unprocessable(
            f"{', '.join(repeated)} {'is' if len(repeated) == 1 else 'are'} given more than "
            "once; give each query parameter once (an operation reads one value for each).",
            errors=[{"field": f"query.{name}", "message": "given more than once"}
                    for name in repeated])


_EMPTY_BODIES = (b"", b"{}", b"null")


async def no_body(request: Request) -> None:
    """Refuse a request body on an operation that takes none (422): its parameters go in the
    query, and a body sent for them (`{"time_limit_s": 2}`) was ignored, so the answer looked
    right while computed with other values. An empty body, `{}` or `null` carries nothing."""
    if (await request.body()).strip() in _EMPTY_BODIES:
        return
    taken = _taken_by(request.scope.get("route"))
    query = "?" + "&".join(f"{name}=…" for name in taken) if taken else ""
    where = f"give its parameters in the query string ({query})" if query else "send none"
    raise Unprocessable(f"This operation takes no request body; {where}.",
                        errors=[{"field": "body", "message": "this operation takes no body"}])


NoBodyDep = Annotated[None, Depends(no_body)]
"""After the principal in a route's parameters, so that a request without a key is a 401."""


def get_principal(session: SessionDep, request: Request) -> Principal:
    """Authenticate the request's bearer key."""
    return authenticate(session, authorizations=request.headers.getlist("authorization"))


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """Build a dependency that lets only the given roles through (403 otherwise)."""

    async def _check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"This action needs one of the roles: {', '.join(roles)}.")
        return principal

    return _check


AdminDep = Annotated[Principal, Depends(require_roles("admin"))]
StaffDep = Annotated[Principal, Depends(require_roles("admin", "organizer"))]


async def get_index_cache(request: Request) -> IndexCache:
    """Return this application's in-memory index of published offers and needs."""
    cache: IndexCache = request.app.state.index_cache
    return cache


IndexCacheDep = Annotated[IndexCache, Depends(get_index_cache)]


AsOf = Annotated[Day | None, Query(description=(
    "Judge lateness (`overdue`) on this day, YYYY-MM-DD (default: today, UTC)"))]
"""The day follow-up activities are judged late on (`/followups`, the reports)."""

RowId = Annotated[int, Path(ge=1, le=MAX_ID), DIGITS]
"""The id of a row in a URL's path."""


def country_query(meaning: str, *, name: str = "country") -> Any:
    """The query parameter `name` of a filter by country, described as `meaning` (e.g. "Only
    the pairings where this country is provider or recipient") and then as every such filter."""
    return Query(alias=name, max_length=40, examples=["GTM"], description=(
        f"{meaning}. The ISO 3166-1 alpha-3 code, in any letter case (e.g. `GTM` for "
        "Guatemala); a disabled country still filters (its past rows are kept). An unknown or "
        "malformed code is a 422 naming the parameter and the code (a two-letter code is "
        "answered with its three-letter one: `GT` with `GTM`)."))


def factor_query(meaning: str) -> Any:
    """The query parameter `factor` of a filter by accelerator factor, described as `meaning`
    and then as every such filter."""
    return Query(alias="factor", max_length=40, examples=["migration"], description=(
        f"{meaning}. The factor's code as `GET /factors` lists it, in any letter case (e.g. "
        "`migration`). An unknown or malformed code is a 422 naming the parameter and the "
        "code, and listing the known codes."))


def _code_filter(query: Any, check: Callable[[Session, str | None], str | None]) -> Any:
    """The dependency of a list filter: the code given in `query`, as `check` returns it
    (None when absent, then with no lookup)."""

    def dependency(session: SessionDep, code: str | None = None) -> str | None:
        return check(session, code)

    # The parameter's name and description vary per list, and the string annotations of this
    # module could not name them: FastAPI is given the annotation itself.
    dependency.__annotations__["code"] = Annotated[str | None, query]
    return Depends(dependency)


def country_filter(meaning: str, *, name: str = "country") -> Any:
    """Build the dependency of a list filter by country (`country_query`): its ISO3 code as
    stored, or None when absent. The code is checked as the reports check theirs
    (`require_country`: one lookup by primary key, none for a malformed code)."""
    return _code_filter(country_query(meaning, name=name), lambda session, code: (
        countries_service.query_country(session, code, name=name)))


def factor_filter(meaning: str) -> Any:
    """Build the dependency of a list filter by factor (`factor_query`): its code as stored
    (lower case), or None when absent, checked as the reports check theirs (`require_factor`:
    one lookup by primary key; an unknown code's answer also lists the known ones)."""
    return _code_filter(factor_query(meaning), countries_service.query_factor)


def _id_filter(name: str, meaning: str, what: str,
               check: Callable[[Session, Principal, int], object]) -> Any:
    """The dependency of a list filter by the id of a related row, given as `name` (from 1
    to `MAX_ID`, digits only, as `RowId`): the id, once `check(session, principal, id)` has
    found the row (it raises 404 for an unknown one, which an empty list would have hidden),
    or None when absent."""

    def dependency(session: SessionDep, principal: PrincipalDep,
                   row_id: int | None = None) -> int | None:
        if row_id is not None:
            check(session, principal, row_id)
        return row_id

    dependency.__annotations__["row_id"] = Annotated[int | None, Query(
        alias=name, ge=1, le=MAX_ID, description=(
            f"{meaning}. An unknown {what} is a 404 naming it, as its own URL answers; a "
            f"{what} without any is an empty list.")), DIGITS]
    return Depends(dependency)


def table_filter(meaning: str) -> Any:
    """Build the dependency of a list filter `table_id`, checked as a table's report checks
    its table (`require_table`)."""
    return _id_filter("table_id", meaning, "table", lambda session, _principal, table_id: (
        tables_service.require_table(session, table_id)))


def item_filter(kind: Kind, meaning: str) -> Any:
    """Build the dependency of a list filter `need_id` or `offer_id`: the need or offer must
    be one the caller may see, or that of one of its pairings (`require_item_filter`)."""
    return _id_filter(f"{kind}_id", meaning, kind, lambda session, principal, item_id: (
        pairings_service.require_item_filter(session, kind, item_id, principal)))


MAX_OFFSET = 1_000_000
PageT = TypeVar("PageT", bound=Page[Any])


@dataclass(frozen=True)
class Window:
    """The slice of a list one request asks for: `limit` rows after the first `offset`, or,
    on a newest-first list, the `limit` rows below the id `before` (`KeysetWindowDep`), or,
    on an oldest-first one, those above the id `after` (`AfterWindowDep`)."""

    limit: int
    offset: int
    before: int | None = None
    after: int | None = None
    after_due: tuple[date, int] | None = None

    def next_cursor(self, total: int) -> str | None:
        """Return the cursor of the page after this one, None on the last page."""
        end = self.offset + self.limit
        return str(end) if end < total else None

    def page(self, model: type[PageT], items: list[Any], total: int) -> PageT:
        """Return this window's rows as a page of `model` (a `Page[...]`)."""
        return model(items=items, total=total, limit=self.limit,
                     next_cursor=self.next_cursor(total))

    def keyset_cursor(self, rows: list[Any],
                      cursor_of: Callable[[Any], str] | None = None) -> str | None:
        """Return the cursor after the last row shown of a list read with `limit + 1` rows,
        `cursor_of(row)` (by default its id: below it on a newest-first list, above it on an
        oldest-first one), or None when `rows` holds no row past the page."""
        if len(rows) <= self.limit:
            return None
        last = rows[self.limit - 1]
        return cursor_of(last) if cursor_of is not None else encode_cursor(last.id)

    def keyset_page(self, model: type[PageT], rows: list[Any], items: list[Any],
                    total: int, cursor_of: Callable[[Any], str] | None = None) -> PageT:
        """Return a page of a list read with `limit + 1` rows (`rows`; `items` are the first
        `limit` of them as the page shows them). Its cursor continues after the last row
        shown (`keyset_cursor`), so rows created or gone meanwhile neither shift nor repeat
        the pages that follow."""
        return model(items=items[:self.limit], total=total, limit=self.limit,
                     next_cursor=self.keyset_cursor(rows, cursor_of))


PageLimit = Annotated[int | None, Query(ge=1, description=(
    "Page size (`DEFAULT_PAGE_SIZE`, 50, if absent; at most `MAX_PAGE_SIZE`, 200)")), DIGITS]


def page_size(limit: int | None, settings: Settings) -> int:
    """Return the rows a list page holds: `limit`, else `DEFAULT_PAGE_SIZE`.

    Raises:
        ServiceError: `limit` is above `MAX_PAGE_SIZE` (400, naming the field).
    """
    size = limit or settings.default_page_size
    if size > settings.max_page_size:
        raise ServiceError(
            f"limit={size} is too large; the largest page is {settings.max_page_size}.",
            errors=[{"field": "limit", "message": f"at most {settings.max_page_size}"}])
    return size


PageOffset = Annotated[int | None, Query(ge=0, le=MAX_OFFSET,
                                         description="Rows to skip (or pass `cursor`)"), DIGITS]
PageCursor = Annotated[str | None, Query(max_length=20, description=(
    "The `next_cursor` of the previous page"))]


async def get_window(settings: SettingsDep, limit: PageLimit = None, offset: PageOffset = None,
                     cursor: PageCursor = None) -> Window:
    """Read the page a list request asks for, by `cursor` (as every list) or by `offset`."""
    size = page_size(limit, settings)
    if not cursor:  # an empty cursor asks for the first page, as on the item lists
        return Window(size, offset or 0)
    if offset is not None:
        raise ServiceError("Give `cursor` or `offset`, not both.",
                           errors=[{"field": "offset", "message": "not with cursor"}])
    if not (cursor.isascii() and cursor.isdigit() and str(int(cursor)) == cursor
            and int(cursor) <= MAX_OFFSET):  # only what `next_cursor` writes
        raise invalid_cursor()
    return Window(size, int(cursor))


async def get_keyset_window(settings: SettingsDep, limit: PageLimit = None,
                            offset: PageOffset = None, cursor: PageCursor = None) -> Window:
    """Read the page of a newest-first list: its `next_cursor` continues below a row's id
    (`Window.keyset_page`); a cursor of digits is still read as an offset."""
    return await _offset_or_keyset(settings, limit, offset, cursor, lambda size, key: Window(
        size, 0, before=decode_cursor(key)))


async def get_after_window(settings: SettingsDep, limit: PageLimit = None,
                           offset: PageOffset = None, cursor: PageCursor = None) -> Window:
    """Read the page of an oldest-first list (a pairing's history): its `next_cursor`
    continues above the last row's id, so rows added meanwhile come on later pages and
    repeat none; a cursor of digits is still read as an offset."""
    return await _offset_or_keyset(settings, limit, offset, cursor, lambda size, key: Window(
        size, 0, after=decode_cursor(key)))


async def get_due_window(settings: SettingsDep, limit: PageLimit = None,
                         offset: PageOffset = None, cursor: PageCursor = None) -> Window:
    """Read the page of a list by due date, then id (the follow-ups): its `next_cursor`
    continues after the (due date, id) of the last row seen (`after_due`), so rows that
    leave or join the list meanwhile (an activity marked done while `overdue=true` is paged)
    neither skip nor repeat rows; a cursor of digits is still read as an offset."""
    return await _offset_or_keyset(settings, limit, offset, cursor, lambda size, key: Window(
        size, 0, after_due=decode_due_cursor(key)))


async def _offset_or_keyset(settings: Settings, limit: int | None, offset: int | None,
                            cursor: str | None, keyset: Callable[[int, str], Window]) -> Window:
    """The window of a cursor of digits (an offset, `get_window`), or else `keyset(page size,
    cursor)` for the keyset cursor of the list."""
    if cursor and not (cursor.isascii() and cursor.isdigit()):
        first = await get_window(settings, limit, offset, "0")  # checks limit, and offset
        return keyset(first.limit, cursor)
    return await get_window(settings, limit, offset, cursor)


WindowDep = Annotated[Window, Depends(get_window)]
KeysetWindowDep = Annotated[Window, Depends(get_keyset_window)]
AfterWindowDep = Annotated[Window, Depends(get_after_window)]
DueWindowDep = Annotated[Window, Depends(get_due_window)]


IfMatch = Annotated[str | None, Header(
    max_length=200,
    description="The ETag of the version you read, as read (`\"3\"`): a stale or weak one gets "
                "412 and changes nothing, a malformed one 400; absent, the change is not checked")]
