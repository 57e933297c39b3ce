"""Checks: reusable procedures that drive the bench and yield measurements (see base.py)."""

from hilbench.checks import frequency_response, grid_events, power, power_quality  # noqa: F401  (registration)
from hilbench.checks.base import REGISTRY, CheckAborted, CheckContext, Dut

__all__ = ["REGISTRY", "CheckAborted", "CheckContext", "Dut"]
