"""Opaque list cursors that continue after a row's id (keyset paging): rows written while a
client pages neither shift nor repeat the pages that follow."""

from __future__ import annotations

import base64
import binascii

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
