"""Parameters whose effect is a count or a threshold, fitted by scanning the simulation rather than by gradient.

Droop sheds whole boards (the controller rounds volume x curve / board power to a count): moving the volume by
less than a board's power moves no sample, so least squares sees a zero gradient almost everywhere.  A PSU's
under-voltage lock-out either drops the boards in a sag or it does not.  The misfit of such a parameter is a
staircase.  Each one is scanned over its range (a coarse grid, then twice finer around the least misfit), both
ends of the interval over which the misfit stays at its least are found by bisection, and the estimate is the
template's value when it lies inside that interval (the records cannot prefer another), else its centre; its
uncertainty is the interval's width / sqrt(12) (for a time, with one update added in quadrature: its event is
placed within one): the records determine it no closer with the group's other
parameters held (a slice: parameters that trade against each other, a droop curve's points and its relay delay
on a ramp, have wider joint intervals).  A group whose parameters act together is first searched jointly
(differential evolution from the better of the template's values and a reading of the record), then scanned in
turn, twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import differential_evolution

from hilbench.twin.droop_reading import droop_reading
from hilbench.twin.estimates import FITTED, NOT_EXCITED, NOT_FITTED, Estimate
from hilbench.twin.model import ContainerModel
from hilbench.twin.parameters import Group, Parameter
from hilbench.twin.procedures import ProcedureError, StoredResponse, misfit

SCANNED_GROUPS = (
    Group(
        "droop",
        ("droop",),
        (
            Parameter("droop_volume_kw", "kW", 0.0, 5000.0, 50.0, is_time=False, per_rated_kw=1.0),
            Parameter("droop_full_hz", "Hz", 0.0, 2.0, 0.5, is_time=False),
            Parameter("droop_knee_hz", "Hz", 0.0, 1.0, 0.2, is_time=False),
            Parameter("droop_knee_percent", "%", 0.0, 100.0, 5.0, is_time=False),
            Parameter("droop_deadband_hz", "Hz", 0.0, 0.5, 0.015, is_time=False),
            Parameter("droop_delay_s", "s", 0.0, 2.0, 0.2),
        ),
        global_search=(15, 60),  # the curve's points and the delay all move when a board is shed on a ramp
    ),
    Group(
        "ride-through",
        ("ride_through",),
        (
            Parameter("psu_uvlo_pu", "pu", 0.0, 1.0, 0.45, is_time=False),
            Parameter("psu_holdup_s", "s", 0.0, 2.0, 0.03),
            Parameter("restart_stagger_s", "s", 0.0, 10.0, 0.1),
        ),
        global_search=(10, 30),  # a sag the PSUs hold through may be short of the hold-up or above the lock-out
    ),
)
ROUNDS = 2  # each parameter of a group scanned this many times, in turn
GRID = 21  # points per scan level (a coarse one over the range, two finer ones around the least misfit)
BISECTIONS = 14  # per end of the least-misfit interval: 2^-14 of a grid step
#: the joint search of a global_search group (scipy's differential evolution, deterministic seed)
SEARCH = {"tol": 0.0, "polish": False, "seed": 20}
#: a parameter is excited when moving it over its range moves the simulated responses' r.m.s. misfit by more
#: than this (per-unit of rated), as hilbench.twin.fit's least-squares groups judge it
EXCITATION_PU = 1e-3
#: the kinds of response whose grid event the analyser saw only to within an update (placed by place_events)
#: (an emergency stop's command too: its time is the middle of the analyser updates read around the write)
PLACED_KINDS = ("frequency_trip", "emergency", "droop", "ride_through")


@dataclass(frozen=True)
class Scanned:
    value: float
    low: float  # the interval over which the misfit stays at its least
    high: float
    least: float  # that misfit: sum of squares, per-unit of rated
    most: float  # the largest finite misfit seen over the range


def scan_group(
    group: Group,
    responses: list[StoredResponse],
    model: ContainerModel,
    estimates: dict[str, Estimate],
    progress: Callable[[str], None],
) -> tuple[ContainerModel, list[StoredResponse]]:
    """The group's parameters scanned in turn against its responses (searched together first when they act
    together), the responses' grid events placed inside their updates, and scanned once more; estimates written
    into ``estimates``.  Returns the model and the responses with their events placed."""
    used = [r for r in responses if r.kind in group.kinds]
    if not used:
        for p in group.parameters:
            why = f"no {' or '.join(group.kinds)} record in the run"
            estimates[p.name] = Estimate(p.name, model.value(p.name), p.unit, NOT_EXCITED, note=why)
        return model, responses
    checks = [r.check for r in used]
    progress(f"fit: {group.name} ({', '.join(p.name for p in group.parameters)}) on {', '.join(checks)}, scanned")
    rated_kw = used[0].rated_w / 1000
    current = {p.name: float(model.value(p.name)) for p in group.parameters}
    if group.global_search is not None:
        current = _search_together(group, used, model, current, rated_kw)
    found = _scan_in_turn(group, used, model, current, rated_kw, ROUNDS)
    placed = place_events(used, model.with_values({k: s.value for k, s in found.items()}), progress, group.kinds)
    if any(r.extra.get("event_shift_s") for r in placed):
        used = placed
        found = _scan_in_turn(group, used, model, {k: s.value for k, s in found.items()}, rated_kw, 1)
        by_check = {r.check: r for r in placed}
        responses = [by_check.get(r.check, r) for r in responses]
    samples = sum(len(r.time) for r in used)
    sample = min(r.sample_period() for r in used)
    values = {}
    for p in group.parameters:
        s = found[p.name]
        upper = p.upper_for(rated_kw)
        if not np.isfinite(s.least):
            estimates[p.name] = Estimate(
                p.name, model.value(p.name), p.unit, NOT_FITTED, sources=checks,
                note="no value over its range could be simulated: the template's value is kept",
            )  # fmt: skip
            continue
        moved = np.sqrt(s.most / samples) - np.sqrt(s.least / samples)
        if not moved >= EXCITATION_PU:
            estimates[p.name] = Estimate(
                p.name, model.value(p.name), p.unit, NOT_EXCITED, sources=checks,
                note=f"moving it over {p.lower:g}-{upper:g} {p.unit} moves {group.name}'s simulated responses by "
                f"less than {EXCITATION_PU * 100:g} % of rated r.m.s.: the template's value is kept",
            )  # fmt: skip
            continue
        # a time also carries its event's own place inside one update (hilbench.twin.scan_fit.place_events trades
        # it against the parameter: a hold-up 10 ms longer and a sag placed 10 ms earlier drop the boards alike)
        width = s.high - s.low
        sigma = float(np.hypot(width, sample if p.is_time else 0.0)) / np.sqrt(12)
        bound = [f"the scan's {end} ({edge:g})" for end, edge in (("lower end", p.lower), ("upper end", upper))
                 if edge in (s.low, s.high)]  # fmt: skip
        values[p.name] = round(s.value, 5)
        estimates[p.name] = Estimate(
            p.name, round(s.value, 5), p.unit, FITTED, float(sigma), checks,
            f"scanned: the misfit is least ({np.sqrt(s.least / samples) * 100:.3g} % of rated r.m.s. over {samples} "
            f"samples) from {s.low:.4g} to {s.high:.4g} {p.unit} with the group's others held"
            + (f", reaching {' and '.join(bound)}: a bound, not a value" if bound else "")
            + ("; the template's value lies inside and is kept" if s.value == float(model.value(p.name)) else ""),
        )  # fmt: skip
    return model.with_values(values), responses


def _cost(used: list[StoredResponse], model: ContainerModel) -> Callable[[dict[str, float]], float]:
    """Sum of squared misfit for a set of values, remembered (a scan's bisections revisit its points)."""
    seen: dict[tuple, float] = {}

    def cost(values: dict[str, float]) -> float:
        key = tuple(sorted(values.items()))
        if key not in seen:
            try:
                seen[key] = float(np.sum(misfit(used, model.with_values(values)) ** 2))
            except (ValueError, ProcedureError):  # e.g. a droop curve whose points are out of order
                seen[key] = np.inf
        return seen[key]

    return cost


def _scan_in_turn(group, used, model, current: dict[str, float], rated_kw: float, rounds: int) -> dict[str, Scanned]:
    cost = _cost(used, model)
    current, found = dict(current), {}
    for _ in range(rounds):
        for p in group.parameters:
            found[p.name] = scan(
                p, lambda x, name=p.name: cost({**current, name: x}), current[p.name], rated_kw,
                keep=float(model.value(p.name)),
            )  # fmt: skip
            current[p.name] = found[p.name].value
    return found


def _search_together(group, used, model, current: dict[str, float], rated_kw: float) -> dict[str, float]:
    """Differential evolution over the group's box, started from the better of the template's values and a
    reading of the record (hilbench.twin.droop_reading): on a staircase a scan of one parameter at a time stops
    where no single move lowers the misfit."""
    cost = _cost(used, model)
    readings = [reading for r in used if r.kind == "droop" and (reading := droop_reading(r, model)) is not None]
    current = min([current, *readings], key=cost)
    names = [p.name for p in group.parameters]
    bounds = [(p.lower, p.upper_for(rated_kw)) for p in group.parameters]
    x0 = [float(np.clip(current[n], lo, hi)) for n, (lo, hi) in zip(names, bounds, strict=True)]
    result = differential_evolution(
        lambda x: min(cost(dict(zip(names, map(float, x), strict=True))), 1e30), bounds, x0=x0,
        popsize=group.global_search[0], maxiter=group.global_search[1], **SEARCH,
    )  # fmt: skip
    best = dict(zip(names, map(float, result.x), strict=True))
    return best if cost(best) <= cost(current) else current


def scan(
    p: Parameter, cost: Callable[[float], float], start: float, rated_kw: float = 0.0, keep: float | None = None
) -> Scanned:
    """The least-misfit interval of one parameter over its range (``start``: where a search left it) and the
    value taken from it: ``keep`` (the template's) when inside, else the interval's centre."""
    upper = p.upper_for(rated_kw)
    grid = np.linspace(p.lower, upper, GRID)
    costs = np.array([cost(float(x)) for x in grid])
    finite = costs[np.isfinite(costs)]
    most = float(finite.max()) if finite.size else np.inf
    for _ in range(2):  # twice finer around the least
        k = int(np.argmin(costs))
        grid = np.linspace(grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)], GRID)
        costs = np.array([cost(float(x)) for x in grid])
    k = int(np.argmin(costs))
    best, least = float(grid[k]), float(costs[k])
    start = float(np.clip(start, p.lower, upper))
    if cost(start) <= least:
        best, least = start, cost(start)
    tolerance = 1e-9 * least + 1e-15

    def edge(bound: float) -> float:
        inside, outside = best, bound
        if cost(outside) <= least + tolerance:
            return bound
        for _ in range(BISECTIONS + int(np.log2(GRID**2))):
            middle = 0.5 * (inside + outside)
            if cost(middle) <= least + tolerance:
                inside = middle
            else:
                outside = middle
        return inside

    low, high = edge(p.lower), edge(upper)
    value = keep if keep is not None and low <= keep <= high else 0.5 * (low + high)
    if cost(value) > least + tolerance:  # the least misfit is not one interval: its best point, not the middle
        value = best
    return Scanned(value, low, high, least, max(most, least))


def place_events(
    responses: list[StoredResponse], model: ContainerModel, progress: Callable[[str], None], kinds: tuple[str, ...]
) -> list[StoredResponse]:
    """Each grid event (a frequency trip's step, a droop trajectory's or a ride-through's start) placed inside the
    analyser update in which it was seen (its record time is known only to within that update): the place whose
    simulation matches the record best, the update's middle when the record cannot tell.  Without it, a trip
    seen one update early on one record and late on another leaves the fitted contactor time right for one and a
    whole update wrong for the other."""
    placed = []
    for r in responses:
        if r.kind not in PLACED_KINDS or r.kind not in kinds:
            placed.append(r)
            continue
        half = 0.5 * r.sample_period()
        bracket = Parameter("event_shift_s", "s", -half, half, half)

        def cost(shift: float, r: StoredResponse = r) -> float:
            moved = replace(r, extra={**r.extra, "event_shift_s": shift})
            try:
                return float(np.sum(misfit([moved], model) ** 2))
            except ProcedureError:
                return np.inf

        found = scan(bracket, cost, start=float(r.extra.get("event_shift_s", 0.0)), keep=0.0)
        placed.append(replace(r, extra={**r.extra, "event_shift_s": found.value}))
        if found.value:
            progress(f"fit: {r.check}'s event placed {found.value:+.3f} s from the middle of its update")
    return placed
