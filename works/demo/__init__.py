"""Demo data: the seed researcher (seed.py), a generated population (synthetic.py),
and the service that writes both (services.py)."""
