"""Does a second run reproduce the first one's figures?  The tolerances a twin is held to (issue 20), per figure:

- a time (unit s): within the check's time resolution (the plan's or the check type's ``resolution_s``); a check
  with no resolution (power-quality figures over long records) within 10 %;
- a power or energy (W, kW, kWh, a percentage of rated power): within 2 % (relative for W, kW and kWh; 2
  percentage points of rated power for a percentage);
- a ramp rate (kW/s): within 5 %, a power over a time measured at the check's resolution (decision, recorded in
  docs/twin.md);
- a harmonic or flicker figure (ratios, THD, TDD, Pst, d): within 10 %;
- the power factor within 0.01; a flag (unit bool) equal; a count (shares found by hashing: random) not judged;
- and in every case the same verdict.  A figure whose verdict at the source is ``error`` (not measured, or
  untrusted: an emulated bench that fell behind its clock) is not judged: there is nothing to reproduce.
"""

from __future__ import annotations

from dataclasses import dataclass

from hilbench.report.compare import ComparedFigure

#: measurement names judged as harmonic or flicker figures (10 %)
POWER_QUALITY = {
    "worst_ratio", "tdd_percent", "thd_current_percent", "thd_voltage_percent", "pst", "plt", "dc_percent",
    "dmax_percent",
}  # fmt: skip
POWER_PERCENT = {
    "min_power_percent", "max_power_percent", "overshoot_percent", "steady_error_percent", "tracking_error_percent",
}  # fmt: skip
RELATIVE_PQ = 0.10
RELATIVE_POWER = 0.02
RELATIVE_RATE = 0.05
POWER_FACTOR_ABS = 0.01


@dataclass(frozen=True)
class Agreement:
    figure: ComparedFigure
    tolerance: str  # how it is judged, for the table
    within: bool | None  # None: not judged (a count, or a figure only one run has)
    why: str = ""


def tolerance_for(figure: ComparedFigure, resolution_s: float | None) -> tuple[str, float | None, bool]:
    """(description, allowed difference or None, relative?) for this figure."""
    name, unit = figure.name, figure.unit
    if unit == "bool":
        return "equal", 0.0, False
    if unit == "count":
        return "verdict only", None, False
    if name in POWER_QUALITY:
        return "10 %", RELATIVE_PQ, True
    if name.startswith("power_factor"):
        return "0.01", POWER_FACTOR_ABS, False
    if unit == "s":
        if resolution_s is None:
            return "10 %", RELATIVE_PQ, True
        return f"{resolution_s:g} s", resolution_s, False
    if unit == "kW/s":
        return "5 %", RELATIVE_RATE, True
    if unit in ("W", "kW", "kWh"):
        return "2 %", RELATIVE_POWER, True
    if unit == "%" and name in POWER_PERCENT:
        return "2 points", 2.0, False
    return "10 %", RELATIVE_PQ, True


def agreement(rows: list[ComparedFigure], resolution_of: dict[str, float | None]) -> list[Agreement]:
    """Each figure of the second run against the first's (the reference)."""
    judged = []
    for row in rows:
        text, allowed, relative = tolerance_for(row, resolution_of.get(row.check))
        a, b = row.values[0], row.values[1] if len(row.values) > 1 else None
        if row.verdicts[0] == "error":  # untrusted or not measured at the source: there is no figure to reproduce
            judged.append(Agreement(row, text, None, "the source's figure is an error: nothing to reproduce"))
            continue
        if row.verdicts[0] != (row.verdicts[1] if len(row.verdicts) > 1 else None):
            judged.append(Agreement(row, text, False, f"verdict {row.verdicts[0]} -> {row.verdicts[1]}"))
            continue
        if allowed is None or a is None or b is None:
            judged.append(Agreement(row, text, None, "not judged" if allowed is None else "not measured"))
            continue
        limit = allowed * abs(a) if relative else allowed
        difference = abs(b - a)
        within = difference <= limit + 1e-12
        judged.append(Agreement(row, text, within, "" if within else f"differs by {difference:.4g} > {limit:.4g}"))
    return judged
