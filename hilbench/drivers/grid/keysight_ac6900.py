"""Keysight AC6900 series programmable AC source as the grid simulator (VISA, SCPI).

Commands: Keysight AC6900 Series Operating and Programming Guide ([SOURce:]VOLTage,
FREQuency, OUTPut, MEASure, LIST subsystem with transient triggering).  Setpoints are
checked against the bench file's limits before anything is sent.
"""

from __future__ import annotations

from hilbench.core.roles import GridNominal, GridReading, SafeStateReport
from hilbench.drivers.grid import read_source_safe_state
from hilbench.drivers.limits import check
from hilbench.spec.role_spec import RoleSpec
from hilbench.transports.visa import VisaTransport


class KeysightAC6900:
    role = "grid"
    #: the guide's table of contents shows no LIST subsystem (instrument_commands.md K1): check these first
    unverified = (
        "LIST:DWEL/VOLT/FREQ/COUN, VOLT:MODE LIST, FREQ:MODE LIST, TRIG:TRAN:SOUR BUS, INIT:TRAN (step programs)",
        "SYST:ERR? as the error query",
    )

    def __init__(
        self,
        transport: VisaTransport,
        *,
        limits: dict | None = None,
        nominal_v: float = 230.0,
        nominal_hz: float = 50.0,
        name: str = "grid",
    ) -> None:
        self.transport, self.limits, self.name = transport, limits or {}, name
        self.nominal_v, self.nominal_hz = nominal_v, nominal_hz

    @classmethod
    def from_spec(cls, spec: RoleSpec) -> KeysightAC6900:
        transport = VisaTransport(spec.role, spec.address, backend=spec.settings.get("visa_backend", "@py"))
        return cls(
            transport,
            limits=spec.limits,
            nominal_v=float(spec.settings.get("nominal_voltage_v", 230.0)),
            nominal_hz=float(spec.settings.get("nominal_frequency_hz", 50.0)),
            name=spec.role,
        )

    def identify(self) -> str:
        return self.transport.query("*IDN?")

    def _v(self, volts: float) -> float:
        return check(volts, self.limits, "min_voltage_v", "max_voltage_v", "voltage", "V", self.name)

    def _f(self, hertz: float) -> float:
        return check(hertz, self.limits, "min_frequency_hz", "max_frequency_hz", "frequency", "Hz", self.name)

    def set_voltage(self, volts: float) -> None:
        self.transport.configure(f"VOLT {self._v(volts):.4f}")

    def set_frequency(self, hertz: float) -> None:
        self.transport.configure(f"FREQ {self._f(hertz):.4f}")

    def output(self, on: bool) -> None:
        self.transport.configure(f"OUTP {'ON' if on else 'OFF'}")

    def nominal(self) -> GridNominal:
        """The bench file's nominal supply (settings.nominal_voltage_v / nominal_frequency_hz)."""
        return GridNominal(self.nominal_v, self.nominal_hz)

    def read(self) -> GridReading:
        return GridReading(
            self.transport.query_float("MEAS:VOLT?"),
            self.transport.query_float("MEAS:FREQ?"),
            self.transport.query_float("MEAS:POW?"),
        )

    def program_steps(self, steps: list[tuple[float, float, float]], *, repeat: int = 1) -> None:
        """Load timed steps (dwell s, volts, hertz) into the LIST subsystem and arm it (bus trigger)."""
        if not steps:
            raise ValueError(f"{self.name}: a step program needs at least one step")
        for _, volts, hertz in steps:
            self._v(volts)
            self._f(hertz)
        dwell = ",".join(f"{d:.4f}" for d, _, _ in steps)
        volts = ",".join(f"{v:.4f}" for _, v, _ in steps)
        hertz = ",".join(f"{f:.4f}" for _, _, f in steps)
        self.transport.configure(
            f"LIST:DWEL {dwell}",
            f"LIST:VOLT {volts}",
            f"LIST:FREQ {hertz}",
            f"LIST:COUN {repeat}",
            "VOLT:MODE LIST",
            "FREQ:MODE LIST",
            "TRIG:TRAN:SOUR BUS",
            "INIT:TRAN",
        )

    def trigger(self) -> None:
        """Start the armed program now (one short write, so the caller's time stamp is tight)."""
        self.transport.write("*TRG")

    def run_steps(self, steps: list[tuple[float, float, float]], *, repeat: int = 1) -> None:
        """Program and start timed steps at once."""
        self.program_steps(steps, repeat=repeat)
        self.trigger()
        self.transport.check_errors("LIST start")

    def fluctuate(self, depth_percent: float, changes_per_min: float, duration_s: float) -> None:
        """Rectangular voltage fluctuation around nominal: +-depth/2, changes_per_min changes, for duration_s."""
        half = 60.0 / changes_per_min
        high = self.nominal_v * (1 + depth_percent / 200)
        low = self.nominal_v * (1 - depth_percent / 200)
        cycles = max(1, int(duration_s / (2 * half)))
        self.run_steps([(half, high, self.nominal_hz), (half, low, self.nominal_hz)], repeat=cycles)

    def safe_state(self) -> None:
        """Back to nominal voltage and frequency (the DUT keeps a healthy supply)."""
        self.transport.configure(
            "VOLT:MODE FIX", "FREQ:MODE FIX", f"VOLT {self.nominal_v:.4f}", f"FREQ {self.nominal_hz:.4f}"
        )

    def read_safe_state(self) -> SafeStateReport:
        """Output off, or fixed at the bench file's nominal voltage and frequency (K1 VOLT?, FREQ?, OUTP?, MODE?)."""
        return read_source_safe_state(self.transport, self.nominal_v, self.nominal_hz)

    def close(self) -> None:
        self.transport.close()
