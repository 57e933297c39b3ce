"""Shared helpers for the test suite (not hardware fixtures; nothing autouse)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def bitcoin_vectors() -> dict:
    return json.loads((ROOT / "fixtures" / "bitcoin_vectors.json").read_text())


# tests/labgrid needs labgrid, which the suite's environment does not have (it cannot share it with
# pytest-embedded); `.ci/run` runs it in its own environment with HILBENCH_LABGRID_TESTS=1.
collect_ignore = [] if os.environ.get("HILBENCH_LABGRID_TESTS") else ["labgrid"]
