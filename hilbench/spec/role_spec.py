"""A bench role as data (labgrid's resource): what a driver is built from.  A leaf module, so a
driver needs nothing of the bench-file parser (or of anything behind it) to be constructed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Calibration:
    serial: str = ""
    certificate: str = ""
    due: dt.date | None = None

    def status(self, today: dt.date | None = None) -> str:
        if self.due is None:
            return "no calibration record"
        today = today or dt.date.today()
        return "valid" if self.due >= today else f"OVERDUE since {self.due.isoformat()}"

    def valid(self, today: dt.date | None = None) -> bool:
        return self.due is not None and self.due >= (today or dt.date.today())


@dataclass(frozen=True)
class RoleSpec:
    """One role of a bench: data only; drivers are built from it."""

    role: str
    driver: str
    address: str = "auto"
    limits: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    calibration: Calibration | None = None
    where: str = ""  # file:line, for error messages

    def with_address(self, address: str) -> RoleSpec:
        return replace(self, address=address)


def with_timeout_cap(spec: RoleSpec, timeout_s: float) -> RoleSpec:
    """The role with its transport's reply timeout cut to ``timeout_s`` (a bench check or the commissioning probe:
    an analyser's 20 s or a scope's 60 s is for long acquisitions, not for ``*IDN?`` or an unknown command)."""
    own = float(spec.settings.get("timeout_s", timeout_s))
    return replace(spec, settings={**spec.settings, "timeout_s": min(own, timeout_s)})
