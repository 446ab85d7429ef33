"""Record versions as HTTP validators: the ETag of a version and the `If-Match` check.

Offers, needs, pairings, follow-up activities and cooperation tables carry a `version` that
every change increases; a client sends back the ETag it read to avoid lost updates.
"""

from __future__ import annotations

from typing import Protocol

from service.errors import PreconditionFailed


class Versioned(Protocol):
    """A stored record with a version number."""

    @property
    def version(self) -> int: ...


def etag(record: Versioned) -> str:
    """Return the strong ETag of a record's current version."""
    return f'"{record.version}"'


def check_if_match(record: Versioned, if_match: str | None, *, what: str) -> None:
    """Raise 412 when `If-Match` names neither the current version nor `*`.

    `what` names the record in the message ("Pairing 7", "The offer").
    """
    if if_match is None:
        return
    tags = [t.strip().removeprefix("W/") for t in if_match.split(",")]
    if "*" not in tags and etag(record) not in tags:
        raise PreconditionFailed(
            f"{what} is at version {record.version}; your If-Match {if_match} is stale. "
            "Fetch it again and reapply your change.", current_version=record.version)
