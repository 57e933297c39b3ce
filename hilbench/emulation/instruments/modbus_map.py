"""Emulator of the ``modbus-map-controller`` model (drivers/controller/modbus_map.py): the container controller
behind its register map, on pymodbus's server.  Reads are filled from the plant at the moment of the request; writes
go to the controller, which refuses out-of-range values with exception 3."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pymodbus.constants import ExcCodes
from pymodbus.simulator import SimDevice

from hilbench.emulation.controller import ControllerError
from hilbench.emulation.instruments.modbus_server import READ_HOLDING, READ_INPUT, register_blocks
from hilbench.emulation.plant import Plant
from hilbench.protocols.register_map import RegisterMap, RegisterMapError

MAP_SIZE = 32


class ControllerDevice:
    """The container controller behind the register map."""

    def __init__(self, plant: Plant, register_map: RegisterMap | None = None) -> None:
        self.plant = plant
        self.map = register_map or RegisterMap.load()
        self.holding_cache: dict[int, int] = {}
        #: fault injection (hilbench.emulation.faults): when it returns True, a power setpoint is acknowledged and
        #: ignored, as by a controller whose firmware lost its setpoint path
        self.ignore_setpoint: Callable[[], bool] | None = None

    def sim_device(self) -> SimDevice:
        return SimDevice(self.map.unit, simdata=register_blocks(MAP_SIZE), action=self.action)

    def _input_values(self) -> dict[str, object]:
        t = self.plant.advance()
        c = self.plant.controller
        numbers = self.plant.numeric(t)
        return {
            "state": int(c.state),
            "active_power_kw": numbers["p_total"] / 1000,
            "boards_online": c.boards_online(),
            "last_setpoint_change_ms": max(0, round(c.last_setpoint_change * 1000)),
            "last_state_change_ms": max(0, round(c.last_state_change * 1000)),
            "grid_frequency_hz": numbers["frequency"],
            "plant_time_ms": round(t * 1000),
            "trip_cause": str(c.trip_cause),  # by name: the map (the site's own, maybe) gives its code
            "rated_power_kw": c.rated_w / 1000,
            "boards_total": len(c.boards),
            "boards_held": c.boards_held(),
        }

    def _holding_values(self) -> dict[str, object]:
        c = self.plant.controller
        return {
            "setpoint_kw": c.setpoint_w / 1000,
            "mode": int(c.mode),
            "ramp_kw_s": c.ramp_w_s / 1000,
            "heartbeat": 0,
            "uf_threshold_hz": c.uf_threshold_hz,
            "uf_delay_ms": round(c.uf_delay_s * 1000),
            "watchdog_s": round(c.watchdog_s),
            "uf_action": 0 if c.uf_action == "trip" else 1,
        }

    def _fill(self, registers: list[int], start: int, table: str) -> None:
        values = self._input_values() if table == "input" else self._holding_values()
        for name, value in values.items():
            f = self.map.fields.get(name)
            if f is None or f.table != table:
                continue
            raw = f.encode(value if not f.enum or isinstance(value, str) else int(value))
            registers[f.address - start : f.address - start + len(raw)] = raw

    async def action(self, function_code, start_address, address, count, registers, set_values):
        """Runs the plant work in a worker thread so one slow request never stalls the shared loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, self._access, function_code, start_address, address, registers, set_values
        )

    def _access(self, function_code, start_address, address, registers, set_values):
        try:
            if function_code == READ_INPUT:
                self._fill(registers, start_address, "input")
            elif function_code == READ_HOLDING:
                self._fill(registers, start_address, "holding")
            elif set_values is not None:
                self._write(address, list(set_values))
        except (ControllerError, RegisterMapError):
            return ExcCodes.ILLEGAL_VALUE
        except KeyError:
            return ExcCodes.ILLEGAL_ADDRESS
        return None

    def _write(self, address: int, values: list[int]) -> None:
        at = self.plant.advance()
        c = self.plant.controller
        by_address = {f.address: f for f in self.map.fields.values() if f.table == "holding"}
        for offset, raw in enumerate(values):
            f = by_address.get(address + offset)
            if f is None:
                raise KeyError(address + offset)
            value = f.decode([raw])
            if f.name == "setpoint_kw":
                if self.ignore_setpoint is None or not self.ignore_setpoint():
                    c.write_setpoint(value, at)
            elif f.name == "mode":
                c.write_mode(raw, at)
            elif f.name == "ramp_kw_s":
                c.write_ramp(value, at)
            elif f.name == "heartbeat":
                c.heartbeat(at)
            elif f.name == "uf_threshold_hz":
                c.write_uf(threshold_hz=value, at=at)
            elif f.name == "uf_delay_ms":
                c.write_uf(delay_s=raw / 1000, at=at)
            elif f.name == "watchdog_s":
                c.write_watchdog(float(raw), at)
            elif f.name == "uf_action":
                if raw not in (0, 1):
                    raise ControllerError(f"uf_action {raw}")
                c.write_uf(action="trip" if raw == 0 else "curtail", at=at)


def emulate_controller(plant: Plant, spec) -> ControllerDevice:
    """Entry point of the ``hilbench.emulators`` group for the ``modbus-map-controller`` model."""
    return ControllerDevice(plant, RegisterMap.load(spec.settings.get("map")))
