"""Security headers on every kind of answer, and CORS: closed unless origins are configured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.config import Settings, get_settings
from service.main import create_app
from tests.factories import API, assert_problem
from tests.reliability.conftest import World

ALLOWED = "https://focal-points.example.org"
EVIL = "https://evil.example.com"
SECURITY_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
                    "referrer-policy": "no-referrer"}


@pytest.fixture
def open_client(world: World) -> Iterator[TestClient]:
    """A client of an app configured with one allowed origin (same database as `world`)."""
    del world
    app = create_app(Settings(cors_origins=(ALLOWED,)))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(("method", "path", "kwargs"), [
    ("GET", "/health", {}),
    ("GET", f"{API}/factors", {"auth": True}),
    ("GET", f"{API}/factors", {}),  # 401
    ("GET", f"{API}/offers/999999", {"auth": True}),  # 404
    ("GET", "/nowhere", {}),  # 404 outside the API
    ("POST", f"{API}/offers", {"auth": True, "json": {"title": 1}}),  # 422
    ("POST", f"{API}/offers", {"auth": True, "content": b"x" * 2_000_000}),  # 413
    ("GET", f"{API}/offers?q=%00", {"auth": True}),  # 400 from the URL guard
    ("GET", "/openapi.json", {}),
])
def test_every_kind_of_answer_carries_the_security_headers(
    module_world: World, method: str, path: str, kwargs: dict[str, object]
) -> None:
    headers = module_world.headers("admin") if kwargs.pop("auth", False) else {}

    response = module_world.client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]

    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.status_code, name)
    if path.startswith(API):
        assert response.headers["cache-control"] == "no-store"


def test_cors_is_closed_by_default(module_world: World) -> None:
    simple = module_world.client.get(f"{API}/factors", headers={
        **module_world.headers("admin"), "Origin": EVIL})
    preflight = module_world.client.options(f"{API}/offers", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})

    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code >= 400


def test_cors_allows_a_configured_origin(open_client: TestClient, world: World) -> None:
    simple = open_client.get(f"{API}/offers", headers={**world.headers("admin"),
                                                       "Origin": ALLOWED})
    preflight = open_client.options(f"{API}/offers/1", headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization,content-type,if-match"})

    assert simple.status_code == 200
    assert simple.headers["access-control-allow-origin"] == ALLOWED
    assert "etag" in simple.headers["access-control-expose-headers"].lower()
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "PATCH" in preflight.headers["access-control-allow-methods"]
    assert "if-match" in preflight.headers["access-control-allow-headers"].lower()


def test_cors_lets_a_page_read_an_etag_with_head(open_client: TestClient, world: World) -> None:
    preflight = open_client.options(f"{API}/offers/1", headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "HEAD",
        "Access-Control-Request-Headers": "authorization"})
    head = open_client.head(f"{API}/offers/{world.ids['offer']}",
                            headers={**world.headers("admin"), "Origin": ALLOWED})

    assert preflight.status_code == 200
    assert "HEAD" in preflight.headers["access-control-allow-methods"]
    assert head.status_code == 200
    assert head.headers["access-control-allow-origin"] == ALLOWED
    assert head.headers["etag"]


def test_cors_refuses_an_unlisted_origin_when_open(open_client: TestClient,
                                                   world: World) -> None:
    simple = open_client.get(f"{API}/offers", headers={**world.headers("admin"),
                                                       "Origin": EVIL})
    preflight = open_client.options(f"{API}/offers", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST"})

    assert "access-control-allow-origin" not in simple.headers
    assert_problem(preflight, 400, "header.Origin")
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.headers["x-content-type-options"] == "nosniff"


def test_a_refused_preflight_of_an_allowed_origin_is_a_problem(open_client: TestClient) -> None:
    preflight = open_client.options(f"{API}/offers", headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-unlisted"})

    assert_problem(preflight, 400, "header.Access-Control-Request-Headers")
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "x-unlisted" not in preflight.headers["access-control-allow-headers"].lower()


def test_cors_origins_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", f'["{ALLOWED}"]')

    assert Settings().cors_origins == (ALLOWED,)


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), [
    ("POST", f"{API}/offers", {"content": b"x" * 2_000_000}, 413),  # the body-size guard
    ("GET", f"{API}/offers?q=%00", {}, 400),  # the URL guard
])
def test_an_allowed_origin_can_read_the_guards_answers(
        open_client: TestClient, world: World, method: str, path: str,
        kwargs: dict[str, object], status: int) -> None:
    response = open_client.request(method, path, headers={**world.headers("admin"),
                                                          "Origin": ALLOWED}, **kwargs)  # type: ignore[arg-type]

    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == ALLOWED


def test_a_fault_of_the_service_carries_the_security_and_cors_headers(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Starlette answers a 500 outside every middleware; it gets their headers all the same."""
    from service.countries import service as countries_service

    def broken(*_args: object) -> None:
        raise RuntimeError("a fault of the service")

    monkeypatch.setattr(countries_service, "list_factors", broken)
    monkeypatch.setenv("CORS_ORIGINS", f'["{ALLOWED}"]')
    get_settings.cache_clear()
    try:
        app = create_app()
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get(f"{API}/factors",
                                  headers={**world.headers("admin"), "Origin": ALLOWED})
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["access-control-allow-origin"] == ALLOWED
