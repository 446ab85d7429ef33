"""SQLAlchemy ORM models: the persistence layer."""

from models.base import Base, utcnow
from models.country import Country, CountryGrouping, Factor, Grouping
from models.item import MODALITIES, STATUSES, IndexRevision, Need, Offer
from models.key import ROLES, ApiKey
from models.table import (
    OPEN_STAGES,
    STAGES,
    TABLE_STATUSES,
    CooperationTable,
    Pairing,
    Plan,
    TableParticipant,
)

__all__ = [
    "MODALITIES",
    "OPEN_STAGES",
    "ROLES",
    "STAGES",
    "STATUSES",
    "TABLE_STATUSES",
    "ApiKey",
    "Base",
    "CooperationTable",
    "Country",
    "CountryGrouping",
    "Factor",
    "Grouping",
    "IndexRevision",
    "Need",
    "Offer",
    "Pairing",
    "Plan",
    "TableParticipant",
    "utcnow",
]
