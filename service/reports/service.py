"""Build outcome reports from the grouped counts of `queries.py`."""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import OUTCOME_STAGES, STAGES, CooperationTable, TableParticipant, utcnow
from service.auth.service import Principal
from service.countries.service import query_country, query_factor
from service.errors import Unprocessable
from service.followups.service import today
from service.reports import network, queries
from service.reports.queries import Scope
from service.reports.schemas import (
    CountryRow,
    FactorRow,
    FollowupRow,
    Headline,
    Matrix,
    MatrixCell,
    PartnerRow,
    Report,
    ReportScope,
    StageRow,
)
from service.tables.service import require_table

OUTCOMES = ("expression_of_interest", "commitment", "agreement")


def scope_for(session: Session, *, principal: Principal, table_id: int | None = None,
              date_from: date | None = None, date_to: date | None = None,
              country: str | None = None, factor: str | None = None) -> Scope:
    """Check the request and return its scope (country keys: their own rows only; the
    `country` and `factor` filters, any letter case, narrow it further, 422 if unknown)."""
    if table_id is not None:
        require_table(session, table_id)
    if date_from is not None and date_to is not None and date_to < date_from:
        raise Unprocessable(f"`to` ({date_to}) must not be before `from` ({date_from}).",
                            errors=[{"field": "query.to", "message": "before from"}])
    return Scope(table_id=table_id, date_from=date_from, date_to=date_to,
                 country=None if principal.is_staff else principal.country,
                 country_filter=query_country(session, country),
                 factor=query_factor(session, factor))


def _counts(by_stage: dict[str, int]) -> dict[str, int]:
    counts = {stage: by_stage.get(stage, 0) for stage in STAGES}
    counts["outcomes"] = sum(counts[s] for s in OUTCOMES)
    return counts


def headline(by_stage: dict[str, int]) -> Headline:
    """The "82 outcomes = 60 expressions of interest + 17 commitments + 5 agreements" line."""
    eoi, com, agr = (by_stage.get(s, 0) for s in OUTCOMES)

    def plural(n: int, word: str, words: str) -> str:
        return f"{n} {word if n == 1 else words}"

    text = (f"{plural(eoi + com + agr, 'outcome', 'outcomes')} = "
            f"{plural(eoi, 'expression of interest', 'expressions of interest')} + "
            f"{plural(com, 'commitment', 'commitments')} + "
            f"{plural(agr, 'agreement', 'agreements')}")
    return Headline(outcomes=eoi + com + agr, expression_of_interest=eoi, commitment=com,
                    agreement=agr, text=text)


def _factors(session: Session, counts: list[queries.PairingCount]) -> list[FactorRow]:
    grouped: dict[str, Counter[str]] = defaultdict(Counter)
    for _provider, _recipient, factor, stage, n in counts:
        grouped[factor][stage] += n
    labels = queries.factor_labels(session)
    order = [f for f in labels if f in grouped] + sorted(set(grouped) - set(labels))
    return [FactorRow(factor=f, label=labels.get(f, f), **_counts(grouped[f])) for f in order]


def _countries(session: Session, scope: Scope,
               counts: list[queries.PairingCount]) -> list[CountryRow]:
    grouped: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for provider, recipient, _factor, stage, n in counts:
        for country, role in ((provider, "provider"), (recipient, "recipient")):
            # A country sees its own rows, not its partners' totals.
            if scope.country is None or country == scope.country:
                grouped[(country, role)][stage] += n
    names = queries.country_names(session, {c for c, _ in grouped})
    return [CountryRow(country=c, name=names.get(c, c), role=r, **_counts(grouped[(c, r)]))
            for c, r in sorted(grouped)]


def _pair_stages(counts: list[queries.PairingCount]) -> list[tuple[str, str, str, int]]:
    """(provider, recipient, stage, pairings) for the outcome stages."""
    pairs: Counter[tuple[str, str, str]] = Counter()
    for provider, recipient, _factor, stage, n in counts:
        if stage in OUTCOME_STAGES:
            pairs[(provider, recipient, stage)] += n
    return [(p, r, s, n) for (p, r, s), n in sorted(pairs.items())]


def _by_stage(counts: list[queries.PairingCount]) -> dict[str, int]:
    by_stage: Counter[str] = Counter()
    for *_rest, stage, n in counts:
        by_stage[stage] += n
    return dict(by_stage)


def _matrix(counts: list[queries.PairingCount]) -> Matrix:
    cells: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for provider, recipient, stage, n in _pair_stages(counts):
        cells[(provider, recipient)][stage] = n
    rows = []
    for (provider, recipient), by_stage in sorted(cells.items()):
        reached = {s: by_stage.get(s, 0) for s in OUTCOMES}
        rows.append(MatrixCell(provider=provider, recipient=recipient, **reached,
                               outcomes=sum(reached.values())))
    return Matrix(providers=sorted({p for p, _ in cells}),
                  recipients=sorted({r for _, r in cells}), cells=rows)


def _partners(session: Session, scope: Scope) -> list[PartnerRow]:
    """One row per partner and kind of support. A partner typed in another letter case or
    spacing ("OIT / ILO", "oit /  ilo") is the same partner: its row shows the spelling most
    of its pairings use (the first in order when as many use each)."""
    grouped: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    confirmed: dict[tuple[str, str], int] = defaultdict(int)
    spellings: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for name, support, stage, n, n_confirmed in queries.partner_stage_counts(session, scope):
        # In NFC: a name stored before text was composed on the way in (`service.schemas`)
        # may hold its accents as combining marks.
        name = unicodedata.normalize("NFC", name)
        key = (" ".join(name.split()).casefold(), support)
        grouped[key][stage] += n
        confirmed[key] += n_confirmed
        spellings[key][name] += n
    rows = []
    for key, by_stage in grouped.items():
        name = min(spellings[key].items(), key=lambda spelling: (-spelling[1], spelling[0]))[0]
        rows.append(PartnerRow(name=name, support=key[1], pairings=sum(by_stage.values()),
                               confirmed=confirmed[key], **_counts(by_stage)))
    return sorted(rows, key=lambda row: (row.name, row.support))


def _followups(session: Session, scope: Scope, as_of: date) -> list[FollowupRow]:
    rows: dict[str, FollowupRow] = {}
    total = FollowupRow(country="ALL")
    for country, status, late, n in queries.followup_counts(session, scope, as_of):
        row = rows.setdefault(country, FollowupRow(country=country))
        for target in (row, total):
            setattr(target, status, getattr(target, status) + n)
            target.total += n
            if late:
                target.overdue += n
    return [rows[c] for c in sorted(rows)] + [total]


def build_report(session: Session, scope: Scope, *, as_of: date | None = None) -> Report:
    """Compute every view of the report for a scope."""
    as_of = as_of or today()
    counts = queries.pairing_counts(session, scope)
    by_stage = _by_stage(counts)
    table = session.get(CooperationTable, scope.table_id) if scope.table_id else None
    return Report(
        scope=ReportScope(table_id=scope.table_id, table_name=table.name if table else None,
                          date_from=scope.date_from, date_to=scope.date_to,
                          country=scope.country, country_filter=scope.country_filter,
                          factor=scope.factor, generated_at=utcnow(), as_of=as_of),
        headline=headline(by_stage),
        stages=[StageRow(stage=s, count=by_stage.get(s, 0)) for s in STAGES],
        factors=_factors(session, counts),
        countries=_countries(session, scope, counts),
        matrix=_matrix(counts),
        partners=_partners(session, scope),
        followups=_followups(session, scope, as_of),
    )


def network_image(session: Session, scope: Scope, fmt: network.ImageFormat) -> bytes:
    """Draw who cooperates with whom in a scope (a table's participants without outcomes
    appear too, in grey, unless the scope keeps one country's pairings) and return SVG or
    PNG bytes."""
    table = session.get(CooperationTable, scope.table_id) if scope.table_id else None
    nodes: list[str] = []
    if table is not None and scope.country is None and scope.country_filter is None:
        nodes = list(session.scalars(select(TableParticipant.country_iso3).where(
            TableParticipant.table_id == table.id)))
    title = table.name if table else "South–South cooperation: all tables"
    if scope.date_from or scope.date_to:
        title += f" ({scope.date_from or '…'} – {scope.date_to or '…'})"
    for part in dict.fromkeys((scope.country, scope.country_filter, scope.factor)):
        if part:
            title += f" — {part}"
    counts = queries.pairing_counts(session, scope)
    return network.render(_pair_stages(counts), fmt=fmt, title=title,
                          subtitle=headline(_by_stage(counts)).text, nodes=nodes)
