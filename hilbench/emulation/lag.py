"""How far the emulator falls behind its own plant clock.

Plant time runs with the wall clock (x ``time_scale``), so every millisecond the emulator spends on a
request - computing the site's power, replaying the controller's ticks, waiting for the plant's lock while
another instrument is served - is plant time that passed before the answer left.  At x50 one millisecond is
50 ms of plant time: an analyser that should update every 50 ms cannot, and a figure read from it is coarser
than the check promises.  The meter measures that lag on every plant request; a run opens a window per check,
records it, and judges the check's figures by it (hilbench.plans.timekeeping: an ``error``, never a DUT verdict).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from hilbench.emulation.clock import Clock

#: Lags kept per window for its percentile (a check at x1 polling 20 Hz for an hour stays far below this).
WINDOW_SAMPLES = 500_000
#: Stalls (lags beyond the window's floor) kept with their plant time; more than this and the window says so.
WINDOW_STALLS = 10_000


@dataclass
class LagWindow:
    """The lags of every plant request from when the window opened until it closed."""

    time_scale: float
    #: lags beyond this are kept as stalls with their plant time (None: only the worst is kept)
    stall_floor: float | None = None
    lags: list[float] = field(default_factory=list)
    worst: float = 0.0
    worst_at: float | None = None
    requests: int = 0
    stalls: list[tuple[float, float]] = field(default_factory=list)  # (plant time the request began, lag)
    stalls_dropped: int = 0

    def add(self, start: float, lag: float) -> None:
        self.requests += 1
        if lag > self.worst:
            self.worst, self.worst_at = lag, start
        if len(self.lags) < WINDOW_SAMPLES:
            self.lags.append(lag)
        if self.stall_floor is not None and lag > self.stall_floor:
            if len(self.stalls) < WINDOW_STALLS:
                self.stalls.append((start, lag))
            else:
                self.stalls_dropped += 1

    def worst_stall_within(self, begin: float, end: float) -> tuple[float, float] | None:
        """The worst kept stall overlapping plant times [begin, end] as (time, lag); None if there is none.  A
        window that had to drop stalls cannot say where they were: its worst stall is returned whatever its time."""
        if self.stalls_dropped:
            return (self.worst_at or 0.0, self.worst)
        inside = [(at, lag) for at, lag in self.stalls if at <= end and at + lag >= begin]
        return max(inside, key=lambda stall: stall[1]) if inside else None

    def percentile(self, q: float) -> float:
        if not self.lags:
            return 0.0
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    def summary(self, resolution_s: float | None) -> dict:
        """What the run records (how it is judged is hilbench.plans.timekeeping's); ``resolution_s`` None: the check's
        figures do not depend on the lag."""
        return {
            "time_scale": self.time_scale,
            "requests": self.requests,
            "max_lag_s": self.worst,
            "max_lag_at_s": self.worst_at,
            "p99_lag_s": self.percentile(99),
            "median_lag_s": self.percentile(50),
            "resolution_s": resolution_s,
            "stalls_beyond_resolution": len(self.stalls) + self.stalls_dropped,
        }


class LagMeter:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: list[LagWindow] = []
        self._depth = threading.local()
        self.worst = 0.0  # since the emulator started

    @contextmanager
    def measuring(self) -> Iterator[None]:
        """Around one plant request (nested requests count once, for the outermost)."""
        if getattr(self._depth, "value", 0):
            yield
            return
        self._depth.value = 1
        start = self.clock.now()
        try:
            yield
        finally:
            self._depth.value = 0
            lag = self.clock.now() - start
            with self._lock:
                self.worst = max(self.worst, lag)
                for window in self._windows:
                    window.add(start, lag)

    def open_window(self, stall_floor: float | None = None) -> LagWindow:
        """A window over the requests from now on; lags beyond ``stall_floor`` are kept with their time."""
        window = LagWindow(self.clock.time_scale, stall_floor)
        with self._lock:
            self._windows.append(window)
        return window

    def close_window(self, window: LagWindow) -> LagWindow:
        with self._lock:
            if window in self._windows:
                self._windows.remove(window)
        return window
