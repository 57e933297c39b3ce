"""Keysight AC6900 series programmable AC source emulator (SCPI over a TCP socket): the plant's grid.

Commands after the Keysight AC6900 Series Operating and Programming Guide: VOLTage,
FREQuency, OUTPut, MEASure, and the LIST (sequence) subsystem with transient triggering
for timed voltage/frequency steps; errors in SYSTem:ERRor?.
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

VOLTAGE_RANGE = (0.0, 322.0)  # AC6900 high range, V r.m.s.
FREQUENCY_RANGE = (40.0, 500.0)


class AC6900(ScpiInstrument):
    def __init__(self, plant: Plant, *, serial: str = "JPUB000001", model: str = "AC6906L") -> None:
        super().__init__()
        self.identity = f"Keysight Technologies,{model},{serial},A.01.00"
        self.plant = plant
        self.reset()
        src = "[SOURce:]"
        self.add(f"{src}VOLTage[:LEVel][:IMMediate][:AMPLitude]", self._set_voltage)
        self.add(f"{src}VOLTage[:LEVel][:IMMediate][:AMPLitude]?", lambda a, g: f"{self._now_state()[0]:.6E}")
        self.add(f"{src}FREQuency[:CW]", self._set_frequency)
        self.add(f"{src}FREQuency[:CW]?", lambda a, g: f"{self._now_state()[1]:.6E}")
        self.add("OUTPut[:STATe]", self._set_output)
        self.add("OUTPut[:STATe]?", lambda a, g: str(int(self._now_state()[2])))
        self.add("MEASure[:SCALar]:VOLTage[:AC]?", lambda a, g: f"{self._measure()['urms'][0]:.6E}")
        self.add("MEASure[:SCALar]:CURRent[:AC]?", lambda a, g: f"{self._measure()['irms'][0]:.6E}")
        self.add("MEASure[:SCALar]:POWer[:AC][:REAL]?", lambda a, g: f"{self._measure()['p_total']:.6E}")
        self.add("MEASure[:SCALar]:FREQuency?", lambda a, g: f"{self._measure()['frequency']:.6E}")
        self.add(f"{src}LIST:VOLTage", lambda a, g: self._set_list("volt", a, VOLTAGE_RANGE))
        self.add(f"{src}LIST:FREQuency", lambda a, g: self._set_list("freq", a, FREQUENCY_RANGE))
        self.add(f"{src}LIST:DWELl", lambda a, g: self._set_list("dwell", a, (1e-3, 1e5)))
        self.add(f"{src}LIST:COUNt", self._set_count)
        self.add(f"{src}VOLTage:MODE", lambda a, g: self._set_mode("volt", a))
        self.add(f"{src}FREQuency:MODE", lambda a, g: self._set_mode("freq", a))
        self.add(f"{src}VOLTage:MODE?", lambda a, g: self.modes["volt"])
        self.add(f"{src}FREQuency:MODE?", lambda a, g: self.modes["freq"])
        self.add("TRIGger:TRANsient:SOURce", self._set_trigger_source)
        self.add("INITiate:TRANsient", lambda a, g: self._initiate())
        self.add("TRIGger:TRANsient[:IMMediate]", lambda a, g: self._trigger())
        self.add("*TRG", lambda a, g: self._trigger())

    def reset(self) -> None:
        self.lists: dict[str, list[float]] = {"volt": [], "freq": [], "dwell": []}
        self.modes = {"volt": "FIX", "freq": "FIX"}
        self.count = 1
        self.trigger_source = "BUS"
        self.armed = False

    def _now(self) -> float:
        return self.plant.advance()

    def _now_state(self) -> tuple[float, float, bool]:
        return self.plant.grid.state_at(self._now())

    def _measure(self) -> dict:
        return self.plant.numeric(self._now())

    def _set_voltage(self, args, groups) -> None:
        if not args:
            raise ScpiCommandError(MISSING_PARAMETER)
        self.plant.grid.set_voltage(check_range(parse_number(args[0]), VOLTAGE_RANGE, "voltage"), at=self._now())

    def _set_frequency(self, args, groups) -> None:
        if not args:
            raise ScpiCommandError(MISSING_PARAMETER)
        self.plant.grid.set_frequency(check_range(parse_number(args[0]), FREQUENCY_RANGE, "frequency"), at=self._now())

    def _set_output(self, args, groups) -> None:
        self.plant.grid.set_output(parse_bool(args[0]), at=self._now())

    def _set_list(self, which: str, args: list[str], bounds: tuple[float, float]) -> None:
        if not args or not args[0]:
            raise ScpiCommandError(MISSING_PARAMETER)
        self.lists[which] = [check_range(parse_number(v), bounds, f"list {which}") for v in args]

    def _set_count(self, args, groups) -> None:
        count = int(parse_number(args[0]))
        if not 1 <= count <= 9999:
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"count {count}")
        self.count = count

    def _set_mode(self, which: str, args: list[str]) -> None:
        value = args[0].upper()[:3] if args else ""
        if value not in ("FIX", "LIS"):
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, args[0] if args else "")
        self.modes[which] = "FIX" if value == "FIX" else "LIST"

    def _set_trigger_source(self, args, groups) -> None:
        value = args[0].upper()[:3] if args else ""
        if value not in ("BUS", "IMM"):
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, args[0] if args else "")
        self.trigger_source = value

    def _initiate(self) -> None:
        self.armed = True
        if self.trigger_source == "IMM":
            self._trigger()

    def _trigger(self) -> None:
        if not self.armed:
            raise ScpiCommandError(SETTINGS_CONFLICT, "transient system not initiated")
        self.armed = False
        dwell = self.lists["dwell"]
        volt = self.lists["volt"] if self.modes["volt"] == "LIST" else []
        freq = self.lists["freq"] if self.modes["freq"] == "LIST" else []
        points = max(len(dwell), len(volt), len(freq))
        if points == 0:
            raise ScpiCommandError(SETTINGS_CONFLICT, "no list points")
        for name, values in (("dwell", dwell), ("volt", volt), ("freq", freq)):
            if values and len(values) not in (1, points):
                raise ScpiCommandError(SETTINGS_CONFLICT, f"list {name} has {len(values)} points, expected {points}")
        now = self._now()
        v0, f0, _ = self.plant.grid.state_at(now)

        def pick(values: list[float], i: int, default: float) -> float:
            return values[i if len(values) > 1 else 0] if values else default

        steps = [(pick(dwell, i, 1.0), pick(volt, i, v0), pick(freq, i, f0)) for i in range(points)] * self.count
        self.plant.grid.program(steps, start=now)


def emulate(plant: Plant, spec) -> AC6900:
    """Entry point of the ``hilbench.emulators`` group for the ``keysight-ac6900`` model."""
    return AC6900(plant)
