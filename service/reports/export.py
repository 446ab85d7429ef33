"""Report exports: the views as tables, written as one CSV file (a section per view) or as an
XLSX workbook (a sheet per view) by `service.tabular`.

Views: summary, stages, factors, countries, matrix (providers down, recipients across, outcome
counts), partners, followups. Dates of the summary are ISO text in CSV and date cells in XLSX
(`generated_at` in naive UTC).
"""

from __future__ import annotations

from service import tabular
from service.reports.schemas import Report
from service.tabular import Sheet

STAGE_COLUMNS = ("suggested", "expression_of_interest", "commitment", "agreement", "declined",
                 "withdrawn", "outcomes")


def sheets(report: Report) -> list[Sheet]:
    """Return the report's views as tables, in a fixed order."""
    scope = report.scope
    summary = Sheet("summary", ["item", "value"], [
        ["table_id", scope.table_id], ["table_name", scope.table_name],
        ["from", scope.date_from], ["to", scope.date_to], ["country", scope.country],
        ["country_filter", scope.country_filter], ["factor", scope.factor],
        ["generated_at", scope.generated_at], ["as_of", scope.as_of],
        ["headline", report.headline.text],
    ])
    stages = Sheet("stages", ["stage", "count"], [[r.stage, r.count] for r in report.stages])
    factors = Sheet("factors", ["factor", "label", *STAGE_COLUMNS],
                    [[r.factor, r.label, *(getattr(r, c) for c in STAGE_COLUMNS)]
                     for r in report.factors])
    countries = Sheet("countries", ["country", "name", "role", *STAGE_COLUMNS],
                      [[r.country, r.name, r.role, *(getattr(r, c) for c in STAGE_COLUMNS)]
                       for r in report.countries])
    cell = {(c.provider, c.recipient): c.outcomes for c in report.matrix.cells}
    matrix = Sheet("matrix", ["provider \\ recipient", *report.matrix.recipients],
                   [[p, *(cell.get((p, r), 0) for r in report.matrix.recipients)]
                    for p in report.matrix.providers])
    partners = Sheet("partners", ["partner", "support", "pairings", "confirmed",
                                  *STAGE_COLUMNS],
                     [[r.name, r.support, r.pairings, r.confirmed,
                       *(getattr(r, c) for c in STAGE_COLUMNS)] for r in report.partners])
    follow_cols = ["planned", "in_progress", "done", "cancelled", "overdue", "total"]
    followups = Sheet("followups", ["responsible_country", *follow_cols],
                      [[r.country, *(getattr(r, c) for c in follow_cols)]
                       for r in report.followups])
    return [summary, stages, factors, countries, matrix, partners, followups]


def to_csv(report: Report, delimiter: str = ",") -> str:
    """Write every view into one CSV text, a `# view` section each."""
    return tabular.to_csv(sheets(report), delimiter)


def to_xlsx(report: Report) -> bytes:
    """Write every view to its own sheet of an XLSX workbook."""
    return tabular.to_xlsx(sheets(report))
