"""Regression tests for what the fuzzing and the crash test found (one test per finding).

1. PostgreSQL answered 500 to ids beyond its 32-bit INTEGER columns (schemathesis,
   `GET /tables/2147483648/suggestions`): ids are now bounded by `MAX_ID`, and a value the
   database refuses anyway is a 422, never a 500.
2. Problem responses were undocumented (status-code and content-type conformance): the URL
   guard's 400, the body limit's 413, validation's 422 as `application/problem+json`, and
   503 when the database is down, on every API route; `/ready`'s 503 too.
3. Two workers writing to the same SQLite file answered 503 ("database is locked") under the
   crash test's load: a transaction that read, then wrote after another worker's commit, failed
   at once. Write requests now take the write lock when they begin (`BEGIN IMMEDIATE`).
4. 50 concurrent PATCHes with one If-Match on PostgreSQL gave several 200s (lost updates: the
   version was read without a lock) and, once the row was locked, 30 s stalls and 500s: every
   worker thread waited for the lock or a connection while the lock holder needed a thread to
   validate its response. Items are now re-read under a row lock before a change, and at most
   `MAX_REQUESTS_IN_FLIGHT` (a setting) API requests run at once per process
   (see test_concurrency.py).
5. `sscmatch serve --workers 2` answered one request per ~44 ms per connection (bench/load.py):
   uvicorn's multi-worker socket has `proto` 0, so asyncio never set TCP_NODELAY and Nagle's
   algorithm met the client's delayed ACK. The server's HTTP protocol now sets it.
6. The server parsed HTTP with h11, uvicorn's pure-Python fallback, because the C parser
   (httptools) was not installed: the load benchmark's CPU per request showed the server
   spending 12-20 % more than with httptools and uvloop. Both are now dependencies.
7. Four concurrent writers on SQLite with one worker (the default) waited up to 1-2 s for a
   write lock that was free most of the time: SQLite's busy handler polls with growing sleeps
   (bench/sqlite_writes.py). A process's write units now queue, in order, for the single
   connection of a writer engine.
8. `If-Match: W/"6"` matched version 6 of an offer, need, table, pairing or activity, although
   If-Match compares strongly (RFC 9110, 13.1.1), and an unquoted `If-Match: 6` was a 412
   "stale" for a version that was current. A weak tag now matches nothing (412) and a value
   that is not an entity tag is a 400 saying what to send.
"""

from __future__ import annotations

import contextlib
import pickle
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import Engine, QueuePool, event, select, text, update

from models import Factor
from service.config import MAX_IN_FLIGHT_CEILING, get_settings
from service.db import make_engine, reset_engines, session_scope
from service.schemas import MAX_ID
from service.versions import MALFORMED_IF_MATCH
from tests.cli.helpers import free_port
from tests.factories import API, assert_problem
from tests.reliability.conftest import SCHEMA_APP, World

SPEC = SCHEMA_APP.openapi()
INT_PATH_ROUTES = sorted(
    (method.upper(), path) for path, ops in SPEC["paths"].items() for method, op in ops.items()
    if any(p["in"] == "path" and p.get("schema", {}).get("type") == "integer"
           for p in op.get("parameters", [])))


@pytest.mark.parametrize("value", [MAX_ID + 1, 2**62, 2**63])
@pytest.mark.parametrize(("method", "path"), INT_PATH_ROUTES)
def test_id_beyond_the_database_range_is_a_client_error(module_world: World, method: str,
                                                        path: str, value: int) -> None:
    url = path
    for name in ("item_id", "table_id", "pairing_id", "activity_id", "key_id"):
        url = url.replace("{" + name + "}", str(value))

    response = module_world.client.request(method, url, json={},
                                           headers=module_world.headers("admin"))

    assert_problem(response, response.status_code)
    assert 400 <= response.status_code < 500


def test_out_of_range_id_in_a_foundation_route_is_422(module_world: World) -> None:
    response = module_world.client.get(f"{API}/tables/{MAX_ID + 1}/suggestions",
                                       headers=module_world.headers("admin"))

    assert_problem(response, 422, "table_id")


@pytest.mark.parametrize(("method", "path"), sorted(
    (m.upper(), p) for p, ops in SPEC["paths"].items() if p.startswith(API) for m in ops))
def test_every_api_operation_documents_its_problem_answers(method: str, path: str) -> None:
    documented = SPEC["paths"][path][method.lower()]["responses"]

    for status in ("400", "401", "413", "422", "503"):
        assert status in documented, status
        assert list(documented[status]["content"]) == ["application/problem+json"]
        assert documented[status]["content"]["application/problem+json"]["schema"]


def test_ready_documents_its_503_as_problem() -> None:
    documented = SPEC["paths"]["/ready"]["get"]["responses"]["503"]["content"]

    assert list(documented) == ["application/problem+json"]


def test_concurrent_write_units_on_sqlite_wait_instead_of_failing(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite locking")
    worker_a, worker_b = make_engine(database_url), make_engine(database_url)
    b_done = threading.Event()
    errors: list[BaseException] = []

    def other_worker_writes() -> None:
        try:
            with session_scope(worker_b) as session:
                session.execute(update(Factor).where(Factor.code == "education")
                                .values(position=Factor.position))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            b_done.set()

    try:
        with session_scope(worker_a) as session:
            session.scalar(select(Factor.position).where(Factor.code == "education"))
            thread = threading.Thread(target=other_worker_writes)
            thread.start()
            b_done.wait(0.5)  # B queues behind A's write lock instead of committing first
            session.execute(update(Factor).where(Factor.code == "education")
                            .values(position=Factor.position))
        thread.join(timeout=30)
    finally:
        worker_a.dispose()
        worker_b.dispose()

    assert errors == []
    assert b_done.is_set()


def _service_writer_engine(database_url: str) -> Engine:
    """The engine of the service's write units (after one has used its connection)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the SQLite writer engine")
    with session_scope() as session:
        session.execute(select(Factor.code).limit(1))
        writer = session.get_bind()
    assert isinstance(writer, Engine)
    return writer


def test_write_units_of_one_process_on_sqlite_queue_for_one_connection(
        service_db: str) -> None:
    # No test data is written: `committed_db` would delete the data of this module's shared
    # world afterwards.
    writer = _service_writer_engine(service_db)
    assert isinstance(writer.pool, QueuePool)
    begins: list[str] = []
    errors: list[BaseException] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    def write(_: int) -> None:
        try:
            with session_scope() as session:
                session.execute(update(Factor).where(Factor.code == "education")
                                .values(position=Factor.position))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    event.listen(writer, "before_cursor_execute", seen)
    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(write, range(40)))
    finally:
        event.remove(writer, "before_cursor_execute", seen)

    assert errors == []
    assert writer.pool.size() == 1
    assert writer.pool.checkedout() == 0
    assert begins == ["BEGIN IMMEDIATE"] * 40


def test_resetting_the_engines_closes_the_sqlite_writer_engine_too(service_db: str) -> None:
    writer = _service_writer_engine(service_db)
    assert isinstance(writer.pool, QueuePool)
    assert writer.pool.checkedin() == 1  # its one connection, idle

    reset_engines()

    assert writer.pool.checkedin() == 0
    with session_scope() as session:
        assert session.get_bind() is not writer


def test_read_units_on_sqlite_do_not_take_the_write_lock(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite locking")
    reader, writer = make_engine(database_url), make_engine(database_url)
    try:
        with session_scope(reader, writes=False) as session:
            session.execute(text("SELECT 1 FROM factors")).all()
            with session_scope(writer) as other:  # would wait 30 s if the reader held the lock
                other.execute(update(Factor).where(Factor.code == "education")
                              .values(position=Factor.position))
    finally:
        reader.dispose()
        writer.dispose()




def test_fewer_api_requests_run_at_once_than_there_are_worker_threads() -> None:
    async def tokens() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    assert get_settings().max_requests_in_flight <= MAX_IN_FLIGHT_CEILING
    assert anyio.run(tokens) > MAX_IN_FLIGHT_CEILING


def test_more_concurrent_requests_than_the_limit_all_get_answers(module_world: World) -> None:
    n = get_settings().max_requests_in_flight * 8
    with ThreadPoolExecutor(n) as pool:
        statuses = list(pool.map(lambda _: module_world.client.get(
            f"{API}/offers", headers=module_world.headers("own_country")).status_code, range(n)))

    assert statuses == [200] * n


def test_server_connections_have_nagle_switched_off() -> None:
    from service.nodelay import NoDelayHTTPProtocol

    class Transport:
        def __init__(self, sock: socket.socket) -> None:
            self.sock = sock

        def get_extra_info(self, name: str, default: Any = None) -> Any:
            return self.sock if name == "socket" else default

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener, \
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client.connect(listener.getsockname())
        accepted, _ = listener.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
            protocol = NoDelayHTTPProtocol.__new__(NoDelayHTTPProtocol)
            # The bare object lacks uvicorn's state, so the call fails after setting the socket.
            with contextlib.suppress(Exception):
                protocol.connection_made(Transport(accepted))  # type: ignore[arg-type]
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_serve_uses_the_nodelay_protocol(monkeypatch: pytest.MonkeyPatch,
                                         service_db: str) -> None:
    # `serve` without --demo only migrates and adds missing reference data: nothing to delete
    # afterwards (deleting test data would also remove the module's shared world).
    import uvicorn

    from service.cli import main
    from service.nodelay import NoDelayHTTPProtocol

    del service_db
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **kw: seen.update(kw))

    assert main(["serve", "--workers", "2", "--port", free_port()]) == 0
    assert seen["http"] is NoDelayHTTPProtocol
    assert seen["workers"] == 2


# The `sscmatch` script pip writes, with a worker spawned as uvicorn spawns one: the child runs
# the script again (as `__mp_main__`), then unpickles the config that names the protocol.
SPAWNING_SCRIPT = """\
import multiprocessing, sys
from service.cli import main
if __name__ == "__main__":
    child = multiprocessing.get_context("spawn").Process(target=exec, args=(sys.argv[1],))
    child.start()
    child.join()
    sys.exit(child.exitcode)
"""
WORKER_START = """\
import pickle, sys
with open({pickled!r}, "rb") as fh:
    pickle.load(fh)
print(" ".join(sorted(m for m in sys.modules
                      if m.split(".")[0] in ("service", "models", "numpy", "sqlalchemy"))))
"""


def test_a_server_worker_starts_without_importing_the_service(tmp_path: Path) -> None:
    """Each worker of `serve --workers N` runs the script again and unpickles the protocol
    class before uvicorn starts the thread that answers the parent's health pings (5 s):
    importing the whole service there (numpy, the text model; seconds per worker) got
    workers killed and spawned again at start."""
    from service.nodelay import NoDelayHTTPProtocol

    pickled = tmp_path / "protocol.pickle"
    pickled.write_bytes(pickle.dumps(NoDelayHTTPProtocol))
    script = tmp_path / "sscmatch"
    script.write_text(SPAWNING_SCRIPT, encoding="utf-8")

    done = subprocess.run(
        [sys.executable, str(script), WORKER_START.format(pickled=str(pickled))],
        check=True, capture_output=True, timeout=120)

    assert done.stdout.decode().split() == ["service", "service.cli", "service.nodelay"]


def test_the_server_parses_http_with_the_c_parser_on_uvloop() -> None:
    import uvicorn.config
    import uvloop  # a dependency wherever it builds (not on Windows)
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from service.nodelay import NoDelayHTTPProtocol

    assert issubclass(NoDelayHTTPProtocol, HttpToolsProtocol)
    # `sscmatch serve` leaves uvicorn's loop setting at "auto", which must pick uvloop.
    factory = uvicorn.config.Config("service.main:create_served_app", factory=True,
                                    http=NoDelayHTTPProtocol).get_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


# (resource, method, path, body, caller) of a change of each resource that takes If-Match.
IF_MATCH_CHANGES: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("offer", "PATCH", "/offers/{offer}", {"capacity": 3}, "own_country"),
    ("need", "PATCH", "/needs/{need}", {"title": "Título nuevo"}, "own_country"),
    ("table", "PATCH", "/tables/{table}", {"rounds": 4}, "organizer"),
    ("pairing", "POST", "/pairings/{pairing}/transitions", {"to": "withdrawn",
                                                            "reason": "ya no"}, "own_country"),
    ("activity", "PATCH", "/activities/{activity}", {"status": "in_progress"}, "own_country"),
]


def _version(world: World, resource: str) -> int:
    ids, admin = world.ids, world.headers("admin")
    path = {"offer": "offers", "need": "needs", "table": "tables", "pairing": "pairings",
            "activity": "activities"}
    response = world.client.get(f"{API}/{path[resource]}/{ids[resource]}", headers=admin)
    assert response.headers["etag"] == f'"{response.json()["version"]}"'
    return int(response.json()["version"])


def _change(world: World, change: tuple[str, str, str, dict[str, Any], str],
            if_match: str) -> Any:
    _resource, method, path, body, caller = change
    return world.client.request(method, API + path.format(**world.ids), json=body,
                                headers=world.headers(caller) | {"If-Match": if_match})


@pytest.mark.parametrize("change", IF_MATCH_CHANGES, ids=[c[0] for c in IF_MATCH_CHANGES])
def test_a_weak_if_match_of_the_current_version_is_412(module_world: World,
                                                       change: tuple[Any, ...]) -> None:
    version = _version(module_world, change[0])

    response = _change(module_world, change, f'W/"{version}"')

    problem = assert_problem(response, 412)
    assert problem["current_version"] == version
    assert _version(module_world, change[0]) == version


@pytest.mark.parametrize("change", IF_MATCH_CHANGES, ids=[c[0] for c in IF_MATCH_CHANGES])
def test_an_unquoted_if_match_is_400_not_412(module_world: World,
                                             change: tuple[Any, ...]) -> None:
    version = _version(module_world, change[0])

    response = _change(module_world, change, str(version))

    problem = assert_problem(response, 400, "header.If-Match")
    assert problem["detail"] == MALFORMED_IF_MATCH
    assert _version(module_world, change[0]) == version
