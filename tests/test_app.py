"""The application shell: health and readiness, offline docs, security headers, body limit,
unknown routes and methods as problem details."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from service.db import make_engine, reset_engines
from service.main import create_app
from service.migrate import head_revision, upgrade
from service.schemas import InputSchema
from tests.conftest import KeyMaker, bearer
from tests.factories import API, assert_problem, item_payload

ATTRIBUTE_URL = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)""")
CSS_IMPORT = re.compile(r"@import", re.IGNORECASE)


def test_health_without_key_returns_ok(app_client: TestClient) -> None:
    response = app_client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.usefixtures("committed_db")
def test_ready_on_migrated_database_returns_migration_id() -> None:
    with TestClient(create_app()) as client:
        response = client.get("/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "migration": head_revision()}
    assert head_revision()


@pytest.fixture
def database_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Lets a test point DATABASE_URL elsewhere; caches are reset before and after."""
    reset_engines()
    yield monkeypatch
    reset_engines()


def test_ready_on_a_database_never_migrated_says_so(
    database_at: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    database_at.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")

    with TestClient(create_app()) as client:
        response = client.get("/ready")

    body = assert_problem(response, 503)
    assert body["detail"] == ("Database has never been migrated; run `sscmatch migrate`.")


def test_ready_on_a_database_migrated_by_a_later_version_does_not_advise_migrate(
    database_at: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'later.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:  # as a later version's migration would leave it
            conn.execute(text("UPDATE alembic_version SET version_num = '0123456789ab'"))
    finally:
        engine.dispose()
    database_at.setenv("DATABASE_URL", url)

    with TestClient(create_app()) as client:
        response = client.get("/ready")

    body = assert_problem(response, 503)
    assert body["detail"] == (
        "Database is at migration 0123456789ab, which this version of sscmatch does not "
        "know (a later version migrated it); run that version, or restore a backup taken "
        "before it.")


def test_ready_on_unreachable_database_returns_503_and_logs_the_cause(
    database_at: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    database_at.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none?connect_timeout=2")

    with caplog.at_level(logging.WARNING, logger="service"), TestClient(create_app()) as client:
        response = client.get("/ready")

    body = assert_problem(response, 503)
    assert body["detail"] == "Database unreachable (OperationalError)."
    # The answer names only the error type (anyone may ask /ready); the log says why.
    causes = [r.getMessage() for r in caplog.records if "not ready" in r.getMessage()]
    assert causes, [r.getMessage() for r in caplog.records]
    assert "127.0.0.1" in causes[0]
    assert "port 9" in causes[0]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_page_loads_only_local_assets(app_client: TestClient, page: str) -> None:
    response = app_client.get(page)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = ATTRIBUTE_URL.findall(response.text)
    assert any(u.endswith(".js") for u in urls)
    for url in urls:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
        asset = app_client.get(url)
        assert asset.status_code == 200, url
        assert asset.content
    assert "fonts.googleapis" not in response.text


def test_docs_stylesheet_references_no_external_resource(app_client: TestClient) -> None:
    css = app_client.get("/docs-static/swagger-ui.css")

    assert css.status_code == 200
    assert not CSS_IMPORT.search(css.text)
    for url in CSS_URL.findall(css.text):
        assert url.startswith(("data:", "/", "#")) or "://" not in url, url[:80]


def test_openapi_documents_offers_with_examples(app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()

    assert {"get", "post"} <= set(spec["paths"][f"{API}/offers"])
    assert {"get", "patch", "delete"} <= set(spec["paths"][f"{API}/needs/{{item_id}}"])
    assert spec["components"]["schemas"]["OfferCreate"]["examples"]


def _input_schemas() -> dict[str, type[InputSchema]]:
    """Every request-body model of the service by name (the OpenAPI component names)."""
    found: dict[str, type[InputSchema]] = {}
    todo: list[type[InputSchema]] = [InputSchema]
    while todo:
        model = todo.pop()
        found[model.__name__] = model
        todo.extend(model.__subclasses__())
    return found


def test_openapi_gives_every_request_body_an_example_the_service_accepts(
        app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()
    models = _input_schemas()
    bodies = {(method.upper(), path): operation["requestBody"]
              for path, operations in spec["paths"].items()
              for method, operation in operations.items() if "requestBody" in operation}
    assert len(bodies) >= 15
    for (method, path), body in bodies.items():
        name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        examples = spec["components"]["schemas"][name].get("examples")
        assert examples, f"{method} {path}: {name} has no example"
        for example in examples:
            models[name].model_validate(example)  # the example itself is valid input


VERSIONED = {"OfferRead", "NeedRead", "TableRead", "PairingRead", "ActivityRead"}
# The creates whose new resource can be read at a URL of its own, given in `Location`.
LOCATED = {f"{API}/{p}" for p in ("offers", "needs", "tables", "pairings",
                                  "pairings/{pairing_id}/activities", "tables/{table_id}/plan")}


def test_openapi_documents_the_etag_of_every_versioned_resource_and_every_location(
        app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()
    seen, located = set(), set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            status, success = next((code, r) for code, r in operation["responses"].items()
                                   if code.startswith("2"))
            schema = success.get("content", {}).get("application/json", {}).get("schema", {})
            model = schema.get("$ref", "").rsplit("/", 1)[-1]
            documented = set(success.get("headers", {}))
            if model in VERSIONED:
                seen.add(model)
                assert "ETag" in documented, (method, path)
            if status == "201" and "Location" in documented:
                located.add(path)
            assert success["description"], (method, path)
    assert seen == VERSIONED
    assert located == LOCATED


def _integer_parameters(spec: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) of every integer path or query parameter of the API."""
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for param in operation.get("parameters", []):
                schema = param["schema"]
                types = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
                if "integer" in types:
                    found.append((method.upper(), path, param["in"], param["name"]))
    return found


def test_every_integer_in_a_url_is_read_from_digits_only(
        app_client: TestClient, make_key: KeyMaker) -> None:
    key = bearer(make_key("admin"))
    params = _integer_parameters(app_client.get("/openapi.json").json())
    assert {name for _m, _p, _w, name in params} >= {
        "item_id", "table_id", "pairing_id", "activity_id", "key_id", "number", "limit",
        "offset", "need_id", "offer_id"}
    for method, path, where, name in params:
        url = re.sub(r"\{[a-z_]+\}", "1", path.replace(f"{{{name}}}", "1_0"))
        query = {name: "1_0"} if where == "query" else {}
        response = app_client.request(method, url, params=query, headers=key, json={})
        assert_problem(response, 422, name)


def test_every_operation_refuses_a_query_parameter_it_does_not_take(
        app_client: TestClient, make_key: KeyMaker) -> None:
    # A mistyped filter (`date_from` for `from`, `countri`) or one an endpoint lacks was
    # ignored silently: the answer covered more than asked, and looked right.
    key = bearer(make_key("admin"))
    before = app_client.get(f"{API}/offers", headers=key).json()["total"]
    operations = [(method.upper(), path)
                  for path, methods in app_client.get("/openapi.json").json()["paths"].items()
                  if path.startswith(API) for method in methods]
    assert len(operations) > 40
    for method, path in operations:
        url = re.sub(r"\{[a-z_]+\}", "1", path)
        response = app_client.request(method, url, params={"countri": "BRA"}, headers=key,
                                      json={})
        body = assert_problem(response, 422, "countri")
        assert "countri" in body["detail"], (method, path, body)
    assert app_client.get(f"{API}/offers", headers=key).json()["total"] == before


def test_an_unknown_query_parameter_is_named_with_those_the_operation_takes(
        app_client: TestClient, make_key: KeyMaker) -> None:
    response = app_client.get(f"{API}/reports", params={"date_from": "2026-01-01"},
                              headers=bearer(make_key("admin")))

    body = assert_problem(response, 422, "query.date_from")
    assert body["detail"] == ("Unknown query parameter: date_from. This operation takes: "
                              "format, delimiter, as_of, from, to, country, factor.")


@pytest.mark.parametrize(("method", "url"), [
    ("GET", f"{API}/tables?status=planning&status=closed"),
    ("GET", f"{API}/tables/1/plan?format=csv&format=xlsx"),
    ("POST", f"{API}/tables/1/plan?time_limit_s=2&time_limit_s=600"),
])
def test_a_query_parameter_given_twice_is_422_naming_it(
        app_client: TestClient, make_key: KeyMaker, method: str, url: str) -> None:
    # Only the last value was read: `?status=planning&status=closed` listed the closed
    # tables alone, as if that were all of them.
    key = bearer(make_key("admin"))

    response = app_client.request(method, url, headers=key)

    name = url.partition("?")[2].partition("=")[0]
    body = assert_problem(response, 422, f"query.{name}")
    assert f"{name} is given more than once" in body["detail"]


@pytest.mark.parametrize("path", ["/health", f"{API}/factors", "/nowhere"])
def test_response_carries_security_headers(app_client: TestClient, path: str) -> None:
    response = app_client.get(path)

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_api_response_is_not_cached(app_client: TestClient, make_key: KeyMaker) -> None:
    response = app_client.get(f"{API}/factors", headers=bearer(make_key("organizer")))

    assert response.headers["cache-control"] == "no-store"


def test_body_over_limit_returns_413_before_authentication(app_client: TestClient) -> None:
    body = item_payload("offer", description="x" * 1_000_001)

    response = app_client.post(f"{API}/offers", json=body)

    problem = assert_problem(response, 413)
    assert "1000000" in problem["detail"]


def test_a_chunked_body_over_limit_is_refused_where_the_route_reads_none(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    """Without a Content-Length the body is counted before the route runs: a route that never
    reads its body (a DELETE) does not let a larger one through."""
    admin = bearer(make_key("admin"))
    offer = app_client.post(f"{API}/offers", json=item_payload("offer", country="CHL"),
                            headers=admin).json()

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 65_536  # 1.3 MB in all, sent chunked

    refused = app_client.request("DELETE", f"{API}/offers/{offer['id']}", headers=admin,
                                 content=chunks())
    small = app_client.request("DELETE", f"{API}/offers/{offer['id']}", headers=admin,
                               content=iter([b" " * 10]))

    assert "content-length" not in {k.lower() for k in refused.request.headers}
    assert assert_problem(refused, 413)
    assert small.status_code == 200, small.text
    assert small.json()["status"] == "withdrawn"
    assert small.json()["version"] == offer["version"] + 1


def test_several_authorization_headers_are_refused(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    """A proxy or a log could read another of them than the service would act on."""
    admin, country = make_key("admin"), make_key("country", "HTI")

    for first, second in ((admin, country), (country, admin)):
        response = app_client.get(f"{API}/keys", headers=[
            ("Authorization", f"Bearer {first}"), ("Authorization", f"Bearer {second}")])
        assert "several" in assert_problem(response, 401)["detail"]


def test_body_just_under_limit_is_not_rejected_for_size(
    app_client: TestClient, make_key: KeyMaker
) -> None:
    body = item_payload("offer", description="x" * 990_000)

    response = app_client.post(f"{API}/offers", json=body,
                               headers=bearer(make_key("country", "CHL")))

    assert_problem(response, 422, "description")


@pytest.mark.parametrize("path", ["/nowhere", f"{API}/nowhere", f"{API}/offers/1/nothing"])
def test_unknown_route_returns_404_problem(app_client: TestClient, path: str) -> None:
    assert_problem(app_client.get(path), 404)


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PUT", f"{API}/offers", "GET, HEAD, POST"),
    ("DELETE", f"{API}/countries", "GET, HEAD"),
    ("POST", "/health", "GET, HEAD"),
    ("PUT", f"{API}/tables/1", "GET, HEAD, PATCH"),
    ("PUT", f"{API}/offers/1", "DELETE, GET, HEAD, PATCH"),
    ("GET", f"{API}/pairings/1/transitions", "POST"),
    ("POST", "/docs-static/swagger-ui.css", "GET, HEAD"),  # a file of the mounted folder
])
def test_unsupported_method_returns_405_problem_naming_every_allowed_method(
    app_client: TestClient, method: str, path: str, allow: str
) -> None:
    resp = app_client.request(method, path)
    assert_problem(resp, 405)
    assert resp.headers["allow"] == allow


def test_head_answers_as_get_without_the_body(app_client: TestClient, make_key: KeyMaker) -> None:
    key = bearer(make_key("admin"))
    created = app_client.post(f"{API}/offers", json=item_payload("offer"), headers=key)
    assert created.status_code == 201, created.text
    url = f"{API}/offers/{created.json()['id']}"
    got = app_client.get(url, headers=key)

    head = app_client.head(url, headers=key)

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == got.headers["etag"]
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["x-content-type-options"] == "nosniff"
    assert app_client.head(f"{API}/offers?limit=5", headers=key).status_code == 200
    assert app_client.head("/health").status_code == 200


@pytest.mark.parametrize(("path", "status"), [
    (f"{API}/offers/1", 401),  # no key: the GET's answer, without its body
    (f"{API}/tables/1/plan/nowhere", 404),
    (f"{API}/pairings/1/transitions", 405),  # POST only, as a GET would be told
])
def test_head_of_what_a_get_refuses_gets_the_same_status_and_no_body(
        app_client: TestClient, path: str, status: int) -> None:
    head = app_client.head(path)
    assert head.status_code == status
    assert head.content == b""
    assert app_client.get(path).status_code == status


def test_a_fault_of_the_service_is_a_500_problem(
        app_client: TestClient, make_key: KeyMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even an unexpected failure answers in problem details, not in plain text."""
    from service.countries import service as countries_service

    def broken(*_args: object) -> None:
        raise RuntimeError("a fault of the service")

    monkeypatch.setattr(countries_service, "list_factors", broken)

    resp = app_client.get(f"{API}/factors", headers=bearer(make_key("admin")))

    body = assert_problem(resp, 500)
    assert body["type"].endswith("/internal")
    assert "fault" not in body["detail"]  # the exception's text stays in the server's log


def test_a_unique_key_taken_by_a_concurrent_request_is_a_409_problem(
        app_client: TestClient, make_key: KeyMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that a check found free but the database refused as a duplicate (another
    request stored it in between) is a conflict to retry, not a fault."""
    from sqlalchemy.exc import IntegrityError

    from service.countries import service as countries_service

    violation = "UNIQUE constraint failed: factors.code"

    def refused(*_args: object) -> None:
        raise IntegrityError("INSERT ...", {}, Exception(violation))

    monkeypatch.setattr(countries_service, "list_factors", refused)
    url, headers = f"{API}/factors", bearer(make_key("admin"))

    duplicate = app_client.get(url, headers=headers)
    violation = "NOT NULL constraint failed: factors.code"  # a fault of the service
    other = app_client.get(url, headers=headers)

    assert assert_problem(duplicate, 409)["type"].endswith("/conflict")
    assert assert_problem(other, 500)["type"].endswith("/internal")
