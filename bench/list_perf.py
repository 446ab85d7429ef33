"""Latency of the offer lists on 100,000 rows, with each filter, through the API.

    python bench/list_perf.py                       # SQLite in a temporary directory
    python bench/list_perf.py --database-url postgresql://postgres@127.0.0.1:5432/bench_lists

Rows are inserted in bulk (no text vectors: lists never read them); the app is driven
in-process and `/health` in the same run is the floor of the stack.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _report import machine, write_section
from _setup import FACTORS, WORDS, engine_name, p50_p95_ms, settle, use_database

from models import MODALITIES, Offer
from service.auth.service import create_key
from service.countries.seed import MEMBERS, seed_reference
from service.db import session_scope
from service.main import create_app


def _fill(n: int, seed: int) -> tuple[str, str]:
    rng = random.Random(seed)
    with session_scope() as session:
        seed_reference(session)
        rows = []
        for i in range(n):
            words = " ".join(rng.choice(WORDS) for _ in range(12))
            rows.append({
                "ref": f"L-{i}", "country_iso3": rng.choice(MEMBERS),
                "factor_code": rng.choice(FACTORS), "title": f"Oferta {i} {words[:60]}",
                "description": words, "language": rng.choice(("es", "es", "pt", "en", "fr")),
                "modality": rng.choice(MODALITIES), "target_population": "niños",
                "status": rng.choice(("published",) * 8 + ("draft", "withdrawn")),
                "version": 1, "capacity": 1,
            })
            if len(rows) == 5000:
                session.execute(insert(Offer), rows)
                rows = []
        if rows:
            session.execute(insert(Offer), rows)
        _k, staff = create_key(session, role="organizer", name="bench")
        _k, country = create_key(session, role="country", country="BRA", name="bench")
    # Right after a bulk insert, an autovacuum pass took tens of ms off every PostgreSQL request.
    settle()
    return staff, country


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    os.environ["ENCODE_ON_WRITE"] = "false"
    url = use_database(args.database_url, tmp, "lists.db")
    start = time.perf_counter()
    staff, country = _fill(args.rows, 3)
    print(f"inserted {args.rows} offers in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    cases = [
        ("no filter (organizer)", staff, ""),
        ("no filter (country key: published + own)", country, ""),
        ("country=ARG", staff, "country=ARG"),
        ("factor=education&status=published", staff, "factor=education&status=published"),
        ("language=fr&modality=training", staff, "language=fr&modality=training"),
        ("q=cosecha (free text)", staff, "q=cosecha"),
        ("q=JÓVENES (free text, accented capital)", staff, "q=J%C3%93VENES"),
        ("page 50 via cursor (limit=200)", staff, "cursor"),
    ]
    rows = []
    with TestClient(create_app()) as client:
        health = []
        for _ in range(args.runs):
            t = time.perf_counter()
            client.get("/health")
            health.append(time.perf_counter() - t)
        h50, _h95 = p50_p95_ms(health)
        for label, key, query in cases:
            headers = {"Authorization": f"Bearer {key}"}
            if query == "cursor":
                cursor = None
                for _ in range(49):
                    q = "/api/v1/offers?limit=200" + (f"&cursor={cursor}" if cursor else "")
                    cursor = client.get(q, headers=headers).json()["next_cursor"]
                query = f"limit=200&cursor={cursor}"
            samples = []
            for _ in range(args.runs):
                t = time.perf_counter()
                resp = client.get(f"/api/v1/offers?{query}", headers=headers)
                samples.append(time.perf_counter() - t)
                assert resp.status_code == 200, resp.text
            p50, p95 = p50_p95_ms(samples)
            rows.append(f"| `{label}` | {resp.json()['total']:,} | {p50:.1f} | {p95:.1f} | "
                        f"{p50 / h50:.0f}× |")
    engine = engine_name(url)
    body = (
        f"## Lists on {args.rows:,} offers ({engine})\n\n"
        f"Command: `python bench/list_perf.py --rows {args.rows} --runs {args.runs}` ({engine}); "
        f"{machine()}. Default page (50) unless stated; each list also counts the total.\n\n"
        "| request `GET /api/v1/offers?...` | total | p50 ms | p95 ms | p50 / `/health` |\n"
        "|---|---|---|---|---|\n"
        f"| `/health` (floor) | – | {h50:.1f} | – | 1× |\n" + "\n".join(rows) + "\n"
    )
    print(body)
    write_section(f"list-perf-{engine.lower()}", body)


if __name__ == "__main__":
    main()
