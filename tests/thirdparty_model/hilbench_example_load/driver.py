"""Driver of the Example EL-1000 load: the role protocol hilbench.roles.Load, on hilbench's VISA transport."""

from __future__ import annotations

from hilbench.drivers.limits import check
from hilbench.role_spec import RoleSpec
from hilbench.roles import LoadReading, SafeStateReport
from hilbench.transports.visa import VisaTransport


class ExampleEL1000:
    role = "load"

    def __init__(self, transport: VisaTransport, *, limits: dict | None = None) -> None:
        self.transport, self.limits = transport, limits or {}

    @classmethod
    def from_spec(cls, spec: RoleSpec) -> ExampleEL1000:
        return cls(VisaTransport(spec.role, spec.address), limits=spec.limits)

    def identify(self) -> str:
        return self.transport.query("*IDN?")

    def set_power(self, watts: float) -> None:
        check(watts, self.limits, None, "max_power_w", "power", "W", self.transport.name)
        self.transport.configure("FUNC POW", f"POW {watts:.1f}")

    def output(self, on: bool) -> None:
        self.transport.configure(f"INP {'ON' if on else 'OFF'}")

    def read(self) -> LoadReading:
        return LoadReading(self.transport.query_float("MEAS:POW?"), self.transport.query("INP?") == "1")

    def safe_state(self) -> None:
        self.output(False)

    def read_safe_state(self) -> SafeStateReport:
        state = self.transport.query("INP?").strip()
        return SafeStateReport(state == "0", f"input {'OFF' if state == '0' else state}")

    def close(self) -> None:
        self.transport.close()
