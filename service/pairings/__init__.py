"""Pairings through their life: stages, consents, partners, audit trail, idempotent POSTs."""
