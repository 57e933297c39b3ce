"""Keysight AC6900 series programmable AC source emulator (SCPI over a TCP socket): the plant's grid.

Commands after the Keysight AC6900 Series Operating and Programming Guide: VOLTage, FREQuency, OUTPut,
MEASure; errors in SYSTem:ERRor?.  The guide's contents list no LIST subsystem, and its sequence commands could
not be read: the 6811C-6813C ``LIST:...``/``VOLT:MODE``/``TRIG:TRAN`` commands are answered as the instrument
answers any header it does not know (-113 "Undefined header" in the error queue), never played.
"""

from __future__ import annotations

from hilbench.emulation.plant import Plant
from hilbench.emulation.scpi_server import ScpiInstrument
from hilbench.protocols.scpi import (
    MISSING_PARAMETER,
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


def emulate(plant: Plant, spec) -> AC6900:
    """Entry point of the ``hilbench.emulators`` group for the ``keysight-ac6900`` model."""
    return AC6900(plant)
