"""Access keys after their creation: never in logs, errors, responses or SQL; revoked keys
stop working at once, in every worker; only the exact key is accepted."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from service.db import get_engine
from service.main import create_app
from tests.conftest import bearer
from tests.factories import API, assert_problem, item_payload
from tests.reliability.conftest import OWN, World


def _new_key(world: World, **fields: Any) -> dict[str, Any]:
    return world.post("/keys", {"role": "country", "country": OWN, "name": "focal point"}
                      | fields)


def _use_key_everywhere(world: World, secret: str) -> list[str]:
    """Successful, refused, invalid and failing requests with the key; return the bodies."""
    h = bearer(secret)
    client = world.client
    responses = [
        client.get(f"{API}/offers", headers=h),
        client.get(f"{API}/offers/{world.ids['offer']}", headers=h),
        client.post(f"{API}/offers", json=item_payload("offer", country=OWN), headers=h),
        client.post(f"{API}/offers", json=item_payload("offer", country="ARG"), headers=h),
        client.post(f"{API}/offers", json={"title": 1}, headers=h),
        client.get(f"{API}/offers/999999", headers=h),
        client.get(f"{API}/keys", headers=h),
        client.get(f"{API}/offers", headers={"Authorization": f"Bearer {secret}x"}),
        client.get(f"{API}/offers", headers={"Authorization": f"Basic {secret}"}),
    ]
    return [r.text + str(dict(r.headers)) for r in responses]


@pytest.fixture
def sql_log() -> Iterator[list[str]]:
    """Every SQL statement and its parameters sent to the database during the test."""
    seen: list[str] = []
    engine = get_engine()

    def _record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append(f"{statement} {parameters!r}")

    event.listen(engine, "before_cursor_execute", _record)
    yield seen
    event.remove(engine, "before_cursor_execute", _record)


def test_key_is_shown_once_then_never_in_responses_logs_or_sql(
    world: World, caplog: pytest.LogCaptureFixture, sql_log: list[str]
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, SQLAlchemy's statement logging included
    created = _new_key(world)
    secret = created["key"]
    caplog.clear()
    sql_log.clear()

    bodies = _use_key_everywhere(world, secret)
    listed = world.client.get(f"{API}/keys", headers=world.headers("admin")).text

    assert secret.startswith(created["prefix"])
    for text in [*bodies, listed]:
        assert secret not in text
        assert secret[len(created["prefix"]):] not in text
    logged = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    assert logged, "expected the requests to log something"
    assert secret not in logged
    assert secret not in "\n".join(sql_log)


def test_cli_listing_never_shows_secrets(world: World,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from service.cli import main

    secret = _new_key(world)["key"]

    assert main(["keys", "list"]) == 0

    out = capsys.readouterr().out
    assert secret[:10] in out
    assert secret not in out


def test_revoked_key_is_refused_by_the_next_request(world: World) -> None:
    created = _new_key(world)
    h = bearer(created["key"])
    assert world.client.get(f"{API}/offers", headers=h).status_code == 200

    revoked = world.client.delete(f"{API}/keys/{created['id']}", headers=world.headers("admin"))
    after = world.client.get(f"{API}/offers", headers=h)

    assert revoked.status_code == 200
    assert_problem(after, 401)


def test_key_revoked_through_one_worker_is_refused_by_another(world: World) -> None:
    created = _new_key(world)
    h = bearer(created["key"])
    with TestClient(create_app(), raise_server_exceptions=False) as other_worker:
        assert other_worker.get(f"{API}/offers", headers=h).status_code == 200

        world.client.delete(f"{API}/keys/{created['id']}", headers=world.headers("admin"))

        assert_problem(other_worker.get(f"{API}/offers", headers=h), 401)


@pytest.mark.parametrize("mangle", [
    pytest.param(lambda s: s[:-1], id="last-char-dropped"),
    pytest.param(lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"), id="last-char-changed"),
    pytest.param(lambda s: s + "A", id="char-appended"),
    pytest.param(lambda s: s.upper(), id="upper-case"),
    pytest.param(lambda s: s[:10], id="prefix-only"),
    pytest.param(lambda s: s[10:], id="without-prefix"),
])
def test_only_the_exact_key_is_accepted(module_world: World, mangle: Any) -> None:
    secret = module_world.keys["own_country"]

    response = module_world.client.get(f"{API}/offers",
                                       headers={"Authorization": f"Bearer {mangle(secret)}"})

    assert_problem(response, 401)
    assert secret not in response.text


def test_key_is_accepted_with_surrounding_spaces(module_world: World) -> None:
    secret = module_world.keys["own_country"]

    response = module_world.client.get(f"{API}/offers",
                                       headers={"Authorization": f"Bearer   {secret}  "})

    assert response.status_code == 200
