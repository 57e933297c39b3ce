"""Whether an emulated bench kept its time during a check.

The emulator measures its own lag (``hilbench.emulation.lag``); a run opens one window per check and every
figure the check takes is judged against the worst lag so far: a lag longer than the check's time resolution
(the plan's ``resolution_s`` for the check, else the one its check type declares) means the emulation, not the
DUT, may have decided the figure, so the figure's verdict is ``error`` with the reason, never a pass or a fail.
Checks whose figures do not depend on when an instrument answered declare no resolution: their lag is recorded,
not judged.  A real bench keeps real time and has no window.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass


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

    def untrusted(self) -> str:
        """Why the figures taken so far cannot be judged ("" while the emulation keeps up)."""
        worst = self.window.worst
        if self.resolution_s is None or worst <= self.resolution_s:
            return ""
        return (
            f"emulation could not keep up at time scale x{self.window.time_scale:g}: it lagged {worst:.3g} s of "
            f"plant time (at plant {self.window.worst_at:.1f} s), more than the check's resolution "
            f"{self.resolution_s:g} s; run at a lower --time-scale"
        )

    def close(self) -> dict:
        self.meter.close_window(self.window)
        return self.window.summary(self.resolution_s)
