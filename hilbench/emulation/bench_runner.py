"""Start a whole emulated bench from a bench file: boards, the plant behind them, and one
real server per instrument role (SCPI sockets, Modbus TCP), all on loopback and free ports.

``start()`` returns the bench with every ``auto`` address resolved, so drivers connect to
the emulators exactly as to hardware.  ``stop()`` is idempotent and safe after a failed start.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from dataclasses import fields, replace

from hilbench.emulation.clock import PlantClock
from hilbench.emulation.controller import ControllerParams
from hilbench.emulation.descriptors import ensure_descriptor_limit, low_descriptors_kept_free
from hilbench.emulation.faults import FaultyLink, ScheduledFault
from hilbench.emulation.instruments.interlock_panel import InterlockPanel
from hilbench.emulation.instruments.modbus_server import ModbusDeviceServer
from hilbench.emulation.plant import Plant, PlantParams
from hilbench.emulation.psu_harmonics import SpectrumError, psu_spectrum
from hilbench.emulation.registry import emulator_factory
from hilbench.emulation.scpi_server import ScpiInstrument, ScpiSocketServer
from hilbench.emulation.site import EmulatedSite, Endpoint, SiteConfig
from hilbench.emulation.site_config import emulated_site_config
from hilbench.emulation.tcp_server import EventLoopThread
from hilbench.spec.bench_file import Bench, BenchFileError, _clean
from hilbench.spec.fault_spec import FaultSpec
from hilbench.spec.interlock_spec import Interlocks
from hilbench.spec.role_spec import RoleSpec

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _plant_params(bench: Bench) -> tuple[PlantParams, ControllerParams]:
    raw = dict(bench.plant)
    controller_raw = raw.pop("controller", {}) or {}
    known_plant = {f.name for f in fields(PlantParams)}
    known_controller = {f.name for f in fields(ControllerParams)}
    for key in raw:
        if key not in known_plant:
            raise BenchFileError(f"{bench.path}: plant.{key}: unknown; known: {', '.join(sorted(known_plant))}")
    for key in controller_raw:
        if key not in known_controller:
            raise BenchFileError(
                f"{bench.path}: plant.controller.{key}: unknown; known: {', '.join(sorted(known_controller))}"
            )
    for section, values, params in (
        ("plant", raw, PlantParams),
        ("plant.controller", controller_raw, ControllerParams),
    ):
        for f in fields(params):
            value = values.get(f.name)
            if value is None or f.name in ("psu_kind", "psu_spectrum", "uf_action", "honours_ramp_limit"):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise BenchFileError(f"{bench.path}: {section}.{f.name} must be a number >= 0, got {value!r}")
    for name in ("voltage_v", "frequency_hz"):
        if raw.get(name, 1) == 0:
            raise BenchFileError(f"{bench.path}: plant.{name} must be above 0")
    if controller_raw.get("control_period_s", 1) == 0:
        raise BenchFileError(f"{bench.path}: plant.controller.control_period_s must be above 0")
    try:  # a PSU kind or fitted spectrum the plant could not draw is the bench file's error, said before starting
        psu_spectrum(raw.get("psu_kind", "active_pfc"), _clean(raw.get("psu_spectrum")))
    except SpectrumError as exc:
        raise BenchFileError(f"{bench.path}: {exc}") from None
    if raw.get("psu_spectrum") is not None:
        raw["psu_spectrum"] = _clean(raw["psu_spectrum"])
    return PlantParams(**raw), ControllerParams(**controller_raw)


def _emulator_for(name: str, spec: RoleSpec):
    """The role's emulator factory; None for a role served otherwise (boards, or an address the file gives);
    BenchFileError for a role this emulated bench would have to serve and cannot."""
    factory = emulator_factory(spec.driver)
    if factory is None and name not in ("boards", "hashboard") and spec.address == "auto":
        raise BenchFileError(
            f"{spec.where}: roles.{name}: no emulator is installed for model {spec.driver!r} "
            "(entry-point group hilbench.emulators), so this emulated bench cannot serve it"
        )
    return factory


def validate_emulated_bench(bench: Bench) -> None:
    """Raise BenchFileError for what starting this emulated bench would refuse, without starting anything."""
    emulated_site_config(bench.raw)
    _plant_params(bench)
    for name, spec in bench.roles.items():
        _emulator_for(name, spec)


def _rebase(config: SiteConfig, address_base: str) -> SiteConfig:
    """Place the LuxOS groups back to back from ``address_base``."""
    base = ipaddress.IPv4Address(address_base)
    groups = []
    for group in config.groups:
        if group.protocol == "luxos":
            groups.append(replace(group, address_base=str(base)))
            base += group.count
        else:
            groups.append(group)
    return SiteConfig(tuple(groups))


class EmulatedBench:
    def __init__(
        self, bench: Bench, *, time_scale: float = 1.0, boards: int | None = None, address_base: str | None = None,
        faults: tuple[FaultSpec, ...] = (),
    ) -> None:  # fmt: skip
        """``address_base`` moves the LuxOS boards to other loopback addresses (e.g. 127.0.40.2), so that
        several emulated benches can run side by side on one host.  ``faults`` are injected on top of the
        bench file's own ``faults:`` list."""
        self.bench = bench
        self.fault_specs = bench.faults + tuple(faults)  # the bench file's own, parsed with it, then the caller's
        self.faults: list[ScheduledFault] = []
        self.fault_log: list[dict] = []  # every request a fault hit: {"fault", "hit", "plant_s"}
        self._fault_timer: threading.Thread | None = None
        self._stopping = threading.Event()
        self.clock = PlantClock(time_scale)
        self.loop = EventLoopThread(workers=8)
        config = emulated_site_config(bench.raw, boards=boards)
        if address_base is not None:
            config = _rebase(config, address_base)
        self.site = EmulatedSite(config, clock=self.clock, loop=self.loop)
        self.plant: Plant | None = None
        self.endpoints: list[Endpoint] = []
        self._servers: list = []
        self._devices: list = []
        self.resolved: Bench | None = None

    def start(self) -> Bench:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Bench:
        ensure_descriptor_limit(self.site.config.board_count)
        with low_descriptors_kept_free():  # the run's VISA sessions use select(): they need descriptors < 1024
            self.site.start()
        self.endpoints = list(self.site.endpoints)
        container = [
            b
            for b, g in zip(self.site.boards, self.site.groups_of_board, strict=True)
            if g.role == "boards" and g.protocol == "luxos"
        ]
        plant_params, controller_params = _plant_params(self.bench)
        self.plant = Plant(self.clock, [b.model for b in container], plant_params, controller_params)
        for board in self.site.boards:
            board.before_access = self.plant.advance_for_one_board
        roles = dict(self.bench.roles)
        for name, spec in self.bench.roles.items():
            factory = _emulator_for(name, spec)
            if factory is not None:
                roles[name] = self._serve(spec, factory)
        for role in ("boards", "hashboard"):
            mine = [e for e in self.site.endpoints if e.role == role]
            if role in roles and mine:
                if mine[0].protocol == "bm13xx-serial":
                    roles[role] = roles[role].with_address(mine[0].address)
                else:
                    hosts = [e.address.rsplit(":", 1)[0] for e in mine]
                    roles[role] = roles[role].with_address(f"{hosts[0]}-{hosts[-1]}")
        self._schedule_physical_faults()
        self.resolved = replace(self.bench, roles=roles, interlocks=self._serve_interlock_panel())
        return self.resolved

    # ----- injected faults ------------------------------------------------------------------------
    def _scheduled(self, target: str, kinds: tuple[str, ...]) -> list[ScheduledFault]:
        def hit(spec: FaultSpec, count: int) -> None:
            self.fault_log.append({"fault": spec.describe(), "hit": count, "plant_s": round(self.clock.now(), 3)})

        mine = [ScheduledFault(f, self.clock, hit) for f in self.fault_specs if f.target == target and f.kind in kinds]
        self.faults.extend(mine)
        return mine

    def _serve_interlock_panel(self) -> Interlocks | None:
        """Serve every ``address: auto`` contact from one emulated panel; the bench's interlocks point at it."""
        interlocks = self.bench.interlocks
        auto = [p for p in interlocks.permissives if getattr(p.source, "address", None) == "auto"] if interlocks else []
        opens = self._scheduled("interlock", ("opens",))
        if opens and not auto:
            raise BenchFileError(f"{self.bench.path}: fault interlock:opens, but the bench has no emulated contacts")
        if not auto:
            return interlocks
        panel = InterlockPanel([p.source for p in auto], is_open=lambda: any(f.due() for f in opens))
        port = free_port()
        server = ModbusDeviceServer(panel.sim_device(), HOST, port)
        self.loop.call(server.start())
        self._servers.append(server)
        address = f"tcp://{HOST}:{port}"
        self.endpoints.append(Endpoint("interlocks", "interlock panel", "modbus-tcp", address, "interlock-panel", 0))
        permissives = tuple(
            replace(p, source=replace(p.source, address=address)) if p in auto else p for p in interlocks.permissives
        )
        return replace(interlocks, permissives=permissives)

    def _schedule_physical_faults(self) -> None:
        """board-dies at its plant time, from a timer thread (the board's own model and server)."""
        dies = self._scheduled("boards", ("board-dies",))
        if not dies:
            return
        victims = [b for b, g in zip(self.site.boards, self.site.groups_of_board, strict=True) if g.role == "boards"]

        def watch() -> None:
            pending = list(dies)
            while pending and not self._stopping.wait(0.01):
                for fault in [f for f in pending if f.take()]:
                    pending.remove(fault)
                    if victims:
                        self.site.kill_board(victims.pop())

        self._fault_timer = threading.Thread(target=watch, name="fault-timer", daemon=True)
        self._fault_timer.start()

    def _serve(self, spec: RoleSpec, factory) -> RoleSpec:
        """Serve one role's emulator; the role as the driver must see it (address, published settings)."""
        device = factory(self.plant, spec)
        self._devices.append(device)
        ignores = self._scheduled(spec.role, ("ignores-setpoints",))
        if ignores:
            if not hasattr(device, "ignore_setpoint"):
                raise BenchFileError(f"{spec.where}: the emulator of {spec.driver!r} cannot ignore setpoints")
            device.ignore_setpoint = lambda: any(f.take() for f in ignores)
        if isinstance(device, ScpiInstrument):
            server = ScpiSocketServer(device, HOST, 0, name=spec.role)
            self.loop.call(server.start())
            address = f"TCPIP::{HOST}::{server.port}::SOCKET"
            protocol = "scpi-socket"
        elif callable(getattr(device, "sim_device", None)):
            port = free_port()
            server = ModbusDeviceServer(device.sim_device(), HOST, port)
            self.loop.call(server.start())
            address = f"tcp://{HOST}:{port}"
            protocol = "modbus-tcp"
        else:
            raise BenchFileError(
                f"{spec.where}: roles.{spec.role}: the emulator of {spec.driver!r} returned {type(device).__name__}, "
                "neither a ScpiInstrument nor a Modbus device with sim_device()"
            )
        self._servers.append(server)
        address = self._behind_fault_proxy(spec, device, server, protocol, address)
        self.endpoints.append(Endpoint(spec.role, spec.role, protocol, address, spec.driver, 0))
        published = device.published_settings() if callable(getattr(device, "published_settings", None)) else {}
        return replace(spec.with_address(address), settings={**spec.settings, **published})

    def _behind_fault_proxy(self, spec: RoleSpec, device, server, protocol: str, address: str) -> str:
        """With link faults for this role, the driver is sent to a fault proxy in front of the real server."""
        faults = self._scheduled(spec.role, ("delay", "timeout", "drop", "garbage", "modbus-exception", "scpi-error"))
        if not faults:
            return address
        framing = "scpi" if protocol == "scpi-socket" else "modbus"
        push = device.push_error if isinstance(device, ScpiInstrument) else None
        link = FaultyLink(spec.role, (HOST, server.port), faults, framing=framing, host=HOST, push_scpi_error=push)
        self.loop.call(link.start())
        self._servers.append(link)
        return f"TCPIP::{HOST}::{link.port}::SOCKET" if framing == "scpi" else f"tcp://{HOST}:{link.port}"

    def stop(self) -> None:
        self._stopping.set()
        for server in self._servers:
            with contextlib.suppress(Exception):
                self.loop.call(server.stop(), timeout=5)
        self._servers.clear()
        for device in self._devices:
            if callable(getattr(device, "close", None)):
                with contextlib.suppress(Exception):
                    device.close()
        self._devices.clear()
        self.site.stop()
        self.loop.close()

    def __enter__(self) -> Bench:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
