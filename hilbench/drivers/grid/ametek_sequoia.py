"""AMETEK / California Instruments Sequoia series regenerative grid simulator as the grid role (VISA, SCPI).

Sized for a 100 kW container by multi-chassis configurations.  Commands: Sequoia Series Programming
Manual (AMETEK, 231 pages), cited per command below; rows marked UNVERIFIED follow the manual's
SCPI pattern but their own page was not read.  Three-phase: ``INST:COUP ALL`` makes a setpoint apply
to every phase (p.67); measurements are per phase, selected with ``INST:NSEL`` with the phases decoupled
(``INST:COUP NONE``): coupled, every phase may read as phase A (public drivers decouple first; Sandia's
``gridsim_ametek.py``, a secondary source, docs/references/instrument_commands.md).  Lists hold at most 32 points
(p.164; p.92 says 100: the stricter figure is used until checked on the instrument).  Errors are read from
``SYSTem:ERRor?`` (p.126: '<code>,<text>', "0,No Error" when empty; Appendix C p.219: read until then).
"""

from __future__ import annotations

from collections.abc import Sequence

from hilbench.core.roles import GridNominal, GridReading, SafeStateReport
from hilbench.core.unverified import ProbeCall, Query, Unverified
from hilbench.drivers.grid import read_source_safe_state
from hilbench.drivers.limits import check
from hilbench.spec.role_spec import RoleSpec
from hilbench.transports.visa import VisaTransport

MAX_LIST_POINTS = 32  # p.164 "up to 32 settings (or points) in the list"


class AmetekSequoia:
    role = "grid"
    unverified = (
        Unverified(
            "phase_reads",
            "INST:COUP NONE, INST:NSEL n, MEAS:VOLT:AC?, MEAS:POW?, MEAS:FREQ? (per-phase reads)",
            "MEAS:POW? and MEAS:FREQ? pages not read; INST:COUP NONE from public drivers, its page not read",
            methods=("read",),
            probe=(Query("MEAS:FREQ?"), Query("MEAS:POW?"), ProbeCall("read")),
        ),
        Unverified(
            "power_unit",
            "MEAS:POW? read as watts",
            "a public driver (Sandia gridsim_ametek.py, for MX/RS sources) scales its reply x1000 as kW",
            methods=("read",),
            skip="the unit shows only with power flowing (outputs stay off in the probe): compare grid.read() with "
            "the analyser in the first low-power plan, then accept it with --accept-unverified grid:power_unit",
        ),
        Unverified(
            "setpoint_readback",
            "FREQ?, VOLT:MODE?, FREQ:MODE? (the safe state's read-back; VOLT? p.155 and OUTP? p.67 are cited)",
            "query forms of cited commands; their own entries were not found in the manual",
            methods=("read_safe_state",),
            probe=(Query("FREQ?"), Query("VOLT:MODE?"), Query("FREQ:MODE?")),
        ),
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
        self._coupled = False

    @classmethod
    def from_spec(cls, spec: RoleSpec) -> AmetekSequoia:
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
        return self.transport.query("*IDN?")  # IEEE 488.2

    def _v(self, volts: float) -> float:
        return check(volts, self.limits, "min_voltage_v", "max_voltage_v", "voltage", "V", self.name)

    def _f(self, hertz: float) -> float:
        return check(hertz, self.limits, "min_frequency_hz", "max_frequency_hz", "frequency", "Hz", self.name)

    def _program(self, *commands: str) -> None:
        """Setpoints go to all three phases: couple them first (INSTrument:COUPle ALL, p.67 "inst:coup all;outp 1";
        a per-phase read decouples them)."""
        if not self._coupled:
            commands = ("INST:COUP ALL", *commands)
        self.transport.configure(*commands)
        self._coupled = True

    def nominal(self) -> GridNominal:
        return GridNominal(self.nominal_v, self.nominal_hz)

    def set_voltage(self, volts: float) -> None:
        self._program(f"VOLT {self._v(volts):.2f}")  # [SOURce:]VOLTage[:LEVel] (p.16 "VOLTage 115;FREQuency 60")

    def set_frequency(self, hertz: float) -> None:
        self._program(f"FREQ {self._f(hertz):.3f}")  # [SOURce:]FREQuency (p.16 example)

    def output(self, on: bool) -> None:
        self._program(f"OUTP {'ON' if on else 'OFF'}")  # OUTPut[:STATe] (p.67 "inst:coup all;outp 1")

    def read(self) -> GridReading:
        """Phase 1 voltage, the output frequency and the sum of the three phases' power, each phase read with the
        phases decoupled (coupled, every phase may read as phase A)."""
        power = 0.0
        self.transport.write("INST:COUP NONE")  # INSTrument:COUPle NONE: measurements per phase again
        self._coupled = False  # the next setpoint couples them again
        for phase in (1, 2, 3):
            self.transport.write(f"INST:NSEL {phase}")  # INSTrument:NSELect selects the phase measured (p.57, p.64)
            if phase == 1:
                volts = self.transport.query_float("MEAS:VOLT:AC?")  # MEASure[:SCALar]:VOLTage[:AC]? (p.64)
            power += self.transport.query_float("MEAS:POW?")  # MEASure[:SCALar]:POWer[:AC]?, UNVERIFIED page
        hertz = self.transport.query_float("MEAS:FREQ?")  # MEASure[:SCALar]:FREQuency?, UNVERIFIED page
        return GridReading(volts, hertz, power)

    def program_steps(self, steps: Sequence[tuple[float, float, float]], *, repeat: int = 1) -> None:
        """Timed (dwell s, volts, hertz) steps as a dwell-paced list, armed for a bus trigger (pp.92-93, 164-168)."""
        if not steps:
            raise ValueError(f"{self.name}: a step program needs at least one step")
        if len(steps) > MAX_LIST_POINTS:
            raise ValueError(f"{self.name}: {len(steps)} steps; the Sequoia list holds {MAX_LIST_POINTS} (p.164)")
        for _, volts, hertz in steps:
            self._v(volts)
            self._f(hertz)
        self._program(
            "LIST:DWEL " + ",".join(f"{d:.3f}" for d, _, _ in steps),  # LIST:DWELl, 0.001-9E4 s (p.93)
            "LIST:VOLT " + ",".join(f"{v:.2f}" for _, v, _ in steps),  # LIST:VOLTage (p.92 syntax)
            "LIST:FREQ " + ",".join(f"{f:.3f}" for _, _, f in steps),  # LIST:FREQuency[:LEVel] (p.92)
            f"LIST:COUN {repeat}",  # LIST:COUNt 1-2E8 (p.93)
            "LIST:STEP AUTO",  # dwell-paced (p.165)
            "VOLT:MODE LIST",  # (p.164 step 1)
            "FREQ:MODE LIST",
            "TRIG:SOUR BUS",  # TRIGger:SOURce BUS: *TRG starts it (p.167)
            "INIT",  # INITiate: the trigger system waits for the trigger (p.168)
        )

    def trigger(self) -> None:
        """Start the armed list now: one short write so the caller's time stamp is tight (p.168 *TRG)."""
        self.transport.write("*TRG")

    def fluctuate(self, depth_percent: float, changes_per_min: float, duration_s: float) -> None:
        """Rectangular fluctuation around nominal: a two-point list repeated, then triggered."""
        half = 60.0 / changes_per_min
        high = self.nominal_v * (1 + depth_percent / 200)
        low = self.nominal_v * (1 - depth_percent / 200)
        cycles = max(1, int(duration_s / (2 * half)))
        self.program_steps([(half, high, self.nominal_hz), (half, low, self.nominal_hz)], repeat=cycles)
        self.trigger()
        self.transport.check_errors("list start")

    def safe_state(self) -> None:
        """Abort a running list (only ABORt leaves the dwelling state, p.168), then fixed nominal supply."""
        self._program(
            "ABOR", "VOLT:MODE FIX", "FREQ:MODE FIX", f"VOLT {self.nominal_v:.2f}", f"FREQ {self.nominal_hz:.3f}"
        )

    def read_safe_state(self) -> SafeStateReport:
        """Output off, or fixed at nominal voltage and frequency (OUTP? p.67, VOLT? p.155; the rest ``unverified``)."""
        return read_source_safe_state(self.transport, self.nominal_v, self.nominal_hz)

    def close(self) -> None:
        self.transport.close()
