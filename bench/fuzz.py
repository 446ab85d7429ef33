"""Run the schemathesis fuzzing of tests/reliability/test_fuzz.py, longer, on SQLite and on
PostgreSQL, and write the `fuzz` section of docs/benchmarks.md.

    python bench/fuzz.py                        # 10,000 requests per database
    python bench/fuzz.py --examples 2400 --seed 7
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import machine, write_section  # noqa: E402
from crash import throwaway_database  # noqa: E402


def run(examples: int, seed: int, pg_url: str | None) -> tuple[str, str, float, int]:
    """Run the fuzzing module once; return (database, summary line, seconds, exit code)."""
    env = {**os.environ, "FUZZ_EXAMPLES": str(examples), "FUZZ_SEED": str(seed)}
    env.pop("TEST_DATABASE_URL", None)
    if pg_url:
        env["TEST_DATABASE_URL"] = pg_url
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                           "tests/reliability/test_fuzz.py", "-W", "ignore::DeprecationWarning"],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    found = re.search(r"fuzzing: .*", done.stdout)
    outcome = re.findall(r"\d+ (?:passed|failed)[^\n]*", done.stdout)
    summary = outcome[-1] if outcome else "?"
    line = (found.group(0) if found else "no summary") + f"; pytest: {summary}"
    return ("PostgreSQL" if pg_url else "SQLite"), line, seconds, done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--pg-url", default=os.environ.get(
        "FUZZ_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="server of the throwaway database")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args(argv)
    results = [run(args.examples, args.seed, None)]
    with tempfile.TemporaryDirectory() as tmp, \
            throwaway_database("postgresql", args.pg_url, Path(tmp)) as url:
        results.append(run(args.examples, args.seed, url))
    for db, line, seconds, code in results:
        print(f"{db}: {line} ({seconds:.0f} s, exit {code})")
    if not args.no_report:
        command = "python bench/fuzz.py " + " ".join(argv if argv is not None else sys.argv[1:])
        rows = "\n".join(f"| {db} | {line} | {seconds:.0f} s |" for db, line, seconds, _ in results)
        write_section("fuzz", f"""## API fuzzing (schemathesis)

`{command.strip()}` — {machine()}

Every operation of the OpenAPI schema, with real keys of three roles (admin, organiser,
country) and valid data, and with admin keys and invalid data; half of the generated paths
name records that exist. Checks: no 5xx, documented status code and content type, response
body valid against the documented schema, invalid data refused with a 4xx. CI runs the same
module with `FUZZ_EXAMPLES=2150` (≥ 2,000 requests) on both databases; a failure replays with
the printed `FUZZ_SEED`. Findings so far are regression tests in
`tests/reliability/test_regressions.py`.

| database | result | time |
|---|---|---|
{rows}
""")
    return 0 if all(code == 0 for *_, code in results) else 1


if __name__ == "__main__":
    sys.exit(main())
