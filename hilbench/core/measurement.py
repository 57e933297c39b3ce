"""Measurements as data (OpenHTF's idea): limits are declared before anything runs; a value outside
them fails the check by itself.  Verdicts: pass, marginal (inside the limits but within the marginal
band of one), fail, error (never measured, or not a finite number), info (a figure with no limit: reported, never
a pass), n/a (a figure the plan's parameters make meaningless, with the reason)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

PASS, MARGINAL, FAIL, ERROR, NOT_APPLICABLE, INFO = "pass", "marginal", "fail", "error", "n/a", "info"


@dataclass(frozen=True)
class Limits:
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    marginal: float = 0.0  # fraction of the span (or of |limit| when one-sided) near a limit
    unit: str = ""

    @classmethod
    def from_plan(cls, spec: dict, where: str) -> Limits:
        known = {"min", "max", "min_exclusive", "max_exclusive", "marginal", "unit"}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(
                f"{where}: unknown limit key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
            )
        low = spec.get("min", spec.get("min_exclusive"))
        high = spec.get("max", spec.get("max_exclusive"))
        if low is None and high is None:
            raise ValueError(f"{where}: a limit needs min and/or max")
        for name, value in (("min", low), ("max", high)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"{where}: {name} must be a number, got {value!r}")
            if value is not None and not math.isfinite(value):  # .nan passes nothing and .inf bounds nothing
                raise ValueError(f"{where}: {name} must be a finite number, got {value!r}")
        if low is not None and high is not None and low > high:
            raise ValueError(f"{where}: min {low} is above max {high}")
        return cls(
            low,
            high,
            "min_exclusive" not in spec,
            "max_exclusive" not in spec,
            float(spec.get("marginal", 0.0)),
            str(spec.get("unit", "")),
        )

    def verdict(self, value: float | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ERROR
        if self.low is not None and (value < self.low or (value == self.low and not self.low_inclusive)):
            return FAIL
        if self.high is not None and (value > self.high or (value == self.high and not self.high_inclusive)):
            return FAIL
        if self.marginal > 0:
            span = (self.high - self.low) if self.low is not None and self.high is not None else None
            for bound in (self.low, self.high):
                if bound is None:
                    continue
                band = self.marginal * (span if span else max(abs(bound), 1e-12))
                if abs(value - bound) <= band:
                    return MARGINAL
        return PASS

    def describe(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>=' if self.low_inclusive else '>'} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'<=' if self.high_inclusive else '<'} {self.high:g}")
        return " and ".join(parts) + (f" {self.unit}" if self.unit else "")


@dataclass
class Measurement:
    check: str
    name: str
    value: float | None
    unit: str
    limits: Limits | None
    verdict: str
    instrument_time: float | None = None  # instrument / plant time stamp of the value
    raw: str = ""  # path of the raw data beside measurements.jsonl
    note: str = ""
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["limits"] = asdict(self.limits) if self.limits else None
        return out


def judge(
    check: str,
    name: str,
    value: float | None,
    unit: str,
    limits: Limits | None,
    *,
    not_applicable: str = "",
    untrusted: str = "",
    **extra,
) -> Measurement:
    """A value with declared limits is judged; without limits it is information (``info``, never a pass).  A value
    that is not a finite number is recorded as null with verdict ``error`` and the reason; ``not_applicable`` (a
    reason) marks a figure the check could not have measured by design (verdict ``n/a``, whatever the limits);
    ``untrusted`` (a reason) keeps a value that was taken but cannot be judged (verdict ``error``), e.g. on an
    emulated bench that fell behind its clock."""
    if not_applicable:
        note = extra.pop("note", "")
        reason = f"n/a: {not_applicable}" + (f"; {note}" if note else "")
        return Measurement(check, name, None, unit, limits, NOT_APPLICABLE, note=reason, **extra)
    if value is not None and not math.isfinite(float(value)):
        note = extra.pop("note", "")
        reason = f"not a finite number ({float(value)})" + (f"; {note}" if note else "")
        return Measurement(check, name, None, unit, limits, ERROR, note=reason, **extra)
    if untrusted and value is not None:
        note = extra.pop("note", "")
        reason = untrusted + (f"; {note}" if note else "")
        return Measurement(check, name, float(value), unit, limits, ERROR, note=reason, **extra)
    verdict = limits.verdict(value) if limits else (NOT_APPLICABLE if value is None else INFO)
    return Measurement(check, name, None if value is None else float(value), unit, limits, verdict, **extra)
