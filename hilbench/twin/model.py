"""The parameters of an emulated container, and the emulator's own plant built from them off-line.

A twin is the emulated plant with these parameters: the fit simulates each stored check's procedure on the very
model the twin will run (``Plant`` on a manual clock, no servers), so a fitted value is one the twin reproduces.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields, replace

import numpy as np

from hilbench.emulation.board import BoardModel
from hilbench.emulation.board_profiles import BoardProfile, board_profile
from hilbench.emulation.clock import ManualClock
from hilbench.emulation.controller import ControllerParams
from hilbench.emulation.plant import Plant, PlantParams
from hilbench.protocols.register_map import RegisterMap

#: board-profile fields the fit estimates (the rest keep the base profile's values)
BOARD_FIELDS = (
    "nameplate_w",
    "standby_w",
    "boot_s",
    "pll_ramp_mhz_per_s",
    "wake_delay_s",
    "curtail_latency_s",
    "graceful_stop_s",
    "emergency_stop_s",
)
#: controller fields the fit estimates
CONTROLLER_FIELDS = (
    "aux_w",
    "default_ramp_kw_s",
    "contactor_open_s",
    "stop_stagger_s",
    "setpoint_poll_s",
    "honours_ramp_limit",
    "uf_action",
)


@dataclass(frozen=True)
class ContainerModel:
    """What the twin's bench file says about the container: board count, board profile, controller, plant."""

    boards: int = 30
    profile: str = "s19j_pro"
    board: dict = field(default_factory=dict)  # BoardProfile overrides
    controller: dict = field(default_factory=dict)  # ControllerParams fields
    plant: dict = field(default_factory=dict)  # PlantParams fields (voltage, frequency, impedance, PSU)
    register_map: str = "reference"  # the controller's map: a setpoint arrives at its register's resolution

    def with_values(self, values: dict[str, object]) -> ContainerModel:
        """A copy with ``values`` (flat names: a board-profile, controller or plant field, or ``boards``)."""
        board, controller, plant, boards = dict(self.board), dict(self.controller), dict(self.plant), self.boards
        board_names = {f.name for f in fields(BoardProfile)}
        controller_names = {f.name for f in fields(ControllerParams)}
        for name, value in values.items():
            if name == "boards":
                boards = int(round(float(value)))
            elif name in board_names:
                board[name] = value
            elif name in controller_names:
                controller[name] = value
            else:
                plant[name] = value
        return replace(self, boards=boards, board=board, controller=controller, plant=plant)

    def value(self, name: str) -> object:
        """The value the model uses for ``name`` (its own, else the base profile's or the default)."""
        if name == "boards":
            return self.boards
        for own, default in (
            (self.board, self.board_profile()),
            (self.controller, ControllerParams()),
            (self.plant, PlantParams()),
        ):
            if name in own:
                return own[name]
            if hasattr(default, name):
                return getattr(default, name)
        raise KeyError(name)

    def board_profile(self) -> BoardProfile:
        return replace(board_profile(self.profile), **self.board)

    def rated_w(self) -> float:
        """The container's boards at their default profile (what the emulated controller calls rated)."""
        from hilbench.emulation.power_model import PowerModel

        return self.boards * PowerModel(self.board_profile()).ladder_entry("default").watts


@functools.lru_cache(maxsize=8)
def _register_map(name: str) -> RegisterMap:
    return RegisterMap.load(name)


def as_received(model: ContainerModel, field_name: str, value: float) -> float:
    """A setpoint as the controller decodes it from its register (48.75 kW arrives as 48.8 kW at x 0.1 kW)."""
    f = _register_map(model.register_map).field(field_name)
    return float(f.decode(f.encode(value)))


@dataclass
class SimulatedPlant:
    """The emulator's plant on a manual clock: commands at plant times, power read back at any past time."""

    clock: ManualClock
    plant: Plant

    def at(self, t: float) -> None:
        self.clock._now = max(self.clock._now, t)
        self.plant.advance(t)

    def p_total(self, times: np.ndarray) -> np.ndarray:
        self.at(float(np.max(times)))
        return self.plant.phase_power_w(np.asarray(times, dtype=float)).sum(axis=0)


def simulated_plant(model: ContainerModel, *, running: bool) -> SimulatedPlant:
    """The model's plant at plant time 0: every board mining at its default profile, or every board off."""
    clock = ManualClock()
    profile = model.board_profile()
    boards = [BoardModel(profile, clock, name=f"b{i}", powered=running) for i in range(model.boards)]
    plant_params = {k: v for k, v in model.plant.items() if k in {f.name for f in fields(PlantParams)}}
    plant = Plant(clock, boards, PlantParams(**plant_params), ControllerParams(**model.controller))
    if not running:
        plant.controller.write_mode(0, at=0.0)
    return SimulatedPlant(clock, plant)
