"""`/matches` on 100,000 stored offers right after a write: the cost of the index refresh.

    python bench/index_perf.py                 # SQLite in a temporary directory
    python bench/index_perf.py --database-url postgresql://postgres@127.0.0.1:5432/bench_index

Every worker keeps an in-memory index of the published offers and needs with their vectors
and brings it up to date after any write (`service/matching/index.py`). This measures, through
the API driven in-process, a need's matches when the index is current (warm) and the first
matches after one offer was changed, next to `/health` (the floor of the stack) and to the
refresh alone (`IndexCache.get` after a write), all in the same run.

Offers are inserted in bulk with seeded random unit vectors as their stored text vectors (the
refresh reads vectors, it does not encode them); needs are encoded from synthetic text. The
database is then vacuumed and analysed, as autovacuum would have done in a service whose
tables grew over time.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _report import machine, write_section
from _setup import FACTORS, WORDS, engine_name, p50_p95_ms, settle, timed, use_database

from models import MODALITIES, Need, Offer
from service import revisions, scoring
from service.auth.service import create_key
from service.countries.seed import MEMBERS, seed_reference
from service.db import session_scope
from service.main import create_app, warm_index


def _fill(n_offers: int, n_needs: int, seed: int) -> str:
    """Insert the offers and needs; return an admin key."""
    rng = random.Random(seed)
    vectors = np.random.default_rng(seed)
    model = scoring.get_text_model()

    def item(i: int, kind: str) -> dict[str, object]:
        words = " ".join(rng.choice(WORDS) for _ in range(12))
        return {
            "ref": f"I-{kind}-{i}", "country_iso3": rng.choice(MEMBERS),
            "factor_code": rng.choice(FACTORS), "title": f"{kind} {i} {words[:60]}",
            "description": words, "language": rng.choice(("es", "es", "pt", "en", "fr")),
            "modality": rng.choice(MODALITIES), "target_population": "",
            "status": "published" if rng.random() < 0.9 else "draft", "version": 1,
        }

    with session_scope() as session:
        if session.scalar(select(func.count()).select_from(Offer)):
            sys.exit("the database already holds offers: give an empty one")
        seed_reference(session)
        session.execute(text("UPDATE countries SET enabled = true"))
        rows: list[dict[str, object]] = []
        for i in range(n_offers):
            vector = vectors.standard_normal(model.dim).astype(np.float32)
            vector /= np.linalg.norm(vector)
            rows.append({**item(i, "offer"), "capacity": rng.randint(1, 4),
                         "embedding": scoring.vector_to_bytes(vector),
                         "embedding_model": model.name})
            if len(rows) == 5000:
                session.execute(insert(Offer), rows)
                rows = []
        if rows:
            session.execute(insert(Offer), rows)
        needs = [item(i, "need") | {"status": "published"} for i in range(n_needs)]
        encoded = model.encode([f"{n['title']}\n{n['description']}" for n in needs])
        session.execute(insert(Need), [
            n | {"embedding": scoring.vector_to_bytes(v), "embedding_model": model.name}
            for n, v in zip(needs, encoded, strict=True)])
        revisions.bump(session, "offers")
        revisions.bump(session, "needs")
        _key, admin = create_key(session, role="admin", name="bench")
        return admin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--needs", type=int, default=200)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = use_database(args.database_url, tmp, "index.db")
    start = time.perf_counter()
    admin = _fill(args.offers, args.needs, 11)
    settle()
    print(f"stored {args.offers} offers and {args.needs} needs in "
          f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
    auth = {"Authorization": f"Bearer {admin}"}
    app = create_app()
    with TestClient(app) as client:
        cache = app.state.index_cache
        needs = [row["id"] for row in client.get(
            "/api/v1/needs?limit=200&status=published", headers=auth).json()["items"]]
        offers = [row["id"] for row in client.get(
            "/api/v1/offers?limit=200&status=published", headers=auth).json()["items"]]

        def matches(k: int, on: TestClient = client) -> None:
            reply = on.get(f"/api/v1/needs/{needs[k % len(needs)]}/matches?limit=10",
                           headers=auth)
            assert reply.status_code == 200, reply.text

        # The ETags of the offers written, read before anything is timed.
        versions = {offer_id: client.get(f"/api/v1/offers/{offer_id}",
                                         headers=auth).headers["etag"]
                    for offer_id in offers[:2 * args.runs]}

        def write(k: int, change: dict[str, object] | None = None) -> None:
            offer_id = offers[k % len(offers)]
            etag = versions[offer_id]
            reply = client.patch(f"/api/v1/offers/{offer_id}",
                                 json=change or {"capacity": 1 + k % 4},
                                 headers=auth | {"If-Match": etag})
            assert reply.status_code == 200, reply.text
            versions[offer_id] = reply.headers["etag"]

        cold = timed(lambda: matches(0))
        # A served worker reads its index in the background when it starts (warm_index);
        # its first request then finds it current.
        started_app = create_app()
        with TestClient(started_app) as started:
            start_read = timed(lambda: warm_index(started_app.state.index_cache))
            first_after_start = timed(lambda: matches(0, started))
        health = [timed(lambda: client.get("/health")) for _ in range(args.runs)]
        warm = [timed(partial(matches, k)) for k in range(1, args.runs + 1)]
        after_write, after_text, refresh, writes = [], [], [], []
        for k in range(args.runs):
            writes.append(timed(partial(write, k)))
            after_write.append(timed(partial(matches, k)))
            write(k, {"title": f"Registro de trabajo infantil, ronda {k}"})
            after_text.append(timed(partial(matches, k)))
            writes.append(timed(partial(write, k + args.runs)))
            with session_scope() as session:
                refresh.append(timed(lambda: cache.get(session, "offer")))
    h50, h95 = p50_p95_ms(health)
    w50, w95 = p50_p95_ms(warm)
    a50, a95 = p50_p95_ms(after_write)
    t50, t95 = p50_p95_ms(after_text)
    r50, r95 = p50_p95_ms(refresh)
    p50, p95 = p50_p95_ms(writes)
    engine = engine_name(url)
    command = "python bench/index_perf.py" + (
        f" --database-url {args.database_url}" if args.database_url else "")
    body = f"""## Matches right after a write, on {args.offers:,} offers ({engine})

`{command}` — {machine()}

{args.offers:,} offers (about 90 % published) and {args.needs} needs, in-process TestClient;
after each `PATCH` of one offer (its capacity, or its title, which changes its text vector)
the next `GET /needs/{{id}}/matches?limit=10` brings the
worker's index up to date first. First request (cold index): {cold * 1000:.0f} ms. A served
worker reads its index in the background when it starts ({start_read * 1000:.0f} ms here), after
which its first request took {first_after_start * 1000:.0f} ms.

| request | p50 ms | p95 ms | ratio p50 to `/health` |
|---|---|---|---|
| `GET /health` (floor of the stack) | {h50:.1f} | {h95:.1f} | 1.0 |
| `PATCH /offers/{{id}}` (capacity, with `If-Match`) | {p50:.1f} | {p95:.1f} | {p50 / h50:.0f}× |
| `GET /needs/{{id}}/matches?limit=10`, index current | {w50:.1f} | {w95:.1f} | {w50 / h50:.0f}× |
| same, first request after a capacity `PATCH` | {a50:.1f} | {a95:.1f} | {a50 / h50:.0f}× |
| same, after a title `PATCH` (new vector) | {t50:.1f} | {t95:.1f} | {t50 / h50:.0f}× |
| index refresh alone after a write | {r50:.1f} | {r95:.1f} | {r50 / h50:.0f}× |

Matches after a write cost {a50 / w50:.1f}× matches with a current index.
"""
    print(body)
    if not args.no_report:
        write_section(f"index-perf-{engine.lower()}", body)


if __name__ == "__main__":
    main()
