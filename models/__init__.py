"""SQLAlchemy ORM models: the persistence layer."""

from models.base import Base, utcnow
from models.country import Country, CountryGrouping, Factor, Grouping
from models.item import MODALITIES, STATUSES, IndexRevision, Need, Offer
from models.key import ROLES, ApiKey
from models.pairing import (
    ACTIVITY_STATUSES,
    CONSENT_SIDES,
    CONSENT_STEPS,
    OPEN_STAGES,
    ORIGINS,
    OUTCOME_STAGES,
    STAGES,
    SUPPORT_KINDS,
    FollowupActivity,
    IdempotencyRecord,
    Pairing,
    PairingConsent,
    PairingEvent,
    PairingPartner,
    ProgressNote,
)
from models.table import TABLE_STATUSES, CooperationTable, Plan, TableParticipant

__all__ = [
    "ACTIVITY_STATUSES",
    "CONSENT_SIDES",
    "CONSENT_STEPS",
    "MODALITIES",
    "OPEN_STAGES",
    "ORIGINS",
    "OUTCOME_STAGES",
    "ROLES",
    "STAGES",
    "STATUSES",
    "SUPPORT_KINDS",
    "TABLE_STATUSES",
    "ApiKey",
    "Base",
    "CooperationTable",
    "Country",
    "CountryGrouping",
    "Factor",
    "FollowupActivity",
    "Grouping",
    "IdempotencyRecord",
    "IndexRevision",
    "Need",
    "Offer",
    "Pairing",
    "PairingConsent",
    "PairingEvent",
    "PairingPartner",
    "Plan",
    "ProgressNote",
    "TableParticipant",
    "utcnow",
]
