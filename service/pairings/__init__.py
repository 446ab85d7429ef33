"""Matching and planning: ranked counterparts, table suggestions, plans and pairings."""
