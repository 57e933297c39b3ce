"""Chroma 63800 series AC/DC electronic load (VISA, SCPI), in constant-power mode.

Commands: Chroma 63800 Series Operation & Programming Manual (MODE, POWer, LOAD, MEASure).
Optionally follows the modelled power of boards absent from a real bench ("load follower").
"""

from __future__ import annotations

from hilbench.bench import RoleSpec
from hilbench.drivers.limits import check
from hilbench.transports.visa import VisaTransport


class Chroma63800:
    def __init__(self, transport: VisaTransport, *, limits: dict | None = None, name: str = "load") -> None:
        self.transport, self.limits, self.name = transport, limits or {}, name

    @classmethod
    def from_spec(cls, spec: RoleSpec) -> Chroma63800:
        transport = VisaTransport(spec.role, spec.address, backend=spec.settings.get("visa_backend", "@py"))
        return cls(transport, limits=spec.limits, name=spec.role)

    def identify(self) -> str:
        return self.transport.query("*IDN?")

    def set_power(self, watts: float) -> None:
        check(watts, self.limits, None, "max_power_w", "power", "W", self.name)
        if watts < 0:
            raise ValueError(f"{self.name}: negative power {watts} W")
        self.transport.configure("MODE CP", f"POW {watts:.2f}")

    def on(self) -> None:
        self.transport.configure("LOAD ON")

    def off(self) -> None:
        self.transport.configure("LOAD OFF")

    def measure_power(self) -> float:
        return self.transport.query_float("MEAS:POW?")

    def follow(self, modelled_watts: float) -> None:
        """Load follower: draw what the absent boards would draw (bounded by the bench limit)."""
        self.set_power(modelled_watts)

    def safe_state(self) -> None:
        self.transport.configure("LOAD OFF")

    def close(self) -> None:
        self.transport.close()
