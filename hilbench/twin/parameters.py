"""A fitted parameter's name, unit and bounds, and the groups the fit takes together (one kind of response each)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Parameter:
    name: str
    unit: str
    lower: float
    upper: float
    typical: float  # a plausible size (sets the excitation test's step for a parameter near zero)
    is_time: bool = True
    per_rated_kw: float | None = None  # the upper bound is this times the DUT's rated kW (a droop volume)

    def upper_for(self, rated_kw: float) -> float:
        return self.upper if self.per_rated_kw is None else self.per_rated_kw * rated_kw


@dataclass(frozen=True)
class Group:
    name: str
    kinds: tuple[str, ...]  # the kinds of stored response (hilbench.twin.procedures) it is fitted on
    parameters: tuple[Parameter, ...]
    #: parameters acting together on a staircase: searched together before the scans (scipy's differential
    #: evolution with these settings: popsize, maxiter)
    global_search: tuple[int, int] | None = None
