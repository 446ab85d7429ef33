"""Application factory: routers, middleware, problem-details handlers, health and docs."""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import unicodedata
from collections.abc import AsyncIterator, Callable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import anyio
from anyio.lowlevel import RunVar
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import headers
from service.auth.router import router as keys_router
from service.config import Settings, get_settings
from service.countries.router import router as countries_router
from service.db import close_connections, get_engine, session_scope
from service.deps import known_query_only
from service.errors import PROBLEM_JSON, install_handlers, problem
from service.errors_doc import responses
from service.followups.router import router as followups_router
from service.headers import API_PREFIX
from service.items.router import needs_router, offers_router
from service.matching.index import IndexCache
from service.matching.router import router as matching_router
from service.migrate import current_revision, head_revision, unknown_revision
from service.pairings.router import router as pairings_router
from service.reports.router import router as reports_router
from service.scoring import get_text_model
from service.tables.router import router as tables_router

DESCRIPTION = """
Matchmaking for South–South cooperation tables on child labour: countries submit what they
can **offer** and what they **need** per accelerator factor; the service proposes pairings and
plans negotiation rounds.

Every request under `/api/v1` needs `Authorization: Bearer <key>` (create keys with
`sscmatch keys create`). Errors are RFC 9457 problem details (`application/problem+json`).
"""
log = logging.getLogger("service")


class BodySizeLimit:
    """Answer 413 to request bodies larger than the configured limit, before parsing them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        if declared is None:
            # No length given (a chunked body, or none): read it here, up to the limit, so that
            # a route that never reads its body cannot let a larger one through.
            body = await self._read_up_to_limit(receive)
            if body is None:
                await self._reject(scope, receive, send)
            else:
                await self.app(scope, _replaying(body, receive), send)
            return
        # A declared length within the limit: the bytes are still counted as the app reads.
        seen = 0
        too_large = False
        started = False

        async def limited_receive() -> Message:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_large = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # The app may catch _TooLarge while parsing the body (FastAPI turns it into a 400);
            # whatever it answers then is replaced by the 413 below.
            nonlocal started
            if too_large and not started:
                return
            started = True
            await send(message)

        with contextlib.suppress(_TooLarge):
            await self.app(scope, limited_receive, guarded_send)
        if too_large and not started:
            await self._reject(scope, receive, send)

    async def _read_up_to_limit(self, receive: Receive) -> list[Message] | None:
        """The body's messages, or None once they pass the limit (or the client left)."""
        messages: list[Message] = []
        seen = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages  # the client disconnected: the app sees it as it would
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                return None
            if not message.get("more_body", False):
                return messages

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, "Request body too large",
                           f"The request body is larger than {self.max_bytes} bytes.",
                           "payload-too-large")
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that gives `messages` first, then what `receive` gives."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


class AdmissionLimit:
    """Let at most `limit` API requests run at once per process; the others wait here, in the
    event loop, without holding a thread.

    Sync routes and their response validation run in AnyIO's thread pool (40 threads). A
    request whose transaction holds row locks may still need a thread to validate its response
    before it commits; if every thread were taken by requests waiting for those locks or for a
    database connection, it would never get one (found under 50 concurrent PATCHes: 30 s
    stalls, then 500s). With fewer requests in flight than threads, one is always free.

    The limit is also what keeps latency even under load: the requests of a worker share one
    interpreter lock, so 32 of them at once each wait on the others' Python code (and on
    thread hand-offs) while a few at a time, the rest queued in order, finish sooner. On the
    2-core machine, 3-4 per worker served list pages ~1.8x faster at 50 clients than 32, with
    a lower p99 (bench/load.py); `MAX_REQUESTS_IN_FLIGHT` sets it.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        # One semaphore per event loop: an anyio semaphore belongs to the loop it was made in
        # (a server process has one; tests drive one app from several loops at once).
        self._slots: RunVar[anyio.Semaphore] = RunVar(f"admission-{id(self)}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not (path.startswith(API_PREFIX) or path == "/ready"):
            await self.app(scope, receive, send)
            return
        try:
            slots = self._slots.get()
        except LookupError:
            slots = anyio.Semaphore(self.limit)
            self._slots.set(slots)
        async with slots:
            await self.app(scope, receive, send)


class ControlCharGuard:
    """Answer 400 to URLs whose path or query holds control characters (such as NUL): they are
    never meaningful there, and PostgreSQL cannot even compare text that contains NUL."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            bad = _control_char_fields(scope)
            if bad:
                response = problem(
                    400, "Bad request",
                    f"Control characters are not allowed in the URL: {', '.join(bad)}.",
                    "bad-request",
                    errors=[{"field": f, "message": "contains a control character"} for f in bad])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _has_control_char(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def _control_char_fields(scope: Scope) -> list[str]:
    bad = ["path"] if _has_control_char(str(scope.get("path", ""))) else []
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
        if _has_control_char(name) or _has_control_char(value):
            bad.append(f"query.{name}" if not _has_control_char(name) else "query")
    return bad


class HeadAsGet:
    """Answer HEAD as the GET of the same URL would, without the body (RFC 9110, 9.3.2): the
    same status and headers, `ETag` and `Content-Length` included, so that a client can check
    a resource, or read its version before a change, without downloading it. FastAPI routes
    GET only (HEAD was 405)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)


class ProblemCORS(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered as problem details (the same
    400 and headers; Starlette answers it in plain text, "Disallowed CORS origin, headers")."""

    _ASKED = (("origin", "header.Origin"), ("method", "header.Access-Control-Request-Method"),
              ("headers", "header.Access-Control-Request-Headers"))

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        kept = {name: value for name, value in response.headers.items()
                if name not in ("content-length", "content-type")}
        reason = bytes(response.body).decode("utf-8", "replace")
        errors = [{"field": field, "message": "not allowed by the service's CORS settings"}
                  for word, field in self._ASKED if word in reason]
        return problem(response.status_code, "CORS preflight refused", f"{reason}.", "cors",
                       errors=errors, headers=kept)


class SecurityHeaders:
    """Add conservative security headers to every response (a plain ASGI middleware: the
    `@app.middleware("http")` form costs a task and a memory stream per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = str(scope.get("path", "")).startswith(API_PREFIX)
        extra = headers.API_SECURITY if api else headers.SECURITY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _docs_routes(app: FastAPI) -> None:
    static_dir = Path(str(resources.files("fastapi_offline").joinpath("static")))
    app.mount("/docs-static", StaticFiles(directory=static_dir), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="sscmatch API",
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css",
            swagger_favicon_url="/docs-static/favicon.png",
            # No call to the public validator service: the docs work offline.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="sscmatch API",
                              redoc_js_url="/docs-static/redoc.standalone.js",
                              redoc_favicon_url="/docs-static/favicon.png", with_google_fonts=False)


def _health_routes(app: FastAPI) -> None:
    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        """The process is alive (does not touch the database)."""
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"], responses=responses(503))
    def ready() -> JSONResponse:
        """The database answers and is at the latest migration."""
        head = head_revision()
        try:
            engine = get_engine()
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            current = current_revision(engine)
        except SQLAlchemyError as exc:
            # Anyone may ask /ready: the answer names the error type, the log gives the cause.
            log.warning("not ready: database unreachable: %s",
                        str(getattr(exc, "orig", None) or exc).strip())
            return problem(503, "Not ready", f"Database unreachable ({exc.__class__.__name__}).",
                           "not-ready")
        if current is None:
            return problem(503, "Not ready",
                           "Database has never been migrated; run `sscmatch migrate`.",
                           "not-ready")
        if (unknown := unknown_revision(current)) is not None:  # `migrate` refuses it too
            return problem(503, "Not ready", f"Database is {unknown}.", "not-ready")
        if current != head:
            return problem(503, "Not ready",
                           f"Database is at migration {current}, expected {head}; "
                           "run `sscmatch migrate`.", "not-ready")
        return JSONResponse({"status": "ready", "migration": current})


def _problem_media_type(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """Document problem responses under `application/problem+json`, the type they are sent
    with (FastAPI files a response model under the route's `application/json`)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for response in operation.get("responses", {}).values():
                    content = response.get("content", {})
                    if content.get(PROBLEM_JSON) == {} and "application/json" in content:
                        content[PROBLEM_JSON] = content.pop("application/json")
        return schema

    return openapi


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the FastAPI application."""
    settings = settings or get_settings()
    app = FastAPI(title="sscmatch: South–South cooperation matchmaking", version="0.1.0",
                  description=DESCRIPTION, docs_url=None, redoc_url=None)
    app.state.index_cache = IndexCache()
    install_handlers(app)
    # Routes are matched in order and FastAPI (>= 0.120) walks an included router's routes
    # again at each level of nesting, with bookkeeping per route: a request to /health went
    # through every API route first, and an API request walked its router three times under an
    # /api/v1 router. The probes come first and the domain routers hang directly off the app:
    # /health needs ~40 % less CPU (0.47-0.66x under bench/load.py), an item list ~0.3 ms less.
    _health_routes(app)
    # Every API route can answer these (URL guard, auth, validation, body limit, database down).
    common = responses(400, 401, 413, 422, 503)
    for router in (countries_router, offers_router, needs_router, matching_router,
                   tables_router, pairings_router, followups_router, reports_router,
                   keys_router):
        app.include_router(router, prefix=API_PREFIX, responses=common,
                           dependencies=[Depends(known_query_only)])
    _docs_routes(app)
    app.openapi = _problem_media_type(app)  # type: ignore[method-assign]
    app.add_middleware(AdmissionLimit, limit=settings.max_requests_in_flight)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ControlCharGuard)
    app.add_middleware(HeadAsGet)
    if settings.cors_origins:  # around the guards: an allowed origin reads their answers too
        app.add_middleware(ProblemCORS, allow_origins=list(settings.cors_origins),
                           allow_methods=list(headers.METHODS),
                           allow_headers=["Authorization", "Content-Type", "If-Match",
                                          "Idempotency-Key"],
                           expose_headers=["ETag", "Location", "Idempotent-Replayed"])
    # Outermost, so that the answers of the guards above carry the headers too. (A 500 is
    # answered further out, by Starlette's error middleware: errors.install_handlers gives it
    # the same headers.)
    app.add_middleware(SecurityHeaders)
    return app


def create_served_app() -> FastAPI:
    """Build the application for a server process (what `sscmatch serve` runs per worker).

    The app's routes and their pydantic validators are ~200,000 objects that live as long as
    the process, and the collector cannot cheaply walk validators: every full collection took
    ~110 ms, several times a second under load, a pause for every request in flight (p99 of
    list pages under load). They are moved out of the collector's reach once built.

    The text model is loaded here too, not by the first write or match of each worker, which
    took ~1.5 s of CPU while the requests behind it waited; and, unless `WARM_INDEX_ON_START`
    is off, a background thread (`app.state.index_warm_up`) reads the matching index
    (`warm_index`).
    """
    app = create_app()
    settings = get_settings()
    if settings.encode_on_write:
        get_text_model().encode(["warm up"])
    gc.collect()
    gc.freeze()
    app.state.index_warm_up = None
    if settings.warm_index_on_start:
        app.state.index_warm_up = threading.Thread(
            target=warm_index, args=(app.state.index_cache,), name="index-warm-up", daemon=True)
        app.state.index_warm_up.start()
    app.router.lifespan_context = _closing_connections(app.router.lifespan_context)
    return app


Lifespan = Callable[[Any], contextlib.AbstractAsyncContextManager[Any]]


def _closing_connections(lifespan: Lifespan) -> Lifespan:
    """The app's lifespan, then its database connections closed when the server stops, so
    that a stopped SQLite server leaves no write-ahead log beside its file
    (`service.db.close_connections`)."""

    @contextlib.asynccontextmanager
    async def closing(app: Any) -> AsyncIterator[Any]:
        async with lifespan(app) as state:
            yield state
        close_connections()

    return closing


def warm_index(cache: IndexCache) -> None:
    """Read the published offers and needs into a worker's matching index.

    With 100,000 offers this takes a few seconds, which the first `/matches` of each worker
    would otherwise wait (requests arriving meanwhile wait for this read, holding the index's
    lock, instead of starting their own). A database that is not reachable or not migrated yet
    is logged and left to the first request.
    """
    try:
        with session_scope(writes=False) as session:
            for kind in ("offer", "need"):
                cache.get(session, kind)
    except SQLAlchemyError as exc:
        log.warning("matching index not read at start (%s); the first matches will read it",
                    exc.__class__.__name__)
