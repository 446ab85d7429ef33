"""Rules and queries for countries, groupings and factors."""

from __future__ import annotations

import re

import pycountry
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from models import Country, CountryGrouping, Factor, Grouping
from service import revisions
from service.codes import lower_code, upper_code
from service.config import get_settings
from service.countries.schemas import (
    CountryUpdate,
    FactorCreate,
    FactorUpdate,
    GroupingCreate,
    GroupingUpdate,
)
from service.errors import Conflict, NotFound, Unprocessable, field_error, reject_nulls
from service.schemas import merge_changes
from service.scoring.terms import fold
from service.versions import check_if_match


def get_country(session: Session, iso3: str, *, lock: bool = False) -> Country | None:
    """Return the country with this ISO3 code (any letter case), groupings loaded; `lock`
    reads it under a row lock, current even if the session held an older copy (an admin's
    changes of one country then happen one at a time)."""
    stmt = (select(Country).where(Country.iso3 == upper_code(iso3))
            .options(selectinload(Country.groupings)))
    if lock:
        stmt = stmt.with_for_update(of=Country).execution_options(populate_existing=True)
    return session.scalar(stmt)


def get_country_or_raise(session: Session, iso3: str, *, lock: bool = False) -> Country:
    """Return the country (see `get_country`) or raise NotFound."""
    country = get_country(session, iso3, lock=lock)
    if country is None:
        raise NotFound(f"No country with ISO 3166-1 alpha-3 code '{upper_code(iso3)}'.")
    return country


def require_country(session: Session, iso3: str, *, field: str = "country") -> Country:
    """Return the country with this ISO3 code (any letter case), or raise 422 naming `field`
    and the code (an ISO 3166-1 alpha-2 code gets its alpha-3 twin as the example)."""
    country = (session.get(Country, upper_code(iso3))
               if re.fullmatch(r"[A-Za-z]{3}", iso3) else None)  # never look up malformed text
    if country is None:
        twin = pycountry.countries.get(alpha_2=iso3) if re.fullmatch(r"[A-Za-z]{2}", iso3) else None
        example = f"{twin.alpha_3} ({twin.name})" if twin is not None else "ARG"
        raise Unprocessable(
            f"Unknown country code '{iso3}': use an ISO 3166-1 alpha-3 code such as {example}.",
            errors=[{"field": field, "message": "unknown country code"}],
        )
    return country


def query_country(session: Session, code: str | None, *, name: str = "country") -> str | None:
    """A country filter of a query (parameter `name`): its ISO3 code as stored, or None when
    absent; an unknown code is a 422 naming the parameter (`require_country`)."""
    return None if code is None else require_country(session, code, field=f"query.{name}").iso3


def query_factor(session: Session, code: str | None) -> str | None:
    """A factor filter of a query, in any letter case: its code as stored, or None when
    absent; an unknown code is a 422 naming the parameter (`require_factor`)."""
    return (None if code is None
            else require_factor(session, lower_code(code), field="query.factor").code)


def require_factor(session: Session, code: str, *, field: str = "factor") -> Factor:
    """Return the accelerator factor with this code (lower case, as stored), or raise 422
    naming `field`, the code and the known codes."""
    factor = session.get(Factor, code) if re.fullmatch(r"[a-z][a-z0-9_]*", code) else None
    if factor is None:
        known = ", ".join(session.scalars(select(Factor.code).order_by(Factor.position)))
        raise Unprocessable(f"Unknown accelerator factor '{code}'. Known: {known}.",
                            errors=[{"field": field, "message": "unknown factor"}])
    return factor


def require_grouping(session: Session, code: str, *, field: str = "grouping") -> Grouping:
    """Return the grouping with this code (any letter case), or raise 422 naming `field`, the
    code and the known codes: a misspelt one must not look like a grouping with no members."""
    grouping = (session.get(Grouping, upper_code(code))
                if re.fullmatch(r"[A-Za-z0-9_]+", code) else None)
    if grouping is None:
        known = ", ".join(session.scalars(select(Grouping.code).order_by(Grouping.code)))
        raise Unprocessable(f"Unknown grouping '{code}'. Known: {known}.",
                            errors=[{"field": field, "message": "unknown grouping"}])
    return grouping


def require_enabled_country(session: Session, iso3: str) -> Country:
    """Return a country that may take part, or raise 422 naming the problem."""
    country = require_country(session, iso3)
    if not country.enabled:
        raise Unprocessable(
            f"{country.name} ({country.iso3}) is not enabled to take part; "
            "an administrator can enable it.",
            errors=[{"field": "country", "message": "country not enabled"}],
        )
    return country


def list_countries(session: Session, *, member: bool | None = None, enabled: bool | None = None,
                   grouping: str | None = None, q: str | None = None) -> list[Country]:
    """Return countries ordered by ISO3, filtered; `q` is part of the name in any letter case,
    accents ignored."""
    stmt = select(Country).options(selectinload(Country.groupings)).order_by(Country.iso3)
    if member is not None:
        stmt = stmt.where(Country.is_member == member)
    if enabled is not None:
        stmt = stmt.where(Country.enabled == enabled)
    if grouping:
        code = require_grouping(session, grouping).code
        stmt = stmt.where(Country.iso3.in_(
            select(CountryGrouping.country_iso3).where(CountryGrouping.grouping_code == code)))
    countries = list(session.scalars(stmt))
    text = fold(q or "").strip()
    if text:  # a blank `q` is no filter
        # Accents folded on both sides ("peru" finds Perú, "Perú" finds Peru), alike on every
        # database: the list is short (ISO 3166-1), so it is filtered here rather than in SQL.
        countries = [c for c in countries if text in fold(c.name)]
    return countries


def update_country(session: Session, *, country: Country, data: CountryUpdate,
                   if_match: str | None = None) -> Country:
    """Apply an admin's changes to a country; a null field is a 422 naming it.

    `country` should be read under its row lock (`get_country(..., lock=True)`); a stale
    `if_match` is a 412 that changes nothing, and a request that changes nothing keeps the
    version."""
    check_if_match(country, if_match, what=f"Country {country.iso3}")
    reject_nulls(data.model_dump(exclude_unset=True))
    if data.is_member is not None:
        country.is_member = data.is_member
    if data.enabled is not None:
        country.enabled = data.enabled
    if data.languages is not None:
        country.languages = list(dict.fromkeys(data.languages))
    changed = session.is_modified(country)  # before the reads below flush it
    if data.groupings is not None:
        codes = sorted({upper_code(c) for c in data.groupings})
        # In code order, as the relationship reads them: the answer lists them as a GET would.
        found = list(session.scalars(select(Grouping).where(Grouping.code.in_(codes))
                                     .order_by(Grouping.code)))
        missing = sorted(set(codes) - {g.code for g in found})
        if missing:
            raise field_error("groupings", f"Unknown grouping codes: {', '.join(missing)}.")
        if [g.code for g in found] != [g.code for g in country.groupings]:
            _bump_versions(session, Grouping,
                           {g.code for g in country.groupings} ^ {g.code for g in found})
            country.groupings = found
            changed = True
    if changed:
        country.version += 1
    revisions.bump(session, "reference")  # languages and groupings are part of every score
    return country


def list_groupings(session: Session) -> list[Grouping]:
    """Return every grouping with its members."""
    return list(session.scalars(
        select(Grouping).options(selectinload(Grouping.countries)).order_by(Grouping.code)))


def get_grouping_or_raise(session: Session, code: str, *, lock: bool = False) -> Grouping:
    """Return the grouping with this code (any letter case), members loaded, or raise
    NotFound; `lock` reads it under a row lock, current even if the session held an older
    copy (an admin's changes of one grouping then happen one at a time)."""
    stmt = (select(Grouping).where(Grouping.code == upper_code(code))
            .options(selectinload(Grouping.countries)))
    if lock:
        stmt = stmt.with_for_update(of=Grouping).execution_options(populate_existing=True)
    grouping = session.scalar(stmt)
    if grouping is None:
        raise NotFound(f"No grouping with code '{upper_code(code)}'.")
    return grouping


def _member_countries(session: Session, codes: list[str]) -> list[Country]:
    """The countries of a grouping's `members` in code order, or a 422 naming the unknown."""
    members = sorted(set(codes))
    countries = list(session.scalars(select(Country).where(Country.iso3.in_(members))
                                     .order_by(Country.iso3)))
    missing = sorted(set(members) - {c.iso3 for c in countries})
    if missing:
        raise field_error("members", f"Unknown country codes: {', '.join(missing)}.")
    return countries


def _bump_versions(session: Session, model: type[Country] | type[Grouping],
                   keys: set[str]) -> None:
    """Increase, in SQL, the versions of the countries (or groupings) whose memberships a
    change of a grouping (or a country) adds or removes: their answers list them, so a PATCH
    sent with an older ETag must meet a 412. (On PostgreSQL, two admins changing the same
    membership at once from both sides may deadlock: one request is rolled back, a 503.)"""
    if not keys:
        return
    key = Country.iso3 if model is Country else Grouping.code
    session.execute(update(model).where(key.in_(sorted(keys)))
                    .values(version=model.version + 1))


def create_grouping(session: Session, *, data: GroupingCreate) -> Grouping:
    """Create a regional grouping with its member countries."""
    if session.get(Grouping, data.code) is not None:
        raise Conflict(f"A grouping with code '{data.code}' already exists.")
    countries = _member_countries(session, data.members)
    _bump_versions(session, Country, {c.iso3 for c in countries})
    grouping = Grouping(code=data.code, name=data.name, kind=data.kind)
    grouping.countries = countries
    session.add(grouping)
    revisions.bump(session, "reference")
    return grouping


def update_grouping(session: Session, *, grouping: Grouping, data: GroupingUpdate,
                    if_match: str | None = None) -> Grouping:
    """Rename a grouping, change its kind, or replace its members (the code stays); a null
    field is a 422 naming it.

    `grouping` should be read under its row lock; a stale `if_match` is a 412 that changes
    nothing, and a request that changes nothing keeps the version."""
    check_if_match(grouping, if_match, what=f"Grouping {grouping.code}")
    reject_nulls(data.model_dump(exclude_unset=True))
    if data.name is not None:
        grouping.name = data.name
    if data.kind is not None:
        grouping.kind = data.kind
    changed = session.is_modified(grouping)  # before the statements below flush it
    if data.members is not None:
        countries = _member_countries(session, data.members)
        if [c.iso3 for c in countries] != [c.iso3 for c in grouping.countries]:
            _bump_versions(session, Country,
                           {c.iso3 for c in grouping.countries} ^ {c.iso3 for c in countries})
            grouping.countries = countries
            revisions.bump(session, "reference")  # memberships are part of every score
            changed = True
    if changed:
        grouping.version += 1
    session.flush()
    return grouping


def delete_grouping(session: Session, *, grouping: Grouping,
                    if_match: str | None = None) -> None:
    """Delete a grouping without members; one with members is a 409 naming them, since the
    regional proximity of every score reads them: empty it first (PATCH `members`). A stale
    `if_match` is a 412 that deletes nothing."""
    check_if_match(grouping, if_match, what=f"Grouping {grouping.code}")
    members = [c.iso3 for c in grouping.countries]
    if members:
        raise Conflict(
            f"Grouping {grouping.code} has {len(members)} member countries "
            f"({', '.join(members)}), which the regional proximity of scores reads; remove "
            "them first (PATCH the grouping with \"members\": []), then delete it.",
            members=members)
    session.delete(grouping)
    session.flush()


def list_factors(session: Session) -> list[Factor]:
    """Return the accelerator factors in display order."""
    return list(session.scalars(select(Factor).order_by(Factor.position, Factor.code)))


def get_factor_or_raise(session: Session, code: str, *, lock: bool = False) -> Factor:
    """Return the factor with this code (any letter case) or raise NotFound; `lock` reads it
    under a row lock, current even if the session held an older copy (changes of one factor
    then happen one at a time, and none is lost)."""
    factor = session.get(Factor, lower_code(code), with_for_update=lock or None,
                         populate_existing=lock)
    if factor is None:
        raise NotFound(f"No accelerator factor with code '{code}'.")
    return factor


def create_factor(session: Session, *, data: FactorCreate) -> Factor:
    """Add an accelerator factor."""
    if session.get(Factor, data.code) is not None:
        raise Conflict(f"A factor with code '{data.code}' already exists.")
    position = data.position
    if position is None:
        position = (session.scalar(select(func.max(Factor.position))) or 0) + 1
    factor = Factor(code=data.code, labels=dict(data.labels),
                    descriptions=dict(data.descriptions), position=position)
    session.add(factor)
    session.flush()
    return factor


def update_factor(session: Session, *, factor: Factor, data: FactorUpdate,
                  if_match: str | None = None) -> Factor:
    """Change a factor's labels, descriptions or position; a null label or description
    removes it, but a factor keeps at least one label in a working language.

    `factor` should be read under its row lock; a stale `if_match` is a 412 that changes
    nothing, and a request that changes nothing keeps the version."""
    check_if_match(factor, if_match, what=f"Factor '{factor.code}'")
    reject_nulls(data.model_dump(exclude_unset=True))
    if data.labels is not None:
        labels = merge_changes(factor.labels, data.labels)
        languages = get_settings().languages
        if not any(language in labels for language in languages):
            raise field_error("labels", "A factor keeps at least one label in a working "
                                        f"language ({', '.join(languages)}).")
        factor.labels = labels
    if data.descriptions is not None:
        factor.descriptions = merge_changes(factor.descriptions, data.descriptions)
    if data.position is not None:
        factor.position = data.position
    if session.is_modified(factor):
        factor.version += 1
    session.flush()
    return factor
