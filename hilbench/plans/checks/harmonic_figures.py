"""The harmonics check's figures from its captures: pure, so that a stored run can be judged again against another
limit table (``hilbench replay``) exactly as the live check judged it.  The captures come from the recorder's raw
waveforms (IEC 61000-4-7 analysis here) or from the analyser's own harmonic measurement."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from hilbench import pq
from hilbench.plans.checks.base import Dut
from hilbench.pq import limits as pq_limits
from hilbench.report import charts

#: parameters that only change how captures are judged (a replay may change them); the others change what is captured
JUDGING_PARAMS = ("table", "equipment_class", "receiving_kv", "rsce")


class TableError(ValueError):
    """The plan's figures cannot select a limit table (a missing rating, a voltage row the table lacks)."""


@dataclass(frozen=True)
class HarmonicCapture:
    level: float  # percent of rated power
    current: pq.HarmonicsResult
    voltage: pq.HarmonicsResult
    raw: str  # the raw file, relative to the run directory
    source: str  # which instrument the figures came from


def as_result(components: np.ndarray, times: np.ndarray, f_nominal: float) -> pq.HarmonicsResult:
    """An instrument's harmonic components as a HarmonicsResult (components only: no interharmonics)."""
    zeros = np.zeros_like(components)
    return pq.HarmonicsResult(
        f_nominal, 10 if f_nominal == 50 else 12, times, np.full(times.shape, f_nominal),
        components, components, components, zeros, zeros,
    )  # fmt: skip


def capture_from_raw(path, level: float, f_nominal: float, relative: str, source: str) -> HarmonicCapture:
    """A capture as the live check stored it: raw waveforms (voltage, current, fs) or analyser components."""
    with np.load(path) as data:
        if "fs" in data.files:
            fs = float(data["fs"])
            current = pq.harmonics(data["current"], fs, f_nominal=f_nominal, reference=data["voltage"][0])
            return HarmonicCapture(level, current, pq.harmonics(data["voltage"], fs, f_nominal=f_nominal), relative,
                                   source)  # fmt: skip
        times = data["time"]
        return HarmonicCapture(
            level, as_result(data["current"], times, f_nominal), as_result(data["voltage"], times, f_nominal),
            relative, source,
        )  # fmt: skip


def current_scale(dut: Dut, params: dict) -> float:
    """JEAG 9702 limits are currents at the receiving voltage: the PCC currents are referred to it (the
    transformer's ratio); other tables apply at the PCC."""
    if params["table"] == "jeag9702":
        return dut.voltage_v / 1000 / float(params["receiving_kv"])
    return 1.0


def select_table(dut: Dut, params: dict, fundamental_current_a: float):
    """(limit table, IEEE 519 demand current or None); ValueError when the plan's figures cannot select one."""
    name = params["table"]
    v_kv = dut.voltage_v / 1000
    if name == "ieee519":
        il = dut.rated_kw * 1000 / (math.sqrt(3) * dut.voltage_v)
        return pq_limits.ieee519_current(isc_il=dut.isc_ka * 1000 / il, voltage_kv=v_kv), il
    if name == "jeag9702":
        if not params.get("receiving_kv"):
            raise ValueError(
                "JEAG 9702 limits are per kW of contract at the receiving voltage: set params.receiving_kv "
                "(6.6, 22 or 33 kV; the container's own supply voltage is not a receiving voltage)"
            )
        return pq_limits.jeag9702(contract_kw=dut.contract_kw, voltage_kv=params["receiving_kv"]), None
    if name == "iec61000-3-2":
        return pq_limits.iec61000_3_2(params.get("equipment_class", "A")), None
    if name == "iec61000-3-12":
        return pq_limits.iec61000_3_12(
            rsce=params.get("rsce", 33), balanced_three_phase=True, iref_a=fundamental_current_a
        ), None
    raise ValueError(f"unknown harmonics table {name!r}: ieee519, jeag9702, iec61000-3-2, iec61000-3-12")


def _per_phase(result: pq.HarmonicsResult, phase: int, factor: float) -> pq.HarmonicsResult:
    arrays = (result.line_rms, result.group_rms, result.subgroup_rms, result.interharmonic_group_rms,
              result.interharmonic_subgroup_rms)  # fmt: skip
    return pq.HarmonicsResult(
        result.f_nominal, result.cycles_per_window, result.window_start_s, result.frequency_hz,
        *(a[phase : phase + 1] * factor for a in arrays),
    )  # fmt: skip


def harmonic_figures(
    captures: list[HarmonicCapture],
    params: dict,
    dut: Dut,
    *,
    chart: Callable[[str, Callable[[], bytes]], None] | None = None,
    title: str = "harmonics",
) -> dict[str, tuple[float | None, dict]]:
    """{measurement name: (value, extra fields for the record)}; TableError when no table fits the plan."""
    worst, tdd_all, thd_i_all, thd_v_all, source = 0.0, [], [], [], ""
    per_psu = params["table"] == "iec61000-3-2"
    for capture in captures:
        result, source = capture.current, capture.source
        i1 = float(result.group_rms[:, :, 1].mean())
        try:
            table, il = select_table(dut, params, i1)
        except ValueError as exc:  # the tables refuse what they do not cover
            raise TableError(str(exc)) from None
        for phase in range(3):
            if per_psu or current_scale(dut, params) != 1.0:
                # IEC 61000-3-2 limits apply per PSU (one board's share of the phase current); JEAG 9702 limits at
                # the receiving voltage (the PCC current referred through the transformer)
                factor = 3 / max(dut.boards, 1) if per_psu else current_scale(dut, params)
                evaluation = pq_limits.evaluate_harmonics(_per_phase(result, phase, factor), table, channel=0)
            else:
                evaluation = pq_limits.evaluate_harmonics(result, table, channel=phase, demand_current=il)
            ratios = [r.ratio for r in evaluation.orders]
            worst = max(worst, max(ratios) if ratios else 0.0)
            if phase == 0 and chart is not None:
                orders = np.array([r.order for r in evaluation.orders])
                chart(
                    f"spectrum-{capture.level:g}",
                    partial(
                        charts.harmonic_spectrum,
                        f"{title}: phase 1 current harmonics at {capture.level:g} % vs {table.table}",
                        orders,
                        np.array([r.value for r in evaluation.orders]),
                        np.array([r.limit for r in evaluation.orders]),
                        table.unit,
                    ),
                )
        if il:
            tdd_all.append(float(np.max(result.tdd(il).mean(axis=-1))) * 100)
        thd_i_all.append(float(np.max(result.thd.mean(axis=-1))) * 100)
        thd_v_all.append(float(np.max(capture.voltage.thd.mean(axis=-1))) * 100)
    note = f"largest value/limit over orders, phases and levels ({params['table']})"
    return {
        "worst_ratio": (worst, {"note": note, "source": source}),
        "tdd_percent": (
            max(tdd_all) if tdd_all else None,
            {"note": "" if tdd_all else "no TDD for this table", "source": source},
        ),
        "thd_current_percent": (max(thd_i_all) if thd_i_all else None, {"source": source}),
        "thd_voltage_percent": (max(thd_v_all) if thd_v_all else None, {"source": source}),
    }
