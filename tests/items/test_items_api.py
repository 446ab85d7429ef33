"""Offers and needs through the HTTP API: create, read, list, filter, paginate, update with
optimistic concurrency, withdraw."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from models import Offer
from service.cursors import encode_cursor
from tests.conftest import KeyMaker, bearer
from tests.factories import (
    API,
    KINDS,
    Kind,
    assert_problem,
    create_item,
    create_need,
    create_offer,
    item_payload,
    list_all,
)


@pytest.mark.parametrize("kind", KINDS)
def test_create_item_valid_returns_201_with_location_and_etag(
    app_client: TestClient, make_key: KeyMaker, kind: Kind
) -> None:
    key = make_key("country", "CHL")
    payload = item_payload(kind)

    response = app_client.post(f"{API}/{kind}s", json=payload, headers=bearer(key))

    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"{API}/{kind}s/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert body["version"] == 1
    assert body["kind"] == kind
    for field, value in payload.items():
        assert body[field] == value, field
    assert body["ref"]
    assert body["created_at"]
    assert body["updated_at"]


@pytest.mark.parametrize("kind", KINDS)
def test_get_item_after_create_returns_same_item_and_etag(
    app_client: TestClient, make_key: KeyMaker, kind: Kind
) -> None:
    key = make_key("country", "CHL")
    created = app_client.post(f"{API}/{kind}s", json=item_payload(kind), headers=bearer(key))

    response = app_client.get(created.headers["location"], headers=bearer(key))

    assert response.status_code == 200
    assert response.json() == created.json()
    assert response.headers["etag"] == created.headers["etag"]


def test_create_offer_without_capacity_defaults_to_one(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    key = make_key("country", "CHL")
    payload = item_payload("offer")
    del payload["capacity"]

    response = app_client.post(f"{API}/offers", json=payload, headers=bearer(key))

    assert response.status_code == 201
    assert response.json()["capacity"] == 1


def test_create_need_has_no_capacity(app_client: TestClient, make_key: KeyMaker) -> None:
    need = create_need(app_client, make_key("country", "CHL"))

    assert "capacity" not in need


def test_create_need_with_capacity_is_rejected(app_client: TestClient, make_key: KeyMaker) -> None:
    key = make_key("country", "CHL")

    response = app_client.post(f"{API}/needs", json=item_payload("need", capacity=2),
                               headers=bearer(key))

    assert_problem(response, 422, "capacity")
    assert list_all(app_client, key, "need") == []


@pytest.mark.parametrize(("country", "language"), [
    ("BRA", "pt"), ("HTI", "fr"), ("ARG", "es"), ("JAM", "en"),
])
def test_create_item_without_language_infers_it_from_country(
    app_client: TestClient, make_key: KeyMaker, country: str, language: str
) -> None:
    key = make_key("country", country)
    payload = item_payload("need", country=country)
    del payload["language"]

    response = app_client.post(f"{API}/needs", json=payload, headers=bearer(key))

    assert response.status_code == 201, response.text
    assert response.json()["language"] == language


def test_a_language_code_in_capitals_is_stored_in_lower_case(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    """As the list filters and the spreadsheet forms read it: it was refused with only
    "String should match pattern '^[a-z]{2}$'"."""
    key = make_key("country", "BRA")

    created = app_client.post(f"{API}/offers", headers=bearer(key),
                              json=item_payload("offer", country="BRA", language="PT"))
    assert created.status_code == 201, created.text
    changed = app_client.patch(f"{API}/offers/{created.json()['id']}",
                               headers=bearer(key) | {"If-Match": created.headers["ETag"]},
                               json={"language": "Es"})

    assert created.json()["language"] == "pt"
    assert changed.status_code == 200, changed.text
    assert changed.json()["language"] == "es"


def test_create_item_without_country_uses_the_key_country(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    key = make_key("country", "PER")
    payload = item_payload("offer")
    del payload["country"]

    response = app_client.post(f"{API}/offers", json=payload, headers=bearer(key))

    assert response.status_code == 201
    assert response.json()["country"] == "PER"


def test_create_item_without_status_is_published(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    key = make_key("country", "CHL")
    payload = item_payload("offer")
    del payload["status"]

    response = app_client.post(f"{API}/offers", json=payload, headers=bearer(key))

    assert response.json()["status"] == "published"


# --- listing, filters, pagination -----------------------------------------------------------

FILTER_ITEMS: dict[str, dict[str, Any]] = {
    "chl_edu": {"country": "CHL", "factor": "education", "language": "es",
                "modality": "technical_assistance", "status": "published",
                "title": "Alerta temprana de deserción escolar",
                "description": "Sistema de alerta en escuelas.",
                "target_population": "niños de 10 a 17 años"},
    "bra_agr": {"country": "BRA", "factor": "agriculture", "language": "pt",
                "modality": "study_visit", "status": "published",
                "title": "Colheita sem trabalho infantil",
                # Accents typed as combining marks (NFD), as some systems and PDFs give them.
                "description": "Visita a\u0300s cooperativas de cafe\u0301.",
                "target_population": "filhos de trabalhadores rurais"},
    "hti_mig": {"country": "HTI", "factor": "migration", "language": "fr",
                "modality": "training", "status": "draft",
                "title": "Protection des enfants migrants à la frontière",
                "description": "Formation des inspecteurs du travail.",
                "target_population": "enfants migrants"},
    "chl_ict": {"country": "CHL", "factor": "ict", "language": "es",
                "modality": "documentation", "status": "published",
                "title": "Registro digital de inspecciones",
                "description": "Plataforma para las inspecciones del trabajo con Cosecha Segura.",
                "target_population": "inspectores del trabajo"},
}

FILTER_CASES: list[tuple[dict[str, str], set[str]]] = [
    ({}, {"chl_edu", "bra_agr", "hti_mig", "chl_ict"}),
    ({"country": "BRA"}, {"bra_agr"}),
    ({"country": "chl"}, {"chl_edu", "chl_ict"}),
    ({"factor": "migration"}, {"hti_mig"}),
    ({"language": "fr"}, {"hti_mig"}),
    ({"modality": "documentation"}, {"chl_ict"}),
    ({"status": "draft"}, {"hti_mig"}),
    ({"q": "COLHEITA"}, {"bra_agr"}),
    ({"q": "cosecha"}, {"chl_ict"}),
    ({"q": "trabalhadores rurais"}, {"bra_agr"}),
    ({"q": "às cooperativas de café"}, {"bra_agr"}),  # composed (NFC) finds text sent in NFD
    ({"q": "desercio\u0301n"}, {"chl_edu"}),  # and NFD finds NFC
    ({"country": "CHL", "factor": "ict"}, {"chl_ict"}),
]


@pytest.fixture
def filter_items(app_client: TestClient, make_key: KeyMaker) -> tuple[str, dict[int, str]]:
    """Four offers with distinct attributes; returns the admin key and {id: name}."""
    admin = make_key("admin")
    ids = {}
    for name, fields in FILTER_ITEMS.items():
        ids[create_offer(app_client, admin, **fields)["id"]] = name
    return admin, ids


@pytest.mark.parametrize(("params", "expected"), FILTER_CASES,
                         ids=[str(p) for p, _ in FILTER_CASES])
def test_list_offers_with_filter_returns_matching_items(
    app_client: TestClient, filter_items: tuple[str, dict[int, str]],
    params: dict[str, str], expected: set[str],
) -> None:
    admin, ids = filter_items

    response = app_client.get(f"{API}/offers", params=params, headers=bearer(admin))

    assert response.status_code == 200, response.text
    page = response.json()
    assert {ids[item["id"]] for item in page["items"]} == expected
    assert page["total"] == len(expected)


def test_text_is_stored_composed_whichever_form_it_was_sent_in(
    app_client: TestClient, filter_items: tuple[str, dict[int, str]]
) -> None:
    admin, ids = filter_items
    [bra] = [i for i, name in ids.items() if name == "bra_agr"]

    stored = app_client.get(f"{API}/offers/{bra}", headers=bearer(admin)).json()

    assert stored["description"] == "Visita \u00e0s cooperativas de caf\u00e9."


def test_text_stored_decomposed_before_it_was_composed_is_found_either_way(
    app_client: TestClient, make_key: KeyMaker, session: Session
) -> None:
    admin = make_key("admin")
    offer = create_offer(app_client, admin, title="Visita ao cafezal")
    # As a version before NFC stored it: the accent sent as a combining mark, kept so.
    session.execute(update(Offer).where(Offer.id == offer["id"])
                    .values(title="Visita ao cafe\u0301zal"))
    session.commit()

    for q in ("CAFÉZAL", "cafe\u0301zal"):
        found = app_client.get(f"{API}/offers", params={"q": q}, headers=bearer(admin)).json()
        assert [item["id"] for item in found["items"]] == [offer["id"]], q


def test_list_with_filter_of_other_kind_finds_nothing(
    app_client: TestClient, filter_items: tuple[str, dict[int, str]]
) -> None:
    admin, _ids = filter_items

    response = app_client.get(f"{API}/needs", params={"country": "CHL"}, headers=bearer(admin))

    assert response.json()["items"] == []
    assert response.json()["total"] == 0


@pytest.fixture
def five_needs(app_client: TestClient, make_key: KeyMaker) -> tuple[str, list[int]]:
    key = make_key("country", "COL")
    ids = [create_need(app_client, key, country="COL", title=f"Necesidad número {n}")["id"]
           for n in range(5)]
    return key, ids


def test_list_walking_next_cursor_returns_every_item_once_in_id_order(
    app_client: TestClient, five_needs: tuple[str, list[int]]
) -> None:
    key, ids = five_needs
    seen: list[int] = []
    page_sizes: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = app_client.get(f"{API}/needs", params=params, headers=bearer(key)).json()
        assert page["total"] == 5
        assert page["limit"] == 2
        seen.extend(item["id"] for item in page["items"])
        page_sizes.append(len(page["items"]))
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]

    assert seen == sorted(ids)
    assert page_sizes == [2, 2, 1]


def test_list_past_the_last_item_is_empty_and_still_counts_every_match(
    app_client: TestClient, five_needs: tuple[str, list[int]]
) -> None:
    key, ids = five_needs

    page = app_client.get(f"{API}/needs", params={"cursor": encode_cursor(max(ids))},
                          headers=bearer(key)).json()

    assert page["items"] == []
    assert page["total"] == 5
    assert page["next_cursor"] is None


def test_list_same_query_twice_returns_same_order(
    app_client: TestClient, five_needs: tuple[str, list[int]]
) -> None:
    key, _ids = five_needs

    first = list_all(app_client, key, "need")
    second = list_all(app_client, key, "need")

    assert [i["id"] for i in first] == [i["id"] for i in second]


def test_list_item_created_during_walk_appears_once_at_the_end(
    app_client: TestClient, five_needs: tuple[str, list[int]]
) -> None:
    key, ids = five_needs
    first = app_client.get(f"{API}/needs", params={"limit": 3}, headers=bearer(key)).json()
    new_id = create_need(app_client, key, country="COL", title="Necesidad tardía")["id"]

    rest = app_client.get(f"{API}/needs", params={"limit": 3, "cursor": first["next_cursor"]},
                          headers=bearer(key)).json()

    walked = [i["id"] for i in first["items"]] + [i["id"] for i in rest["items"]]
    assert walked == [*sorted(ids), new_id]
    assert rest["next_cursor"] is None


def test_list_without_limit_uses_default_page_size(
    app_client: TestClient, five_needs: tuple[str, list[int]]
) -> None:
    key, _ids = five_needs

    page = app_client.get(f"{API}/needs", headers=bearer(key)).json()

    assert page["limit"] == 50
    assert len(page["items"]) == 5
    assert page["next_cursor"] is None


def test_list_limit_200_is_accepted(app_client: TestClient, make_key: KeyMaker) -> None:
    response = app_client.get(f"{API}/offers", params={"limit": 200},
                              headers=bearer(make_key("organizer")))

    assert response.status_code == 200
    assert response.json()["limit"] == 200


# --- updates and optimistic concurrency -----------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_update_with_current_if_match_bumps_version_and_etag(
    app_client: TestClient, make_key: KeyMaker, kind: Kind
) -> None:
    key = make_key("country", "CHL")
    item = create_item(app_client, key, kind)

    response = app_client.patch(f"{API}/{kind}s/{item['id']}", json={"title": "Título nuevo"},
                                headers={**bearer(key), "If-Match": '"1"'})

    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    assert response.json()["title"] == "Título nuevo"
    assert response.headers["etag"] == '"2"'
    stored = app_client.get(f"{API}/{kind}s/{item['id']}", headers=bearer(key)).json()
    assert stored["title"] == "Título nuevo"
    assert stored["version"] == 2


@pytest.mark.parametrize("kind", KINDS)
def test_update_with_stale_if_match_returns_412_and_changes_nothing(
    app_client: TestClient, make_key: KeyMaker, kind: Kind
) -> None:
    key = make_key("country", "CHL")
    item = create_item(app_client, key, kind)
    url = f"{API}/{kind}s/{item['id']}"
    first = app_client.patch(url, json={"modality": "training"},
                             headers={**bearer(key), "If-Match": '"1"'})
    assert first.status_code == 200
    before = app_client.get(url, headers=bearer(key)).json()

    response = app_client.patch(url, json={"modality": "internship", "title": "Otro título"},
                                headers={**bearer(key), "If-Match": '"1"'})

    assert_problem(response, 412)
    assert app_client.get(url, headers=bearer(key)).json() == before


def test_update_offer_capacity_changes_it(app_client: TestClient, make_key: KeyMaker) -> None:
    key = make_key("country", "CHL")
    offer = create_offer(app_client, key, capacity=2)

    response = app_client.patch(f"{API}/offers/{offer['id']}", json={"capacity": 5},
                                headers=bearer(key))

    assert response.json()["capacity"] == 5


def test_update_need_capacity_is_rejected(app_client: TestClient, make_key: KeyMaker) -> None:
    key = make_key("country", "CHL")
    need = create_need(app_client, key)

    response = app_client.patch(f"{API}/needs/{need['id']}", json={"capacity": 5},
                                headers=bearer(key))

    assert_problem(response, 422, "capacity")
    assert app_client.get(f"{API}/needs/{need['id']}", headers=bearer(key)).json() == need


def test_update_with_same_values_keeps_version(app_client: TestClient, make_key: KeyMaker) -> None:
    key = make_key("country", "CHL")
    offer = create_offer(app_client, key)

    response = app_client.patch(f"{API}/offers/{offer['id']}",
                                json={"title": offer["title"], "factor": offer["factor"]},
                                headers=bearer(key))

    assert response.status_code == 200
    assert response.json()["version"] == 1


def test_update_draft_to_published_publishes_it(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    key = make_key("country", "CHL")
    offer = create_offer(app_client, key, status="draft")

    response = app_client.patch(f"{API}/offers/{offer['id']}", json={"status": "published"},
                                headers=bearer(key))

    assert response.json()["status"] == "published"
    other = make_key("country", "ARG")
    assert app_client.get(f"{API}/offers/{offer['id']}", headers=bearer(other)).status_code == 200


# --- withdrawal -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_delete_item_withdraws_it_and_keeps_the_record(
    app_client: TestClient, make_key: KeyMaker, kind: Kind
) -> None:
    key = make_key("country", "CHL")
    item = create_item(app_client, key, kind)
    url = f"{API}/{kind}s/{item['id']}"

    response = app_client.delete(url, headers=bearer(key))

    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    assert response.json()["version"] == 2
    stored = app_client.get(url, headers=bearer(key)).json()
    assert stored["status"] == "withdrawn"
    assert stored["title"] == item["title"]
    withdrawn = list_all(app_client, key, kind, status="withdrawn")
    assert [i["id"] for i in withdrawn] == [item["id"]]


def test_delete_withdrawn_item_again_keeps_version(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    key = make_key("country", "CHL")
    offer = create_offer(app_client, key)
    app_client.delete(f"{API}/offers/{offer['id']}", headers=bearer(key))

    response = app_client.delete(f"{API}/offers/{offer['id']}", headers=bearer(key))

    assert response.status_code == 200
    assert response.json()["version"] == 2


def test_delete_with_stale_if_match_returns_412_and_keeps_status(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    key = make_key("country", "CHL")
    offer = create_offer(app_client, key)
    url = f"{API}/offers/{offer['id']}"
    app_client.patch(url, json={"modality": "training"}, headers=bearer(key))

    response = app_client.delete(url, headers={**bearer(key), "If-Match": '"1"'})

    assert_problem(response, 412)
    assert app_client.get(url, headers=bearer(key)).json()["status"] == "published"


def test_withdrawn_offer_is_hidden_from_other_countries(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    key = make_key("country", "CHL")
    offer = create_offer(app_client, key)
    app_client.delete(f"{API}/offers/{offer['id']}", headers=bearer(key))
    other = make_key("country", "ARG")

    response = app_client.get(f"{API}/offers/{offer['id']}", headers=bearer(other))

    assert_problem(response, 404)


@pytest.mark.parametrize("kind", KINDS)
def test_list_items_equal_the_single_item_answers(
    app_client: TestClient, make_key: KeyMaker, kind: Kind
) -> None:
    # Pages are serialised from rows without per-row validation; each listed item must still
    # be exactly what GET of that item returns (same fields, types, defaults and date format).
    key = make_key("country", "CHL")
    created = [
        create_item(app_client, key, kind, title="Formación dual en oficios: ção, naïve"),
        create_item(app_client, key, kind, status="draft"),
    ]
    if kind == "offer":
        created.append(create_item(app_client, key, kind, capacity=4))

    listed = {item["id"]: item for item in list_all(app_client, key, kind)}

    for item in created:
        single = app_client.get(f"{API}/{kind}s/{item['id']}", headers=bearer(key))
        assert single.status_code == 200
        assert listed[item["id"]] == single.json()
        assert list(listed[item["id"]]) == list(single.json())  # same field order too


def test_row_serializer_rejects_nested_models() -> None:
    from pydantic import BaseModel

    from service.schemas import RowSerializer

    class Inner(BaseModel):
        a: int

    class Outer(BaseModel):
        inner: Inner

    with pytest.raises(TypeError, match="nested"):
        RowSerializer(Outer)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("factor", ["EDUCATION", "Education"])
def test_create_and_update_with_factor_in_any_letter_case_store_lower_case(
    app_client: TestClient, make_key: KeyMaker, kind: Kind, factor: str
) -> None:
    key = make_key("country", "CHL")

    created = app_client.post(f"{API}/{kind}s", json=item_payload(kind, factor=factor),
                              headers=bearer(key))

    assert created.status_code == 201, created.text
    assert created.json()["factor"] == "education"
    changed = app_client.patch(created.headers["location"], json={"factor": "MIGRATION"},
                               headers=bearer(key))
    assert changed.status_code == 200, changed.text
    assert changed.json()["factor"] == "migration"
