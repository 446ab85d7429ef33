"""Tests of service/pairings."""
