"""A bench in use: drivers opened on demand from the (resolved) bench file, each once.

The order and time box of the safe state belong to the bench strategy (hilbench.bench.strategy)."""

from __future__ import annotations

import contextlib
import logging
import threading

from hilbench.core.errors import HilbenchError
from hilbench.drivers import open_driver
from hilbench.spec.bench_file import Bench

log = logging.getLogger(__name__)


class BenchSession:
    def __init__(self, bench: Bench, *, guard=None) -> None:
        """``guard``: an object with ``wrap(role, driver)`` (hilbench.bench.interlocks.InterlockMonitor) that every
        driver of the run is handed out through."""
        self.bench = bench
        self.guard = guard
        self._drivers: dict[str, object] = {}
        self._lock = threading.Lock()
        self.identities: dict[str, str] = {}

    def driver(self, role: str):
        with self._lock:
            if role not in self._drivers:
                driver = open_driver(self.bench.role(role))
                try:
                    self.identities[role] = driver.identify()
                except HilbenchError as exc:  # an instrument that cannot say who it is fails the check that opens it
                    self.identities[role] = f"unidentified: {exc}"
                    with contextlib.suppress(Exception):
                        driver.close()
                    raise
                except Exception as exc:  # a driver's own quirk: identity is for the report only
                    self.identities[role] = f"unidentified: {exc}"
                self._drivers[role] = driver if self.guard is None else self.guard.wrap(role, driver)
            return self._drivers[role]

    def set_guard(self, guard) -> None:
        """Hand out every driver, those already opened included, through ``guard.wrap(role, driver)``."""
        with self._lock:
            self.guard = guard
            self._drivers = {role: guard.wrap(role, driver) for role, driver in self._drivers.items()}

    def has_role(self, role: str) -> bool:
        return role in self.bench.roles

    def opened(self) -> dict[str, object]:
        """The drivers opened so far (role -> driver)."""
        with self._lock:
            return dict(self._drivers)

    def close(self) -> None:
        for driver in self._drivers.values():
            try:
                driver.close()
            except Exception as exc:
                log.warning("closing a driver failed: %s", exc)
        self._drivers.clear()
