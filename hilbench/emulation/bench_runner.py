"""Start a whole emulated bench from a bench file: boards, the plant behind them, and one
real server per instrument role (SCPI sockets, Modbus TCP), all on loopback and free ports.

``start()`` returns the bench with every ``auto`` address resolved, so drivers connect to
the emulators exactly as to hardware.  ``stop()`` is idempotent and safe after a failed start.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from dataclasses import fields, replace

from hilbench.bench import Bench, BenchFileError
from hilbench.emulation.clock import PlantClock
from hilbench.emulation.controller import ControllerParams
from hilbench.emulation.instruments.modbus_devices import ModbusDeviceServer
from hilbench.emulation.plant import Plant, PlantParams
from hilbench.emulation.registry import emulator_factory
from hilbench.emulation.scpi_server import ScpiInstrument, ScpiSocketServer
from hilbench.emulation.site import EmulatedSite, Endpoint, SiteConfig
from hilbench.emulation.site_config import emulated_site_config
from hilbench.emulation.tcp_server import EventLoopThread
from hilbench.role_spec import RoleSpec

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
    return PlantParams(**raw), ControllerParams(**controller_raw)


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
        self, bench: Bench, *, time_scale: float = 1.0, boards: int | None = None, address_base: str | None = None
    ) -> None:
        """``address_base`` moves the LuxOS boards to other loopback addresses (e.g. 127.0.40.2), so that
        several emulated benches can run side by side on one host."""
        self.bench = bench
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
            board.before_access = self.plant.advance
        roles = dict(self.bench.roles)
        for name, spec in self.bench.roles.items():
            factory = emulator_factory(spec.driver)
            if factory is not None:
                roles[name] = self._serve(spec, factory)
            elif name not in ("boards", "hashboard") and spec.address == "auto":
                raise BenchFileError(
                    f"{spec.where}: roles.{name}: no emulator is installed for model {spec.driver!r} "
                    "(entry-point group hilbench.emulators), so this emulated bench cannot serve it"
                )
        for role in ("boards", "hashboard"):
            mine = [e for e in self.site.endpoints if e.role == role]
            if role in roles and mine:
                if mine[0].protocol == "bm13xx-serial":
                    roles[role] = roles[role].with_address(mine[0].address)
                else:
                    hosts = [e.address.rsplit(":", 1)[0] for e in mine]
                    roles[role] = roles[role].with_address(f"{hosts[0]}-{hosts[-1]}")
        self.resolved = replace(self.bench, roles=roles)
        return self.resolved

    def _serve(self, spec: RoleSpec, factory) -> RoleSpec:
        """Serve one role's emulator; the role as the driver must see it (address, published settings)."""
        device = factory(self.plant, spec)
        self._devices.append(device)
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
        self.endpoints.append(Endpoint(spec.role, spec.role, protocol, address, spec.driver, 0))
        published = device.published_settings() if callable(getattr(device, "published_settings", None)) else {}
        return replace(spec.with_address(address), settings={**spec.settings, **published})

    def stop(self) -> None:
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
