"""Engine, session factory and the unit-of-work helpers used by the API and the CLI."""

from __future__ import annotations

import os
import sys
import threading
import time
import unicodedata
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import anyio
from anyio import CapacityLimiter
from fastapi import Request
from sqlalchemy import (
    ColumnElement,
    Engine,
    SQLColumnExpression,
    and_,
    create_engine,
    event,
    func,
    or_,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import CoreExecuteOptionsParameter
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.config import get_settings, sqlite_in_memory

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SQLITE_BEGIN_IMMEDIATE = "sscmatch_sqlite_begin_immediate"
SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite statement waits for a lock another process holds before it fails with
"database is locked"."""
WRITE_LOCK_PATIENCE_S = 600.0
"""How long a command's unit of work (`session_scope`) waits in all for SQLite's write lock."""


def make_engine(url: str, *, writer: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout.

    A SQLite `writer` engine has one connection, whose transactions all begin with BEGIN
    IMMEDIATE: the write units of a process queue for it in order. Left to SQLite, writers of
    one process waiting for its write lock poll with growing sleeps (up to 100 ms), and under
    four concurrent writers some waited over a second while the lock was free most of the time.
    """
    if url.startswith("sqlite"):
        writer_options: dict[str, Any] = {
            "pool_size": 1, "max_overflow": 0, "pool_timeout": 30,
            "execution_options": {SQLITE_BEGIN_IMMEDIATE: True}} if writer else {}
        engine = create_engine(url, connect_args={"check_same_thread": False,
                                                 "timeout": SQLITE_BUSY_TIMEOUT_S},
                               **writer_options)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin; otherwise
            # SAVEPOINT/RELEASE commit for real (SQLAlchemy docs, "Serializable isolation /
            # Savepoints / Transactional DDL" for pysqlite).
            dbapi_connection.isolation_level = None
            # SQLite's own lower() folds A-Z only: "ÉLÈVES" stayed "ÉLÈVES" and text search
            # missed it. Python's folds every cased letter, as PostgreSQL's does (UTF-8 locale).
            dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if _sqlite_file(url):
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # A transaction that will write takes the write lock at once: a deferred one that
            # read first fails with "database is locked" (SQLITE_BUSY, the busy timeout does
            # not apply) when another process wrote in between; an immediate one waits.
            immediate = conn.get_execution_options().get(SQLITE_BEGIN_IMMEDIATE)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def contains_text(column: SQLColumnExpression[str], text: str, *,
                  dialect: str) -> ColumnElement[bool]:
    """Whether `column` contains `text`, in any letter case, on the database named `dialect`.

    Both sides go through the database's lower() (on SQLite, the Unicode-aware one that
    `make_engine` installs), so they fold alike. `%`, `_` and `/` in `text` are literal.

    On SQLite that lower() is a Python call per row, which made a search of 100,000 offers
    3-6 times slower. SQLite's own LIKE folds A-Z in C, so a plain LIKE first keeps the rows
    that match with each non-ASCII character of `text` as a one-character wildcard, and
    lower() checks only those; for an ASCII `text` the plain LIKE is the whole answer. This
    differs from lower() alone only for the Kelvin sign and "İ" (whose lower cases are ASCII
    or two characters). `text` is taken in NFC, as stored text is (`service.schemas`), and
    also in NFD when that differs: text stored before it was composed on the way in may hold
    its accents as combining marks.
    """
    composed = unicodedata.normalize("NFC", text)
    decomposed = unicodedata.normalize("NFD", composed)
    if decomposed == composed:
        return _contains(column, composed, dialect=dialect)
    return or_(_contains(column, composed, dialect=dialect),
               _contains(column, decomposed, dialect=dialect))


def _contains(column: SQLColumnExpression[str], text: str, *,
              dialect: str) -> ColumnElement[bool]:
    """`contains_text` for `text` in one normal form."""
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    exact = func.lower(column).like(func.lower(f"%{escaped}%"), escape="/")
    if dialect != "sqlite":
        return exact
    rough = column.like("%" + "".join(c if c.isascii() else "_" for c in escaped) + "%",
                        escape="/")
    return rough if text.isascii() else and_(rough, exact)


@lru_cache
def get_engine() -> Engine:
    """Return the process-wide engine for the configured DATABASE_URL."""
    return make_engine(get_settings().database_url)


def _sqlite_file(url: str) -> bool:
    return url.startswith("sqlite") and not sqlite_in_memory(url)


def sqlite_path(url: str) -> Path | None:
    """The SQLite database file a URL names, as written; None for PostgreSQL, a `file:` URI
    or a database in memory."""
    parsed = make_url(url)
    if (parsed.get_backend_name() != "sqlite" or "uri" in parsed.query or not parsed.database
            or sqlite_in_memory(url)):
        return None
    return Path(parsed.database)


def sqlite_folder_problem(url: str) -> str | None:
    """Why SQLite cannot open or create the database file of `url` because of its folder
    (missing, a file, not writable), in words; None when the folder is not the cause. SQLite
    itself says only "unable to open database file"."""
    path = sqlite_path(url)
    if path is None:
        return None
    folder = path.parent
    if not folder.exists():
        return (f"the folder {folder} of the SQLite database {path} does not exist; create it, "
                "or correct DATABASE_URL.")
    if not folder.is_dir():
        return (f"{folder}, the folder of the SQLite database {path}, is a file, not a folder; "
                "correct DATABASE_URL.")
    # SQLite writes its write-ahead log and index beside the database, also to read it.
    if not os.access(folder, os.W_OK | os.X_OK):
        return (f"the folder {folder} of the SQLite database {path} is not writable (SQLite "
                "keeps its write-ahead log beside the database); give this user the right to "
                "write it, or correct DATABASE_URL.")
    return None


_writers: dict[Engine, Engine] = {}
_writers_lock = threading.Lock()


def _writer_engine(engine: Engine) -> Engine:
    """The writer engine that goes with `engine`, made when first needed; `reset_engines`
    disposes of it with the engine it serves."""
    with _writers_lock:
        writer = _writers.get(engine)
        if writer is None:
            writer = make_engine(engine.url.render_as_string(hide_password=False), writer=True)
            _writers[engine] = writer
        return writer


@lru_cache(maxsize=16)
def _snapshot_reader(engine: Engine) -> Engine:
    """`engine` (same pool) with its transactions in REPEATABLE READ, READ ONLY; made once per
    engine, since making it costs about 0.4 ms of CPU (bench/read_txn.py), as much as a
    list page's two statements."""
    return engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)


def close_connections() -> None:
    """Close the pooled connections of the process-wide engine and of its writer engine;
    both open new ones when next used.

    On SQLite, the last connection to a database file to close writes the write-ahead log
    back into the file and removes it: a stopped server leaves the whole database in one
    file, which a plain copy then holds (README, "Backups").
    """
    with _writers_lock:
        writers = list(_writers.values())
    engines = [get_engine()] if get_engine.cache_info().currsize else []
    for engine in [*writers, *engines]:
        engine.dispose()


def reset_engines() -> None:
    """Close the connections of the process-wide engine and of its writer engine, and forget
    both and the settings they were made from: the next `get_engine()` follows the current
    environment (tests pointing the service at another database)."""
    close_connections()
    with _writers_lock:
        _writers.clear()
    _snapshot_reader.cache_clear()
    get_engine.cache_clear()
    get_settings.cache_clear()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Yield one session per request: commit on success, roll back on error.

    The session is opened on the event loop: it touches the database only when first used
    (in the thread pool, by the code that uses it), so opening it costs no hop to a worker
    thread (0.1-0.3 ms of CPU each here). Ending it does I/O (COMMIT, giving the connection back)
    and runs in a worker thread, outside the thread pool's limit as FastAPI does for the exit of
    a `def` dependency: when every thread of the pool waits for a connection, the exits that
    give connections back must still run. The end is shielded from cancellation (a client
    gone mid-request), so the connection always goes back to the pool.
    """
    session = open_session(writes=request.method not in READ_METHODS)
    ok = False
    try:
        yield session
        ok = True
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_end, session, ok, limiter=CapacityLimiter(1))


def open_session(engine: Engine | None = None, *, writes: bool = True) -> Session:
    """A new session; it connects when first used. On SQLite, a unit that `writes` takes the
    write lock when it begins (see `make_engine`). On PostgreSQL, a unit that only reads (a
    GET, a command's export or report) sees one snapshot of the data (REPEATABLE READ), as it
    does on SQLite, so that a report's views and the reads of one request agree with each
    other while writers commit; it is READ ONLY too, so it never fails to serialise (no
    retries) and a read that wrote by mistake would fail instead of writing."""
    if engine is None:
        engine = get_engine()
        if writes and _sqlite_file(str(engine.url)):
            return Session(bind=_writer_engine(engine), expire_on_commit=False)
    if not writes and engine.dialect.name == "postgresql":
        engine = _snapshot_reader(engine)
    if writes and engine.dialect.name == "sqlite":
        # The same engine and pool, whose transactions begin with BEGIN IMMEDIATE.
        options: dict[str, Any] = {SQLITE_BEGIN_IMMEDIATE: True}
        engine = engine.execution_options(**cast(CoreExecuteOptionsParameter, options))
    return Session(bind=engine, expire_on_commit=False)


def _begin_writing(session: Session, on_wait: Callable[[], None]) -> None:
    """Begin the session's transaction; on SQLite, wait for the write lock up to
    `WRITE_LOCK_PATIENCE_S`, trying again each time the busy timeout ends."""
    if session.get_bind().dialect.name != "sqlite":
        return
    deadline = time.monotonic() + WRITE_LOCK_PATIENCE_S
    waited = False
    while True:
        try:
            session.connection()  # BEGIN IMMEDIATE: waits for the lock, up to the busy timeout
            return
        except OperationalError as exc:
            if "database is locked" not in str(exc.orig) or time.monotonic() >= deadline:
                raise
            session.rollback()
            if not waited:
                on_wait()
                waited = True


def _end(session: Session, ok: bool) -> None:
    try:
        if ok:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


def lock_for_transaction(session: Session, key: int) -> None:
    """Take, on PostgreSQL, the advisory lock `key` until the session's transaction ends,
    waiting while another transaction holds it: units of work that check for rows and then
    insert them run one after the other, and each later one finds the rows of those before.
    On SQLite, where a writing unit holds the database's write lock from its start, nothing
    is needed."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _say_waiting() -> None:
    print("waiting for the database: another process is writing to it (SQLite takes one "
          "writer at a time)", file=sys.stderr)


@contextmanager
def session_scope(engine: Engine | None = None, *, writes: bool = True,
                  on_wait: Callable[[], None] = _say_waiting) -> Iterator[Session]:
    """Run a unit of work (of a command): commit on success, roll back on exception.

    On SQLite, a unit that `writes` takes the write lock when it begins (see `make_engine`),
    waiting for it up to `WRITE_LOCK_PATIENCE_S` (calling `on_wait` once if it must wait longer
    than the busy timeout) rather than failing after `SQLITE_BUSY_TIMEOUT_S`: another process's
    unit of work may hold it longer than that (the demo load plans a table), and a command
    waits for it where a web request should not.
    """
    session = open_session(engine, writes=writes)
    ok = False
    try:
        if writes:
            _begin_writing(session, on_wait)
        yield session
        ok = True
    finally:
        _end(session, ok)
