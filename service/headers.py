"""Headers every answer carries: the security headers, and what CORS allows."""

from __future__ import annotations

API_PREFIX = "/api/v1"

SECURITY: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"))
"""On every answer."""

API_SECURITY: tuple[tuple[bytes, bytes], ...] = (*SECURITY, (b"cache-control", b"no-store"))
"""On every answer under the API prefix: never cached."""

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
"""The methods the API answers (HEAD as a GET): what CORS allows, and what a 405 may list."""
