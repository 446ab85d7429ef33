"""Crash test: SIGKILL the server in the middle of a stream of writes, restart it, and check
that every acknowledged write is there, intact, and that nothing half-written exists.

    python bench/crash.py                       # long: SQLite (WAL) and PostgreSQL, 4 kills each
    python bench/crash.py --quick --db sqlite   # what CI runs (tests/reliability/test_crash.py)
    python bench/crash.py --pg-url postgresql://postgres@127.0.0.1:5432/postgres

The server is the real one (`sscmatch serve --workers 2`: uvicorn, two worker processes) on a
throwaway database: a SQLite file in a temporary directory, or a PostgreSQL database created
for the run and dropped after it. Writer threads create offers and needs, change them with
`If-Match`, withdraw them, and take pairings through expression of interest → commitment
(both countries' consents). Each thread owns its records, so it knows the state the server
acknowledged for each, and the one write it had in flight when the server died (which may or
may not have been applied: both are correct). After the restart every record is read back
through the API and compared field by field; every record found must be one that was
acknowledged or in flight, with exactly the fields that were sent (no half-written rows), and
the audit trail of every pairing must hold one event per version. The long run writes the
`crash` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
API = "/api/v1"
OWN, PARTNER = "CHL", "ARG"
ITEM_FIELDS = ("ref", "country", "factor", "title", "description", "language", "modality",
               "target_population", "status", "version")
PARTNER_CAPACITY = 50
PAIRING_FIELDS = ("need_id", "offer_id", "table_id", "recipient", "provider", "stage", "version")


# --- the server ------------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli(env: dict[str, str], *args: str, root: Path = ROOT) -> str:
    """Run `sscmatch ARGS` (as `python -m service.cli` from the checkout `root`) and return
    its stdout."""
    done = subprocess.run([sys.executable, "-m", "service.cli", *args], env=env, cwd=root,
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"sscmatch {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def create_key(env: dict[str, str], role: str, country: str | None = None,
               root: Path = ROOT) -> str:
    """Create a key with the CLI; the secret is the last line it prints."""
    args = ["keys", "create", "--role", role, "--name", f"crash {role}"]
    if country:
        args += ["--country", country]
    return cli(env, *args, root=root).strip().splitlines()[-1]


def create_keys(env: dict[str, str], specs: dict[str, tuple[str, str | None]],
                root: Path = ROOT) -> dict[str, str]:
    """Create several keys with the CLI at once (each call starts a Python)."""
    with ThreadPoolExecutor(len(specs)) as pool:
        futures = {name: pool.submit(create_key, env, role, country, root)
                   for name, (role, country) in specs.items()}
        return {name: f.result() for name, f in futures.items()}


class Server:
    """`sscmatch serve` in its own process group, so that SIGKILL takes every worker."""

    def __init__(self, env: dict[str, str], *, workers: int, log: Path,
                 root: Path = ROOT) -> None:
        self.env = env
        self.root = root
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until /ready answers 200."""
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), "--workers", str(self.workers)],
                env=self.env, cwd=self.root, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(self.url + "/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"server not ready after {timeout:.0f} s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL the whole process group (the uvicorn supervisor and its workers)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self._reap_group()

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), then make sure nothing is left."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        self._reap_group()

    def _reap_group(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):  # workers outliving their supervisor
            os.killpg(self.proc.pid, signal.SIGKILL)


@contextmanager
def throwaway_database(kind: str, pg_url: str | None, workdir: Path) -> Iterator[str]:
    """A fresh database: a SQLite file in `workdir`, or a PostgreSQL database dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'crash.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from service.config import normalise_database_url

    base = make_url(normalise_database_url(pg_url or "postgresql://postgres@127.0.0.1:5432/"))
    name = f"crash6_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- the writers -----------------------------------------------------------------------------

@dataclass
class Expect:
    """The state of a record as the server acknowledged it (or as an in-flight write would
    leave it)."""

    kind: str  # offer, need or pairing
    fields: dict[str, Any]


@dataclass
class Ledger:
    """What one writer knows: acknowledged states, the write in flight, creations sent."""

    acked: dict[tuple[str, int], Expect] = field(default_factory=dict)
    pending: tuple[tuple[str, int | str], Expect] | None = None
    sent_creates: dict[str, Expect] = field(default_factory=dict)
    acked_writes: int = 0
    writes_per_record: dict[tuple[str, int], int] = field(default_factory=dict)
    refused: dict[int, int] = field(default_factory=dict)
    refused_records: set[tuple[str, int]] = field(default_factory=set)


def _pick(body: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {n: body[n] for n in names if n in body}


class Writer(threading.Thread):
    """Sends writes until told to stop or the server goes away."""

    def __init__(self, number: int, server_url: str, keys: dict[str, str], partner_offer: int,
                 ledger: Ledger, stop: threading.Event) -> None:
        super().__init__(daemon=True, name=f"writer-{number}")
        self.number = number
        self.client = httpx.Client(base_url=server_url + API, timeout=30)
        self.keys = keys
        self.partner_offer = partner_offer
        self.ledger = ledger
        self.stop_event = stop
        self.step = 0
        self.gone = False

    def _headers(self, who: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}", **extra}

    def _send(self, method: str, path: str, who: str, expect_key: tuple[str, int | str],
              expect: Expect, body: Any = None, **headers: str) -> dict[str, Any] | None:
        """Send one write; record it in flight until its answer is in."""
        self.ledger.pending = (expect_key, expect)
        try:
            response = self.client.request(method, path, json=body,
                                           headers=self._headers(who, **headers))
        except httpx.TransportError:
            self.gone = True  # outcome unknown: stays pending
            return None
        self.ledger.pending = None
        if response.status_code >= 300:
            self.ledger.refused[response.status_code] = (
                self.ledger.refused.get(response.status_code, 0) + 1)
            return None
        data: dict[str, Any] = response.json()
        kind = expect.kind
        fields = _pick(data, PAIRING_FIELDS if kind == "pairing" else ITEM_FIELDS)
        key = (kind, int(data["id"]))
        self.ledger.acked[key] = Expect(kind, fields)
        self.ledger.acked_writes += 1
        self.ledger.writes_per_record[key] = self.ledger.writes_per_record.get(key, 0) + 1
        return data

    def _create_item(self, kind: str) -> None:
        ref = f"CRASH-{self.number}-{secrets.token_hex(5)}"
        body: dict[str, Any] = {"country": OWN, "factor": "education", "title": f"{kind} {ref}",
                "description": f"Escrito por el hilo {self.number}; paso {self.step}.",
                "language": "es", "modality": "training", "target_population": "niños",
                "status": "published", "ref": ref}
        if kind == "offer":
            body["capacity"] = 3
        expect = Expect(kind, _pick(body, ITEM_FIELDS) | {"country": OWN, "version": 1})
        self.ledger.sent_creates[ref] = expect
        self._send("POST", f"/{kind}s", "own", ("ref", ref), expect, body)

    def _mine(self, kind: str, status: str = "published") -> list[tuple[tuple[str, int], Expect]]:
        return [(k, e) for k, e in self.ledger.acked.items()
                if k[0] == kind and e.fields.get("status") == status
                and str(e.fields.get("ref", "")).startswith(f"CRASH-{self.number}-")]

    def _patch_item(self, kind: str, withdraw: bool) -> None:
        mine = self._mine(kind)
        if not mine:
            self._create_item(kind)
            return
        (k, item_id), current = mine[self.step % len(mine)]
        version = int(current.fields["version"])
        if withdraw:
            expect = Expect(k, current.fields | {"status": "withdrawn", "version": version + 1})
            self._send("DELETE", f"/{k}s/{item_id}", "own", (k, item_id), expect,
                       **{"If-Match": f'"{version}"'})
            return
        body = {"title": f"{current.fields['ref']} v{version + 1}",
                "description": f"Versión {version + 1} escrita por el hilo {self.number}."}
        expect = Expect(k, current.fields | body | {"version": version + 1})
        self._send("PATCH", f"/{k}s/{item_id}", "own", (k, item_id), expect, body,
                   **{"If-Match": f'"{version}"'})

    def _pairing_step(self) -> None:
        pairings = [(k, e) for k, e in self.ledger.acked.items() if k[0] == "pairing"]
        if sum(e.fields["stage"] == "commitment" for _, e in pairings) >= PARTNER_CAPACITY - 2:
            self._create_item("need")  # the partner's offer is fully committed
            return
        open_pairings = [(k, e) for k, e in pairings
                         if e.fields["stage"] == "expression_of_interest"
                         and k not in self.ledger.refused_records]
        if not open_pairings:
            paired = {e.fields["need_id"] for k, e in self.ledger.acked.items()
                      if k[0] == "pairing"}
            needs = [k[1] for k, _ in self._mine("need") if k[1] not in paired]
            if not needs:
                self._create_item("need")
                return
            body = {"need_id": needs[0], "offer_id": self.partner_offer}
            token = f"crash-{self.number}-{secrets.token_hex(6)}"
            expect = Expect("pairing", {"need_id": needs[0], "offer_id": self.partner_offer,
                                        "stage": "expression_of_interest", "version": 1})
            self._send("POST", "/pairings", "own", ("idem", token), expect, body,
                       **{"Idempotency-Key": token})
            return
        (_, pairing_id), current = open_pairings[0]
        version = int(current.fields["version"])
        # The recipient consents first (stage unchanged), then the provider (commitment).
        who = "own" if version == 1 else "partner"
        stage = "expression_of_interest" if who == "own" else "commitment"
        expect = Expect("pairing", current.fields | {"stage": stage, "version": version + 1})
        if self._send("POST", f"/pairings/{pairing_id}/transitions", who,
                      ("pairing", pairing_id), expect, {"to": "commitment"},
                      **{"If-Match": f'"{version}"'}) is None and not self.gone:
            self.ledger.refused_records.add(("pairing", pairing_id))

    def run(self) -> None:
        ops = ("offer", "need", "patch", "patch", "withdraw", "pairing", "pairing", "offer")
        while not self.stop_event.is_set() and not self.gone:
            op = ops[(self.step * 5 + self.number) % len(ops)]
            self.step += 1
            if op in ("offer", "need"):
                self._create_item(op)
            elif op == "patch":
                self._patch_item("offer" if self.step % 2 else "need", withdraw=False)
            elif op == "withdraw":
                self._patch_item("offer", withdraw=True)
            else:
                self._pairing_step()
        self.client.close()


# --- checking after the restart --------------------------------------------------------------

@dataclass
class Verdict:
    """What the check after a restart found."""

    acknowledged: int = 0
    found: int = 0
    records: int = 0
    in_flight_applied: int = 0
    in_flight_not_applied: int = 0
    problems: list[str] = field(default_factory=list)


def _pages(client: httpx.Client, path: str, headers: dict[str, str], *,
           rows: str = "items", limit: int = 200) -> list[dict[str, Any]]:
    """Every row of a list (`rows`: the key of its rows in a page), a page at a time."""
    out: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    for _ in range(10_000):
        page = client.get(path, params=params, headers=headers)
        page.raise_for_status()
        body = page.json()
        out.extend(body[rows])
        if not body["next_cursor"]:
            return out
        params["cursor"] = body["next_cursor"]  # an offset list's cursor is its offset
    raise RuntimeError(f"{path}: too many pages")


def _differences(expected: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    return {k: (v, found.get(k)) for k, v in expected.items() if found.get(k) != v}


def verify(server_url: str, keys: dict[str, str], ledgers: list[Ledger]) -> Verdict:
    """Read everything back and compare it with what was acknowledged or in flight; resolve
    the in-flight writes into the ledgers for the next round."""
    verdict = Verdict()
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    with httpx.Client(base_url=server_url + API, timeout=60) as client:
        # An interrupted pairing creation is retried with its Idempotency-Key: exactly one
        # pairing must come out of it, whether or not the first attempt was committed.
        for ledger in ledgers:
            if ledger.pending and ledger.pending[0][0] == "idem":
                token, expect = str(ledger.pending[0][1]), ledger.pending[1]
                retry = client.post("/pairings", json={
                    "need_id": expect.fields["need_id"], "offer_id": expect.fields["offer_id"]},
                    headers={"Authorization": f"Bearer {keys['own']}",
                             "Idempotency-Key": token})
                replayed = retry.headers.get("Idempotent-Replayed") == "true"
                if retry.status_code != 201:
                    verdict.problems.append(f"idempotent retry answered {retry.status_code}")
                else:
                    body = retry.json()
                    key = ("pairing", int(body["id"]))
                    ledger.acked[key] = Expect("pairing", _pick(body, PAIRING_FIELDS))
                    ledger.writes_per_record[key] = 1
                    ledger.acked_writes += 1
                    if replayed:
                        verdict.in_flight_applied += 1
                    else:
                        verdict.in_flight_not_applied += 1
                ledger.pending = None
        items = {(kind, int(r["id"])): r for kind in ("offer", "need")
                 for r in _pages(client, f"/{kind}s", admin)}
        pairings = {("pairing", int(r["id"])): r for r in _pages(client, "/pairings", admin)}
        stored = items | pairings
        verdict.records = len(stored)
        acked: dict[tuple[str, int], tuple[Ledger, Expect]] = {}
        for ledger in ledgers:
            for key, expect in ledger.acked.items():
                acked[key] = (ledger, expect)
        for key, (ledger, expect) in acked.items():
            row = stored.get(key)
            writes = ledger.writes_per_record.get(key, 0)
            verdict.acknowledged += writes
            if row is None:
                verdict.problems.append(f"lost: {key} acknowledged at {expect.fields}")
                continue
            diff = _differences(expect.fields, row)
            pending = ledger.pending
            if (diff and pending and pending[0] == key
                    and not _differences(pending[1].fields, row)):
                ledger.acked[key] = Expect(expect.kind, pending[1].fields)
                ledger.writes_per_record[key] = writes + 1
                ledger.acked_writes += 1
                ledger.pending = None
                verdict.in_flight_applied += 1
                verdict.found += writes
                continue
            if diff:
                verdict.problems.append(f"changed: {key} differs from its acknowledged state "
                                        f"(expected, found): {diff}")
                continue
            verdict.found += writes
        for ledger in ledgers:
            if ledger.pending is not None:
                (what, ident), expect = ledger.pending
                if what == "ref":
                    match = [k for k, r in items.items() if r["ref"] == ident]
                    if match:
                        diff = _differences(expect.fields, items[match[0]])
                        if diff:
                            verdict.problems.append(f"half-written creation {ident}: {diff}")
                        ledger.acked[match[0]] = Expect(expect.kind, _pick(
                            items[match[0]], ITEM_FIELDS))
                        ledger.writes_per_record[match[0]] = 1
                        ledger.acked_writes += 1
                        acked[match[0]] = (ledger, expect)
                        verdict.in_flight_applied += 1
                    else:
                        verdict.in_flight_not_applied += 1
                else:
                    verdict.in_flight_not_applied += 1
                ledger.pending = None
        for key in stored.keys() - acked.keys():
            verdict.problems.append(f"unexpected record {key}: {stored[key]}")
        for key, row in pairings.items():
            events = _pages(client, f"/pairings/{key[1]}/history", admin, rows="events")
            versions = [e["version"] for e in events]
            if versions != list(range(1, int(row["version"]) + 1)):
                verdict.problems.append(f"pairing {key[1]} at version {row['version']} has "
                                        f"audit events for versions {versions}")
        after = client.post("/needs", json={"factor": "education", "modality": "training",
                                            "title": "Después del reinicio",
                                            "description": "Escritura tras la verificación."},
                            headers={"Authorization": f"Bearer {keys['own']}"})
        if after.status_code != 201:
            verdict.problems.append("the restarted server refused a new write")
        elif ledgers:
            key = ("need", int(after.json()["id"]))
            ledgers[0].acked[key] = Expect("need", _pick(after.json(), ITEM_FIELDS))
            ledgers[0].writes_per_record[key] = 1
            ledgers[0].acked_writes += 1
    return verdict


def sqlite_integrity(url: str) -> list[str]:
    """`PRAGMA integrity_check` and `foreign_key_check` of a SQLite file ([] when sound)."""
    import sqlite3

    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"foreign key: {r}" for r in conn.execute("PRAGMA foreign_key_check")]
        return problems
    finally:
        conn.close()


# --- one run ---------------------------------------------------------------------------------

@dataclass
class Result:
    """The outcome of the crash test on one database."""

    db: str
    kills: int
    seconds: float
    acknowledged: int
    found: int
    records: int
    in_flight_applied: int
    in_flight_not_applied: int
    refused: dict[int, int]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems and self.found == self.acknowledged

    def line(self) -> str:
        return (f"{self.db}: acknowledged {self.acknowledged}, found {self.found} "
                f"({self.records} records, {self.kills} SIGKILLs, in flight at the kills: "
                f"{self.in_flight_applied} applied, {self.in_flight_not_applied} not; "
                f"refused {self.refused or 'none'}; problems: {len(self.problems)})")


def run(db: str, *, pg_url: str | None, kills: int, seconds: float, threads: int,
        workers: int, log_dir: Path | None = None, min_writes: int = 0) -> Result:
    """Write, SIGKILL, restart and verify `kills` times on a throwaway database.

    Each round writes for `seconds`, and longer (up to a minute more) until the writers have
    `min_writes` acknowledged writes in that round: on a machine busy with other work a fixed
    time alone may leave too few writes in flight to test anything."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="crash6-") as tmp:
        work = Path(tmp)
        with throwaway_database(db, pg_url, work) as url:
            env = {**os.environ, "DATABASE_URL": url, "ENCODE_ON_WRITE": "false",
                   "LOG_LEVEL": "warning"}
            env.pop("CORS_ORIGINS", None)
            log = (log_dir or work) / f"crash-server-{db}.log"
            server = Server(env, workers=workers, log=log)
            ledgers = [Ledger() for _ in range(threads)]

            def acked() -> int:
                return sum(ledger.acked_writes for ledger in ledgers)

            problems: list[str] = []
            keys: dict[str, str] = {}
            verdict = Verdict()
            try:
                server.start()  # migrates the new database first
                keys = create_keys(env, {"admin": ("admin", None), "own": ("country", OWN),
                                         "partner": ("country", PARTNER)})
                partner_offers = _partner_offers(server.url, keys, ledgers)
                for _ in range(kills):
                    stop = threading.Event()
                    writers = [Writer(n, server.url, keys, partner_offers[n], ledgers[n], stop)
                               for n in range(threads)]
                    target = acked() + min_writes
                    for w in writers:
                        w.start()
                    time.sleep(seconds)
                    patience = time.monotonic() + 60
                    while acked() < target and time.monotonic() < patience:
                        time.sleep(0.1)
                    server.kill()  # in the middle of the writes
                    stop.set()
                    for w in writers:
                        w.join(timeout=60)
                    server.start()
                    verdict = verify(server.url, keys, ledgers)
                    problems += verdict.problems
            finally:
                server.stop()
            if db == "sqlite":
                problems += sqlite_integrity(url)
            logged = log.read_text(encoding="utf-8", errors="replace")
            problems += [f"the {who} key appears in the server log" for who, secret in keys.items()
                         if secret in logged]
    refused: dict[int, int] = {}
    for ledger in ledgers:
        for status, n in ledger.refused.items():
            refused[status] = refused.get(status, 0) + n
    problems += [f"{n} answers {status} (server error) during the writes"
                 for status, n in refused.items() if status >= 500]
    return Result(db=db, kills=kills, seconds=time.monotonic() - started,
                  acknowledged=verdict.acknowledged, found=verdict.found,
                  records=verdict.records, in_flight_applied=verdict.in_flight_applied,
                  in_flight_not_applied=verdict.in_flight_not_applied, refused=refused,
                  problems=problems)


def _partner_offers(server_url: str, keys: dict[str, str], ledgers: list[Ledger]) -> list[int]:
    """One published offer of the partner country per writer, with room for its pairings."""
    ids = []
    with httpx.Client(base_url=server_url + API, timeout=30) as client:
        for n, ledger in enumerate(ledgers):
            body = {"factor": "education", "title": f"Oferta socia {n}", "modality": "training",
                    "description": "Oferta de la contraparte para los emparejamientos.",
                    "capacity": PARTNER_CAPACITY, "ref": f"PARTNER-{n}"}
            response = client.post("/offers", json=body,
                                   headers={"Authorization": f"Bearer {keys['partner']}"})
            response.raise_for_status()
            data = response.json()
            key = ("offer", int(data["id"]))
            ledger.acked[key] = Expect("offer", _pick(data, ITEM_FIELDS))
            ledger.writes_per_record[key] = 1
            ledger.acked_writes += 1
            ids.append(int(data["id"]))
    return ids


HEADER = ("| database | SIGKILLs | time | acknowledged | found | records "
          "| in flight applied / not | refused (expected 4xx) | problems |\n"
          "|---|---|---|---|---|---|---|---|---|")


def report(results: list[Result], command: str) -> str:
    """The `crash` section of docs/benchmarks.md."""
    from _report import machine

    rows = "\n".join(
        f"| {r.db} | {r.kills} | {r.seconds:.0f} s | {r.acknowledged} | {r.found} | {r.records} "
        f"| {r.in_flight_applied} / {r.in_flight_not_applied} | "
        f"{', '.join(f'{k}: {v}' for k, v in sorted(r.refused.items())) or '–'} "
        f"| {len(r.problems)} |" for r in results)
    return f"""## Crash safety (SIGKILL under writes)

`{command}` — {machine()}

The real server (`sscmatch serve --workers 2`) on a throwaway database; writer threads send
a stream of creates, `If-Match` updates, withdrawals and pairing consents; the whole process
group is SIGKILLed in the middle, restarted, and every record is read back through the API.
**acknowledged N, found N**: every write answered 2xx was found, with the acknowledged
fields; writes in flight at the kill were found either applied or not, never half-applied;
no record exists that was not sent; every pairing's audit trail has one event per version.

{HEADER}
{rows}

{chr(10).join(f"- {r.line()}" for r in results)}

SQLite runs in WAL mode with `synchronous=NORMAL`: committed transactions survive a process
crash (this test), but the last ones may be lost on a power cut or kernel crash; PostgreSQL
(`fsync`, `synchronous_commit` on by default) keeps them in both cases.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one kill after a few seconds")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get(
        "CRASH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--kills", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="writing time per kill")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-report", action="store_true", help="do not write the docs")
    args = parser.parse_args(argv)
    kills = args.kills or (1 if args.quick else 4)
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = []
    for db in dbs:
        result = run(db, pg_url=args.pg_url, kills=kills, seconds=seconds,
                     threads=args.threads, workers=args.workers)
        print(result.line(), flush=True)
        for problem in result.problems[:20]:
            print("  PROBLEM", problem, flush=True)
        results.append(result)
    if not args.quick and not args.no_report:
        from _report import write_section

        command = "python bench/crash.py " + " ".join(argv if argv is not None else sys.argv[1:])
        write_section("crash", report(results, command.strip()))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
