"""HTTP routes for access keys (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Path, status

from models import ApiKey
from service.auth import service
from service.auth.schemas import KeyCreate, KeyCreated, KeyRead
from service.deps import AdminDep, SessionDep
from service.errors_doc import responses
from service.schemas import MAX_ID

router = APIRouter(prefix="/keys", tags=["access keys"])


@router.get("", response_model=list[KeyRead], responses=responses(401, 403))
def list_keys(session: SessionDep, _admin: AdminDep) -> list[ApiKey]:
    """List access keys (never their secrets)."""
    return service.list_keys(session)


@router.post("", response_model=KeyCreated, status_code=status.HTTP_201_CREATED,
             responses=responses(401, 403, 422))
def create_key(data: KeyCreate, session: SessionDep, _admin: AdminDep) -> KeyCreated:
    """Create a key; the secret is in the response and never shown again."""
    key, secret = service.create_key(session, role=data.role, country=data.country,
                                     name=data.name)
    return KeyCreated(**KeyRead.model_validate(key).model_dump(), key=secret)


@router.delete("/{key_id}", response_model=KeyRead, responses=responses(401, 403, 404))
def revoke_key(key_id: int = Path(ge=1, le=MAX_ID), *, session: SessionDep,
               _admin: AdminDep) -> ApiKey:
    """Revoke a key; it stops working at once."""
    return service.revoke_key(session, key_id=key_id)
