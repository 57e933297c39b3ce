"""Starting values for a droop fit read off the record itself: the power shed at each update against the
frequency a relay delay earlier, while the frequency falls or holds, fitted by a continuous response curve
(volume x a deadband-knee-full line).

The emulated controller sheds round(volume x curve / board power) boards, so the record is a staircase and a
search over the curve from the template's values can settle on a shape that misses one held level by a board.
Fitting the curve's continuous form to the staircase first puts the search in the right basin; the scans
(hilbench.twin.scan_fit) then find the intervals the records leave open."""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from hilbench.emulation.power_model import power_model
from hilbench.twin.model import ContainerModel
from hilbench.twin.procedures import (
    StoredResponse,
    droop_program_start,
    frequency_levels,
    record_nominal,
    with_defaults,
)  # fmt: skip


def droop_reading(r: StoredResponse, model: ContainerModel) -> dict[str, float] | None:
    """Volume, deadband, knee (Hz and percent), full-response frequency and relay delay that best draw the power
    shed against the frequency as a continuous curve; None when the record shows no shed power."""
    params = with_defaults(r, "frequency_response")
    f = np.asarray(r.extra["frequency"], dtype=float)
    nominal = record_nominal(f)
    try:
        start = droop_program_start(r, frequency_levels(params, nominal, 1.0))
    except (OSError, ValueError):  # a trajectory that cannot be rebuilt: no reading (the simulation says why)
        return None
    before = r.time < start
    if before.sum() < 2:
        return None
    shed = float(np.median(r.p_total[before])) - r.p_total
    if shed.max() < 0.5 * power_model(model.board_profile()).ladder_entry("default").watts:
        return None
    # only while the frequency falls or holds at its lowest: a board the curve gives back boots again (a minute
    # or more), so the power after the frequency rises says nothing of the curve
    lowest = np.flatnonzero(f <= f.min() + 1e-3)
    after = (r.time >= start) & (r.time <= r.time[lowest[-1]])

    def curve(x: np.ndarray, deviation: np.ndarray) -> np.ndarray:
        volume, deadband, to_knee, knee, to_full = x
        points = [deadband, deadband + to_knee, deadband + to_knee + to_full]
        return volume * 1000 * np.interp(deviation, points, [0.0, knee, 1.0], left=0.0, right=1.0)

    def residual(x: np.ndarray, delay: float) -> np.ndarray:
        seen = nominal - np.interp(r.time[after] - delay, r.time, f)
        return (curve(x, seen) - shed[after]) / r.rated_w

    bounds = ([0.0, 0.0, 1e-3, 0.0, 1e-3], [r.rated_w / 1000, 1.0, 1.0, 1.0, 2.0])
    x0 = np.clip([shed.max() / 1000, 0.015, 0.2, 0.05, 0.3], *bounds)  # a noisy full shed may exceed the rating
    best = None
    for delay in np.arange(0.0, 1.0001, 0.05):  # the relay delay: one update's steps, the curve fitted at each
        fitted = least_squares(residual, x0, args=(float(delay),), bounds=bounds, loss="soft_l1", f_scale=0.01)
        if best is None or fitted.cost < best[0]:
            best = (fitted.cost, fitted.x, float(delay))
    _, (volume, deadband, to_knee, knee, to_full), delay = best
    return {
        "droop_volume_kw": float(volume), "droop_deadband_hz": float(deadband),
        "droop_knee_hz": float(deadband + to_knee), "droop_knee_percent": float(knee * 100),
        "droop_full_hz": float(deadband + to_knee + to_full), "droop_delay_s": delay,
    }  # fmt: skip
