"""Whether an emulated bench kept its time during a check.

The emulator measures its own lag (``hilbench.emulation.lag``); a run opens one window per check and judges
every figure the check takes against it, with the check's time resolution (the plan's ``resolution_s`` for the
check, else the one its check type declares):

* **Sustained lag** (the 99th percentile of the window's plant requests) beyond the resolution means the
  emulation could not keep up at this time scale: every figure is an ``error``, never a pass or a fail.
* **A single stall** beyond the resolution (the window's worst request: a machine that paused the process for
  tens of milliseconds, which at x20 is a second of plant time) can shift one sample or one command by that
  much.  A time figure that lies closer than the stall to one of its limits is then an ``error`` (the stall could
  have carried it across); any other figure keeps its verdict with a note naming the stall.

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
        return cls(plant.lag.open_window(), plant.lag, resolution_s)

    def assess(self, value: float, unit: str, limits) -> tuple[str, str]:
        """(why the figure cannot be judged, or ""; a note for the record, or "") for a figure taken now."""
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
        stall = window.worst
        if stall <= resolution:
            return "", ""
        where = f"one emulator stall of {stall:.3g} s of plant time (at plant {window.worst_at:.1f} s, {scale})"
        bounds = [b for b in (getattr(limits, "low", None), getattr(limits, "high", None)) if b is not None]
        if unit == "s" and any(abs(value - bound) <= stall for bound in bounds):
            return f"{where} could have moved this time across its limit; run at a lower --time-scale", ""
        return "", f"{where}, beyond the check's resolution {resolution:g} s: the verdict holds with that margin"

    def close(self) -> dict:
        self.meter.close_window(self.window)
        return {**self.window.summary(self.resolution_s), "kept_up": self._kept_up()}

    def _kept_up(self) -> bool:
        if self.resolution_s is None:
            return True
        return self.window.percentile(SUSTAINED_PERCENTILE) <= self.resolution_s
