"""Request limits: body size (also through a real uvicorn server, chunked or not), page sizes
and list lengths, and clients that are slow, idle or malformed."""

from __future__ import annotations

import os
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import API, assert_problem, item_payload
from tests.reliability.conftest import SCHEMA_APP, World, load_bench

LIMIT = 4096  # MAX_BODY_BYTES of the real server below
crash = load_bench("crash")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, str]]:
    """A real `sscmatch serve` (one worker) on a temporary SQLite file: its URL and an admin
    key."""
    with tempfile.TemporaryDirectory(prefix="limits6-") as tmp:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{Path(tmp) / 'limits.db'}",
               "ENCODE_ON_WRITE": "false", "MAX_BODY_BYTES": str(LIMIT), "LOG_LEVEL": "warning"}
        srv = crash.Server(env, workers=1, log=Path(tmp) / "server.log")
        srv.start()
        try:
            yield srv.url, crash.create_key(env, "admin")
        finally:
            srv.stop()


def _offer_body(size: int) -> bytes:
    return httpx.Request("POST", "http://x", json=item_payload(
        "offer", description="x" * size)).content


@pytest.mark.server
def test_real_server_answers_413_to_a_declared_large_body(server: tuple[str, str]) -> None:
    url, key = server

    response = httpx.post(f"{url}{API}/offers", content=_offer_body(LIMIT * 2),
                          headers={"Authorization": f"Bearer {key}",
                                   "Content-Type": "application/json"})

    assert_problem(response, 413)


@pytest.mark.server
def test_real_server_answers_413_to_a_large_chunked_body(server: tuple[str, str]) -> None:
    url, key = server
    body = _offer_body(LIMIT * 4)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start:start + 1000]

    response = httpx.post(f"{url}{API}/offers", content=chunks(),
                          headers={"Authorization": f"Bearer {key}",
                                   "Content-Type": "application/json"})

    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


@pytest.mark.server
def test_slow_client_does_not_hold_the_worker(server: tuple[str, str]) -> None:
    url, key = server
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as slow:
        # Headers announce 1,000 bytes of body; only 10 come. The body is read by the event
        # loop before any route runs, so no worker thread is taken.
        slow.sendall(f"POST {API}/offers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n"
                     "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\": 1"
                     .encode())
        started = time.monotonic()
        others = [httpx.get(f"{url}{API}/factors", headers={"Authorization": f"Bearer {key}"},
                            timeout=5) for _ in range(5)]
        elapsed = time.monotonic() - started

    assert [r.status_code for r in others] == [200] * 5
    assert elapsed < 4


@pytest.mark.server
def test_idle_keep_alive_connection_is_closed_by_the_server(server: tuple[str, str]) -> None:
    url, _ = server
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as conn:
        conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while not first.endswith(b'{"status":"ok"}'):  # headers and body may come apart
            chunk = conn.recv(65536)
            assert chunk, "closed before the answer"
            first += chunk
        started = time.monotonic()
        closed = conn.recv(65536)  # blocks until the server closes the idle connection
        waited = time.monotonic() - started

    assert first.startswith(b"HTTP/1.1 200")
    assert closed == b""
    assert waited < 10  # timeout_keep_alive is 5 s (service/cli/ops.py)


@pytest.mark.server
def test_malformed_request_gets_400_and_the_server_goes_on(server: tuple[str, str]) -> None:
    url, _ = server
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"GARBAGE \x00\x01\x02 NOT-HTTP\r\n\r\n")
        answer = conn.recv(65536)

    assert answer.startswith(b"HTTP/1.1 400")
    assert httpx.get(f"{url}/health").status_code == 200


def _list_operations() -> list[str]:
    spec = SCHEMA_APP.openapi()
    return sorted(path for path, ops in spec["paths"].items()
                  if "get" in ops and any(p["name"] == "limit" and p["in"] == "query"
                                          for p in ops["get"].get("parameters", [])))


@pytest.mark.parametrize("path", _list_operations())
def test_page_larger_than_the_maximum_is_refused(module_world: World, path: str) -> None:
    ids = module_world.ids
    url = path.format(item_id=ids["need"], table_id=ids["table"], pairing_id=ids["pairing"])

    response = module_world.client.get(url, params={"limit": 100_000},
                                       headers=module_world.headers("admin"))

    body = assert_problem(response, response.status_code)
    assert response.status_code in (400, 422)
    assert "limit" in str(body)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/tables", {"name": "Mesa", "starts_on": "2026-12-07", "ends_on": "2026-12-09",
                         "participants": ["ARG"] * 251}),
    ("POST", "/groupings", {"code": "BIG", "name": "Big", "members": ["ARG"] * 251}),
    ("PATCH", "/countries/CHL", {"groupings": ["MERCOSUR"] * 51}),
    ("PATCH", "/countries/CHL", {"languages": ["es"] * 11}),
])
def test_list_longer_than_the_maximum_is_refused(module_world: World, method: str, path: str,
                                                 body: dict[str, Any]) -> None:
    response = module_world.client.request(method, API + path, json=body,
                                           headers=module_world.headers("admin"))

    assert_problem(response, 422)
