"""Chroma 63800 series AC/DC electronic load emulator (SCPI over a TCP socket): the plant's load.

Commands after the Chroma 63800 Series Operation & Programming Manual p.8-13:
``[LOAD:]MODE CURR|POW|VOLT|RES|RLC|RLCP|INRUSH|RECT``, ``[:LOAD]:POW``, ``:LOAD ON|OFF``,
``:MEAS:POW:REAL?``; errors in SYSTem:ERRor?.  Only constant power (``MODE POW``) is
modelled; the manual's other modes are refused with a settings-conflict error rather than
faked, and a mnemonic the manual does not list (e.g. ``CP``) is an illegal parameter value.
"""

from __future__ import annotations

import numpy as np

from hilbench.emulation.plant import Plant
from hilbench.emulation.scpi_server import ScpiInstrument
from hilbench.protocols.scpi import (
    DATA_OUT_OF_RANGE,
    ILLEGAL_PARAMETER_VALUE,
    MISSING_PARAMETER,
    SETTINGS_CONFLICT,
    ScpiCommandError,
    parse_bool,
    parse_number,
)

#: the load modes of the manual (p.8-13), abbreviations as the manual gives them
MODES = ("CURR", "POW", "VOLT", "RES", "RLC", "RLCP", "INRUSH", "RECT")


class Chroma63800(ScpiInstrument):
    def __init__(
        self, plant: Plant, *, serial: str = "638040000001", model: str = "63804", rated_w: float = 4500.0
    ) -> None:
        super().__init__()
        self.identity = f"Chroma,{model},{serial},1.00"
        self.plant = plant
        self.rated_w = rated_w
        self.mode = "POW"
        self.add("[LOAD:]MODE", self._set_mode)
        self.add("[LOAD:]MODE?", lambda a, g: self.mode)
        self.add("[LOAD:]POWer[:STATic][:L1]", self._set_power)
        self.add("[LOAD:]POWer[:STATic][:L1]?", lambda a, g: f"{self.plant.load.power_w:.6E}")
        self.add("LOAD[:STATe]", self._set_load)
        self.add("LOAD[:STATe]?", lambda a, g: "ON" if self.plant.load.on else "OFF")
        self.add("MEASure:POWer[:REAL]?", lambda a, g: f"{self._measured_power():.6E}")
        self.add("MEASure:VOLTage?", lambda a, g: f"{self.plant.numeric(self.plant.advance())['urms'][0]:.6E}")
        self.add("MEASure:CURRent?", lambda a, g: f"{self._measured_current():.6E}")

    def _measured_power(self) -> float:
        t = self.plant.advance()
        return float(self.plant.load.power_at(np.array([t]))[0])

    def _measured_current(self) -> float:
        numbers = self.plant.numeric(self.plant.advance())
        volts = float(numbers["urms"][0])
        return self._measured_power() / 3 / volts if volts > 0 else 0.0

    def _set_mode(self, args, groups) -> None:
        if not args:
            raise ScpiCommandError(MISSING_PARAMETER)
        mode = args[0].upper()
        if mode not in MODES:
            raise ScpiCommandError(ILLEGAL_PARAMETER_VALUE, f"mode {args[0]}: one of {', '.join(MODES)}")
        if mode != "POW":
            raise ScpiCommandError(SETTINGS_CONFLICT, f"mode {mode} is not modelled by the emulator (POW only)")
        self.mode = mode

    def _set_power(self, args, groups) -> None:
        if not args:
            raise ScpiCommandError(MISSING_PARAMETER)
        watts = parse_number(args[0])
        if not 0 <= watts <= self.rated_w:
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"power {watts:g} W outside 0..{self.rated_w:g} W")
        self.plant.load.set(at=self.plant.advance(), power_w=watts)

    def _set_load(self, args, groups) -> None:
        self.plant.load.set(at=self.plant.advance(), on=parse_bool(args[0]))


def emulate(plant: Plant, spec) -> Chroma63800:
    """Entry point of the ``hilbench.emulators`` group for the ``chroma-63800`` model (sized by the bench limit)."""
    return Chroma63800(plant, rated_w=float(spec.limits.get("max_power_w", 4500)))
