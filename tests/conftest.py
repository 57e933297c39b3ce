"""Shared helpers for the test suite (not hardware fixtures; nothing autouse)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def bitcoin_vectors() -> dict:
    return json.loads((ROOT / "fixtures" / "bitcoin_vectors.json").read_text())
