"""Chroma 63800 series AC/DC electronic load (VISA, SCPI), in constant-power mode.

Commands: Chroma 63800 Series Operation & Programming Manual p.8-13 (``[LOAD:]MODE
CURR|POW|VOLT|RES|RLC|RLCP|INRUSH|RECT``; ``[:LOAD]:POW``; ``:LOAD ON|OFF``; ``:MEAS:POW:REAL?``),
cross-checked with a public Python driver for the 63802 (docs/references/instrument_commands.md).
"""

from __future__ import annotations

from hilbench.core.roles import LoadReading, SafeStateReport
from hilbench.core.unverified import Query, Unverified
from hilbench.drivers.limits import check
from hilbench.spec.role_spec import RoleSpec
from hilbench.transports.errors import MalformedReply
from hilbench.transports.visa import VisaTransport


class Chroma63800:
    role = "load"
    unverified = (
        Unverified(
            "error_query", "SYST:ERR?", "the SCPI error queue; its page was not read", probe=(Query("SYST:ERR?"),)
        ),
    )

    def __init__(self, transport: VisaTransport, *, limits: dict | None = None, name: str = "load") -> None:
        self.transport, self.limits, self.name = transport, limits or {}, name

    @classmethod
    def from_spec(cls, spec: RoleSpec) -> Chroma63800:
        transport = VisaTransport(
            spec.role,
            spec.address,
            timeout_s=float(spec.settings.get("timeout_s", 5.0)),  # bench check and the probe cut it short
            backend=spec.settings.get("visa_backend", "@py"),
        )
        return cls(transport, limits=spec.limits, name=spec.role)

    def identify(self) -> str:
        return self.transport.query("*IDN?")

    def set_power(self, watts: float) -> None:
        """Constant-power mode at ``watts`` (refused beyond the bench limit, never clipped)."""
        check(watts, self.limits, None, "max_power_w", "power", "W", self.name)
        if watts < 0:
            raise ValueError(f"{self.name}: negative power {watts} W")
        self.transport.configure("MODE POW", f"POW {watts:.2f}")

    def output(self, on: bool) -> None:
        self.transport.configure(f"LOAD {'ON' if on else 'OFF'}")

    def read(self) -> LoadReading:
        power = self.transport.query_float("MEAS:POW:REAL?")
        state = self.transport.query("LOAD?").strip().upper()
        if state not in ("ON", "OFF", "1", "0"):
            raise MalformedReply(self.name, self.transport.resource, "LOAD?", f"expected ON or OFF, got {state!r}")
        return LoadReading(power, state in ("ON", "1"))

    def safe_state(self) -> None:
        """Input off: the load draws nothing."""
        self.output(False)

    def read_safe_state(self) -> SafeStateReport:
        """The load input reads OFF (C1 :LOAD?)."""
        state = self.transport.query("LOAD?").strip().upper()
        return SafeStateReport(state in ("OFF", "0"), f"input {state}")

    def close(self) -> None:
        self.transport.close()
