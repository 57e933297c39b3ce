"""Container controller over Modbus, driven by a register map file (default: the hilbench reference map,
docs/controller_register_map.md).  A site with another controller supplies its own map."""

from __future__ import annotations

from dataclasses import dataclass

from hilbench.bench import RoleSpec
from hilbench.drivers.limits import check
from hilbench.protocols.register_map import RegisterMap
from hilbench.transports.modbus import ModbusTransport


@dataclass(frozen=True)
class ControllerStatus:
    state: str
    active_power_kw: float
    boards_online: int
    last_setpoint_change_s: float  # controller clock
    last_state_change_s: float
    grid_frequency_hz: float
    time_s: float
    trip_cause: str
    rated_power_kw: float
    boards_total: int


class ModbusMapController:
    def __init__(
        self,
        transport: ModbusTransport,
        register_map: RegisterMap,
        *,
        limits: dict | None = None,
        name: str = "controller",
    ) -> None:
        self.transport, self.map, self.limits, self.name = transport, register_map, limits or {}, name

    @classmethod
    def from_spec(cls, spec: RoleSpec) -> ModbusMapController:
        register_map = RegisterMap.load(spec.settings.get("map"))
        transport = ModbusTransport(
            spec.role, spec.address, unit=register_map.unit, timeout_s=float(spec.settings.get("timeout_s", 2.0))
        )
        return cls(transport, register_map, limits=spec.limits, name=spec.role)

    def _write(self, name: str, value) -> None:
        f = self.map.field(name)
        registers = f.encode(value)
        if len(registers) == 1:
            self.transport.write_register(f.address, registers[0])
        else:
            self.transport.write_registers(f.address, registers)

    def identify(self) -> str:
        status = self.read_status()
        return (
            f"{self.map.name} (unit {self.map.unit}): rated {status.rated_power_kw:g} kW, "
            f"{status.boards_total} boards, state {status.state}"
        )

    def set_setpoint_kw(self, kw: float) -> None:
        check(kw, self.limits, None, "max_power_kw", "power setpoint", "kW", self.name)
        if kw < 0:
            raise ValueError(f"{self.name}: negative setpoint {kw} kW")
        self._write("setpoint_kw", kw)

    def set_mode(self, mode: str) -> None:
        self._write("mode", mode)

    def set_ramp_kw_s(self, kw_s: float) -> None:
        check(kw_s, self.limits, None, "max_ramp_kw_s", "ramp limit", "kW/s", self.name)
        self._write("ramp_kw_s", kw_s)

    def heartbeat(self) -> None:
        self._write("heartbeat", 1)

    def configure_under_frequency(self, threshold_hz: float, delay_s: float, action: str = "trip") -> None:
        self._write("uf_threshold_hz", threshold_hz)
        self._write("uf_delay_ms", round(delay_s * 1000))
        self._write("uf_action", action)

    def set_watchdog_s(self, seconds: int) -> None:
        self._write("watchdog_s", seconds)

    def read_status(self) -> ControllerStatus:
        first, count = self.map.span("input")
        registers = self.transport.read_input(first, count)

        def value(name: str):
            f = self.map.field(name)
            return f.decode(registers[f.address - first : f.address - first + f.count])

        return ControllerStatus(
            state=value("state"),
            active_power_kw=float(value("active_power_kw")),
            boards_online=int(value("boards_online")),
            last_setpoint_change_s=value("last_setpoint_change_ms") / 1000,
            last_state_change_s=value("last_state_change_ms") / 1000,
            grid_frequency_hz=float(value("grid_frequency_hz")),
            time_s=value("plant_time_ms") / 1000,
            trip_cause=value("trip_cause"),
            rated_power_kw=float(value("rated_power_kw")),
            boards_total=int(value("boards_total")),
        )

    def safe_state(self) -> None:
        """Boards curtailed: the container draws only standby power but can resume at once."""
        self.set_mode("curtail")

    def close(self) -> None:
        self.transport.close()
