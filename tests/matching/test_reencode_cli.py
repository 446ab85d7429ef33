"""`sscmatch reencode` stores the vectors of items written without them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from models import Need, Offer
from service import scoring
from service.cli import main
from service.config import get_settings
from service.db import session_scope
from service.items import service as items_service
from service.items import vectors
from service.items.schemas import OfferCreate
from tests.factories import offer_payload


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
            # stamped by the bump, so that the workers' indexes read the stored vectors
            assert s.scalar(select(func.count(model.id)).where(model.change_seq.is_(None))) == 0
    capsys.readouterr()
    assert main(["reencode"]) == 0
    assert "encoded 0 offers and needs" in capsys.readouterr().out


@pytest.mark.usefixtures("committed_db")
def test_reencode_keeps_the_vector_of_an_item_edited_while_it_encodes(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with session_scope() as s:
        offer = items_service.create_item(
            s, kind="offer", data=OfferCreate.model_validate(offer_payload(ref="REENC-1")),
            principal=None, encode=False)
        offer_id = offer.id
    model_class = type(scoring.get_text_model())
    encode = model_class.encode
    edited: list[bool] = []

    def encode_while_a_country_edits(self: Any, texts: Any, **kwargs: Any) -> Any:
        if not edited:  # the item's text changes (and is encoded) while reencode encodes
            edited.append(True)
            with session_scope() as s:
                row = s.get_one(Offer, offer_id)
                row.title = "Inspección laboral en la agricultura familiar"
                row.version += 1
                vectors.encode_rows([row], "offer")
        return encode(self, texts, **kwargs)

    monkeypatch.setattr(model_class, "encode", encode_while_a_country_edits)
    status = main(["reencode"])
    capsys.readouterr()
    monkeypatch.setattr(model_class, "encode", encode)

    assert status == 0
    with session_scope() as s:
        row = s.get_one(Offer, offer_id)
        expected = scoring.get_text_model().encode(
            [scoring.item_text(vectors.to_scoring_item(row, "offer"))])[0]
        assert row.title == "Inspección laboral en la agricultura familiar"
        assert row.embedding == scoring.vector_to_bytes(expected)
