"""Reference data shipped with the service (factors, groupings)."""
