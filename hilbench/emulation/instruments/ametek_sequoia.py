"""AMETEK Sequoia series grid simulator emulator (SCPI over a TCP socket): the plant's grid.

Keeps the documented limits of the Sequoia Series Programming Manual: lists of at most 32 points
(p.164), dwell 0.001-9E4 s and count 1-2E8 (p.93), all active lists of one length or one point
(p.92), a running list left only by ABORt (p.168), the 333 V range (p.160).  The frequency range
is ASSUMED (45-500 Hz) until read from the manual's specifications.  Measurements are per phase,
selected by INSTrument:NSELect (pp.57, 64); while the phases are coupled (INST:COUP ALL) every phase reads as
phase A, as public drivers report of the instrument (they send INST:COUP NONE first: a secondary source, the
manual's page not read), so a driver that reads coupled phases meets it here as on the bench.
"""

from __future__ import annotations

from hilbench.emulation.plant import Plant
from hilbench.emulation.scpi_server import ScpiInstrument
from hilbench.protocols.scpi import (
    DATA_OUT_OF_RANGE,
    ILLEGAL_PARAMETER_VALUE,
    MISSING_PARAMETER,
    SETTINGS_CONFLICT,
    ScpiCommandError,
    check_range,
    parse_bool,
    parse_number,
)

VOLTAGE_RANGE = (0.0, 333.0)  # p.160: VOLTage:RANGe 333
FREQUENCY_RANGE = (45.0, 500.0)  # ASSUMED
DWELL_RANGE = (0.001, 9e4)  # p.93
COUNT_RANGE = (1, 2e8)  # p.93
MAX_POINTS = 32  # p.164


class Sequoia(ScpiInstrument):
    def __init__(self, plant: Plant, *, serial: str = "SQ0001", model: str = "SQ90") -> None:
        super().__init__()
        self.identity = f"AMETEK California Instruments,{model},{serial},1.0"
        self.plant = plant
        self.reset()
        self.add("INSTrument:COUPle", lambda a, g: setattr(self, "coupled", a[0].upper().startswith("ALL")))
        self.add("INSTrument:NSELect", self._select)
        self.add("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]", self._set_voltage)
        self.add("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]?", lambda a, g: f"{self._state()[0]:.2f}")
        self.add("[SOURce:]FREQuency[:CW]", self._set_frequency)
        self.add("[SOURce:]FREQuency[:CW]?", lambda a, g: f"{self._state()[1]:.3f}")
        self.add("OUTPut[:STATe]", lambda a, g: self.plant.grid.set_output(parse_bool(a[0]), at=self._now()))
        self.add("OUTPut[:STATe]?", lambda a, g: str(int(self._state()[2])))
        self.add("MEASure[:SCALar]:VOLTage[:AC]?", lambda a, g: f"{self._phase_value('urms'):.2f}")
        self.add("MEASure[:SCALar]:CURRent[:AC]?", lambda a, g: f"{self._phase_value('irms'):.3f}")
        self.add("MEASure[:SCALar]:POWer[:AC][:REAL]?", lambda a, g: f"{self._phase_value('p'):.1f}")
        self.add("MEASure[:SCALar]:FREQuency?", lambda a, g: f"{self._measure()['frequency']:.3f}")
        self.add("[SOURce:]LIST:DWELl", lambda a, g: self._set_list("dwell", a, DWELL_RANGE))
        self.add("[SOURce:]LIST:VOLTage[:LEVel]", lambda a, g: self._set_list("volt", a, VOLTAGE_RANGE))
        self.add("[SOURce:]LIST:FREQuency[:LEVel]", lambda a, g: self._set_list("freq", a, FREQUENCY_RANGE))
        self.add("[SOURce:]LIST:COUNt", self._set_count)
        self.add("[SOURce:]LIST:STEP", self._set_step)
        self.add("[SOURce:]VOLTage:MODE", lambda a, g: self._set_mode("volt", a))
        self.add("[SOURce:]FREQuency:MODE", lambda a, g: self._set_mode("freq", a))
        self.add("[SOURce:]VOLTage:MODE?", lambda a, g: self.modes["volt"])
        self.add("[SOURce:]FREQuency:MODE?", lambda a, g: self.modes["freq"])
        self.add("TRIGger:SOURce", lambda a, g: None)
        self.add("INITiate[:IMMediate]", lambda a, g: setattr(self, "armed", True))
        self.add("*TRG", lambda a, g: self._trigger())
        self.add("TRIGger[:IMMediate]", lambda a, g: self._trigger())
        self.add("ABORt", lambda a, g: self._abort())

    def reset(self) -> None:
        self.lists: dict[str, list[float]] = {"volt": [], "freq": [], "dwell": []}
        self.modes = {"volt": "FIX", "freq": "FIX"}
        self.count, self.armed, self.coupled, self.phase = 1, False, False, 1

    def _now(self) -> float:
        return self.plant.advance()

    def _state(self) -> tuple[float, float, bool]:
        return self.plant.grid.state_at(self._now())

    def _measure(self) -> dict:
        return self.plant.numeric(self._now())

    def _phase_value(self, quantity: str) -> float:
        """The selected phase's reading, or phase A's while the phases are coupled."""
        return self._measure()[quantity][0 if self.coupled else self.phase - 1]

    def _three_phase(self) -> None:
        """The plant's grid is one three-phase source: a setpoint for one phase alone is not modelled."""
        if not self.coupled:
            raise ScpiCommandError(SETTINGS_CONFLICT, "phases not coupled (INST:COUP ALL): per-phase setpoints")

    def _select(self, args, groups) -> None:
        phase = int(parse_number(args[0]))
        if phase not in (1, 2, 3):
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"phase {phase}")
        self.phase = phase

    def _set_voltage(self, args, groups) -> None:
        if not args:
            raise ScpiCommandError(MISSING_PARAMETER)
        self._three_phase()
        self.plant.grid.set_voltage(check_range(parse_number(args[0]), VOLTAGE_RANGE, "voltage"), at=self._now())

    def _set_frequency(self, args, groups) -> None:
        if not args:
            raise ScpiCommandError(MISSING_PARAMETER)
        self._three_phase()
        self.plant.grid.set_frequency(check_range(parse_number(args[0]), FREQUENCY_RANGE, "frequency"), at=self._now())

    def _set_list(self, which: str, args: list[str], bounds: tuple[float, float]) -> None:
        if not args or not args[0]:
            raise ScpiCommandError(MISSING_PARAMETER)
        if len(args) > MAX_POINTS:
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"{len(args)} list points, at most {MAX_POINTS}")
        self.lists[which] = [check_range(parse_number(v), bounds, f"list {which}") for v in args]

    def _set_count(self, args, groups) -> None:
        self.count = int(check_range(parse_number(args[0]), COUNT_RANGE, "list count"))

    def _set_step(self, args, groups) -> None:
        if not args or args[0].upper() not in ("AUTO", "ONCE"):
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, args[0] if args else "")
        if args[0].upper() == "ONCE":
            raise ScpiCommandError(SETTINGS_CONFLICT, "trigger-paced lists are not modelled by the emulator")

    def _set_mode(self, which: str, args: list[str]) -> None:
        value = args[0].upper() if args else ""
        if value not in ("FIX", "FIXED", "LIST"):
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, args[0] if args else "")
        self.modes[which] = "LIST" if value == "LIST" else "FIX"

    def _trigger(self) -> None:
        if not self.armed:
            raise ScpiCommandError(SETTINGS_CONFLICT, "trigger system not initiated (INIT)")
        self.armed = False
        volt = self.lists["volt"] if self.modes["volt"] == "LIST" else []
        freq = self.lists["freq"] if self.modes["freq"] == "LIST" else []
        dwell = self.lists["dwell"]
        points = max(len(volt), len(freq))
        if points == 0:
            raise ScpiCommandError(SETTINGS_CONFLICT, "no function in LIST mode")
        for name, values in (("dwell", dwell), ("volt", volt), ("freq", freq)):  # p.92: equal lengths or one point
            if values and len(values) not in (1, points):
                raise ScpiCommandError(SETTINGS_CONFLICT, f"list {name} has {len(values)} points, expected {points}")
        now = self._now()
        v0, f0, _ = self.plant.grid.state_at(now)

        def pick(values: list[float], i: int, default: float) -> float:
            return values[i if len(values) > 1 else 0] if values else default

        steps = [(pick(dwell, i, 1.0), pick(volt, i, v0), pick(freq, i, f0)) for i in range(points)] * self.count
        self.plant.grid.program(steps, start=now)

    def _abort(self) -> None:
        """Stop a running list where it is: the present setpoint holds, nothing programmed after now remains."""
        now = self._now()
        self.armed = False
        self.plant.grid.set_voltage(self.plant.grid.state_at(now)[0], at=now)


def emulate(plant: Plant, spec) -> Sequoia:
    """Entry point of the ``hilbench.emulators`` group for the ``ametek-sequoia`` model."""
    return Sequoia(plant)
