"""Checks: reusable procedures that drive the bench and yield measurements (see base.py)."""

from hilbench.plans.checks import frequency_response, grid_events, power, power_quality, ride_through  # noqa: F401
from hilbench.plans.checks.base import REGISTRY, CheckAborted, CheckContext, Dut

__all__ = ["REGISTRY", "CheckAborted", "CheckContext", "Dut"]
