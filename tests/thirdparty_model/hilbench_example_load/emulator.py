"""Emulator of the Example EL-1000: a SCPI instrument on hilbench's emulated plant (its load branch)."""

from __future__ import annotations

import numpy as np

from hilbench.emulation.scpi_server import ScpiInstrument
from hilbench.protocols.scpi import DATA_OUT_OF_RANGE, ScpiCommandError, parse_bool, parse_number


class ExampleEL1000Emulator(ScpiInstrument):
    identity = "EXAMPLE,EL-1000,0001,1.0"

    def __init__(self, plant, rated_w: float) -> None:
        super().__init__()
        self.plant, self.rated_w = plant, rated_w
        self.commands_seen: list[str] = []
        self.add("FUNCtion", lambda a, g: None)
        self.add("POWer", self._power)
        self.add("INPut", lambda a, g: self.plant.load.set(at=self.plant.advance(), on=parse_bool(a[0])))
        self.add("INPut?", lambda a, g: "1" if self.plant.load.on else "0")
        self.add("MEASure:POWer?", lambda a, g: f"{self.plant.load.power_at(np.array([self.plant.advance()]))[0]:.3f}")

    def _power(self, args, groups) -> None:
        watts = parse_number(args[0])
        if not 0 <= watts <= self.rated_w:
            raise ScpiCommandError(DATA_OUT_OF_RANGE, f"{watts:g} W")
        self.plant.load.set(at=self.plant.advance(), power_w=watts)


def emulate(plant, spec) -> ExampleEL1000Emulator:
    return ExampleEL1000Emulator(plant, float(spec.limits.get("max_power_w", 1000.0)))
