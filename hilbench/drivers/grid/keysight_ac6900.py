"""Keysight AC6900 series programmable AC source as the grid simulator (VISA, SCPI).

Commands: Keysight AC6900 Series Operating and Programming Guide (K1 in docs/references/instrument_commands.md):
``[SOURce:]VOLTage``, ``FREQuency``, ``OUTPut``, ``MEASure`` (rows consistent with the AC6800B guide).  Setpoints
are checked against the bench file's limits before anything is sent, never clipped.

Step programs are refused: the ``LIST:...`` commands hilbench used to send are the older 6811C-6813C syntax, K1's
contents list no LIST subsystem, and its Kikusui relatives program sequences through ``PROGram`` and a
``TRIGger:PROGram``/``SEQuence`` trigger model whose AC6900 pages could not be read.  Guessing would play a
disturbance nobody programmed, so a check that needs a step program is refused before anything is energised
(``unavailable``); use a grid source whose list commands are cited (``ametek-sequoia``).
"""

from __future__ import annotations

from hilbench.core.errors import HilbenchError
from hilbench.core.roles import GridNominal, GridReading, SafeStateReport
from hilbench.core.unverified import Query, Unverified
from hilbench.drivers.grid import read_source_safe_state
from hilbench.drivers.limits import check
from hilbench.spec.role_spec import RoleSpec
from hilbench.transports.visa import VisaTransport

STEP_PROGRAMS_UNAVAILABLE = (
    "the AC6900's step programs are not implemented: its guide's sequence commands (PROGram / TRIGger:PROGram, "
    "as on its Kikusui relatives) could not be read, and the 6811C-6813C LIST syntax is not sent to it; "
    "use a grid source whose list commands are cited (driver ametek-sequoia)"
)


class StepProgramUnavailable(HilbenchError, NotImplementedError):
    """A step program asked of a source whose sequence commands hilbench does not know."""


class KeysightAC6900:
    role = "grid"
    unverified = (
        Unverified(
            "error_query",
            "SYST:ERR?",
            "the SCPI error queue; K1's page for it was not read",
            probe=(Query("SYST:ERR?"),),
        ),
        Unverified(
            "setpoint_readback",
            "VOLT?, FREQ?, OUTP? (the safe state's read-back)",
            "query forms of the K1 setpoint commands; their pages were not read",
            methods=("read_safe_state",),
            probe=(Query("VOLT?"), Query("FREQ?"), Query("OUTP?")),
        ),
    )
    unavailable = dict.fromkeys(("program_steps", "trigger", "fluctuate"), STEP_PROGRAMS_UNAVAILABLE)

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
        transport = VisaTransport(
            spec.role,
            spec.address,
            timeout_s=float(spec.settings.get("timeout_s", 5.0)),  # bench check and the probe cut it short
            backend=spec.settings.get("visa_backend", "@py"),
        )
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
        self.transport.configure(f"VOLT {self._v(volts):.4f}")  # K1 [SOURce:]VOLTage[:LEVel][:IMMediate]

    def set_frequency(self, hertz: float) -> None:
        self.transport.configure(f"FREQ {self._f(hertz):.4f}")  # K1 [SOURce:]FREQuency[:CW]

    def output(self, on: bool) -> None:
        self.transport.configure(f"OUTP {'ON' if on else 'OFF'}")  # K1 OUTPut[:STATe]

    def nominal(self) -> GridNominal:
        """The bench file's nominal supply (settings.nominal_voltage_v / nominal_frequency_hz)."""
        return GridNominal(self.nominal_v, self.nominal_hz)

    def read(self) -> GridReading:
        return GridReading(
            self.transport.query_float("MEAS:VOLT?"),  # K1 MEASure[:SCALar]:VOLTage[:AC]?
            self.transport.query_float("MEAS:FREQ?"),  # K1 MEASure[:SCALar]:FREQuency?
            self.transport.query_float("MEAS:POW?"),  # K1 MEASure[:SCALar]:POWer[:AC][:REAL]?
        )

    def program_steps(self, steps: list[tuple[float, float, float]], *, repeat: int = 1) -> None:
        """Refused, nothing sent (see the module's docstring)."""
        raise StepProgramUnavailable(f"{self.name} ({self.transport.resource}): {STEP_PROGRAMS_UNAVAILABLE}")

    def trigger(self) -> None:
        """Refused like the program it would start."""
        raise StepProgramUnavailable(f"{self.name} ({self.transport.resource}): {STEP_PROGRAMS_UNAVAILABLE}")

    def fluctuate(self, depth_percent: float, changes_per_min: float, duration_s: float) -> None:
        """A fluctuation is a step program: refused."""
        raise StepProgramUnavailable(f"{self.name} ({self.transport.resource}): {STEP_PROGRAMS_UNAVAILABLE}")

    def safe_state(self) -> None:
        """Back to nominal voltage and frequency (the DUT keeps a healthy supply); no program ever runs here."""
        self.transport.configure(f"VOLT {self.nominal_v:.4f}", f"FREQ {self.nominal_hz:.4f}")

    def read_safe_state(self) -> SafeStateReport:
        """Output off, or at the bench file's nominal voltage and frequency (VOLT?, FREQ?, OUTP?)."""
        return read_source_safe_state(self.transport, self.nominal_v, self.nominal_hz, list_modes=False)

    def close(self) -> None:
        self.transport.close()
