"""Opaque list cursors that continue after a row's id (keyset paging): rows written while a
client pages neither shift nor repeat the pages that follow."""

from __future__ import annotations

import base64
import binascii
from datetime import date

from service.errors import invalid_cursor
from service.schemas import MAX_ID


def encode_cursor(last_id: int) -> str:
    """Return the opaque cursor that continues after `last_id`."""
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Read a cursor made by `encode_cursor`, or raise 400: only the very text it writes is
    read (no padding, spaces, signs, leading zeros, or characters base64 would skip)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        prefix, _, value = raw.partition(":")
        last_id = int(value)
        if prefix != "id" or not 0 <= last_id <= MAX_ID or encode_cursor(last_id) != cursor:
            raise ValueError(raw)
        return last_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_cursor() from None


_DUE = b"d"  # a due-date cursor: this byte, the day's ordinal (3 bytes), the id (4 bytes)


def encode_due_cursor(due_on: date, last_id: int) -> str:
    """Return the opaque cursor that continues after the row (`due_on`, `last_id`) of a list
    ordered by due date, then id (the follow-ups); packed, so that it stays within the 20
    characters a cursor may have."""
    raw = _DUE + due_on.toordinal().to_bytes(3, "big") + last_id.to_bytes(4, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_due_cursor(cursor: str) -> tuple[date, int]:
    """Read a cursor made by `encode_due_cursor`, or raise 400 (only the very text it
    writes, as `decode_cursor`)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        last_id = int.from_bytes(raw[4:], "big")
        if len(raw) != 8 or raw[:1] != _DUE or last_id > MAX_ID:
            raise ValueError(cursor)
        due_on = date.fromordinal(int.from_bytes(raw[1:4], "big"))
        if encode_due_cursor(due_on, last_id) != cursor:
            raise ValueError(cursor)
        return due_on, last_id
    except (binascii.Error, ValueError):
        raise invalid_cursor() from None
