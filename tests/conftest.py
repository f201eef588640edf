"""Shared test fixtures: where the read-only shared inputs live."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _find_shared() -> Path:
    """The read-only shared inputs: $CLICKLABEL_SHARED, else ../shared beside the checkout, else the
    workplace's /work/shared (a clean clone made elsewhere, as CI does, still finds the fixtures)."""
    explicit = os.environ.get("CLICKLABEL_SHARED")
    if explicit:
        return Path(explicit)
    for candidate in (REPO_ROOT.parent / "shared", Path("/work/shared")):
        if candidate.is_dir():
            return candidate
    return REPO_ROOT.parent / "shared"


SHARED = _find_shared()
FIXTURES = SHARED / "fixtures"
DATASETS = SHARED / "datasets"


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """Path to ../shared/fixtures (parity fixtures made with the reference implementations)."""
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    return FIXTURES
