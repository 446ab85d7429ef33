"""`Idempotency-Key` for POST requests: a retried request gets the first response back and
changes nothing again.

The key is scoped to the calling access key. The first request inserts a claim (unique on
key id + key) before doing its work, in the same transaction, and stores its response there;
a concurrent request with the same key waits on that unique index, then replays the stored
response. Reusing a key for a different request (other path or body) is a 422. Only successful
responses are stored: a request that failed can be retried with the same key. Records expire
after `TTL`: each claim deletes the calling key's expired records, so what is stored stays
bounded by a key's last `TTL` of requests (revoking a key deletes its records).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import IdempotencyRecord, utcnow
from service.auth.service import Principal
from service.errors import Conflict, Unprocessable

TTL = timedelta(hours=24)
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")
REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_HEADERS = ("ETag", "Location")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What identifies a request: method, path and a hash of its body and preconditions."""

    method: str
    path: str
    digest: str


def fingerprint(method: str, path: str, payload: Any) -> Fingerprint:
    """Hash a request's canonical JSON payload together with its method and path."""
    canonical = json.dumps([method, path, payload], sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False, default=str)
    return Fingerprint(method, path[:300], hashlib.sha256(canonical.encode()).hexdigest())


def check_key(key: str) -> None:
    """Refuse keys that are empty, too long or not printable ASCII."""
    if not KEY_PATTERN.match(key):
        raise Unprocessable(
            "Idempotency-Key must be 1 to 200 printable ASCII characters (a UUID is ideal).",
            errors=[{"field": "header.Idempotency-Key", "message": "invalid key"}])


def _lookup(session: Session, principal: Principal, key: str) -> IdempotencyRecord | None:
    return session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.principal_key_id == principal.key_id, IdempotencyRecord.key == key))


def _replay(record: IdempotencyRecord, fp: Fingerprint) -> JSONResponse:
    if (record.method, record.path, record.request_hash) != (fp.method, fp.path, fp.digest):
        raise Unprocessable(
            "This Idempotency-Key was already used for a different request; use a new key "
            "for a new request.",
            errors=[{"field": "header.Idempotency-Key", "message": "reused for another request"}])
    if record.status_code is None:
        raise Conflict("A request with this Idempotency-Key is still being processed; retry.",
                       headers={"Retry-After": "1"})
    headers = dict(record.headers or {}) | {REPLAYED_HEADER: "true"}
    return JSONResponse(record.response, status_code=record.status_code, headers=headers)


def claim(session: Session, *, principal: Principal, key: str,
          fp: Fingerprint) -> IdempotencyRecord | JSONResponse:
    """Claim `key` for this request, or return the stored response of its first use."""
    check_key(key)
    session.execute(delete(IdempotencyRecord).where(
        IdempotencyRecord.principal_key_id == principal.key_id,
        IdempotencyRecord.created_at < utcnow() - TTL))
    existing = _lookup(session, principal, key)
    if existing is not None:
        return _replay(existing, fp)
    record = IdempotencyRecord(principal_key_id=principal.key_id, key=key, method=fp.method,
                               path=fp.path, request_hash=fp.digest, headers={})
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()  # waits here while a concurrent request holds the same key
    except IntegrityError:
        winner = _lookup(session, principal, key)
        if winner is None:
            raise Conflict("A concurrent request with this Idempotency-Key failed; retry.",
                           headers={"Retry-After": "1"}) from None
        return _replay(winner, fp)
    return record


def complete(session: Session, record: IdempotencyRecord, *, status_code: int, body: Any,
             headers: dict[str, str]) -> None:
    """Store the response of a claimed request (committed with the request's own changes)."""
    record.status_code = status_code
    record.response = body
    record.headers = {k: v for k, v in headers.items() if k in KEPT_HEADERS}
    session.flush()


def respond(session: Session, request: Request, *, principal: Principal, key: str | None,
            payload: Any, status_code: int,
            action: Callable[[], tuple[BaseModel, dict[str, str]]]) -> JSONResponse:
    """Run `action` once per Idempotency-Key and answer with its (possibly stored) result.

    `action` returns the response model and the headers to send (ETag, Location).
    """
    record: IdempotencyRecord | None = None
    if key is not None:
        fp = fingerprint(request.method, request.url.path, payload)
        claimed = claim(session, principal=principal, key=key, fp=fp)
        if isinstance(claimed, JSONResponse):
            return claimed
        record = claimed
    model, headers = action()
    body = model.model_dump(mode="json")
    if record is not None:
        complete(session, record, status_code=status_code, body=body, headers=headers)
    return JSONResponse(body, status_code=status_code, headers=headers)
