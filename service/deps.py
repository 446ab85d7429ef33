"""Injected dependencies shared by the routers: session, settings, principal and roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from service.auth.service import Principal, authenticate
from service.config import Settings, get_settings
from service.db import get_session
from service.errors import Forbidden
from service.matching.index import IndexCache

SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_principal(
    session: SessionDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    """Authenticate the request's bearer key."""
    return authenticate(session, authorization=authorization)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    """Build a dependency that lets only the given roles through (403 otherwise)."""

    def _check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"This action needs one of the roles: {', '.join(roles)}.")
        return principal

    return _check


AdminDep = Annotated[Principal, Depends(require_roles("admin"))]
StaffDep = Annotated[Principal, Depends(require_roles("admin", "organizer"))]


def get_index_cache(request: Request) -> IndexCache:
    """Return this application's in-memory index of published offers and needs."""
    cache: IndexCache = request.app.state.index_cache
    return cache


IndexCacheDep = Annotated[IndexCache, Depends(get_index_cache)]
