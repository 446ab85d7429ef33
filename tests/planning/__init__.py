"""Tests of the pure planning module: exact selection, meeting merge and round scheduling."""
