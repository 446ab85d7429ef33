"""HTTP routes for access keys (admins)."""

from __future__ import annotations

from fastapi import APIRouter, status

from models import ApiKey
from service.auth import service
from service.auth.schemas import KeyCreate, KeyCreated, KeyRead
from service.deps import AdminDep, KeysetWindowDep, RowId, SessionDep
from service.errors_doc import responses
from service.schemas import Page

router = APIRouter(prefix="/keys", tags=["access keys"])


@router.get("", response_model=Page[KeyRead], responses=responses(400, 401, 403, 422))
def list_keys(session: SessionDep, _admin: AdminDep,
              window: KeysetWindowDep) -> Page[KeyRead]:
    """List access keys, newest first (never their secrets), one page at a time (`limit`,
    then `cursor` or `offset`), as every list."""
    rows = service.list_keys(session, limit=window.limit + 1, offset=window.offset,
                             before=window.before)
    return window.keyset_page(Page[KeyRead], rows, [KeyRead.model_validate(k) for k in rows],
                              service.count_keys(session))


@router.post("", response_model=KeyCreated, status_code=status.HTTP_201_CREATED,
             responses=responses(401, 403, 422))
def create_key(data: KeyCreate, session: SessionDep, _admin: AdminDep) -> KeyCreated:
    """Create a key; the secret is in the response and never shown again."""
    key, secret = service.create_key(session, role=data.role, country=data.country,
                                     name=data.name)
    return KeyCreated(**KeyRead.model_validate(key).model_dump(), key=secret)


@router.delete("/{key_id}", response_model=KeyRead, responses=responses(401, 403, 404, 409))
def revoke_key(key_id: RowId, *, session: SessionDep,
               _admin: AdminDep) -> ApiKey:
    """Revoke a key; it stops working at once. Revoking a key already revoked changes nothing
    and answers `200` with the key, whose `revoked_at` is still the first revocation's. The
    last active admin key cannot be revoked (`409`): create another admin key first."""
    return service.revoke_key(session, key_id=key_id)
