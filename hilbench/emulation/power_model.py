"""Steady-state physics of one board: power, fans, PSU efficiency, temperature, profile ladder.

Power follows the CMOS model the issue asks for: DC power = static + k*f*V^2 + fans, and
wall power = DC / PSU efficiency(load).  ``k`` is calibrated so that the default profile
draws exactly the nameplate wall power.  The profile ladder has LuxOS-style overclock
steps above default and, below it, profiles about 5 % of nameplate apart (each one's
frequency solved from the model at a voltage interpolated down to ``min_voltage_v``), so
that ``set_power_limit`` reaches 5-100 % of a board and, with boards curtailed, 1-100 %
of a container.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hilbench.emulation.board_profiles import BoardProfile


def clip(x, low: float, high: float):
    """x limited to [low, high]: plain min/max for a float (the emulators' hot path), np.clip for arrays.
    The only place the scalar and array paths differ, so each physics formula is written once."""
    if isinstance(x, float):
        return min(max(x, low), high)
    return np.clip(x, low, high)


#: Fan duty the firmware's temperature loop settles at, per unit of DC load (ASSUMED, linear).
FAN_DUTY_AT_FULL_LOAD = 70.0


@dataclass(frozen=True)
class PowerProfile:
    """One selectable operating point, as LuxOS lists it in ``profiles``."""

    name: str
    frequency_mhz: float
    voltage_v: float
    watts: int  # steady-state wall power
    hashrate_ths: float


class PowerModel:
    """The profile's physics; pure functions of frequency, voltage and load."""

    def __init__(self, profile: BoardProfile) -> None:
        self.profile = profile
        self.dc_nameplate_w = profile.nameplate_w * profile.psu_peak_efficiency
        fan_w = self.fan_power_w(self.fan_duty_pct(1.0))
        switching_w = self.dc_nameplate_w - profile.static_w - fan_w
        if switching_w <= 0:
            raise ValueError(f"profile {profile.key}: static and fan power exceed the nameplate")
        self.k = switching_w / (profile.nominal_freq_mhz * profile.nominal_voltage_v**2)

    def fan_duty_pct(self, load):
        """Fan duty the firmware holds at this DC load fraction (0..1+); scalars or arrays."""
        duty = FAN_DUTY_AT_FULL_LOAD * load
        if isinstance(duty, float):  # clip inlined: this is the emulators' hottest line
            return min(max(duty, self.profile.min_fan_pct), 100.0)
        return np.clip(duty, self.profile.min_fan_pct, 100.0)

    def fan_power_w(self, duty_pct: float) -> float:
        """Fan power follows the cube of speed (fan affinity law)."""
        return self.profile.fans * self.profile.fan_max_w * (duty_pct / 100.0) ** 3

    def psu_efficiency(self, load):
        """Efficiency vs load fraction: flat near full load, falling at light load (ASSUMED shape)."""
        return self.profile.psu_peak_efficiency * (1.0 - 0.12 * (1.0 - clip(load, 0.0, 1.0)) ** 4)

    def hashrate_ths(self, frequency_mhz: float) -> float:
        return self.profile.nominal_hashrate_ths * frequency_mhz / self.profile.nominal_freq_mhz

    def mining_dc_w(self, frequency_mhz, voltage_v):
        """DC power while hashing and the fan duty it implies (fans depend on load: a few fixed-point steps).

        One expression for scalars and arrays (floats in, floats out; arrays in, arrays out).
        """
        core = self.profile.static_w + self.k * frequency_mhz * voltage_v**2
        if isinstance(core, int):
            core = float(core)
        dc, duty = core, 0.0
        for _ in range(4):
            duty = self.fan_duty_pct(dc / self.dc_nameplate_w)
            dc = core + self.fan_power_w(duty)
        return dc, duty

    def wall_w(self, dc_w):
        """Wall power for DC power (scalars or arrays; zero DC draws nothing, as dc / efficiency is 0)."""
        return dc_w / self.psu_efficiency(dc_w / self.dc_nameplate_w)

    def standby_dc_w(self) -> float:
        """The DC a curtailed board's control board and PSU housekeeping use: standby_w is at the wall."""
        return self.profile.standby_w * self.psu_efficiency(0.0)

    def mining_wall_w(self, frequency_mhz: float, voltage_v: float) -> float:
        return self.wall_w(self.mining_dc_w(frequency_mhz, voltage_v)[0])

    def boot_dc_w(self) -> float:
        """Booting: control board alive, hash boards idle, fans at full (as Antminers do)."""
        return self.profile.static_w + self.fan_power_w(100.0)

    def chip_temperature_c(self, dc_w: float, fan_duty_pct: float) -> float:
        """Steady-state chip temperature; weaker airflow raises the thermal resistance."""
        airflow = 0.4 + 0.6 * fan_duty_pct / 100.0
        return self.profile.ambient_c + self.profile.thermal_resistance_c_per_w * dc_w / airflow

    def _frequency_for_wall(self, target_w: float, voltage_v: float) -> float:
        lo, hi = 0.0, self.profile.nominal_freq_mhz
        for _ in range(60):
            mid = (lo + hi) / 2
            if self.mining_wall_w(mid, voltage_v) < target_w:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    @cached_property
    def ladder(self) -> tuple[PowerProfile, ...]:
        """All profiles, highest power first; 'default' is the nominal operating point."""
        p = self.profile
        points: list[tuple[str, float, float]] = []
        for step in range(p.up_steps, 0, -1):
            points.append(
                (
                    f"+{step}",
                    p.nominal_freq_mhz + step * p.profile_step_mhz,
                    round(p.nominal_voltage_v + step * p.profile_step_v, 3),
                )
            )
        points.append(("default", p.nominal_freq_mhz, p.nominal_voltage_v))
        fractions = p.down_profile_fractions
        lowest = fractions[-1] if fractions else 1.0
        for index, fraction in enumerate(fractions, start=1):
            share = (fraction - lowest) / (1.0 - lowest) if lowest < 1.0 else 1.0
            voltage = p.min_voltage_v + (p.nominal_voltage_v - p.min_voltage_v) * share
            frequency = self._frequency_for_wall(fraction * p.nameplate_w, voltage)
            points.append((f"-{index}", float(round(frequency)), round(voltage, 3)))
        return tuple(
            PowerProfile(
                name=name,
                frequency_mhz=freq,
                voltage_v=volt,
                watts=round(self.mining_wall_w(freq, volt)),
                hashrate_ths=round(self.hashrate_ths(freq), 3),
            )
            for name, freq, volt in points
        )

    def ladder_entry(self, name: str) -> PowerProfile:
        for entry in self.ladder:
            if entry.name == name:
                return entry
        raise KeyError(name)


@functools.lru_cache(maxsize=64)
def power_model(profile: BoardProfile) -> PowerModel:
    """The shared model of a profile (it is immutable: pure functions and cached ladders), so 1,300 boards or a
    fit's thousand simulated plants solve each profile's ladder once."""
    return PowerModel(profile)
