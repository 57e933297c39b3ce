"""Whether an emulated bench kept its time during a check.

The emulator measures its own lag (``hilbench.emulation.lag``); a run opens one window per check and judges
every figure the check takes against it, with the check's time resolution (the plan's ``resolution_s`` for the
check, else the one its check type declares):

* **Sustained lag** (the 99th percentile of the window's plant requests) beyond the resolution means the
  emulation could not keep up at this time scale: every figure is an ``error``, never a pass or a fail.
* **A single stall** beyond the resolution (a machine that paused the process for tens of milliseconds, which at
  x20 is a second of plant time) can shift one sample or one command by that much.  A time figure that lies
  closer than the stall to one of its limits is then an ``error`` (the stall could have carried it across) - if
  the stall fell inside the interval the figure measures (its instrument time minus its value to its instrument
  time, widened by the resolution), or anywhere in the check when the figure has no instrument time.  A stall
  elsewhere cannot move it (a response timed at plant 10 s is not moved by a pause at plant 476 s); any other
  figure keeps its verdict with a note naming the stall.

Checks whose figures do not depend on when an instrument answered declare no resolution: their lag is
recorded, not judged.  A real bench keeps real time and has no window.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

SUSTAINED_PERCENTILE = 99.0


@dataclass
class CheckTimekeeping:
    window: object  # hilbench.emulation.lag.LagWindow, duck-typed: the plugin does not import the emulation
    meter: object
    resolution_s: float | None

    @classmethod
    def open(cls, emulated: object | None, resolution_s: float | None) -> CheckTimekeeping | None:
        plant = getattr(emulated, "plant", None)
        if plant is None:
            return None  # a real bench, or emulators in another process (their lag is not visible here)
        # The emulator shares this interpreter: a full garbage collection over everything the run has made (boards'
        # histories, pytest's and allure's objects) stalls it for ~0.1 s, which at x20 is 2 s of plant time in the
        # middle of a check.  Collect now, between checks, and exempt the survivors from later collections.
        gc.collect()
        gc.freeze()
        return cls(plant.lag.open_window(stall_floor=resolution_s), plant.lag, resolution_s)

    def assess(self, value: float, unit: str, limits, instrument_time: float | None = None) -> tuple[str, str]:
        """(why the figure cannot be judged, or ""; a note for the record, or "") for a figure taken now;
        ``instrument_time``: the plant time the figure's interval ends (a time figure spans ``value`` before it)."""
        resolution = self.resolution_s
        if resolution is None:
            return "", ""
        window = self.window
        scale = f"time scale x{window.time_scale:g}"
        sustained = window.percentile(SUSTAINED_PERCENTILE)
        if sustained > resolution:
            return (
                f"emulation could not keep up at {scale}: 1 % of its plant requests lagged more than "
                f"{sustained:.3g} s of plant time, beyond the check's resolution {resolution:g} s; "
                "run at a lower --time-scale",
                "",
            )
        if window.worst <= resolution:
            return "", ""
        where = f"one emulator stall of {window.worst:.3g} s of plant time (at plant {window.worst_at:.1f} s, {scale})"
        holds = f"{where}, beyond the check's resolution {resolution:g} s: the verdict holds with that margin"
        if unit != "s":
            return "", holds
        stall = (window.worst_at, window.worst)
        if instrument_time is not None:
            stall = window.worst_stall_within(instrument_time - value - resolution, instrument_time + resolution)
            if stall is None:
                return "", f"{where}, outside the {value:g} s this time measures: the verdict holds"
        at, lag = stall
        bounds = [b for b in (getattr(limits, "low", None), getattr(limits, "high", None)) if b is not None]
        if any(abs(value - bound) <= lag for bound in bounds):
            return (
                f"one emulator stall of {lag:.3g} s of plant time (at plant {at:.1f} s, {scale})"
                f"{' inside the interval this time measures' if instrument_time is not None else ''} could have moved "
                "this time across its limit; run at a lower --time-scale",
                "",
            )
        return "", holds

    def close(self) -> dict:
        self.meter.close_window(self.window)
        return {**self.window.summary(self.resolution_s), "kept_up": self._kept_up()}

    def _kept_up(self) -> bool:
        if self.resolution_s is None:
            return True
        return self.window.percentile(SUSTAINED_PERCENTILE) <= self.resolution_s
