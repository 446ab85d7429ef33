"""Seed countries (pycountry + CLDR official languages), groupings and factors."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import pycountry
from babel.languages import get_official_languages
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Country, CountryGrouping, Factor, Grouping

# Member countries of the Regional Initiative "Latin America and the Caribbean Free of
# Child Labour"; admins can flag more.
MEMBERS = (
    "ARG", "BHS", "BRB", "BLZ", "BOL", "BRA", "CHL", "COL", "CRI", "DOM", "ECU", "SLV", "GTM",
    "GUY", "HTI", "HND", "JAM", "MEX", "NIC", "PAN", "PRY", "PER", "TTO", "URY", "VEN", "GRD",
)


def _reference(name: str) -> Any:
    return json.loads(resources.files("service.reference").joinpath(name).read_text("utf-8"))


@cache
def reference_factors() -> tuple[str, ...]:
    """Return the accelerator factor codes shipped with the service (those `migrate` stores)."""
    return tuple(entry["code"] for entry in _reference("factors.json"))


def reference_groupings() -> list[dict[str, Any]]:
    """Return the regional groupings shipped with the service."""
    groupings: list[dict[str, Any]] = _reference("groupings.json")
    return groupings


def official_languages(iso2: str) -> list[str]:
    """Return a country's official languages as ISO 639-1 codes, from CLDR."""
    langs = [code for code in get_official_languages(iso2, de_facto=True) if len(code) == 2]
    return list(dict.fromkeys(langs))


def languages_of(iso3: str) -> frozenset[str]:
    """Return the official languages of an ISO 3166-1 alpha-3 code (none if unknown)."""
    record = pycountry.countries.get(alpha_3=iso3)
    return frozenset(official_languages(record.alpha_2)) if record else frozenset()


def country_name(record: Any) -> str:
    """A pycountry record's usual name ("Bolivia", not "Bolivia, Plurinational State of")."""
    return str(getattr(record, "common_name", None) or record.name)


def seed_reference(session: Session) -> None:
    """Insert missing countries, groupings and factors; existing rows are left as they are."""
    existing = set(session.scalars(select(Country.iso3)))
    members = set(MEMBERS)
    for record in pycountry.countries:
        iso3 = record.alpha_3
        if iso3 in existing:
            continue
        session.add(Country(iso3=iso3, iso2=record.alpha_2, name=country_name(record),
                            languages=official_languages(record.alpha_2),
                            is_member=iso3 in members, enabled=iso3 in members))
    session.flush()

    known_groupings = set(session.scalars(select(Grouping.code)))
    for entry in reference_groupings():
        if entry["code"] in known_groupings:
            continue
        session.add(Grouping(code=entry["code"], name=entry["name"],
                             kind=entry.get("kind", "regional")))
        session.flush()
        for iso3 in sorted(set(entry["members"])):
            session.add(CountryGrouping(country_iso3=iso3, grouping_code=entry["code"]))
    session.flush()

    known_factors = set(session.scalars(select(Factor.code)))
    for position, entry in enumerate(_reference("factors.json"), start=1):
        if entry["code"] in known_factors:
            continue
        session.add(Factor(code=entry["code"], position=position, labels=entry["labels"],
                           descriptions=entry.get("description", {})))
    session.flush()
