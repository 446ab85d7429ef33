"""Fixtures of these tests (see tests/pairings/fixtures.py) and the report scenario."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyMaker
from tests.pairings.fixtures import _no_encoding, api, shared_app
from tests.pairings.helpers import World, make_world
from tests.reports.scenario import build

__all__ = ["_no_encoding", "api", "shared_app", "world"]


@pytest.fixture
def world(api: TestClient, make_key: KeyMaker) -> World:
    """A table with the report scenario (pairings at every stage, a partner, follow-ups)."""
    world = make_world(api, make_key)
    build(world)
    return world
