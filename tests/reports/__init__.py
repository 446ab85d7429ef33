"""Tests of service/reports."""
