"""Container controller over Modbus, driven by a register map file (default: the hilbench reference map,
docs/controller_register_map.md).  A site with another controller supplies its own map.

The role interface is in W and W/s; the reference map carries kW with a 0.1 scale, so the
conversion happens here, once.  The bench limits ``max_power_kw`` and ``max_ramp_kw_s`` are in
kW as the bench files state them."""

from __future__ import annotations

from hilbench.core.roles import (
    ControllerMode,
    ControllerState,
    ControllerStatus,
    SafeStateReport,
    TripCause,
    UnderFrequencyAction,
)
from hilbench.drivers.limits import check
from hilbench.protocols.register_map import RegisterMap
from hilbench.spec.role_spec import RoleSpec
from hilbench.transports.errors import MalformedReply
from hilbench.transports.modbus import ModbusTransport


class ModbusMapController:
    role = "controller"

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
        status = self.read()
        return (
            f"{self.map.name} (unit {self.map.unit}): rated {status.rated_power_w / 1000:g} kW, "
            f"{status.boards_total} boards, state {status.state}"
        )

    def set_power(self, watts: float) -> None:
        kw = watts / 1000
        check(kw, self.limits, None, "max_power_kw", "power setpoint", "kW", self.name)
        if watts < 0:
            raise ValueError(f"{self.name}: negative setpoint {watts} W")
        self._write("setpoint_kw", kw)

    def set_mode(self, mode: ControllerMode | str) -> None:
        try:
            mode = ControllerMode(mode)
        except ValueError:
            known = ", ".join(m.value for m in ControllerMode)
            raise ValueError(f"{self.name}: unknown mode {mode!r}; known: {known}") from None
        self._write("mode", mode.value)

    def set_ramp(self, watts_per_s: float) -> None:
        kw_s = watts_per_s / 1000
        check(kw_s, self.limits, None, "max_ramp_kw_s", "ramp limit", "kW/s", self.name)
        self._write("ramp_kw_s", kw_s)

    def heartbeat(self) -> None:
        self._write("heartbeat", 1)

    def configure_under_frequency(
        self, threshold_hz: float, delay_s: float, action: UnderFrequencyAction | str = UnderFrequencyAction.TRIP
    ) -> None:
        self._write("uf_threshold_hz", threshold_hz)
        self._write("uf_delay_ms", round(delay_s * 1000))
        self._write("uf_action", UnderFrequencyAction(action).value)

    def set_watchdog(self, seconds: float) -> None:
        self._write("watchdog_s", round(seconds))

    def read(self) -> ControllerStatus:
        first, count = self.map.span("input")
        registers = self.transport.read_input(first, count)

        def value(name: str):
            f = self.map.field(name)
            return f.decode(registers[f.address - first : f.address - first + f.count])

        try:
            state, cause = ControllerState(value("state")), TripCause(value("trip_cause"))
        except ValueError as exc:
            raise MalformedReply(self.name, self.transport.address, "read status", str(exc)) from None
        return ControllerStatus(
            state=state,
            power_w=float(value("active_power_kw")) * 1000,
            boards_online=int(value("boards_online")),
            last_setpoint_change_s=value("last_setpoint_change_ms") / 1000,
            last_state_change_s=value("last_state_change_ms") / 1000,
            grid_frequency_hz=float(value("grid_frequency_hz")),
            time_s=value("plant_time_ms") / 1000,
            trip_cause=cause,
            rated_power_w=float(value("rated_power_kw")) * 1000,
            boards_total=int(value("boards_total")),
            boards_held=int(value("boards_held")) if "boards_held" in self.map.fields else 0,
        )

    def safe_state(self) -> None:
        """Boards curtailed: the container draws only standby power but can resume at once."""
        self.set_mode(ControllerMode.CURTAIL)

    def read_safe_state(self) -> SafeStateReport:
        """The controller reports a state that draws no mining power (curtailed, off or tripped)."""
        status = self.read()
        safe = status.state in (ControllerState.CURTAILED, ControllerState.OFF, ControllerState.TRIPPED)
        return SafeStateReport(
            safe, f"state {status.state}, {status.power_w / 1000:.1f} kW, {status.boards_online} online"
        )

    def close(self) -> None:
        self.transport.close()
