"""Create, list, revoke and check access keys; only SHA-256 hashes are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from models import ApiKey, IdempotencyRecord, utcnow
from service.countries.service import require_country
from service.errors import Conflict, NotFound, Unauthorized, field_error
from service.schemas import CleanLine

KEY_PREFIX = "ssc_"
# A key's name is shown one per line (`sscmatch keys list`, GET /keys): the API's rules for a
# single line of text, so that no name can break a line, forge one or reorder what it shows.
_KEY_NAME: TypeAdapter[str] = TypeAdapter(CleanLine)

_keys = ApiKey.__table__.c
# Built once and run as plain SQL on the session's connection: every request authenticates,
# and building the statement and loading its row through the ORM cost more than the query.
_KEY_BY_HASH = select(_keys.id, _keys.role, _keys.country_iso3, _keys.name, _keys.key_hash,
                      _keys.revoked_at).where(_keys.key_hash == bindparam("digest"))


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's id, role and, for country keys, the country."""

    key_id: int
    role: str
    country: str | None
    name: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_staff(self) -> bool:
        """Admins and organisers read everything."""
        return self.role in ("admin", "organizer")


def hash_key(secret: str) -> str:
    """Return the hex SHA-256 of a key (keys are random, so a fast hash is enough)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(session: Session, *, role: str, country: str | None = None,
               name: str = "") -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is shown only this once."""
    if role not in ("admin", "organizer", "country"):
        raise field_error("role", f"Unknown role '{role}'; use admin, organizer or country.")
    if role == "country":
        if not country:
            raise field_error("country", "A country key needs the country's ISO3 code.")
        # As every command and filter checks a code: a two-letter one gets its ISO3 twin.
        country = require_country(session, country).iso3
    elif country:
        raise field_error("country", "Only country keys are bound to a country.")
    if len(name) > 120:
        raise field_error("name", f"A key's name has at most 120 characters, not {len(name)}.")
    try:
        _KEY_NAME.validate_python(name)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise field_error("name", f"A key's name {reason}.") from None
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, role=role, country_iso3=country if role == "country" else None,
                 prefix=secret[:10], key_hash=hash_key(secret))
    session.add(key)
    session.flush()
    return key, secret


def list_keys(session: Session, *, limit: int | None = None, offset: int = 0,
              before: int | None = None) -> list[ApiKey]:
    """Return the keys, newest first: `limit` of them (None: all) after the first `offset`,
    of those with an id below `before` if given. Hashes are included only for internal use."""
    stmt = select(ApiKey) if before is None else select(ApiKey).where(ApiKey.id < before)
    return list(session.scalars(stmt.order_by(ApiKey.id.desc()).limit(limit).offset(offset)))


def count_keys(session: Session) -> int:
    """Return how many keys there are, revoked ones included."""
    return session.scalar(select(func.count(ApiKey.id))) or 0


def get_key_or_raise(session: Session, *, key_id: int) -> ApiKey:
    """Return the key with this id, or raise NotFound."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No access key with id {key_id}.")
    return key


def active_admin_key_ids(session: Session) -> list[int]:
    """Return the ids of the admin keys not revoked, locking their rows (PostgreSQL) until the
    transaction ends, so that two revocations cannot each see the other's key still active."""
    return list(session.scalars(
        select(ApiKey.id).where(ApiKey.role == "admin", ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.id).with_for_update()))


def revoke_key(session: Session, *, key_id: int, last_admin: bool = False) -> ApiKey:
    """Revoke a key; it stops working at once, and the responses stored for its
    `Idempotency-Key` retries are deleted. Revoking a revoked key changes nothing: it keeps
    its first `revoked_at`. The last active admin key is revoked only if `last_admin` (the
    command line, which can create another); otherwise that is a Conflict."""
    key = get_key_or_raise(session, key_id=key_id)
    if key.revoked_at is None and key.role == "admin":
        admins = active_admin_key_ids(session)
        # Read again under the lock: a concurrent revocation of this key may have committed.
        session.refresh(key)
        if admins == [key.id] and not last_admin:
            raise Conflict(f"Key #{key.id} is the last active admin key; revoking it would "
                           "leave no key that can manage keys, countries or factors. Create "
                           "another admin key first (POST /keys with role admin), then "
                           "revoke this one.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.execute(delete(IdempotencyRecord).where(
            IdempotencyRecord.principal_key_id == key_id))
        session.flush()
    return key


def authenticate(session: Session, *, authorizations: Sequence[str]) -> Principal:
    """Turn the request's `Authorization: Bearer <key>` header (the values of every such
    header) into a principal, or raise 401; several headers are refused, since a proxy or a
    log could read another one than the service acts on."""
    challenge = {"WWW-Authenticate": 'Bearer realm="sscmatch"'}
    if len(authorizations) > 1:
        raise Unauthorized("Send one Authorization header, not several.", headers=challenge)
    authorization = authorizations[0] if authorizations else None
    if not authorization:
        raise Unauthorized("Send 'Authorization: Bearer <key>'.", headers=challenge)
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Unauthorized("Use the Bearer scheme: 'Authorization: Bearer <key>'.",
                           headers=challenge)
    digest = hash_key(secret)
    key = session.connection().execute(_KEY_BY_HASH, {"digest": digest}).first()
    if key is None or not hmac.compare_digest(key.key_hash, digest) or key.revoked_at:
        raise Unauthorized("The access key is not valid or has been revoked.", headers=challenge)
    return Principal(key_id=key.id, role=key.role, country=key.country_iso3, name=key.name)
