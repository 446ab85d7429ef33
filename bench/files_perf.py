"""Time to write and read the spreadsheet files (reports, plans, forms) as rows grow.

    python bench/files_perf.py                   # 1,000, 4,000 and 20,000 rows
    python bench/files_perf.py --rows 1000 4000 --runs 3

Each XLSX figure comes with its CSV twin on the same rows, measured in the same run (the
ratio): an XLSX file costs more per row, but both must grow linearly with the rows. Rows:
a report-like table of 10 text and number columns (`tabular.to_xlsx`, used by the reports and
the plan exports), and the offers-and-needs form (`forms.form_bytes` to write it,
`form_files.read_rows` to read it back, as `sscmatch import` does).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _report import machine, write_section

from service import tabular
from service.items import form_files, forms


def _median_s(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _report_sheet(n: int) -> tabular.Sheet:
    header = ["table", "need", "offer", "recipient", "provider", "stage", "score", "factor",
              "title", "reason"]
    rows: list[list[tabular.Cell]] = [
        [f"Mesa {i % 7}", i, i + 1, "HTI", "CHL", "commitment", round(0.5 + i % 50 / 100, 3),
         "migration", f"Registro de trabajadores migrantes {i}", "=no es una fórmula"]
        for i in range(n)]
    return tabular.Sheet(name="pairings", header=header, rows=rows)


def _form_rows(n: int) -> list[dict[str, str]]:
    return [{"kind": "offer" if i % 2 else "need", "ref": f"R-{i}", "country": "CHL",
             "factor": "education", "language": "es", "modality": "training",
             "title": f"Formación de inspectores {i}",
             "description": "Curso para inspectores del trabajo. " * 5,
             "target_population": "", "capacity": "2" if i % 2 else "", "status": "published",
             "version": "1"} for i in range(n)]


def _read_all(path: Path) -> int:
    return sum(1 for _ in form_files.read_rows(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 4000, 20000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    lines = ["| rows | report XLSX | report CSV | ratio | form XLSX write | form CSV write | "
             "ratio | form XLSX read | form CSV read | ratio |", "|---" * 10 + "|"]
    with tempfile.TemporaryDirectory() as folder:
        for n in args.rows:
            sheet = [_report_sheet(n)]
            report_x = _median_s(partial(tabular.to_xlsx, sheet), args.runs)
            report_c = _median_s(partial(tabular.to_csv, sheet), args.runs)
            rows = _form_rows(n)
            form_x = _median_s(partial(forms.form_bytes, rows, "xlsx"), args.runs)
            form_c = _median_s(partial(forms.form_bytes, rows, "csv"), args.runs)
            paths = {}
            for fmt in ("xlsx", "csv"):
                paths[fmt] = Path(folder) / f"form-{n}.{fmt}"
                paths[fmt].write_bytes(forms.form_bytes(rows, fmt))
            read_x = _median_s(partial(_read_all, paths["xlsx"]), args.runs)
            read_c = _median_s(partial(_read_all, paths["csv"]), args.runs)
            lines.append(
                f"| {n:,} | {report_x:.2f} s | {report_c:.3f} s | {report_x / report_c:.0f}× "
                f"| {form_x:.2f} s | {form_c:.3f} s | {form_x / form_c:.0f}× "
                f"| {read_x:.2f} s | {read_c:.3f} s | {read_x / read_c:.0f}× |")
            print(lines[-1], flush=True)
    runs = ", ".join(f"{n:,}" for n in args.rows)
    body = "\n".join([
        "## Spreadsheet files: reports, plans and forms",
        "",
        f"Command: `python bench/files_perf.py --rows {' '.join(map(str, args.rows))} "
        f"--runs {args.runs}`  ",
        f"Machine: {machine()}",
        "",
        f"Rows: {runs}; median of {args.runs} runs each. A report table of 10 columns "
        "(`tabular.to_xlsx`, as the reports and plan exports write) and the offers-and-needs "
        "form (`forms.form_bytes`, read back by `form_files.read_rows` as `sscmatch import` does), "
        "each next to its CSV twin on the same rows.",
        "",
        *lines,
    ])
    write_section("files-perf", body)


if __name__ == "__main__":
    main()
