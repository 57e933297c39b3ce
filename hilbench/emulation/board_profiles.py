"""Board profiles as data: what an emulated board is, physically.

Each figure carries its source.  Where no primary source exists the value is marked
ASSUMED and chosen to be plausible; tests depend only on the model being self-consistent.
Sources: docs/references/grid_response.md section 4 (LuxOS profile steps, S19j Pro
frequencies, ESP-Miner PLL ramp) and miner_protocols.md B.6 (BM1370 defaults).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BoardProfile:
    """Physical and firmware constants of one board class (a whole miner unit for the S19)."""

    key: str
    model: str  # what the firmware reports as its type, e.g. VERSION[0].Type
    chip: str
    hashboards: int  # chains reported by the API
    chips_per_hashboard: int
    nameplate_w: float  # wall power at the default profile, steady state
    nominal_hashrate_ths: float  # at nominal_freq_mhz
    nominal_freq_mhz: float
    nominal_voltage_v: float
    min_voltage_v: float  # voltage of the lowest power profile
    profile_step_mhz: float  # frequency step of the overclock profiles
    profile_step_v: float  # voltage step of the overclock profiles
    static_w: float  # control board, leakage: DC power that does not scale with f*V^2
    fans: int
    fan_max_w: float  # per fan at 100 %
    fan_max_rpm: int
    min_fan_pct: float
    psu_peak_efficiency: float
    standby_w: float  # wall power while curtailed (control board alive, PSU output off)
    boot_s: float  # power-on to the start of the PLL ramp (OS and firmware boot)
    pll_ramp_mhz_per_s: float
    wake_delay_s: float  # 'curtail wakeup' to the start of the PLL ramp (PSU back on)
    curtail_latency_s: float  # 'curtail sleep' to hash boards off
    graceful_stop_s: float  # shutdown command to off, finishing in-flight work
    emergency_stop_s: float  # supply removed to zero power (PSU hold-up)
    ambient_c: float
    thermal_resistance_c_per_w: float  # chip temperature rise per DC watt at full fan
    thermal_time_constant_s: float
    up_steps: int  # overclock profiles above default (LuxOS has 8)
    down_profile_fractions: tuple[float, ...]  # wall-power fractions of nameplate below default
    default_pool_difficulty: float
    serial_chip_id: int = 0  # BM13xx chip id answered on enumeration (0 = no serial interface)
    small_cores: int = 0


def _fractions(step: float, lowest: float) -> tuple[float, ...]:
    """0.95, 0.90, ... down to ``lowest``: profiles about 5 % of nameplate apart."""
    count = round((1.0 - lowest) / step)
    return tuple(round(1.0 - step * i, 4) for i in range(1, count + 1))


S19J_PRO = BoardProfile(
    key="s19j_pro",
    model="Antminer S19j Pro",
    chip="BM1362",
    hashboards=3,
    chips_per_hashboard=126,  # S19j Pro: 126 BM1362 per hash board (pyasic S19jPro expected_chips)
    nameplate_w=3250.0,  # issue 2: ~3.25 kW
    nominal_hashrate_ths=100.0,  # LuxOS docs: 525 MHz -> 100 TH/s
    nominal_freq_mhz=525.0,
    nominal_voltage_v=13.6,  # ASSUMED chain voltage; APW12 outputs 12-15 V (D-Central)
    min_voltage_v=12.0,  # ASSUMED
    profile_step_mhz=25.0,  # LuxOS profiles: 25 MHz and 0.1 V per step (docs.luxor.tech Features)
    profile_step_v=0.1,
    static_w=60.0,  # ASSUMED
    fans=4,
    fan_max_w=36.0,  # ASSUMED (12 V, 3 A class fans)
    fan_max_rpm=6000,
    min_fan_pct=10.0,
    psu_peak_efficiency=0.94,  # ASSUMED: no APW12 datasheet figure found (grid_response.md s.4)
    standby_w=15.0,  # ASSUMED
    boot_s=75.0,  # ASSUMED: with the 8.4 s PLL ramp ~84 s to full rate, inside Soluna's 90 s boot
    pll_ramp_mhz_per_s=62.5,  # ESP-Miner: 6.25 MHz every 100 ms (frequency_transition_bmXX.c); ASSUMED same
    wake_delay_s=2.0,  # ASSUMED: PSU output back on
    curtail_latency_s=1.0,  # ASSUMED inside the 0.5-20 s software curtail range (grid_response.md s.5)
    graceful_stop_s=10.0,  # ASSUMED
    emergency_stop_s=0.05,  # ASSUMED: PSU hold-up after the contactor opens
    ambient_c=25.0,
    thermal_resistance_c_per_w=0.0107,  # ASSUMED: ~65 C chips at nameplate
    thermal_time_constant_s=60.0,
    up_steps=2,
    down_profile_fractions=_fractions(0.05, 0.05),
    default_pool_difficulty=131072.0,  # ~0.18 shares/s at 100 TH/s, a typical pool vardiff rate
)

BITAXE_BM1370 = BoardProfile(
    key="bitaxe_bm1370",
    model="Bitaxe Gamma",
    chip="BM1370",
    hashboards=1,
    chips_per_hashboard=1,
    nameplate_w=17.0,  # ASSUMED from public Bitaxe Gamma reviews (~15-18 W)
    nominal_hashrate_ths=1.071,  # 2040 small cores x 525 MHz / 1000 GH/s (miner_protocols.md B.6)
    nominal_freq_mhz=525.0,  # ESP-Miner device_config.h default
    nominal_voltage_v=1.150,  # core voltage 1150 mV (device_config.h)
    min_voltage_v=1.000,  # ASSUMED
    profile_step_mhz=25.0,  # ASSUMED
    profile_step_v=0.01,  # ASSUMED
    static_w=3.0,  # ASSUMED: ESP32 and regulators
    fans=1,
    fan_max_w=2.0,
    fan_max_rpm=6500,
    min_fan_pct=20.0,
    psu_peak_efficiency=0.90,  # ASSUMED buck converter
    standby_w=1.5,
    boot_s=6.0,  # ASSUMED
    pll_ramp_mhz_per_s=62.5,  # ESP-Miner frequency_transition_bmXX.c
    wake_delay_s=0.5,
    curtail_latency_s=1.0,  # ESP-Miner acts on pause in the next power-management poll
    graceful_stop_s=2.0,
    emergency_stop_s=0.01,
    ambient_c=25.0,
    thermal_resistance_c_per_w=2.1,  # ASSUMED: ~65 C chip at nameplate
    thermal_time_constant_s=30.0,
    up_steps=2,
    down_profile_fractions=_fractions(0.05, 0.25),
    default_pool_difficulty=1000.0,
    serial_chip_id=0x1370,
    small_cores=2040,
)

PROFILES: dict[str, BoardProfile] = {p.key: p for p in (S19J_PRO, BITAXE_BM1370)}


def board_profile(key: str) -> BoardProfile:
    """Look a profile up by key, with an error that lists the known ones."""
    try:
        return PROFILES[key]
    except KeyError:
        raise KeyError(f"unknown board profile {key!r}; known: {', '.join(sorted(PROFILES))}") from None
