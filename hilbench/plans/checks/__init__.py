"""Checks: reusable procedures that drive the bench and yield measurements (see base.py)."""

from hilbench.plans.checks import (  # noqa: F401
    frequency_response,
    grid_events,
    model_validation,
    power,
    power_quality,
    ride_through,
)
from hilbench.plans.checks.base import REGISTRY, CheckAborted, CheckContext, Dut

__all__ = ["REGISTRY", "CheckAborted", "CheckContext", "Dut"]
