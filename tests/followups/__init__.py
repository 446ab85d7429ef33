"""Tests of service/followups."""
