"""Fixtures of the labelling tests (the factories live in labeling_factories.py)."""
from labeling_factories import world  # noqa: F401
