"""An emulated board: physics (BoardModel), shares (ShareEngine) and identity, as one unit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hilbench.emulation.board import BoardModel
from hilbench.emulation.board_profiles import BoardProfile
from hilbench.emulation.clock import Clock
from hilbench.emulation.shares import ShareEngine


@dataclass(frozen=True)
class BoardIdentity:
    name: str
    index: int
    serial: str
    mac: str
    pool_url: str
    pool_user: str


class EmulatedBoard:
    """What every protocol endpoint of one board talks to."""

    def __init__(
        self,
        profile: BoardProfile,
        clock: Clock,
        index: int,
        *,
        name: str | None = None,
        pool_difficulty: float | None = None,
        mining_at_start: bool = True,
        pool_url: str = "stratum+tcp://pool.invalid:3333",
    ) -> None:
        name = name or f"{profile.key}-{index:03d}"
        self.identity = BoardIdentity(
            name=name,
            index=index,
            serial=f"HB{index:06d}",
            mac=f"02:48:42:{index >> 16 & 0xFF:02x}:{index >> 8 & 0xFF:02x}:{index & 0xFF:02x}",
            pool_url=pool_url,
            pool_user=f"hilbench.{name}",
        )
        self.clock = clock
        #: Called before any endpoint touches the board: the plant advances its controller first, so the
        #: controller's commands land at their own plant times whatever order endpoints are polled in.
        self.before_access: Callable[[], object] | None = None
        self.model = BoardModel(profile, clock, name=name, start_mining=mining_at_start)
        self.shares = ShareEngine(
            self.model,
            pool_difficulty=pool_difficulty or profile.default_pool_difficulty,
            extranonce1=f"{index:08x}",
            time_scale=clock.time_scale,
            seed=index,
        )

    def touch(self) -> None:
        if self.before_access is not None:
            self.before_access()

    @property
    def profile(self) -> BoardProfile:
        return self.model.profile
