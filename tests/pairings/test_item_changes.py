"""Changes of a need or offer that pairings have taken up: its factor stays, since the reports
count the pairings' outcomes under it; its texts may still change."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem
from tests.pairings.helpers import World, at_stage, get, make_world


@pytest.fixture
def world(api: TestClient, make_key: KeyMaker) -> World:
    return make_world(api, make_key)


@pytest.mark.parametrize("stage", ["expression_of_interest", "commitment", "agreement"])
@pytest.mark.parametrize(("kind", "owner"), [("need", "HTI"), ("offer", "CHL")])
def test_change_factor_of_item_taken_up_by_a_pairing_is_409_and_keeps_it(
    world: World, stage: str, kind: str, owner: str
) -> None:
    pairing = at_stage(world, stage)
    item_id = world.need_id if kind == "need" else world.offer_id
    before = get(world, f"/{kind}s/{item_id}")

    response = world.client.patch(f"{API}/{kind}s/{item_id}", json={"factor": "migration"},
                                  headers=bearer(world.key(owner)))

    problem = assert_problem(response, 409, "factor")
    assert problem["pairings"] == [pairing["id"]]
    assert f"pairing(s) {pairing['id']}" in problem["detail"]
    assert f"Submit a new {kind} on 'migration'" in problem["detail"]
    assert get(world, f"/{kind}s/{item_id}") == before
    report = get(world, f"/tables/{world.table_id}/report")
    assert [f["factor"] for f in report["factors"]] == ["education"]


def test_change_title_and_description_of_item_taken_up_by_a_pairing_is_allowed(
    world: World
) -> None:
    at_stage(world, "agreement")

    response = world.client.patch(
        f"{API}/needs/{world.need_id}",
        json={"title": "Nuevo título de la necesidad", "description": "Otra descripción.",
              "factor": "education"},
        headers=bearer(world.key("HTI")))

    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Nuevo título de la necesidad"


@pytest.mark.parametrize("stage", ["suggested", "declined", "withdrawn"])
def test_change_factor_of_item_whose_pairings_are_suggested_or_closed_is_allowed(
    world: World, stage: str
) -> None:
    at_stage(world, stage)

    response = world.client.patch(f"{API}/needs/{world.need_id}", json={"factor": "migration"},
                                  headers=bearer(world.key("HTI")))

    assert response.status_code == 200, response.text
    assert response.json()["factor"] == "migration"
