"""Texts in capitals score like the same texts in lower case (the encoders case-fold).

The need and offers are copied from the dev set (need dd15dc8b8, its graded offers and two
unrelated ones). The tolerance is zero: case-folding maps the original and the capitalised
copy to the same string (for every letter of es/pt/en/fr; only Turkish dotless ı differs),
and a text's vector depends on that string only, bit for bit (test_encoder.py), so any
difference at all means case still reaches the encoder.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest

from service.scoring import Context, Item, ScoredPairing, Weights, get_text_model, rank
from service.scoring.text import fold_case

from .helpers import make_item

NEED = make_item(
    "dd15dc8b8", "need", "HTI", factor="education", language="fr",
    modality="technical_assistance",
    title="Repérer à temps les élèves qui risquent d'abandonner l'école",
    description="Les directeurs d'école savent qu'un enfant s'absente, mais l'information ne "
    "remonte pas et personne n'intervient avant qu'il ait quitté l'école pour travailler. Nous "
    "aimerions un outil qui signale automatiquement les élèves à risque à partir des absences "
    "et des notes, et qui déclenche une visite ou une orientation.",
    target_population="élèves du fondamental",
)  # fmt: skip
OFFERS = [
    make_item(
        "d11e3c9b5", "offer", "ECU", factor="ict", language="es",
        title="Alerta temprana de abandono escolar con datos de asistencia y calificaciones",
        description="El sistema de gestión escolar calcula cada mes un indicador de riesgo para "
        "cada estudiante a partir de inasistencias, calificaciones y extraedad, y envía una "
        "alerta al consejero estudiantil, que debe registrar una visita o una derivación.",
        target_population="estudiantes de educación básica y bachillerato", capacity=2,
    ),
    make_item(
        "d61089389", "offer", "URY", language="es",
        title="Maestros comunitarios que trabajan con las familias de niños que faltan a clase",
        description="En escuelas de contexto vulnerable, un maestro comunitario dedica parte de "
        "su jornada a visitar los hogares de los alumnos con inasistencias frecuentes.",
        target_population="alumnos de primaria con inasistencias reiteradas", capacity=2,
    ),
    make_item(
        "d8592de0b", "offer", "BRB", language="en",
        title="School attendance officers who follow up chronic absentees at home",
        description="Barbados' Ministry of Education employs school attendance officers who "
        "visit the homes of pupils with repeated absences, talk with parents, and refer "
        "families to the Child Care Board when the child is working or neglected.",
        target_population="primary and secondary pupils with poor attendance", capacity=2,
    ),
    make_item(
        "da45f12dd", "offer", "BRA", factor="ict", language="pt",
        title="Busca Ativa Escolar: plataforma municipal para localizar crianças fora da escola",
        description="Agentes de saúde, assistência social e educação registram no celular "
        "crianças e adolescentes fora da escola ou com risco de abandono.",
        target_population="municípios e redes de ensino", capacity=2,
    ),
    make_item(
        "d71e99182", "offer", "BRA", factor="ict", language="pt",
        title="Sistema Federal de Inspeção do Trabalho: gestão digital das ações fiscais",
        description="Os auditores-fiscais registram em sistema próprio o planejamento, as "
        "visitas, os autos de infração e os afastamentos de crianças.",
        target_population="inspeção do trabalho", capacity=2,
    ),
    make_item(
        "d3e58660e", "offer", "ARG", factor="agriculture", language="es",
        title="Elaboración tripartita del listado de trabajos peligrosos en el agro",
        description="El listado argentino de trabajos peligrosos y sus prohibiciones para "
        "menores de 18 años se construyó con sindicatos rurales y cámaras empresarias.",
        target_population="ministerios de trabajo y actores sociales", capacity=2,
    ),
]  # fmt: skip
RECASINGS: dict[str, Callable[[str], str]] = {"upper": str.upper, "title": str.title}


def recased(item: Item, how: Callable[[str], str]) -> Item:
    """The item with its three texts rewritten by `how` (e.g. in capitals)."""
    return dataclasses.replace(
        item,
        title=how(item.title),
        description=how(item.description),
        target_population=how(item.target_population),
    )


def ranked(need: Item) -> list[ScoredPairing]:
    result = rank(
        [need],
        OFFERS,
        weights=Weights(),
        context=Context(),
        top_k=len(OFFERS),
        model=get_text_model(),
    )
    return result[need.id]


@pytest.mark.parametrize(
    ("text", "variant"),
    [
        ("éducation inclusive", "ÉDUCATION INCLUSIVE"),
        ("éducation inclusive", "Éducation Inclusive"),
        ("trabajo infantil (oit)", "TRABAJO INFANTIL (OIT)"),
        ("straße", "STRASSE"),
        (NEED.description, NEED.description.upper()),
    ],
)
def test_fold_case_case_variants_give_one_text(text: str, variant: str) -> None:
    assert fold_case(variant) == fold_case(text)


@pytest.mark.slow
@pytest.mark.parametrize("how", RECASINGS.values(), ids=list(RECASINGS))
def test_score_recased_need_same_text_components(how: Callable[[str], str]) -> None:
    original = ranked(NEED)
    copy = ranked(recased(NEED, how))
    assert [p.offer_id for p in copy] == [p.offer_id for p in original]
    assert [p.components["text"] for p in copy] == [p.components["text"] for p in original]
    assert [p.total for p in copy] == [p.total for p in original]


@pytest.mark.slow
def test_score_upper_cased_need_same_matched_terms() -> None:
    original = ranked(NEED)
    copy = ranked(recased(NEED, str.upper))
    assert [p.matched_terms for p in copy] == [p.matched_terms for p in original]


@pytest.mark.slow
def test_word_vectors_ignore_case() -> None:
    model = get_text_model()
    assert hasattr(model, "word_vectors")
    vectors = model.word_vectors(["COSECHA", "Cosecha", "cosecha"])
    assert np.array_equal(vectors[0], vectors[2])
    assert np.array_equal(vectors[1], vectors[2])
