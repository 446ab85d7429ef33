"""The one test that runs the real text model (a handful of sentences, a few seconds)."""

from __future__ import annotations

import numpy as np
import pytest

from service.scoring import Context, Weights, get_text_model, rank

from .helpers import make_item

TEXTS = [
    "Guarderías para los hijos de jornaleros durante la cosecha de café.",  # es
    "Creches para os filhos dos trabalhadores rurais durante a colheita do café.",  # pt
    "Childcare centres for the children of farm workers during the coffee harvest.",  # en
    "Audits of mining suppliers to remove child labour from the mineral supply chain.",  # en
    "Registre électronique des adolescents autorisés à travailler.",  # fr
]


@pytest.mark.slow
def test_real_model_is_multilingual_deterministic_and_explains() -> None:
    model = get_text_model()
    assert model.name.startswith("use-m3-words")
    assert model.dim == 512
    vectors = model.encode(TEXTS)
    assert vectors.shape == (5, 512)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    # the same request in three languages is closer than anything else
    assert min(sims[0, 1], sims[0, 2], sims[1, 2]) > max(sims[0, 3], sims[1, 3], sims[2, 4])
    # a text's vector does not depend on its batch
    alone = np.vstack([model.encode([t]) for t in reversed(TEXTS)])[::-1]
    assert np.array_equal(alone, vectors)

    need = make_item("n1", "need", "GTM", title=TEXTS[0])
    offers = [
        make_item("o1", "offer", "JAM", language="en", title=TEXTS[2]),
        make_item("o2", "offer", "TTO", language="en", title=TEXTS[3]),
    ]
    result = rank([need], offers, weights=Weights(), context=Context(), top_k=2)
    assert [p.offer_id for p in result["n1"]] == ["o1", "o2"]
    terms = result["n1"][0].matched_terms
    assert any("↔" in t for t in terms), terms
    assert "cosecha ↔ harvest" in terms or "café ↔ coffee" in terms, terms


@pytest.mark.slow
def test_small_and_large_product_shapes_give_identical_vectors() -> None:
    # Writes encode one text with a few new words through smaller fixed shapes (when the BLAS
    # gives them the same bits); bulk encoding uses the large ones. Two fresh models, one fed
    # a batch of 10 texts at once, the other each word and then each text on its own, must
    # agree to the bit.
    from service.scoring.encoders import UseWordsModel
    from service.scoring.text import split_words

    texts = [*TEXTS, *(f"{t} Año 2030, ref. {k}" for k, t in enumerate(TEXTS))]
    bulk = UseWordsModel().encode(texts)

    one_by_one = UseWordsModel()
    for text in texts:
        for word in split_words(text):
            one_by_one.encode([word])
    alone = np.vstack([one_by_one.encode([t]) for t in texts])

    assert np.array_equal(alone, bulk)
