"""API latency of table suggestions and of /matches on synthetic data.

    python bench/api_perf.py                 # 1,000 offers x 1,000 needs, SQLite
    python bench/api_perf.py --database-url postgresql://postgres@127.0.0.1:5432/bench

Items come from bench/synth.py; their vectors are encoded once and stored as the service
would store them. The app is driven in-process (Starlette TestClient) so that the figures are
the service's own cost; `/health` measured in the same run is the floor of the stack, and the
scorer called directly on the same data is the baseline of the work itself.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _report import machine, write_section
from _setup import engine_name, p50_p95_ms, timed, use_database
from synth import generate

from models import CooperationTable, Need, Offer, TableParticipant
from service import scoring
from service.auth.service import create_key
from service.countries.seed import seed_reference
from service.db import session_scope
from service.items.service import bump_revision
from service.main import create_app
from service.matching.context import build_context


def _load(n: int, seed: int) -> tuple[int, str, str]:
    offers, needs = generate(n, n, seed)
    model = scoring.get_text_model()
    items = offers + needs
    print(f"encoding {len(items)} synthetic items ...", file=sys.stderr)
    vectors = model.encode([scoring.item_text(i) for i in items])
    countries = sorted({i.country for i in items})
    with session_scope() as session:
        seed_reference(session)
        session.execute(text("UPDATE countries SET enabled = true"))
        for n_item, (item, vector) in enumerate(zip(items, vectors, strict=True)):
            cls = Offer if item.kind == "offer" else Need
            row = cls(
                ref=f"BENCH-{item.kind}-{n_item}",
                country_iso3=item.country,
                factor_code=item.factor,
                title=item.title[:300],
                description=item.description,
                language=item.language,
                modality=item.modality,
                target_population=item.target_population[:300],
                status="published",
                version=1,
                embedding=scoring.vector_to_bytes(vector),
                embedding_model=model.name,
            )
            if isinstance(row, Offer):
                row.capacity = item.capacity or 1
            session.add(row)
        bump_revision(session, "offer")
        bump_revision(session, "need")
        table = CooperationTable(
            name="Benchmark table",
            starts_on=_today(),
            ends_on=_today(),
            participants=[TableParticipant(country_iso3=c) for c in countries],
        )
        session.add(table)
        session.flush()
        _key, secret = create_key(session, role="organizer", name="bench")
        _key, admin = create_key(session, role="admin", name="bench writes")
        return table.id, secret, admin


def _today() -> date:
    return date(2026, 12, 7)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="offers and needs (each)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    url = use_database(args.database_url, tmp, "bench.db")
    table_id, key, admin_key = _load(args.n, args.seed)
    headers = {"Authorization": f"Bearer {key}"}
    app = create_app()
    with TestClient(app) as client:
        sugg_url = f"/api/v1/tables/{table_id}/suggestions?limit=50"
        start = time.perf_counter()
        first = client.get(sugg_url, headers=headers)
        cold = time.perf_counter() - start
        assert first.status_code == 200, first.text
        health = [timed(lambda: client.get("/health")) for _ in range(args.runs)]
        sugg = [timed(lambda: client.get(sugg_url, headers=headers)) for _ in range(args.runs)]
        offer_ids = [row["offer_id"] for row in first.json()["items"][:10]] or [1]
        after_write = []
        for n in range(max(3, args.runs // 4)):
            oid = offer_ids[n % len(offer_ids)]
            written = client.patch(f"/api/v1/offers/{oid}",
                                   json={"target_population": f"grupo {n}"},
                                   headers={"Authorization": f"Bearer {admin_key}"})
            assert written.status_code == 200, written.text
            after_write.append(timed(lambda: client.get(sugg_url, headers=headers)))
        need_ids = [row["need_id"] for row in first.json()["items"][:10]] or [1]
        matches = []
        for n in range(args.runs):
            nid = need_ids[n % len(need_ids)]
            start = time.perf_counter()
            resp = client.get(f"/api/v1/needs/{nid}/matches?limit=10", headers=headers)
            matches.append(time.perf_counter() - start)
            assert resp.status_code == 200, resp.text

    with session_scope() as session:
        cache = app.state.index_cache
        offers_idx = cache.get(session, "offer")
        needs_idx = cache.get(session, "need")
        context = build_context(session)

        def direct() -> object:
            return scoring.rank(
                needs_idx.items,
                offers_idx.items,
                weights=scoring.Weights(),
                context=context,
                top_k=10,
                need_vectors=needs_idx.vectors,
                offer_vectors=offers_idx.vectors,
            )

        direct_times = [timed(direct) for _ in range(5)]

    h50, h95 = p50_p95_ms(health)
    s50, s95 = p50_p95_ms(sugg)
    m50, m95 = p50_p95_ms(matches)
    w50, w95 = p50_p95_ms(after_write)
    d50, _ = p50_p95_ms(direct_times)
    engine = engine_name(url)
    body = f"""## API latency: table suggestions and matches

Command: `python bench/api_perf.py --n {args.n} --runs {args.runs}` ({engine}); {machine()}.
{args.n:,} offers × {args.n:,} needs from `bench/synth.py`, one table with all their countries,
in-process TestClient, warm (after one cold request of {cold * 1000:.0f} ms that builds the
index).

| request | p50 ms | p95 ms | ratio p50 to `/health` |
|---|---|---|---|
| `GET /health` (floor of the stack) | {h50:.1f} | {h95:.1f} | 1.0 |
| `GET /tables/{{id}}/suggestions?limit=50` | {s50:.1f} | {s95:.1f} | {s50 / h50:.0f}× |
| same, first request after a write (cache refreshed) | {w50:.1f} | {w95:.1f} | {w50 / h50:.0f}× |
| `GET /needs/{{id}}/matches?limit=10` | {m50:.1f} | {m95:.1f} | {m50 / h50:.0f}× |
| scorer alone, `rank()` of all needs (baseline of the work) | {d50:.1f} | – | {d50 / h50:.0f}× |

Warm suggestions are served from the per-worker cache keyed by the data revisions; the first
request after any write re-ranks the table (ratio to the scorer alone: {w50 / d50:.2f}×).
Target: warm p50 < 300 ms.
"""
    print(body)
    write_section("api-perf", body)


if __name__ == "__main__":
    main()
