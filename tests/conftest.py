"""Shared helpers for the test suite (not hardware fixtures; nothing autouse)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def hilbench_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``hilbench ARGS`` in a subprocess from the repository root, as a lab engineer would type it."""
    return subprocess.run(
        [sys.executable, "-m", "hilbench.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


@pytest.fixture(scope="session")
def bitcoin_vectors() -> dict:
    return json.loads((ROOT / "fixtures" / "bitcoin_vectors.json").read_text())


# tests/labgrid needs labgrid, which the suite's environment does not have (it cannot share it with
# pytest-embedded); `.ci/run` runs it in its own environment with HILBENCH_LABGRID_TESTS=1.
collect_ignore = [] if os.environ.get("HILBENCH_LABGRID_TESTS") else ["labgrid"]
