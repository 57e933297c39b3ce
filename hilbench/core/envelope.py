"""Expected-response envelopes: what a measured trace must stay inside, and where it first left.

A grid code states a response as a curve (how much, for how far off nominal) and times (when it must start,
when it must be complete, how long it is held).  IEEE 1547.1 judges a step response by an envelope around the
expected trajectory, widened by value and time margins of 1.5 x the measurement accuracy (Sandia's SVP
``p1547.py`` does the same): the trace passes when every sample lies inside.  This module is that judgement
as data, with no instrument in it: a check builds the envelope from its plan parameters before it looks at the
trace, so the same envelope serves the live check, a replay and the report's chart.

Source of the method: docs/references/grid_response.md section 6 (IEEE 1547-2018 Table 3 accuracies, SVP's
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
    """The envelope of a sequence of steps.  Until a step's initiation deadline the trace may lie anywhere between
    where it was asked to be and the target; after it, it must have made ``start_fraction`` of the change, after
    the full time ``delivered_fraction``, and it may not overshoot the target.  A step's deadlines hold until a
    later step reverses its direction (then the later step's take over), so a ramp played as a staircase of small
    steps is judged increment by increment: the trace may lag the requested ramp by the initiation time, not more.
    Deadlines move later by ``time_margin``, values widen by ``value_margin``: both in the DUT's favour."""
    ordered = sorted(steps, key=lambda s: s.at)
    breakpoints = sorted(
        {s.at + offset for s in ordered for offset in (0.0, s.initiation_s + time_margin, s.full_s + time_margin)}
    )
    lower, upper = [], []
    for now in breakpoints:
        arrived = [s for s in ordered if s.at <= now]
        low, high = _allowed_range(arrived, now, time_margin)
        low, high = low - value_margin, high + value_margin
        for index, step in enumerate(arrived):
            change = step.target - step.before
            if change == 0 or any((later.target - later.before) * change < 0 for later in arrived[index + 1 :]):
                continue  # no change asked, or a later step turned back: its deadlines no longer apply
            if now >= step.at + (step.full_s + time_margin):  # the breakpoints' own sums: exact comparisons
                reached = step.delivered_fraction
            elif now >= step.at + (step.initiation_s + time_margin):
                reached = step.start_fraction
            else:
                continue
            bound = step.before + reached * change
            low, high = (max(low, bound - value_margin), high) if change > 0 else (low, min(high, bound + value_margin))
        lower.append(low)
        upper.append(high)
    return Envelope(np.asarray(breakpoints), np.asarray(lower), np.asarray(upper))


def _allowed_range(arrived: Sequence[StepRequirement], now: float, time_margin: float) -> tuple[float, float]:
    """Where the trace may be at all: between the levels asked for by the steps still inside their full time, and
    the last completed step's delivered-to-target band (no overshoot past anything asked)."""
    levels: list[float] = []
    completed = [s for s in arrived if now >= s.at + (s.full_s + time_margin)]
    if completed:
        last = completed[-1]
        levels += [last.target, last.before + last.delivered_fraction * (last.target - last.before)]
    for step in arrived:
        if now < step.at + (step.full_s + time_margin):
            levels += [step.before, step.target]
    return min(levels), max(levels)


def margins(*, value_accuracy: float, time_accuracy_s: float) -> tuple[float, float]:
    """(value margin, time margin): 1.5 x the measurement accuracy, as IEEE 1547.1 widens its envelopes."""
    return MARGIN_FACTOR * value_accuracy, MARGIN_FACTOR * time_accuracy_s
