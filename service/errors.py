"""Service errors and their rendering as RFC 9457 problem details."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    ProgrammingError,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from service import db, headers
from service.config import get_settings

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://sscmatch.example/problems/"
log = logging.getLogger("service")


class ServiceError(Exception):
    """Base of every error the service reports to a client."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extra = extra


def invalid_cursor() -> ServiceError:
    """The error for a `cursor` query parameter no list handed out (400)."""
    return ServiceError("The cursor is not valid; use the `next_cursor` of a previous page.",
                        errors=[{"field": "cursor", "message": "invalid cursor"}])


class Unauthorized(ServiceError):
    status_code = 401
    code = "unauthorized"
    title = "Missing or invalid access key"


class Forbidden(ServiceError):
    status_code = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(ServiceError):
    status_code = 404
    code = "not-found"
    title = "Not found"


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"
    title = "Conflict"


class PreconditionFailed(ServiceError):
    status_code = 412
    code = "precondition-failed"
    title = "Precondition failed"


class Unprocessable(ServiceError):
    status_code = 422
    code = "unprocessable"
    title = "Invalid input"


def field_error(field: str, message: str) -> Unprocessable:
    """A 422 whose `errors` member names the one field at fault, with the same message."""
    return Unprocessable(message, errors=[{"field": field, "message": message}])


def reject_nulls(changes: Mapping[str, Any], *, nullable: Collection[str] = ()) -> None:
    """Refuse a partial update that sets to null a field other than `nullable` ones (422
    naming each such field)."""
    nulls = sorted(k for k, v in changes.items() if v is None and k not in nullable)
    if nulls:
        raise Unprocessable(f"These fields cannot be null: {', '.join(nulls)}.",
                            errors=[{"field": k, "message": "may not be null"} for k in nulls])


def problem(status: int, title: str, detail: str, code: str, *,
            errors: list[dict[str, Any]] | None = None, instance: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """Build an `application/problem+json` response."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_DATE_REPR = re.compile(r"datetime\.date\(([0-9]{1,4}), ([0-9]{1,2}), ([0-9]{1,2})\)")


def validation_message(err: Mapping[str, Any]) -> str:
    """Pydantic's message, in characters where a length bound checked a text after its
    validators (it then speaks of "items after validation"), and with a day's bound written
    YYYY-MM-DD."""
    ctx, value = err.get("ctx") or {}, err.get("input")
    if isinstance(value, str) and err.get("type") in ("too_short", "too_long"):
        length = ctx.get("actual_length", len(value))
        if err["type"] == "too_short" and "min_length" in ctx:
            return f"Text should have at least {ctx['min_length']} characters, not {length}"
        if err["type"] == "too_long" and "max_length" in ctx:
            return f"Text should have at most {ctx['max_length']} characters, not {length}"
    # a day's bound as the API writes days, not as Python does ("datetime.date(2000, 1, 1)")
    return _DATE_REPR.sub(lambda m: date(*map(int, m.groups())).isoformat(),
                          str(err.get("msg", "")))


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        out.append({"field": ".".join(loc), "message": validation_message(err),
                    "type": str(err.get("type", ""))})
    return out


def install_handlers(app: FastAPI) -> None:
    """Render every error raised by the app as problem details."""

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return problem(exc.status_code, exc.title, exc.detail, exc.code, errors=exc.errors,
                       instance=request.url.path, headers=exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        fields = ", ".join(e["field"] for e in errors[:5])
        return problem(422, "Invalid input", f"The request has invalid fields: {fields}",
                       "validation", errors=errors, instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 400: "Bad request"}
        extra = getattr(exc, "headers", None)
        if exc.status_code == 405 and (allow := allowed_methods(request)):
            # When no route answers the path, an app mounted under it (StaticFiles) refused
            # the method, and its own `Allow` ("GET, HEAD") stays.
            extra = (extra or {}) | {"Allow": allow}
        return problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail),
                       f"http-{exc.status_code}", instance=request.url.path, headers=extra)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value that passed validation (a number beyond its column's
        # range, say): the client's input is wrong, the service is not broken.
        log.warning("data error on %s: %s", request.url.path, exc.orig.__class__.__name__)
        return problem(422, "Invalid input",
                       "A value is out of the range the database can store.",
                       "validation", instance=request.url.path)

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        # A unique key that a check before the write found free was taken by a concurrent
        # request meanwhile: the same answer the check gives, in general words. Any other
        # violation (NOT NULL, a foreign key...) is a fault of the service.
        if not _unique_violation(exc):
            raise exc
        log.warning("unique key taken meanwhile on %s: %s", request.url.path, exc.orig)
        return problem(409, "Conflict",
                       "Another change stored at the same time conflicts with this one; "
                       "nothing was stored. Read the current state and try again.",
                       "conflict", instance=request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, _exc: Exception) -> JSONResponse:
        # A fault of the service: answered as problem details too; the server still logs the
        # exception with its traceback. Starlette answers it outside every middleware, so it
        # gets here the headers they would add: security, and CORS for an allowed origin.
        api = request.url.path.startswith(headers.API_PREFIX)
        extra = {name.decode(): value.decode()
                 for name, value in (headers.API_SECURITY if api else headers.SECURITY)}
        origin = request.headers.get("origin")
        if origin is not None and origin in get_settings().cors_origins:
            extra |= {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        return problem(500, "Internal error", "The service failed on this request. Retry, "
                       "and report it if it happens again.", "internal",
                       instance=request.url.path, headers=extra)

    @app.exception_handler(OperationalError)
    async def _db_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        if _schema_behind(exc):
            return _not_migrated(request)
        log.warning("database error on %s: %s", request.url.path, exc.__class__.__name__)
        detail = ("The database is busy with another write (SQLite takes one writer at a "
                  f"time, and it took longer than {db.SQLITE_BUSY_TIMEOUT_S:g} s); nothing was "
                  "changed, retry shortly."
                  if "database is locked" in str(exc.orig) else
                  "The database is not reachable right now; retry shortly.")
        return problem(503, "Service unavailable", detail, "unavailable",
                       instance=request.url.path, headers={"Retry-After": "5"})

    @app.exception_handler(ProgrammingError)
    async def _db_programming(request: Request, exc: ProgrammingError) -> JSONResponse:
        if _schema_behind(exc):
            return _not_migrated(request)
        raise exc  # a fault of the service: the server's 500, logged with its traceback


# A table or column the service needs is missing: the database is behind the code's migration.
_UNDEFINED_SQLSTATES = frozenset({"42P01", "42703"})  # PostgreSQL: undefined table, column
_SQLITE_UNDEFINED = ("no such table", "no such column", "has no column named")


def allowed_methods(request: Request) -> str:
    """The `Allow` value of a 405 (RFC 9110, 15.5.6): every method a route of this path
    answers, HEAD wherever GET is. Starlette names only the methods of the first route that
    matched the path, and FastAPI makes one route per method: each method is tried on the
    routes as the router would try it. Empty when no route answers the path (the 405 of an
    app mounted under it)."""
    routes = request.app.router.routes
    methods = {method for method in headers.METHODS if method != "HEAD" and any(
        route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


def _unique_violation(exc: IntegrityError) -> bool:
    """A duplicate in a unique key (PostgreSQL SQLSTATE 23505; SQLite's UNIQUE failure)."""
    return (getattr(exc.orig, "sqlstate", None) == "23505"
            or str(exc.orig).startswith("UNIQUE constraint failed"))


def _schema_behind(exc: DBAPIError) -> bool:
    if getattr(exc.orig, "sqlstate", None) in _UNDEFINED_SQLSTATES:
        return True
    return any(text in str(exc.orig) for text in _SQLITE_UNDEFINED)


def _not_migrated(request: Request) -> JSONResponse:
    log.error("database error on %s: its schema is behind the code's; run `sscmatch migrate`",
              request.url.path)
    return problem(503, "Service unavailable",
                   "The database is not at the latest migration; the operator must run "
                   "`sscmatch migrate` (GET /ready tells which migration it is at).",
                   "not-migrated", instance=request.url.path, headers={"Retry-After": "60"})
