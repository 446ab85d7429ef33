"""Matching and planning: ranked counterparts, table suggestions and stored plans."""
