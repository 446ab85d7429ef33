"""What the benchmarks that fill a database share: its set-up, sample words, timing and
percentiles."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable

from sqlalchemy import text

from service.config import get_settings
from service.db import get_engine
from service.migrate import upgrade

FACTORS = ("indigenous", "education", "agriculture", "value_chains", "migration",
           "youth_employment", "decentralisation", "ict")
WORDS = ("inspección", "trabajo", "infantil", "escuela", "cosecha", "registro", "migrantes",
         "jóvenes", "aprendizaje", "municipio", "cadena", "café", "minería", "alerta")


def use_database(url: str | None, tmp: tempfile.TemporaryDirectory[str], name: str) -> str:
    """Point the service at `url` (default: SQLite file `name` in `tmp`), migrated to head;
    return the URL."""
    url = url or f"sqlite:///{tmp.name}/{name}"
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    get_engine.cache_clear()
    upgrade(url)
    return url


def settle() -> None:
    """Bring a database filled in one go to the steady state of one that grew over time:
    statistics gathered, and on PostgreSQL vacuumed, as autovacuum would have done (a pass
    running alongside the timed requests, or the dead index entries left by the first writes,
    would weigh on them)."""
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if conn.dialect.name == "postgresql"
                          else "ANALYZE"))


def engine_name(url: str) -> str:
    """The database's name in a report: PostgreSQL or SQLite."""
    return "PostgreSQL" if url.startswith("postgres") else "SQLite"


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of `fn` took."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def p50_p95_ms(samples: list[float]) -> tuple[float, float]:
    """Median and 95th percentile of durations in seconds, in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000
