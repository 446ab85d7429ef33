"""Load benchmark: the real server under 10, 50 and 200 concurrent clients.

    python bench/load.py                          # PostgreSQL, 20 s per mix and concurrency
    python bench/load.py --seconds 5 --no-report  # a quick look
    python bench/load.py --profile matches        # py-spy on the workers under that mix
    python bench/load.py --source /tmp/old --no-report  # the same load on another checkout
    python bench/load.py --driver httpx           # a heavier client, for comparison

`sscmatch serve --workers 2` on a throwaway PostgreSQL database holding the demo data, on
127.0.0.1; an aiohttp driver (in this process, on the same 2-core machine: the driver's CPU is
taken from the server's, so the figures are a floor) runs each mix for a bounded time. The
driver is aiohttp rather than httpx because httpx's client needed most of a core for ~900
requests/s, so `/health` measured the driver, not the stack; aiohttp needs about a third of
that. Mixes:

- `health`: `GET /health`, the ceiling of the stack (no database);
- `lists`: `GET /offers` and `/needs` pages of 50, with and without filters;
- `matches`: `GET /needs/{id}/matches?limit=10` over the demo needs;
- `writes`: `POST /offers`, then `PATCH` of the client's own offer with `If-Match`;
- `mixed`: 70 % lists, 15 % matches, 15 % writes.

Reported per mix and concurrency: throughput, p50/p95/p99 latency, and errors (any answer
other than the expected 2xx, or a transport error). Writes the `load` section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from crash import API, ROOT, Server, cli, create_keys, throwaway_database

MIXES = ("health", "lists", "matches", "writes", "mixed")
COUNTRIES = ("ARG", "BRA", "CHL", "COL", "PER", "MEX")
LIST_QUERIES: tuple[dict[str, str], ...] = (
    {}, {"factor": "education"}, {"country": "BRA"}, {"status": "published"},
    {"language": "es", "modality": "training"})


@dataclass
class Stats:
    """Latencies (ms) and outcomes of one mix at one concurrency."""

    mix: str
    clients: int
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds: server, database, driver

    def add(self, kind: str, ms: float) -> None:
        self.latencies.setdefault(kind, []).append(ms)

    def all_latencies(self) -> list[float]:
        return [v for values in self.latencies.values() for v in values]

    def count(self, kind: str | None = None) -> int:
        return len(self.all_latencies() if kind is None else self.latencies.get(kind, []))

    def throughput(self, kind: str | None = None) -> float:
        return self.count(kind) / self.seconds if self.seconds else 0.0

    def cpu_ms_per_request(self, part: str) -> float:
        return 1000 * self.cpu.get(part, 0.0) / max(self.count(), 1)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc; gone ones count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def database_pids() -> list[int]:
    """The PostgreSQL processes (server and backends) on this machine."""
    out = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True,
                         check=False).stdout
    return [int(p) for p in out.split()]


class CpuMeter:
    """CPU used by the server's workers, PostgreSQL and this driver between start and stop."""

    def __init__(self, server: Server) -> None:
        self.parts: dict[str, Callable[[], float]] = {
            "server": lambda: cpu_seconds(worker_pids(server)),
            "database": lambda: cpu_seconds(database_pids()),
            "driver": lambda: sum(os.times()[:2])}
        self.start = {name: read() for name, read in self.parts.items()}

    def used(self) -> dict[str, float]:
        return {name: read() - self.start[name] for name, read in self.parts.items()}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values, nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


@dataclass
class Target:
    """What the clients know: the server, keys, and ids to read."""

    url: str
    keys: dict[str, str]
    need_ids: list[int]


@dataclass(frozen=True)
class Reply:
    """What a client keeps of a response."""

    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


class Driver:
    """HTTP client of the simulated clients: aiohttp (default) or httpx, one shared pool."""

    def __init__(self, kind: str, url: str, clients: int) -> None:
        self.kind = kind
        self.url = url
        self.clients = clients
        self._aiohttp: aiohttp.ClientSession | None = None
        self._httpx: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Driver:
        if self.kind == "httpx":
            limits = httpx.Limits(max_connections=self.clients,
                                  max_keepalive_connections=self.clients)
            self._httpx = httpx.AsyncClient(base_url=self.url, limits=limits,
                                            timeout=httpx.Timeout(60.0))
        else:
            self._aiohttp = aiohttp.ClientSession(
                base_url=self.url, connector=aiohttp.TCPConnector(limit=self.clients),
                timeout=aiohttp.ClientTimeout(total=60))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._httpx is not None:
            await self._httpx.aclose()
        if self._aiohttp is not None:
            await self._aiohttp.close()

    async def send(self, method: str, url: str, **kwargs: Any) -> Reply:
        """Send one request; transport failures raise `TransportFailure`."""
        try:
            if self._httpx is not None:
                response = await self._httpx.request(method, url, **kwargs)
                return Reply(response.status_code,
                             {k.lower(): v for k, v in response.headers.items()},
                             response.content)
            assert self._aiohttp is not None
            async with self._aiohttp.request(method, url, **kwargs) as answer:
                return Reply(answer.status, {k.lower(): v for k, v in answer.headers.items()},
                             await answer.read())
        except (aiohttp.ClientError, httpx.HTTPError, TimeoutError) as exc:
            raise TransportFailure(type(exc).__name__) from exc


class TransportFailure(Exception):
    """The request got no HTTP answer (connection refused or reset, timeout)."""


class Client:
    """One simulated client: a country focal point (or organiser) issuing requests in turn."""

    def __init__(self, n: int, target: Target, http: Driver, stats: Stats) -> None:
        self.n = n
        self.target = target
        self.http = http
        self.stats = stats
        self.rng = random.Random(n)
        self.country = COUNTRIES[n % len(COUNTRIES)]
        self.auth = {"Authorization": f"Bearer {target.keys[self.country]}"}
        self.offer: tuple[int, str] | None = None

    async def _timed(self, kind: str, method: str, url: str, *, ok: tuple[int, ...] = (200,),
                     **kwargs: Any) -> Reply | None:
        start = time.perf_counter()
        try:
            reply = await self.http.send(method, url, **kwargs)
        except TransportFailure as exc:
            self.stats.errors[f"{kind}: {exc}"] += 1
            return None
        ms = (time.perf_counter() - start) * 1000
        if reply.status not in ok:
            self.stats.errors[f"{kind}: {reply.status}"] += 1
            return None
        self.stats.add(kind, ms)
        return reply

    async def health(self) -> None:
        await self._timed("health", "GET", "/health")

    async def lists(self) -> None:
        kind = self.rng.choice(("offers", "needs"))
        query: dict[str, str | int] = {"limit": 50, **self.rng.choice(LIST_QUERIES)}
        await self._timed("list", "GET", f"{API}/{kind}", params=query, headers=self.auth)

    async def matches(self) -> None:
        need = self.rng.choice(self.target.need_ids)
        await self._timed("matches", "GET", f"{API}/needs/{need}/matches",
                          params={"limit": 10}, headers=self.auth)

    async def writes(self) -> None:
        if self.offer is None or self.rng.random() < 0.3:
            body = {"factor": "education", "modality": "training", "capacity": 2,
                    "title": f"Oferta de carga {self.n}-{self.rng.randrange(10**9)}",
                    "description": "Programa de formación de inspectores laborales sobre "
                                   "trabajo infantil en la agricultura familiar."}
            reply = await self._timed("write", "POST", f"{API}/offers", json=body,
                                      headers=self.auth, ok=(201,))
            if reply is not None:
                self.offer = (int(json.loads(reply.body)["id"]), reply.headers["etag"])
            return
        offer_id, etag = self.offer
        reply = await self._timed("write", "PATCH", f"{API}/offers/{offer_id}",
                                  json={"capacity": self.rng.randint(1, 5)},
                                  headers=self.auth | {"If-Match": etag})
        if reply is not None:
            self.offer = (offer_id, reply.headers["etag"])

    async def mixed(self) -> None:
        r = self.rng.random()
        await (self.lists() if r < 0.70 else self.matches() if r < 0.85 else self.writes())

    def step(self, mix: str) -> Callable[[], Awaitable[None]]:
        steps: dict[str, Callable[[], Awaitable[None]]] = {
            "health": self.health, "lists": self.lists, "matches": self.matches,
            "writes": self.writes, "mixed": self.mixed}
        return steps[mix]


async def drive(target: Target, mix: str, clients: int, seconds: float,
                driver: str = "aiohttp") -> Stats:
    """Run `clients` concurrent clients on `mix` for `seconds` (after a short warm-up)."""
    stats = Stats(mix, clients)
    async with Driver(driver, target.url, clients) as http:
        warm = Stats(mix, clients)
        await asyncio.gather(*(Client(n, target, http, warm).step(mix)()
                               for n in range(min(clients, 20))))
        deadline = time.perf_counter() + seconds

        async def run(n: int) -> None:
            step = Client(n, target, http, stats).step(mix)
            while time.perf_counter() < deadline:
                await step()

        started = time.perf_counter()
        await asyncio.gather(*(run(n) for n in range(clients)))
        stats.seconds = time.perf_counter() - started
    return stats


def prepare(env: dict[str, str], root: Path = ROOT) -> None:
    """Migrate and load the demo data (with its text vectors) through the CLI."""
    cli(env, "demo", root=root)


def need_ids(url: str, admin: str) -> list[int]:
    response = httpx.get(f"{url}{API}/needs", params={"limit": 200, "status": "published"},
                         headers={"Authorization": f"Bearer {admin}"}, timeout=30)
    response.raise_for_status()
    return [int(item["id"]) for item in response.json()["items"]]


def worker_pids(server: Server) -> list[int]:
    """The uvicorn worker processes (children of the supervisor)."""
    assert server.proc is not None
    out = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True,
                         text=True, check=False).stdout
    return [int(p) for p in out.split()]


def profile(server: Server, target: Target, mix: str, clients: int, seconds: float,
            out_dir: Path) -> str:
    """Run `mix` while py-spy samples every worker; return the hottest frames, as text."""
    py_spy = Path(sys.executable).parent / "py-spy"
    records = []
    for pid in worker_pids(server):
        path = out_dir / f"py-spy-{mix}-{pid}.txt"
        records.append((path, subprocess.Popen(
            [str(py_spy), "record", "--pid", str(pid), "--duration", str(int(seconds)),
             "--rate", "200", "--format", "raw", "--output", str(path), "--nonblocking",
             "--gil"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    stats = asyncio.run(drive(target, mix, clients, seconds))
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for path, proc in records:
        proc.wait(timeout=seconds + 60)
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = [f.split(" (")[0] + " " + f.rsplit("/", 1)[-1] for f in stack.split(";")]
            for frame in set(frames):
                inclusive[frame] += n
            own[frames[-1]] += n
    # Samples are taken only from the thread holding the interpreter lock (py-spy --gil):
    # where the workers spend CPU, not where they wait.
    top = "\n".join(f"{100 * n / max(total, 1):5.1f}%  {frame}"
                    for frame, n in inclusive.most_common(45)
                    if "bootstrap" not in frame and "run_forever" not in frame)
    top += "\nself time:\n" + "\n".join(f"{100 * n / max(total, 1):5.1f}%  {frame}"
                                         for frame, n in own.most_common(15))
    return (f"{mix} at {clients} clients: {stats.throughput():.0f} req/s, p50 "
            f"{percentile(stats.all_latencies(), 50):.0f} ms; {total} samples\n{top}")


def table(results: list[Stats], ceiling: dict[int, float]) -> str:
    rows = ["| mix | clients | requests | req/s | vs `/health` | p50 ms | p95 ms | p99 ms "
            "| errors | CPU ms/req: server · database · driver |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for s in results:
        lat = s.all_latencies()
        errors = sum(s.errors.values())
        detail = f" ({', '.join(f'{k} ×{v}' for k, v in s.errors.most_common(3))})" if errors \
            else ""
        rows.append(f"| {s.mix} | {s.clients} | {s.count()} | {s.throughput():.0f} | "
                    f"{s.throughput() / ceiling[s.clients]:.0%} | {percentile(lat, 50):.0f} | "
                    f"{percentile(lat, 95):.0f} | {percentile(lat, 99):.0f} | "
                    f"{errors}{detail} | {s.cpu_ms_per_request('server'):.2f} · "
                    f"{s.cpu_ms_per_request('database'):.2f} · "
                    f"{s.cpu_ms_per_request('driver'):.2f} |")
    return "\n".join(rows)


def verdicts(results: list[Stats], ceiling: dict[int, float]) -> list[str]:
    by = {(s.mix, s.clients): s for s in results}
    out = []
    errors_200 = sum(sum(s.errors.values()) for s in results if s.clients == 200)
    out.append(f"errors at 200 clients, all mixes: {errors_200} (target 0)")
    if ("lists", 50) in by:
        p99 = percentile(by[("lists", 50)].all_latencies(), 99)
        out.append(f"p99 of list reads at 50 clients: {p99:.0f} ms (target < 250 ms)")
    for clients in sorted(ceiling):
        if ("writes", clients) in by:
            ratio = by[("writes", clients)].throughput() / ceiling[clients]
            out.append(f"write throughput at {clients} clients: {ratio:.0%} of the `/health` "
                       "ceiling (target ≥ 30 %)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default=os.environ.get(
        "LOAD_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--seconds", type=float, default=20.0, help="per mix and concurrency")
    parser.add_argument("--clients", default="10,50,200")
    parser.add_argument("--mixes", default=",".join(MIXES))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--source", type=Path, default=ROOT,
                        help="checkout whose service to start (e.g. a `git worktree` of an "
                             "older commit, for a before/after comparison)")
    parser.add_argument("--driver", choices=("aiohttp", "httpx"), default="aiohttp",
                        help="HTTP client of the simulated clients")
    parser.add_argument("--profile", choices=MIXES, help="profile this mix (50 clients)")
    parser.add_argument("--no-report", action="store_true")
    parser.add_argument("--note", default="", help="a line added to the report")
    args = parser.parse_args(argv)
    concurrency = [int(c) for c in args.clients.split(",")]
    mixes = args.mixes.split(",")
    with tempfile.TemporaryDirectory(prefix="load6-") as tmp, \
            throwaway_database("postgresql", args.pg_url, Path(tmp)) as url:
        env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "warning"}
        prepare(env, args.source)
        keys = create_keys(env, {"admin": ("admin", None)}
                           | {c: ("country", c) for c in COUNTRIES}, args.source)
        server = Server(env, workers=args.workers, log=Path(tmp) / "server.log",
                        root=args.source)
        server.start()
        try:
            target = Target(server.url, keys, need_ids(server.url, keys["admin"]))
            if args.profile:
                print(profile(server, target, args.profile, 50, args.seconds, Path(tmp)))
                return 0
            results: list[Stats] = []
            ceiling: dict[int, float] = {}
            for clients in concurrency:
                for mix in ["health", *[m for m in mixes if m != "health"]]:
                    meter = CpuMeter(server)
                    stats = asyncio.run(drive(target, mix, clients, args.seconds, args.driver))
                    stats.cpu = meter.used()
                    if mix == "health":
                        ceiling[clients] = stats.throughput()
                    results.append(stats)
                    print(f"{mix:8} {clients:4} clients: {stats.throughput():7.0f} req/s  "
                          f"p50 {percentile(stats.all_latencies(), 50):6.0f} ms  "
                          f"p99 {percentile(stats.all_latencies(), 99):6.0f} ms  "
                          f"errors {dict(stats.errors)}  CPU ms/request: server "
                          f"{stats.cpu_ms_per_request('server'):.2f}, database "
                          f"{stats.cpu_ms_per_request('database'):.2f}, driver "
                          f"{stats.cpu_ms_per_request('driver'):.2f}", flush=True)
        finally:
            server.stop()
    summary = verdicts(results, ceiling)
    print("\n".join(summary))
    if not args.no_report:
        from _report import machine, write_section

        given = argv if argv is not None else sys.argv[1:]
        command = shlex.join(["python", "bench/load.py", *given])
        section = "load" if args.driver == "aiohttp" else f"load-{args.driver}"
        title = "" if args.driver == "aiohttp" else f" ({args.driver} driver)"
        if args.source.resolve() != ROOT:
            commit = subprocess.run(["git", "-C", str(args.source), "log", "-1",
                                     "--format=%h %s"], capture_output=True, text=True,
                                    check=False).stdout.strip()
            section += "-before"
            title += f", earlier service for comparison: {commit}"
            args.note = (f"{args.note} The service ran from a checkout of that commit "
                         "(`git worktree add DIR COMMIT`), the driver from this one.").strip()
        write_section(section, f"""## Load: the real server under concurrent clients{title}

`{command.strip()}` — {machine()}

`sscmatch serve --workers {args.workers}` (uvicorn) on a throwaway PostgreSQL database with the
demo data, on 127.0.0.1; an {args.driver} driver on the same machine, {args.seconds:.0f} s per
row. `health` is the ceiling of the stack measured in the same run; the driver shares the two
cores with the server, so every figure is a floor. {args.note}

{table(results, ceiling)}

{chr(10).join(f"- {line}" for line in summary)}
""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
