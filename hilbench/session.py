"""A bench in use: drivers opened on demand from the (resolved) bench file, and a guaranteed,
time-boxed return to the safe state on every way out (pass, fail, exception, Ctrl-C)."""

from __future__ import annotations

import logging
import threading

from hilbench.bench import Bench
from hilbench.drivers import open_driver

log = logging.getLogger(__name__)

#: Order of the safe state: stop drawing extra power first, then the DUT, then the supply.
SAFE_ORDER = ("load", "controller", "boards", "hashboard", "grid", "analyser", "meter")


class BenchSession:
    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self._drivers: dict[str, object] = {}
        self._lock = threading.Lock()
        self.identities: dict[str, str] = {}

    def driver(self, role: str):
        with self._lock:
            if role not in self._drivers:
                driver = open_driver(self.bench.role(role))
                self._drivers[role] = driver
                try:
                    self.identities[role] = driver.identify()
                except Exception as exc:  # identity is for the report; the check will meet the fault itself
                    self.identities[role] = f"unidentified: {exc}"
            return self._drivers[role]

    def has_role(self, role: str) -> bool:
        return role in self.bench.roles

    def safe_state(self, timeout_s: float = 10.0) -> list[str]:
        """Every opened driver to its safe state, each within ``timeout_s``; returns the problems."""
        problems = []
        for role in sorted(self._drivers, key=lambda r: SAFE_ORDER.index(r) if r in SAFE_ORDER else 99):
            driver = self._drivers[role]
            outcome: list[BaseException] = []

            def work(d=driver, out=outcome):
                try:
                    d.safe_state()
                except BaseException as exc:  # reported below; the next role still gets its turn
                    out.append(exc)

            thread = threading.Thread(target=work, name=f"safe-state-{role}", daemon=True)
            thread.start()
            thread.join(timeout_s)
            if thread.is_alive():
                problems.append(f"{role}: safe state not confirmed within {timeout_s:g} s")
            elif outcome:
                problems.append(f"{role}: safe state failed: {outcome[0]}")
        for problem in problems:
            log.error(problem)
        return problems

    def close(self) -> None:
        for driver in self._drivers.values():
            try:
                driver.close()
            except Exception as exc:
                log.warning("closing a driver failed: %s", exc)
        self._drivers.clear()
