"""The plant clock: the one time base of the emulated plant.

Every state change and sample of the plant is stamped in plant seconds since the
clock started.  ``time_scale`` makes plant time run faster than the host (100x in CI)
so that a 90 s boot takes 0.9 s of wall time, while every verdict computed from plant
stamps stays the same at any scale.  ``ManualClock`` is for unit tests of pure logic.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """What the plant needs from a clock."""

    time_scale: float

    def now(self) -> float:
        """Plant seconds since the clock started."""
        ...

    def epoch(self) -> float:
        """Plant time as a Unix epoch (wall start + plant elapsed), for API 'When' fields."""
        ...


class PlantClock:
    """Plant time = wall monotonic elapsed x ``time_scale``."""

    def __init__(self, time_scale: float = 1.0) -> None:
        if not time_scale > 0:
            raise ValueError(f"time scale must be positive, got {time_scale!r}")
        self.time_scale = float(time_scale)
        self._start_monotonic = time.monotonic()
        self._start_epoch = time.time()

    def now(self) -> float:
        return (time.monotonic() - self._start_monotonic) * self.time_scale

    def epoch(self) -> float:
        return self._start_epoch + self.now()

    @property
    def started_at(self) -> float:
        """Unix time of plant time zero: a record's wall time w is plant time (w - started_at) x time_scale."""
        return self._start_epoch

    def wall_seconds(self, plant_seconds: float) -> float:
        """How long the host waits for ``plant_seconds`` of plant time to pass."""
        return max(0.0, plant_seconds) / self.time_scale

    def sleep(self, plant_seconds: float) -> None:
        time.sleep(self.wall_seconds(plant_seconds))


class ManualClock:
    """A clock that only moves when told to (unit tests of the board model)."""

    def __init__(self, start: float = 0.0, time_scale: float = 1.0) -> None:
        self.time_scale = time_scale
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def epoch(self) -> float:
        return 1_700_000_000.0 + self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now
