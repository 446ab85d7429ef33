"""Operational commands: serve, migrate, keys, demo, reencode, backup."""

from __future__ import annotations

import argparse
import errno
import socket
import sqlite3
import sys
from contextlib import closing
from datetime import UTC
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from service.auth import service as auth_service
from service.cli.options import int_in, output_path, replace_file, sqlite_file
from service.cli.progress import progress_printer
from service.cli.signals import leave_sigterm_to_the_server
from service.config import get_settings
from service.countries.seed import seed_reference
from service.db import (
    close_connections,
    get_engine,
    session_scope,
    sqlite_folder_problem,
    sqlite_path,
)
from service.demo.load import DemoResult, encode_texts, is_empty, load_demo, texts_to_encode
from service.errors import Unprocessable
from service.items import vectors
from service.items.service import Kind
from service.migrate import (
    current_revision,
    head_revision,
    migration_lock,
    unknown_revision,
    upgrade,
)
from service.schemas import MAX_ID


def _refuse_unknown_revision(current: str | None) -> None:
    """Refuse a database at a migration this version does not ship: a later version of the
    service migrated it, and neither `migrate` nor this version's code can use it."""
    reason = unknown_revision(current)
    if reason is not None:
        raise Unprocessable(f"the database at DATABASE_URL is {reason}.")


def prepare_database() -> None:
    """Apply pending migrations and insert missing reference data, one process at a time (see
    `migration_lock`).

    A database already at the latest migration is not handed to Alembic, whose transaction
    takes SQLite's write lock (to read the revision under it) and would wait for another
    process's writes no longer than the busy timeout; the reference data's unit of work waits
    as long as `session_scope` does."""
    with migration_lock(get_settings().database_url):
        current = current_revision(get_engine())
        _refuse_unknown_revision(current)
        if current != head_revision():
            upgrade(get_settings().database_url)
        with session_scope() as session:
            seed_reference(session)


def require_migrated_database() -> None:
    """Refuse a database that is missing or not at this version's latest migration, with
    the advice to run `sscmatch migrate`. For the commands that only read or add data
    (import, export, report): unlike `prepare_database`, this never creates a database or
    changes its schema, so a mistyped DATABASE_URL is an error, not a new empty database."""
    url = get_settings().database_url
    file = sqlite_path(url)
    if file is not None and not file.is_file():
        if (problem := sqlite_folder_problem(url)) is not None:  # `migrate` could not create it
            raise Unprocessable(f"the database at DATABASE_URL cannot be used: {problem}")
        raise Unprocessable(f"no database at {file} (DATABASE_URL); check DATABASE_URL, or run "
                            "`sscmatch migrate` to create it.")
    current, head = current_revision(get_engine()), head_revision()
    if current is None:
        raise Unprocessable("the database at DATABASE_URL has never been migrated; run "
                            "`sscmatch migrate` first.")
    _refuse_unknown_revision(current)
    if current != head:
        raise Unprocessable(f"the database at DATABASE_URL is at migration {current}, not at "
                            f"{head} (this version's latest); run `sscmatch migrate` first.")


def cmd_migrate(_args: argparse.Namespace) -> int:
    prepare_database()
    print("database is at the latest migration; reference data present")
    return 0


def _load_demo(*, only_into_empty: bool) -> DemoResult | None:
    """Load the demo data (None: `only_into_empty` and the database holds offers or needs).

    The texts are encoded first, in no transaction: on SQLite the loading one holds the
    database's write lock from its start, and encoding the demo takes seconds."""
    progress = progress_printer("encoding demo items")
    with session_scope(writes=False) as session:
        if only_into_empty and not is_empty(session):
            return None
        texts = texts_to_encode(session)
    encoded = encode_texts(texts, progress=progress)
    with session_scope() as session:
        if only_into_empty and not is_empty(session):
            return None
        return load_demo(session, progress=progress, encoded=encoded)


def cmd_demo(_args: argparse.Namespace) -> int:
    prepare_database()
    if (result := _load_demo(only_into_empty=False)) is not None:
        print(f"demo data: {result.offers} offers, {result.needs} needs, "
              f"{result.tables} tables added")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    prepare_database()
    if args.demo and (result := _load_demo(only_into_empty=True)) is not None:
        print(f"demo data loaded: {result.offers} offers, {result.needs} needs", file=sys.stderr)
    close_connections()  # a worker's own are closed when it stops; none stay open here
    from service.nodelay import NoDelayHTTPProtocol

    _refuse_port_in_use(args.host, args.port)
    leave_sigterm_to_the_server()
    uvicorn.run("service.main:create_served_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=get_settings().log_level,
                http=NoDelayHTTPProtocol, timeout_keep_alive=5, timeout_graceful_shutdown=10)
    return 0


def _refuse_port_in_use(host: str, port: int) -> None:
    """Refuse a port that another process listens on, in words; uvicorn said only "[Errno 98]
    error while attempting to bind" and exited with status 3.

    Each address `host` stands for is bound as uvicorn binds it (SO_REUSEADDR), then let go at
    once, right before uvicorn starts: a process that takes the port in between meets
    uvicorn's own error, as every start did before this check.
    """
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise Unprocessable(f"--host {host}: not a name or address of this machine "
                            f"({exc.strerror}).") from None
    for family, kind, proto, _name, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # as asyncio's server: IPv4 is bound on its own
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise Unprocessable(f"port {port} on {host} is already in use; choose "
                                        "another with --port or stop the other "
                                        "process.") from None
                raise Unprocessable(f"cannot serve on port {port} on {host}: "
                                    f"{exc.strerror or exc}.") from None


def cmd_keys_create(args: argparse.Namespace) -> int:
    prepare_database()
    with session_scope() as session:
        key, secret = auth_service.create_key(session, role=args.role, country=args.country,
                                              name=args.name)
        print(f"created {key.role} key #{key.id}"
              + (f" for {key.country_iso3}" if key.country_iso3 else "")
              + "; store it now, it is not shown again:")
    print(secret)
    return 0


def cmd_keys_list(_args: argparse.Namespace) -> int:
    prepare_database()
    with session_scope() as session:
        keys = auth_service.list_keys(session)
        print(f"{'id':>4}  {'role':<9} {'country':<7} {'prefix':<10}  {'state':<7} name")
        for key in keys:
            state = "revoked" if key.revoked_at else "active"
            print(f"{key.id:>4}  {key.role:<9} {key.country_iso3 or '-':<7} {key.prefix:<10}  "
                  f"{state:<7} {key.name}")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    prepare_database()
    with session_scope() as session:
        key = auth_service.get_key_or_raise(session, key_id=args.id)
        if key.revoked_at is not None:  # the state asked for: nothing to do, as `migrate` says
            print(f"key #{key.id} was already revoked on "
                  f"{key.revoked_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC; nothing changed")
            return 0
        # The command line may revoke the last admin key (a leaked one, say): it is also
        # where a new one is created, which the API could no longer do.
        auth_service.revoke_key(session, key_id=key.id, last_admin=True)
        print(f"key #{key.id} revoked")
        if key.role == "admin" and not auth_service.active_admin_key_ids(session):
            print("warning: no active admin key is left; create one with "
                  "`sscmatch keys create --role admin`", file=sys.stderr)
    return 0


def cmd_reencode(args: argparse.Namespace) -> int:
    prepare_database()
    kinds: tuple[Kind, ...] = ("offer", "need")
    total = 0
    for kind in kinds:
        # Encoding takes minutes for many items: it runs with no transaction open, so that
        # the service's writers are not held up (on SQLite, by the write lock); an item
        # written meanwhile keeps the vector its write stored (`store_vectors`).
        with session_scope(writes=False) as session:
            rows = vectors.rows_to_reencode(session, kind, everything=args.all)
        encoded = vectors.encode_texts(rows, kind,
                                       progress=progress_printer(f"encoding {kind}s"))
        with session_scope() as session:
            total += vectors.store_vectors(session, kind, rows=rows, encoded=encoded)
    print(f"encoded {total} offers and needs")
    return 0


def _copy_database(source: Path, copy: Path) -> None:
    """Copy `source` into the new, empty file `copy`; refuse a copy that fails SQLite's
    integrity check."""
    # One step of SQLite's online backup: a snapshot under a read lock, write-ahead log
    # included; writers wait at most the busy timeout meanwhile.
    with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(copy)) as dst:
        src.backup(dst)
        row = dst.execute("PRAGMA integrity_check").fetchone()
    verdict = str(row[0]) if row else "no answer"
    if verdict != "ok":
        raise Unprocessable(f"{source}: is a corrupt database: the copy failed its integrity "
                            f"check ({verdict}); no copy was written.")


def _sqlite_problem(exc: sqlite3.DatabaseError, out: Path) -> str:
    """What a sqlite3 error of the copy says of the database, in words."""
    name = getattr(exc, "sqlite_errorname", "")
    if name.startswith("SQLITE_NOTADB"):
        return "is not a SQLite database"
    if name.startswith("SQLITE_CORRUPT"):
        return f"is a corrupt database ({exc})"
    return f"cannot be copied to {out} ({exc})"


def cmd_backup(args: argparse.Namespace) -> int:
    """Copy the SQLite database, consistent even while the service writes to it."""
    url = make_url(get_settings().database_url)
    if url.get_backend_name() != "sqlite":
        raise Unprocessable("backup copies a SQLite database; back up PostgreSQL with pg_dump "
                            "(README, \"Backups\").")
    source = sqlite_file()
    if source is None:
        raise Unprocessable("DATABASE_URL names no SQLite database file to back up (a file: "
                            "URI); give the file's path: sqlite:///PATH.")
    if not source.is_file():
        raise Unprocessable(f"{source}: no SQLite database file to back up.")
    out = output_path(args.out)  # never the database itself, nor its -wal, -shm or -journal
    # A FIFO or device is refused below whatever --force says: not offered --force here.
    if (out.is_file() or out.is_dir()) and not args.force:
        raise Unprocessable(f"{out}: exists; give another file, or --force to replace it.")
    try:
        replace_file(out, lambda _handle, copy: _copy_database(source, copy))
    except sqlite3.DatabaseError as exc:
        raise Unprocessable(f"{source}: {_sqlite_problem(exc, out)}; no copy was "
                            "written.") from None
    print(f"backed up {source} to {out} ({out.stat().st_size:,} bytes)")
    return 0


def add_commands(sub: Any) -> None:
    """Register the operational sub-commands."""
    p = sub.add_parser("serve", help="migrate, optionally load demo data, and serve the API")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 "
                        "for every interface)")
    p.add_argument("--port", type=int_in(1, 65535), default=8000,
                   help="TCP port (default: 8000)")
    p.add_argument("--workers", type=int_in(1, 64), default=1,
                   help="uvicorn worker processes (default: 1)")
    p.add_argument("--demo", action="store_true",
                   help="load the demo data if the database holds no offers or needs")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="upgrade the database to the latest migration")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("backup", help="copy the SQLite database to a file, safe while serving")
    p.add_argument("--out", required=True, help="the copy (a SQLite file)")
    p.add_argument("--force", action="store_true", help="replace the file if it exists")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("demo", help="load the demo data set (idempotent)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("reencode", help="store text vectors missing or made by another model")
    p.add_argument("--all", action="store_true", help="re-encode every offer and need")
    p.set_defaults(func=cmd_reencode)

    keys = sub.add_parser("keys", help="create, list and revoke access keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    p = keys_sub.add_parser("create", help="create a key and print it (last line)")
    p.add_argument("--role", required=True, choices=["admin", "organizer", "country"])
    p.add_argument("--country", help="ISO 3166-1 alpha-3 code (country keys)")
    p.add_argument("--name", default="", help="who the key is for")
    p.set_defaults(func=cmd_keys_create)
    p = keys_sub.add_parser("list", help="list keys (never their secrets)")
    p.set_defaults(func=cmd_keys_list)
    p = keys_sub.add_parser("revoke", help="revoke a key by id")
    p.add_argument("id", type=int_in(1, MAX_ID))
    p.set_defaults(func=cmd_keys_revoke)
