"""Matching rules: counterparts of one item and the suggestions of a table (its plan: `plans`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import OPEN_STAGES, CooperationTable, Country, Need, Offer, Pairing
from service import revisions, scoring
from service.auth.service import Principal
from service.codes import lower_code, upper_code
from service.items import service as items_service
from service.items.service import ItemRow, Kind
from service.items.vectors import to_scoring_item
from service.matching.context import build_context
from service.matching.index import IndexCache, ItemIndex
from service.pairings import service as pairings_service
from service.tables.service import effective_weights, factor_affinity

CANDIDATES_PER_NEED = 10


@dataclass(frozen=True, slots=True)
class RankedPair:
    """A scored pair with the counterpart records needed to present it."""

    scored: scoring.ScoredPairing
    need: scoring.Item
    offer: scoring.Item


DataKey = tuple[str, int, int, int, int]
"""The database and its revisions of offers, needs, pairings and reference data."""


def _data_key(session: Session) -> DataKey:
    """The database and its data revisions, read in one query: part of the key of every cached
    result, and the revisions at which the request reads the indexes."""
    offers, needs, pairings, reference = revisions.read_all(session)
    return session.get_bind().engine.url.render_as_string(), offers, needs, pairings, reference


def _index(session: Session, cache: IndexCache, kind: Kind, data: DataKey) -> ItemIndex:
    """The index of `kind` at the revision in `data` (no second read of the counter)."""
    return cache.get(session, kind, revision=data[1] if kind == "offer" else data[2])


def item_matches(session: Session, cache: IndexCache, *, kind: Kind, item_id: int,
                 principal: Principal, limit: int) -> list[RankedPair]:
    """Rank the published counterparts of other countries for one offer or need.

    The caller's right to see the item is checked on every request; the ranking itself does
    not depend on the caller and is cached per item version and data revisions, like the
    table suggestions: any write to offers, needs, pairings or countries and groupings makes a
    new key.
    """
    row = items_service.get_item_or_raise(session, kind, item_id, principal)
    data = _data_key(session)
    key = ("item_matches", *data, kind, row.id, row.version, limit)
    return cache.memo(key, lambda: _rank_item(session, cache, row=row, kind=kind, limit=limit,
                                              data=data))


def _rank_item(session: Session, cache: IndexCache, *, row: ItemRow, kind: Kind,
               limit: int, data: DataKey) -> list[RankedPair]:
    other: Kind = "need" if kind == "offer" else "offer"
    counterpart_index = _index(session, cache, other, data)
    own_index = _index(session, cache, kind, data)
    subject = to_scoring_item(row, kind)
    vector = (own_index.vectors_for([subject.id])[0] if subject.id in own_index.position
              else None)
    offers, needs = ((own_index, counterpart_index) if kind == "offer"
                     else (counterpart_index, own_index))
    weights, context = _weights_and_context(session, cache, None, data)
    scored = scoring.score_item(
        subject, counterpart_index.items, weights=weights, context=context, top_k=limit,
        item_vector=vector,
        counterpart_vectors=counterpart_index.vectors, profiles=_profiles(cache, offers, needs),
    )
    found = counterpart_index.items
    position = counterpart_index.position
    pairs = []
    for s in scored:
        if kind == "need":
            pairs.append(RankedPair(s, subject, found[position[s.offer_id]]))
        else:
            pairs.append(RankedPair(s, found[position[s.need_id]], subject))
    return pairs


def _weights_and_context(session: Session, cache: IndexCache, table: CooperationTable | None,
                         data: DataKey) -> tuple[scoring.Weights, scoring.Context]:
    """The weights and context of a table's scores; the defaults without a table.

    The context depends on pairings and reference data only (and on the table's settings), so
    it is kept per those revisions: a write of offers or needs, after which every ranking is
    computed again, does not read it again (four queries and their dictionaries).
    """
    url, _offers, _needs, pairings, reference = data
    if table is None:
        return scoring.Weights(), cache.memo(("context", url, pairings, reference),
                                             lambda: build_context(session))
    context = cache.memo(
        ("context", url, pairings, reference, table.id, table.version),
        lambda: build_context(session, table=table, factor_affinity=factor_affinity(table)))
    return effective_weights(table), context


def _profiles(cache: IndexCache, offers: ItemIndex,
              needs: ItemIndex) -> dict[str, scoring.CountryProfile]:
    """What every country offers and needs (input of reciprocity), once per data revision."""
    return cache.memo(("profiles", offers.url, offers.revision, needs.revision),
                      lambda: scoring.profiles_of(offers.items, needs.items))


def score_pairing(session: Session, cache: IndexCache, *, need: Need, offer: Offer,
                  table: CooperationTable | None) -> scoring.ScoredPairing | None:
    """Score one published (need, offer) pair as the rankings would, with the table's weights
    and factor affinities when the pairing belongs to a table; None if either is not indexed
    (not published) or both are of one country."""
    data = _data_key(session)
    needs, offers = _index(session, cache, "need", data), _index(session, cache, "offer", data)
    need_item, offer_item = to_scoring_item(need, "need"), to_scoring_item(offer, "offer")
    if need_item.id not in needs.position or offer_item.id not in offers.position:
        return None
    weights, context = _weights_and_context(session, cache, table, data)
    scored = scoring.score_item(
        need_item, [offer_item], weights=weights, context=context, top_k=1,
        item_vector=needs.vectors_for([need_item.id])[0],
        counterpart_vectors=offers.vectors_for([offer_item.id]),
        profiles=_profiles(cache, offers, needs),
    )
    return scored[0] if scored else None


def table_pairs(session: Session, cache: IndexCache, *, table: CooperationTable,
                per_need: int) -> list[RankedPair]:
    """Rank, for every published need of a participant, the best offers of other participants.

    Cached per table version and data revisions: a repeated request is served from memory,
    and any write to offers, needs, pairings, countries and groupings or the table makes a new
    key.
    """
    data = _data_key(session)
    key = ("table_pairs", *data, table.id, table.version, per_need)
    return cache.memo(key, lambda: _rank_table(session, cache, table=table, per_need=per_need,
                                               data=data))


def _rank_table(session: Session, cache: IndexCache, *, table: CooperationTable,
                per_need: int, data: DataKey) -> list[RankedPair]:
    participants = enabled_participants(session, table)
    offers_index = _index(session, cache, "offer", data)
    needs_index = _index(session, cache, "need", data)
    offers = [i for i in offers_index.items if i.country in participants]
    needs = [i for i in needs_index.items if i.country in participants]
    if not offers or not needs:
        return []
    weights, context = _weights_and_context(session, cache, table, data)
    ranked = scoring.rank(
        needs, offers, weights=weights, context=context, top_k=per_need,
        need_vectors=needs_index.vectors_for([n.id for n in needs]),
        offer_vectors=offers_index.vectors_for([o.id for o in offers]),
    )
    need_by_id = {n.id: n for n in needs}
    offer_by_id = {o.id: o for o in offers}
    pairs = [RankedPair(s, need_by_id[s.need_id], offer_by_id[s.offer_id])
             for scored in ranked.values() for s in scored]
    pairs.sort(key=lambda p: (-p.scored.total, int(p.need.id), int(p.offer.id)))
    return pairs


def enabled_participants(session: Session, table: CooperationTable) -> set[str]:
    """The table's participants that are enabled: a disabled country takes no part in tables
    (no suggestions, no plan) until an administrator enables it again."""
    codes = [p.country_iso3 for p in table.participants]
    return set(session.scalars(select(Country.iso3).where(Country.iso3.in_(codes),
                                                          Country.enabled.is_(True))))


@dataclass(frozen=True, slots=True)
class OpenPairing:
    """The open pairing of a (need, offer) pair, in this table, another one or none."""

    id: int
    stage: str
    table_id: int | None


@dataclass(frozen=True, slots=True)
class PairState:
    """What became of a suggested pair so far: its open pairing (creating another is a
    conflict), or whether a country or an organiser declined or withdrew it at the table
    (a plan leaves it out)."""

    open_pairing: OpenPairing | None
    turned_down: bool


def pair_states(session: Session, table: CooperationTable,
                pairs: Sequence[RankedPair]) -> list[PairState]:
    """The state of each pair, in order (two queries, whatever the number of pairs)."""
    if not pairs:
        return []
    keys = [(int(p.need.id), int(p.offer.id)) for p in pairs]
    rows = session.execute(select(Pairing.need_id, Pairing.offer_id, Pairing.id, Pairing.stage,
                                  Pairing.table_id).where(
        Pairing.need_id.in_(sorted({n for n, _o in keys})),
        Pairing.offer_id.in_(sorted({o for _n, o in keys})),
        Pairing.stage.in_(OPEN_STAGES)))
    open_by_pair = {(need, offer): OpenPairing(pairing, stage, table_id)
                    for need, offer, pairing, stage, table_id in rows}
    ended = pairings_service.turned_down(session, table_id=table.id)
    return [PairState(open_by_pair.get(key), key not in open_by_pair and key in ended)
            for key in keys]


def table_suggestions(session: Session, cache: IndexCache, *, table: CooperationTable,
                      factor: str | None, country: str | None,
                      limit: int, offset: int = 0) -> tuple[list[RankedPair], int]:
    """Return a page of the best (need, offer) pairs among the table's participants,
    filtered, and how many there are in all (`pair_states` tells what became of them)."""
    pairs = table_pairs(session, cache, table=table, per_need=CANDIDATES_PER_NEED)
    if factor:
        code = lower_code(factor)
        pairs = [p for p in pairs if code in (p.need.factor, p.offer.factor)]
    if country:
        code = upper_code(country)
        pairs = [p for p in pairs if code in (p.need.country, p.offer.country)]
    return pairs[offset:offset + limit], len(pairs)
