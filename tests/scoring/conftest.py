"""Fixtures of the scoring unit tests (no database, no real encoder)."""

from __future__ import annotations

import pytest

from .helpers import FakeModel


@pytest.fixture
def model() -> FakeModel:
    return FakeModel()
