"""Demo data set shipped with the service."""
