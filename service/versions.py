"""Record versions as HTTP validators: the ETag of a version and the `If-Match` check.

Offers, needs, pairings, follow-up activities and cooperation tables carry a `version` that
every change increases; a client sends back the ETag it read to avoid lost updates.
"""

from __future__ import annotations

import re
from typing import Protocol

from service.errors import PreconditionFailed, ServiceError


class Versioned(Protocol):
    """A stored record with a version number."""

    @property
    def version(self) -> int: ...


def etag(record: Versioned) -> str:
    """Return the strong ETag of a record's current version."""
    return f'"{record.version}"'


# RFC 9110, 8.8.3: an entity tag is an opaque quoted string, weak with a `W/` before it.
_TAG = r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"'
# 13.1.1: If-Match is "*" or a comma-separated list of entity tags (empty elements allowed);
# possessive quantifiers, so that no header makes the match backtrack.
_TAG_LIST = re.compile(rf"(?:\s*+(?:{_TAG})?+\s*+,)*+\s*+(?:{_TAG})?+\s*+")
MALFORMED_IF_MATCH = 'malformed If-Match (expected a quoted version such as "3")'


def check_if_match(record: Versioned, if_match: str | None, *, what: str) -> None:
    """Raise 412 when `If-Match` names neither the current version nor `*`, 400 when it is
    not an entity tag or a list of them.

    If-Match compares strongly (RFC 9110, 13.1.1): a weak tag (`W/"3"`) matches nothing.
    `what` names the record in the message ("Pairing 7", "The offer").
    """
    if if_match is None or if_match.strip() == "*":
        return
    tags = re.findall(_TAG, if_match)
    if not tags or not _TAG_LIST.fullmatch(if_match):
        raise ServiceError(MALFORMED_IF_MATCH, errors=[
            {"field": "header.If-Match", "message": MALFORMED_IF_MATCH}])
    current = etag(record)
    if any(not weak and f'"{opaque}"' == current for weak, opaque in tags):
        return
    if any(f'"{opaque}"' == current for _weak, opaque in tags):
        raise PreconditionFailed(
            f"{what} is at version {record.version}, but your If-Match {if_match} names it "
            f"with a weak tag, which never matches; send the ETag as read ({current}).",
            current_version=record.version)
    raise PreconditionFailed(
        f"{what} is at version {record.version}; your If-Match {if_match} is stale. "
        "Fetch it again and reapply your change.", current_version=record.version)
