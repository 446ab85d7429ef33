"""Outcome reports: counts, matrix, partners, follow-up, exports and the network picture."""
