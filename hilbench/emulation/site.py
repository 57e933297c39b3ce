"""An emulated site: groups of emulated boards and the real endpoints in front of them.

Each LuxOS board gets its own loopback address (127.0.0.2, 127.0.0.3, ...) on TCP 4028,
because pyasic's detection only ever dials port 4028.  Each serial board gets a pty.
All TCP listeners share one background event loop; nothing runs while nobody asks.
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass, field, fields, replace

from hilbench.emulation.bm13xx_serial import BM13xxChain
from hilbench.emulation.board_profiles import board_profile
from hilbench.emulation.clock import Clock, PlantClock
from hilbench.emulation.emulated_board import EmulatedBoard
from hilbench.emulation.luxos import LuxOSResponder
from hilbench.emulation.tcp_server import EventLoopThread, RequestReplyServer
from hilbench.protocols.cgminer import request_complete

PROTOCOLS = ("luxos", "bm13xx-serial")


class SiteConfigError(ValueError):
    """A bench file's emulated section that cannot be built."""


@dataclass(frozen=True)
class BoardGroup:
    """Identical boards behind one kind of endpoint."""

    name: str
    profile: str
    count: int
    protocol: str = "luxos"
    address_base: str = "127.0.0.2"
    port: int = 4028
    chip: str = "BM1370"
    asic_count: int = 1
    pool_difficulty: float | None = None
    mining_at_start: bool = True
    overrides: dict = field(default_factory=dict)  # board-profile fields to change (a DUT that misses promises)
    role: str = "boards"

    def __post_init__(self) -> None:
        where = f"board group {self.name!r}"
        if self.protocol not in PROTOCOLS:
            raise SiteConfigError(f"{where}: protocol {self.protocol!r} is not one of {', '.join(PROTOCOLS)}")
        if not isinstance(self.count, int) or self.count < 0:
            raise SiteConfigError(f"{where}: count must be a non-negative integer, got {self.count!r}")
        try:
            base = board_profile(self.profile)
        except KeyError as exc:
            raise SiteConfigError(f"{where}: {exc.args[0]}") from None
        unknown = set(self.overrides) - {f.name for f in fields(base)}
        if unknown:
            raise SiteConfigError(f"{where}: overrides: unknown board-profile field(s) {', '.join(sorted(unknown))}")
        try:
            base = ipaddress.IPv4Address(self.address_base)
        except ValueError:
            raise SiteConfigError(f"{where}: address_base {self.address_base!r} is not an IPv4 address") from None
        if self.protocol == "luxos" and not (base.is_loopback and base + max(self.count - 1, 0) in _LOOPBACK):
            raise SiteConfigError(f"{where}: boards must sit on loopback (127/8); {self.address_base} + {self.count}")


_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")


@dataclass(frozen=True)
class SiteConfig:
    groups: tuple[BoardGroup, ...] = field(default_factory=tuple)

    @property
    def board_count(self) -> int:
        return sum(g.count for g in self.groups)


@dataclass(frozen=True)
class Endpoint:
    """One served endpoint, as ``hilbench emulate`` prints it."""

    role: str
    name: str
    protocol: str
    address: str
    profile: str
    share_target: int  # the scaled target every share / nonce from this endpoint meets (shares.py)

    def as_dict(self) -> dict:
        return {
            "role": self.role,
            "name": self.name,
            "protocol": self.protocol,
            "address": self.address,
            "profile": self.profile,
            "share_target": f"{self.share_target:064x}",
        }


class EmulatedSite:
    """Builds, starts and stops every emulated board of a ``SiteConfig``."""

    def __init__(
        self,
        config: SiteConfig,
        *,
        time_scale: float = 1.0,
        clock: Clock | None = None,
        loop: EventLoopThread | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or PlantClock(time_scale)
        self._own_loop = loop is None
        self.boards: list[EmulatedBoard] = []
        self.responders: dict[str, LuxOSResponder] = {}
        self.endpoints: list[Endpoint] = []
        self._servers: list[RequestReplyServer] = []
        self._chains: list[BM13xxChain] = []
        self._loop: EventLoopThread | None = loop
        self.groups_of_board: list[BoardGroup] = []

    def start(self) -> list[Endpoint]:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self.endpoints

    def _start(self) -> None:
        if self._loop is None:
            self._loop = EventLoopThread()
        index = 0
        for group in self.config.groups:
            profile = replace(board_profile(group.profile), **group.overrides)
            base = ipaddress.IPv4Address(group.address_base)
            for i in range(group.count):
                board = EmulatedBoard(
                    profile,
                    self.clock,
                    index,
                    name=f"{group.name}-{i + 1:03d}",
                    pool_difficulty=group.pool_difficulty,
                    mining_at_start=group.mining_at_start,
                )
                index += 1
                self.boards.append(board)
                self.groups_of_board.append(group)
                if group.protocol == "luxos":
                    self._start_luxos(board, str(base + i), group.port, group.role)
                else:
                    chain = BM13xxChain(board, chip=group.chip, asic_count=group.asic_count, seed=index)
                    chain.start()
                    self._chains.append(chain)
                    self.endpoints.append(
                        Endpoint(
                            group.role,
                            board.identity.name,
                            "bm13xx-serial",
                            chain.path,
                            profile.key,
                            chain.nonce_target,
                        )
                    )

    def _start_luxos(self, board: EmulatedBoard, host: str, port: int, role: str) -> None:
        assert self._loop is not None
        responder = LuxOSResponder(board)
        server = RequestReplyServer(host, port, responder.handle, request_complete, name=board.identity.name)
        try:
            self._loop.call(server.start())
        except OSError as exc:
            raise OSError(
                exc.errno, f"emulated board {board.identity.name}: cannot listen on {host}:{port}: {exc.strerror}"
            ) from exc
        self._servers.append(server)
        self.responders[board.identity.name] = responder
        self.endpoints.append(
            Endpoint(
                role,
                board.identity.name,
                "luxos-cgminer-rpc",
                f"{host}:{server.port}",
                board.profile.key,
                board.shares.target,
            )
        )

    def kill_board(self, board: EmulatedBoard) -> None:
        """An injected fault: the board fails for good; its supply goes and its API stops answering."""
        board.model.die()
        assert self._loop is not None
        for server in self._servers:
            if server.name == board.identity.name:
                self._loop.call(server.stop())

    def stop(self) -> None:
        """Close every endpoint; safe to call twice and after a failed start."""
        for chain in self._chains:
            chain.stop()
        self._chains.clear()
        if self._loop is not None:
            for server in self._servers:
                with contextlib.suppress(Exception):  # stopping the rest matters more than one failure
                    self._loop.call(server.stop())
            self._servers.clear()
            if self._own_loop:
                self._loop.close()
            self._loop = None

    def __enter__(self) -> EmulatedSite:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
