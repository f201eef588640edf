"""Shared test fixtures: where the read-only shared inputs live."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(__import__("os").environ.get("CLICKLABEL_SHARED", REPO_ROOT.parent / "shared"))
FIXTURES = SHARED / "fixtures"
DATASETS = SHARED / "datasets"


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """Path to ../shared/fixtures (parity fixtures made with the reference implementations)."""
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    return FIXTURES
