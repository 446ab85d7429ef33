"""Cooperation tables: participants, dates, settings and status, managed by organisers."""
