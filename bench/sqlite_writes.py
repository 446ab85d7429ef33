"""Concurrent writers on the embedded SQLite default: throughput and waiting.

    python bench/sqlite_writes.py                       # 1 and 2 workers, 4 writers, 3 rounds
    python bench/sqlite_writes.py --source /tmp/old     # the same on another checkout, in turn

`sscmatch serve` on a throwaway SQLite file (WAL), without encoding on write; `--writers`
threads each POST offers in a loop for `--seconds`. Reported per server: writes per second,
p50, p99 and the longest wait. With `--source`, each round runs the other checkout's service
and then this one's, back to back, so that the two compare on the same machine state.
Writes the `sqlite-writes` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from crash import API, ROOT, Server, create_keys, throwaway_database
from load import percentile


def measure(root: Path, *, workers: int, writers: int, seconds: float) -> list[float]:
    """Latencies (ms) of the acknowledged writes of one run."""
    with tempfile.TemporaryDirectory(prefix="sqlitew-") as tmp, \
            throwaway_database("sqlite", None, Path(tmp)) as url:
        env = {**os.environ, "DATABASE_URL": url, "ENCODE_ON_WRITE": "false",
               "LOG_LEVEL": "warning"}
        server = Server(env, workers=workers, log=Path(tmp) / "server.log", root=root)
        server.start()
        try:
            key = create_keys(env, {"own": ("country", "ARG")}, root)["own"]
            latencies: list[float] = []
            failures: list[str] = []
            deadline = time.monotonic() + seconds

            def writer(n: int) -> None:
                with httpx.Client(base_url=server.url + API, timeout=60,
                                  headers={"Authorization": f"Bearer {key}"}) as client:
                    i = 0
                    while time.monotonic() < deadline:
                        start = time.perf_counter()
                        response = client.post("/offers", json={
                            "factor": "education", "modality": "training", "capacity": 2,
                            "title": f"Oferta {n}-{i}", "description": "Escritura concurrente."})
                        if response.status_code != 201:
                            failures.append(f"{response.status_code}")
                        else:
                            latencies.append((time.perf_counter() - start) * 1000)
                        i += 1

            threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            server.stop()
    if failures:
        raise RuntimeError(f"{len(failures)} writes failed: {sorted(set(failures))}")
    return latencies


def row(label: str, workers: int, latencies: list[float], seconds: float) -> str:
    return (f"| {label} | {workers} | {len(latencies) / seconds:.0f} | "
            f"{percentile(latencies, 50):.0f} | {percentile(latencies, 99):.0f} | "
            f"{max(latencies):.0f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--source", type=Path, help="another checkout to compare with")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args(argv)
    sources: list[tuple[str, Path]] = []
    if args.source:
        commit = subprocess.run(["git", "-C", str(args.source), "log", "-1", "--format=%h"],
                                capture_output=True, text=True, check=False).stdout.strip()
        sources.append((f"{commit} (`--source`)", args.source))
    sources.append(("this checkout", ROOT))
    rows = []
    for rnd in range(1, args.rounds + 1):
        for workers in (int(w) for w in args.workers.split(",")):
            for label, root in sources:
                latencies = measure(root, workers=workers, writers=args.writers,
                                    seconds=args.seconds)
                line = row(f"{label}, round {rnd}", workers, latencies, args.seconds)
                print(line, flush=True)
                rows.append(line)
    if not args.no_report:
        from _report import machine, write_section

        given = argv if argv is not None else sys.argv[1:]
        command = shlex.join(["python", "bench/sqlite_writes.py", *given])
        write_section("sqlite-writes", f"""## Concurrent writers on SQLite

`{command}` — {machine()}

`sscmatch serve` on a throwaway SQLite file (WAL), {args.writers} client threads each creating
offers in a loop for {args.seconds:.0f} s (no encoding on write). Latency in ms; "longest" is
the longest single write, where a writer starved by SQLite's busy handler shows.

| service | workers | writes/s | p50 | p99 | longest |
|---|---|---|---|---|---|
{chr(10).join(rows)}
""")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
