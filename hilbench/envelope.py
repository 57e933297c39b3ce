"""Expected-response envelopes: what a measured trace must stay inside, and where it first left.

A grid code states a response as a curve (how much, for how far off nominal) and times (when it must start,
when it must be complete, how long it is held).  IEEE 1547.1 judges a step response by an envelope around the
expected trajectory, widened by value and time margins of 1.5 x the measurement accuracy (Sandia's SVP
``p1547.py`` does the same): the trace passes when every sample lies inside.  This module is that judgement
as data, with no instrument in it: a check builds the envelope from its plan parameters before it looks at the
trace, so the same envelope serves the live check, a replay and the report's chart.

Source of the method: shared/reference/grid_response.md section 6 (IEEE 1547-2018 Table 3 accuracies, SVP's
envelope); the NESO Dynamic Containment curve in the plans is that section's table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: IEEE 1547.1 widens an envelope by 1.5 x the minimum measurement accuracy.
MARGIN_FACTOR = 1.5


@dataclass(frozen=True)
class ResponseCurve:
    """Response fraction (0..1) against the deviation from nominal (Hz), piecewise linear between the points,
    zero up to the first point (the deadband), flat beyond the last."""

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        deviations = [d for d, _ in self.points]
        if not self.points or deviations != sorted(deviations) or len(set(deviations)) != len(deviations):
            raise ValueError("a response curve is [[deviation_hz, fraction], ...] with rising deviations")
        if any(not 0 <= f <= 1 or d < 0 for d, f in self.points):
            raise ValueError("response fractions lie in 0..1 and deviations are >= 0 Hz")

    @classmethod
    def from_plan(cls, raw: Sequence[Sequence[float]]) -> ResponseCurve:
        return cls(tuple((float(d), float(f)) for d, f in raw))

    def fraction(self, deviation_hz: float) -> float:
        d = abs(deviation_hz)
        deviations = [p[0] for p in self.points]
        if d <= deviations[0]:
            return 0.0 if d < deviations[0] else self.points[0][1]
        return float(np.interp(d, deviations, [p[1] for p in self.points]))


@dataclass(frozen=True)
class Envelope:
    """Lower and upper bounds on a trace, piecewise constant from each start time until the next (NaN: no bound)."""

    starts: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def bounds_at(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index = np.searchsorted(self.starts, np.asarray(t, dtype=float), side="right") - 1
        inside = index >= 0
        index = np.clip(index, 0, len(self.starts) - 1)
        lower = np.where(inside, self.lower[index], np.nan)
        upper = np.where(inside, self.upper[index], np.nan)
        return lower, upper

    def outside(self, t: np.ndarray, values: np.ndarray) -> np.ndarray:
        """True where a sample lies outside its bounds (a missing bound never fails)."""
        lower, upper = self.bounds_at(t)
        values = np.asarray(values, dtype=float)
        below = np.where(np.isnan(lower), False, values < lower)
        above = np.where(np.isnan(upper), False, values > upper)
        return below | above

    def judge(self, t: np.ndarray, values: np.ndarray) -> EnvelopeResult:
        t = np.asarray(t, dtype=float)
        values = np.asarray(values, dtype=float)
        out = self.outside(t, values)
        lower, upper = self.bounds_at(t)
        below = np.where(out, np.nan_to_num(lower - values, nan=0.0), 0.0)
        above = np.where(out, np.nan_to_num(values - upper, nan=0.0), 0.0)
        excess = np.maximum(below, above)
        first = float(t[np.argmax(out)]) if out.any() else None
        return EnvelopeResult(first, int(out.sum()), int(out.size), float(excess.max()) if out.any() else 0.0)


@dataclass(frozen=True)
class EnvelopeResult:
    first_violation: float | None  # time of the first sample outside, None if every sample was inside
    outside: int
    samples: int
    worst_excess: float  # how far the worst sample lay beyond its bound (trace units)

    @property
    def outside_percent(self) -> float:
        return 100.0 * self.outside / self.samples if self.samples else math.nan


@dataclass(frozen=True)
class StepRequirement:
    """A response to one step: from ``before`` to ``target``, started by ``initiation_s``, at least
    ``delivered_fraction`` of the change by ``full_s``, held until the next step."""

    at: float
    before: float
    target: float
    initiation_s: float
    full_s: float
    start_fraction: float = 0.1  # "started": at least this much of the change by initiation_s
    delivered_fraction: float = 0.9  # "full": at least this much of the change by full_s (IEEE 1547.1: 90 %)


def step_envelope(steps: Sequence[StepRequirement], *, value_margin: float, time_margin: float) -> Envelope:
    """The envelope of a sequence of steps: before each step's deadlines only overshoot is bounded; after its
    initiation time the trace must have moved ``start_fraction`` of the way, after its full time
    ``delivered_fraction``, and it may not overshoot the target.  Deadlines move later by ``time_margin``,
    values widen by ``value_margin``: both in the DUT's favour."""
    starts, lower, upper = [], [], []
    ordered = sorted(steps, key=lambda s: s.at)
    for step, following in zip(ordered, [*ordered[1:], None], strict=True):
        change = step.target - step.before
        deadlines = (
            (0.0, None),  # until the initiation deadline: anywhere between where it was and the target
            (step.initiation_s + time_margin, step.start_fraction),
            (step.full_s + time_margin, step.delivered_fraction),
        )
        for offset, reached in deadlines:
            if following is not None and step.at + offset >= following.at:
                break  # the next step's requirements take over
            if reached is None:
                low, high = min(step.before, step.target) - value_margin, max(step.before, step.target) + value_margin
            else:  # at least ``reached`` of the change made, and no overshoot past the target
                lagging = step.before + reached * change
                low, high = (lagging, step.target) if change >= 0 else (step.target, lagging)
                low, high = low - value_margin, high + value_margin
            starts.append(step.at + offset)
            lower.append(low)
            upper.append(high)
    return Envelope(np.asarray(starts), np.asarray(lower), np.asarray(upper))


def margins(*, value_accuracy: float, time_accuracy_s: float) -> tuple[float, float]:
    """(value margin, time margin): 1.5 x the measurement accuracy, as IEEE 1547.1 widens its envelopes."""
    return MARGIN_FACTOR * value_accuracy, MARGIN_FACTOR * time_accuracy_s
