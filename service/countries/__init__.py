"""Reference data: countries, regional groupings and accelerator factors."""
