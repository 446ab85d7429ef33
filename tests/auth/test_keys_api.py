"""Access keys through the API: shown once, stored hashed, never listed, revocable."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import ApiKey
from service.auth.service import create_key, revoke_key
from service.errors import Conflict
from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem, item_payload


def _create(client: TestClient, admin: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"{API}/keys", json=body, headers=bearer(admin))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_create_key_returns_secret_once_with_its_prefix(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    admin = make_key("admin")

    created = _create(app_client, admin, role="country", country="per", name="Focal point")

    assert created["key"].startswith("ssc_")
    assert len(created["key"]) >= 40
    assert created["prefix"] == created["key"][:len(created["prefix"])]
    assert created["role"] == "country"
    assert created["country"] == "PER"
    assert created["name"] == "Focal point"
    assert created["revoked_at"] is None


def test_created_country_key_submits_for_its_country(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    created = _create(app_client, make_key("admin"), role="country", country="PER")

    response = app_client.post(f"{API}/offers", json=item_payload("offer", country="PER"),
                               headers=bearer(created["key"]))

    assert response.status_code == 201, response.text


def test_list_keys_never_shows_secrets_or_hashes(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    admin = make_key("admin")
    secrets = [admin, make_key("country", "CHL"), make_key("organizer"),
               _create(app_client, admin, role="organizer")["key"]]

    response = app_client.get(f"{API}/keys", headers=bearer(admin))

    assert response.status_code == 200
    keys = response.json()["items"]
    assert len(keys) == response.json()["total"] == 4
    for key in keys:
        assert set(key) == {"id", "name", "role", "country", "prefix", "created_at",
                            "revoked_at"}
    for secret in secrets:
        assert secret not in response.text
        assert hashlib.sha256(secret.encode()).hexdigest() not in response.text


def test_revoke_key_response_has_no_secret_and_key_stops_working(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    admin = make_key("admin")
    created = _create(app_client, admin, role="organizer")
    assert app_client.get(f"{API}/factors", headers=bearer(created["key"])).status_code == 200

    response = app_client.delete(f"{API}/keys/{created['id']}", headers=bearer(admin))

    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    assert "key" not in response.json()
    assert created["key"] not in response.text
    assert_problem(app_client.get(f"{API}/factors", headers=bearer(created["key"])), 401)


def test_revoke_key_twice_keeps_first_revocation_time(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    admin = make_key("admin")
    created = _create(app_client, admin, role="organizer")
    first = app_client.delete(f"{API}/keys/{created['id']}", headers=bearer(admin)).json()

    second = app_client.delete(f"{API}/keys/{created['id']}", headers=bearer(admin))

    assert second.status_code == 200
    assert second.json()["revoked_at"] == first["revoked_at"]


def test_revoke_missing_key_returns_404(app_client: TestClient, make_key: KeyMaker) -> None:
    response = app_client.delete(f"{API}/keys/987654", headers=bearer(make_key("admin")))

    assert_problem(response, 404)


@pytest.mark.parametrize(("body", "field"), [
    ({"role": "superuser"}, "role"),
    ({"role": "country"}, "country"),
    ({"role": "country", "country": "XXX"}, "country"),
    ({"role": "country", "country": "CL"}, "country"),
    ({"role": "organizer", "country": "CHL"}, "country"),
    ({"role": "admin", "name": "a" * 121}, "name"),
    ({"role": "admin", "name": "bad\u0000name"}, "name"),
    ({"role": "admin", "key_hash": "0" * 64}, "key_hash"),
    ({}, "role"),
], ids=str)
def test_create_key_with_bad_input_returns_422_and_creates_nothing(
    app_client: TestClient, make_key: KeyMaker, body: dict[str, Any], field: str | None
) -> None:
    admin = make_key("admin")
    before = app_client.get(f"{API}/keys", headers=bearer(admin)).json()

    response = app_client.post(f"{API}/keys", json=body, headers=bearer(admin))

    assert "--" not in assert_problem(response, 422, field)["detail"]  # no CLI wording
    assert app_client.get(f"{API}/keys", headers=bearer(admin)).json() == before


@pytest.mark.parametrize(("path", "body"), [
    ("/keys", {"role": "country", "country": "cl"}),
    ("/offers", item_payload("offer", country="CL")),
    ("/tables", {"name": "Mesa", "starts_on": "2027-03-01", "ends_on": "2027-03-02",
                 "participants": ["CHL", "CL"]}),
], ids=str)
def test_an_alpha_2_country_code_is_answered_with_its_alpha_3_twin(
    app_client: TestClient, make_key: KeyMaker, path: str, body: dict[str, Any]
) -> None:
    admin = make_key("admin")

    response = app_client.post(f"{API}{path}", json=body, headers=bearer(admin))

    problem = assert_problem(response, 422)
    message = " ".join(str(e["message"]) for e in problem["errors"])
    assert "CHL (Chile)" in message, message


def _key_id(client: TestClient, admin: str, secret: str) -> int:
    keys = client.get(f"{API}/keys", headers=bearer(admin)).json()["items"]
    return int(next(k["id"] for k in keys if secret.startswith(k["prefix"])))


def test_revoke_last_active_admin_key_returns_409_and_keeps_it(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    admin = make_key("admin")
    make_key("organizer")
    admin_id = _key_id(app_client, admin, admin)

    response = app_client.delete(f"{API}/keys/{admin_id}", headers=bearer(admin))

    detail = assert_problem(response, 409)["detail"]
    assert f"#{admin_id} is the last active admin key" in detail
    assert "Create another admin key first" in detail
    keys = app_client.get(f"{API}/keys", headers=bearer(admin))
    assert keys.status_code == 200
    assert next(k for k in keys.json()["items"] if k["id"] == admin_id)["revoked_at"] is None


def test_revoke_admin_key_while_another_is_active_succeeds_once(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    first, second = make_key("admin"), make_key("admin")
    first_id, second_id = (_key_id(app_client, first, s) for s in (first, second))

    revoked = app_client.delete(f"{API}/keys/{first_id}", headers=bearer(second))
    last = app_client.delete(f"{API}/keys/{second_id}", headers=bearer(second))

    assert revoked.status_code == 200, revoked.text
    assert_problem(last, 409)
    assert app_client.get(f"{API}/keys", headers=bearer(second)).status_code == 200


@pytest.mark.postgres
def test_concurrent_revocations_of_the_last_two_admin_keys_leave_one(
    committed_db: str, engine: Engine
) -> None:
    """Each revocation alone leaves an admin key; both at once must not leave none."""
    if not committed_db.startswith("postgresql"):
        pytest.skip("row locks are tested on PostgreSQL (TEST_DATABASE_URL)")
    with Session(engine) as setup:
        ids = [create_key(setup, role="admin", name=f"race {n}")[0].id for n in (1, 2)]
        setup.commit()
    outcomes: dict[int, str] = {}

    def revoke(session: Session, key_id: int) -> None:
        try:
            revoke_key(session, key_id=key_id)
            session.commit()
            outcomes[key_id] = "revoked"
        except Conflict:
            session.rollback()
            outcomes[key_id] = "refused"

    with Session(engine) as first, Session(engine) as second:
        revoke_key(first, key_id=ids[0])  # holds the admin keys' row locks, not committed
        waiter = threading.Thread(target=revoke, args=(second, ids[1]))
        waiter.start()
        waiter.join(timeout=1)
        assert waiter.is_alive()  # the second revocation waits for the first's locks
        first.commit()
        waiter.join(timeout=30)

    assert outcomes == {ids[1]: "refused"}
    with Session(engine) as check:
        active = check.scalars(select(ApiKey.id).where(ApiKey.id.in_(ids),
                                                       ApiKey.revoked_at.is_(None)))
        assert list(active) == [ids[1]]
