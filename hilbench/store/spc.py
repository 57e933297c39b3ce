"""Statistical process control of one figure across runs: capability (Cpk from the within-run spread, Ppk from
the overall spread), an individuals control chart, and first-pass yield.

Individuals (X) and moving-range charts take their constants for subgroups of two consecutive values:
d2 = 1.128 (sigma within = mean moving range / d2) and 3 / d2 = 2.66 for the X chart's limits, D4 = 3.267 for the
moving-range chart's upper limit (ASTM E2587, Table 1; NIST/SEMATECH e-Handbook of Statistical Methods 6.3.2.2).
Capability indices are the usual ones (NIST/SEMATECH e-Handbook 6.1.6): Cpk = min(USL - mean, mean - LSL) /
(3 sigma_within), one-sided (Cpu or Cpl) when one limit exists; Ppk the same with the overall sample standard
deviation.  None, with the reason, where there is too little data to say."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

#: control-chart constants for moving ranges of two (source in the module docstring)
MOVING_RANGE_OF_TWO = {"d2": 1.128, "E2": 2.660, "D4": 3.267}


@dataclass(frozen=True)
class Capability:
    n: int
    mean: float | None
    sigma_within: float | None  # mean moving range / d2
    sigma_overall: float | None  # sample standard deviation
    cpk: float | None
    ppk: float | None
    sides: str  # "two-sided", "upper only", "lower only", "no limits"
    note: str = ""


def capability(values: list[float], low: float | None, high: float | None) -> Capability:
    """Cpk and Ppk of the values (in run order) against the limits."""
    data = [float(v) for v in values if v is not None and math.isfinite(v)]
    sides = {(True, True): "two-sided", (False, True): "upper only", (True, False): "lower only"}.get(
        (low is not None, high is not None), "no limits"
    )
    n = len(data)
    if n < 2:
        return Capability(n, data[0] if data else None, None, None, None, None, sides, "fewer than 2 values")
    mean = sum(data) / n
    sigma_overall = math.sqrt(sum((v - mean) ** 2 for v in data) / (n - 1))
    ranges = [abs(b - a) for a, b in itertools.pairwise(data)]
    sigma_within = (sum(ranges) / len(ranges)) / MOVING_RANGE_OF_TWO["d2"]
    note = ""
    if sides == "no limits":
        note = "no limit to judge against"
    cpk, ppk = _index(mean, sigma_within, low, high), _index(mean, sigma_overall, low, high)
    if sides != "no limits" and (sigma_within == 0 or sigma_overall == 0):
        note = "no spread: every value is the same"
    return Capability(n, mean, sigma_within, sigma_overall, cpk, ppk, sides, note)


def _index(mean: float, sigma: float, low: float | None, high: float | None) -> float | None:
    if sigma <= 0 or (low is None and high is None):
        return None
    sides = []
    if high is not None:
        sides.append((high - mean) / (3 * sigma))
    if low is not None:
        sides.append((mean - low) / (3 * sigma))
    return min(sides)


@dataclass(frozen=True)
class ControlChart:
    center: float
    lower: float  # X chart limits: mean -/+ E2 * mean moving range
    upper: float
    mr_mean: float
    mr_upper: float  # D4 * mean moving range
    out_of_control: list[int]  # indices of values outside the X chart's limits


def control_chart(values: list[float]) -> ControlChart | None:
    """The individuals chart of the values in run order (None for fewer than two)."""
    data = [float(v) for v in values if v is not None and math.isfinite(v)]
    if len(data) < 2:
        return None
    center = sum(data) / len(data)
    ranges = [abs(b - a) for a, b in itertools.pairwise(data)]
    mr_mean = sum(ranges) / len(ranges)
    lower, upper = center - MOVING_RANGE_OF_TWO["E2"] * mr_mean, center + MOVING_RANGE_OF_TWO["E2"] * mr_mean
    outside = [i for i, v in enumerate(data) if v < lower or v > upper]
    return ControlChart(center, lower, upper, mr_mean, MOVING_RANGE_OF_TWO["D4"] * mr_mean, outside)


def first_pass_yield(first_verdicts: list[str]) -> float | None:
    """The share of units whose first run passed (``first_verdicts``: each unit's first verdict)."""
    if not first_verdicts:
        return None
    return sum(v == "pass" for v in first_verdicts) / len(first_verdicts)
