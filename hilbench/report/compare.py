"""Runs side by side: every measurement of every run, the difference from the first run, verdicts that changed
and figures that moved by more than their marginal band - the daily question of a test lab (firmware A against
firmware B, this week's run against last month's)."""

from __future__ import annotations

from dataclasses import dataclass

from hilbench.core.measurement import Limits
from hilbench.report.records import Run

#: a figure whose limits declare no marginal band "moved" when it changed by more than this share of its limit
#: (or of its first value when it has no limit)
DEFAULT_BAND_FRACTION = 0.05


@dataclass(frozen=True)
class ComparedFigure:
    check: str
    name: str
    unit: str
    values: list[float | None]  # one per run, None where the run did not measure it
    verdicts: list[str | None]
    band: float | None  # how far the figure may move before it counts as moved

    @property
    def differences(self) -> list[float | None]:
        first = self.values[0]
        return [None if v is None or first is None else v - first for v in self.values]

    @property
    def verdict_changed(self) -> bool:
        return len(set(self.verdicts)) > 1

    @property
    def moved(self) -> bool:
        if self.band is None:
            return False
        return any(d is not None and abs(d) > self.band for d in self.differences[1:])


def compare(runs: list[Run]) -> list[ComparedFigure]:
    """One row per (check, measurement) found in any run, in the first run's order then the others'."""
    keys: list[tuple[str, str]] = []
    found: list[dict] = []
    for run in runs:
        by_key = {(m.check, m.name): m for m in run.measurements}
        found.append(by_key)
        keys += [k for k in by_key if k not in keys]
    rows = []
    for key in keys:
        present = [by_key.get(key) for by_key in found]
        first = next(m for m in present if m is not None)
        rows.append(
            ComparedFigure(
                key[0],
                key[1],
                first.unit,
                [m.value if m is not None else None for m in present],
                [m.verdict if m is not None else None for m in present],
                band(first.limits, first.value),
            )
        )
    return rows


def band(limits: Limits | None, reference: float | None) -> float | None:
    """The marginal band of the limits (its fraction of the span, or of the one bound), else 5 % of the limit, else
    5 % of the reference value; None when nothing gives a scale."""
    bounds = [b for b in ((limits.low, limits.high) if limits else ()) if b is not None]
    span = abs(bounds[1] - bounds[0]) if len(bounds) == 2 else abs(bounds[0]) if bounds else None
    fraction = limits.marginal if limits and limits.marginal > 0 else DEFAULT_BAND_FRACTION
    if span:
        return fraction * span
    if reference:
        return DEFAULT_BAND_FRACTION * abs(reference)
    return None
