"""Matched terms, text splitting and the memoised item columns."""

from __future__ import annotations

from service.scoring import Context, Weights, score_item
from service.scoring.columns import columns
from service.scoring.terms import Explainer, content_words, fold, stem
from service.scoring.text import split_words

from .helpers import FakeModel, FakeWordModel, make_item


def test_split_words_separates_punctuation() -> None:
    assert split_words("Cosecha (café), niños.") == ["Cosecha", "(", "café", "),", "niños", "."]
    assert split_words("d'école   ...") == ["d'école", "..."]


def test_fold_and_stem() -> None:
    assert fold("Inspección") == "inspeccion"
    assert stem("migrantes") == stem("migrants") == "migrant"
    assert stem("trabajadores") == stem("trabajadoras") == "trabaja"


def test_content_words_skip_stopwords_short_words_and_repeats() -> None:
    words = content_words("Los niños y las niñas del campo: niños, campo, 2024 y la cosecha.")
    # "niños"/"niñas" are in every submission: background words, never shown
    assert words[1] == ("campo", "cosecha")


def test_words_behind_an_elision_or_a_possessive_are_read_as_words() -> None:
    """A French elided article (l', d', qu', ...) or an English possessive ('s) is not part of
    the word: "d'enfants" and "children's" are the background words, never shown, and
    "l'inspection" (or l’inspection) is the same word as "inspections"."""
    assert content_words("d'enfants, children's, d’enfants, children’s")[1] == ()
    assert content_words("qu'elles l'école")[1] == ("école",)
    ex = Explainer(FakeModel())
    for text in ("l'inspection du travail", "l’inspection du travail"):
        need, offer = ex.terms([text, "labour inspections"])
        assert Explainer.explain(need, offer) == ("inspection",)


def test_explain_shared_words_longest_first() -> None:
    ex = Explainer(FakeModel())
    need, offer = ex.terms(["registro de adolescentes trabajadores", "registro electrónico de "
                            "adolescentes autorizados"])  # fmt: skip
    assert Explainer.explain(need, offer) == ("adolescentes", "registro")


def test_explain_word_pairs_need_a_word_model_and_similarity() -> None:
    texts = ["harvest coffee childcare", "harvest coffee childcare"]
    model = FakeWordModel()
    vectors = model.encode(texts)
    need, offer = Explainer(model).terms(texts, vectors)
    assert need.salient == (0, 1, 2)
    # identical words are shown once, as shared words, never as "a ↔ a" pairs
    assert Explainer.explain(need, offer) == ("childcare", "harvest", "coffee")


def test_columns_of_large_tuples_are_memoised(model: FakeModel) -> None:
    offers = tuple(
        make_item(
            f"o{i:04d}",
            "offer",
            ("BRA", "CHL", "PER")[i % 3],
            title=f"topic {i % 7}",
            capacity=1 + i % 3,
        )
        for i in range(1200)
    )
    assert columns(offers) is columns(offers)
    assert columns(list(offers)) is not columns(list(offers))
    need = make_item("n1", "need", "ARG", title="topic 3")
    ctx = Context(offer_load={"o0003": 5})
    as_tuple = score_item(need, offers, weights=Weights(), context=ctx, top_k=5, model=model)
    as_list = score_item(need, list(offers), weights=Weights(), context=ctx, top_k=5, model=model)
    assert as_tuple == as_list
    assert "o0003" not in [p.offer_id for p in as_tuple[:1]]
