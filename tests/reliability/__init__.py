"""Reliability: fuzzing, authorization matrix, secrets, limits, concurrency and crash safety."""
