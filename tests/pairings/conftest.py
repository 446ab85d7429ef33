"""Fixtures of these tests (see tests/pairings/fixtures.py)."""

from tests.pairings.fixtures import _no_encoding, api, shared_app

__all__ = ["_no_encoding", "api", "shared_app"]
