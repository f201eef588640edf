"""Fixtures of the labelling tests (the factories live in labeling_factories.py)."""
from labeling_factories import world  # noqa: F401

import os  # noqa: E402

from hypothesis import HealthCheck, settings  # noqa: E402

# Generated-input tests (`pytest -m fuzz`): "ci" (default) keeps each test to a few seconds and is
# reproducible; HYPOTHESIS_PROFILE=long runs many more random examples.
_QUIET = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
          HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True, database=None,
                          suppress_health_check=_QUIET)
settings.register_profile("long", max_examples=2000, deadline=None, database=None, suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
