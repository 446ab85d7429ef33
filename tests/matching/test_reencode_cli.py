"""`sscmatch reencode` stores the vectors of items written without them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import Need, Offer
from service.cli import main
from service.config import get_settings
from service.db import session_scope


@pytest.mark.slow
@pytest.mark.usefixtures("committed_db")
def test_reencode_fills_missing_vectors_and_is_idempotent(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ENCODE_ON_WRITE", "false")
    get_settings.cache_clear()
    assert main(["demo"]) == 0
    with session_scope() as s:
        missing = s.scalar(select(func.count(Offer.id)).where(Offer.embedding.is_(None)))
        assert missing is not None
        assert missing > 0
    assert main(["reencode"]) == 0
    with session_scope() as s:
        for model in (Offer, Need):
            assert s.scalar(select(func.count(model.id)).where(model.embedding.is_(None))) == 0
    capsys.readouterr()
    assert main(["reencode"]) == 0
    assert "encoded 0 offers and needs" in capsys.readouterr().out
