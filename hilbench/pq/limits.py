"""Harmonic and voltage-change limit tables as data, and their evaluation.

The numbers live in ``hilbench/pq/data/*.json``, each table with its sources, edition and verification status
(summarised in docs/references/pq_reference.md s.4).  This module only reads them.  A
table whose numbers could not be verified (IEC 61000-3-12) is marked ``verified=False``:
its evaluation can fail, but never passes ("unverified" instead of "pass").

Evaluation of a harmonics result: the value per order is the mean over the record of the
1.5 s smoothed harmonic-group r.m.s. (IEC 61000-3-2 6.3.2: average over the observation
period); for IEC 61000-3-2 every smoothed value must also stay within 150 % of the limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np

from hilbench.pq.harmonics import HarmonicsResult

PASS, FAIL, UNVERIFIED = "pass", "fail", "unverified"


@cache
def _data(name: str) -> dict:
    return json.loads(resources.files("hilbench.pq").joinpath("data", name).read_text(encoding="utf-8"))


def harmonic_tables() -> dict:
    return _data("harmonic_limits.json")


def voltage_change_tables() -> dict:
    return _data("iec61000_3_3_limits.json")


@dataclass(frozen=True)
class LimitSet:
    """Per-order limits in one unit, with where they came from."""

    table: str
    unit: str  # "A", "% of I1", "% of IL", "% of V1"
    limits: dict[int, float]
    source: list[str]
    edition: str
    verified: bool
    extra: dict = field(default_factory=dict)  # e.g. THD / TDD limits


@dataclass(frozen=True)
class OrderVerdict:
    order: int
    value: float
    limit: float
    ratio: float
    verdict: str


@dataclass(frozen=True)
class Evaluation:
    limits: LimitSet
    orders: list[OrderVerdict]
    totals: list[OrderVerdict]  # THD / TDD rows, order 0

    @property
    def verdict(self) -> str:
        rows = self.orders + self.totals
        if any(r.verdict == FAIL for r in rows):
            return FAIL
        return PASS if self.limits.verified else UNVERIFIED

    def as_dict(self) -> dict:
        return {
            "table": self.limits.table,
            "unit": self.limits.unit,
            "edition": self.limits.edition,
            "verified": self.limits.verified,
            "verdict": self.verdict,
            "orders": [r.__dict__ for r in self.orders],
            "totals": [r.__dict__ for r in self.totals],
        }


# ----- table builders ----------------------------------------------------------------------
def iec61000_3_2(
    equipment_class: str,
    *,
    power_w: float | None = None,
    power_factor: float | None = None,
    fundamental_a: float | None = None,
) -> LimitSet:
    """IEC 61000-3-2 limits for classes A-D.  Class C needs the fundamental current and power factor,
    Class D the active power (W); Class D is capped at Class A."""
    t = harmonic_tables()["iec_61000_3_2"]
    class_a = {int(k): float(v) for k, v in t["class_A_amps_rms"].items()}
    edition = "IEC 61000-3-2 Ed.5 (2018)+A1 (2020); " + t["edition_note"]
    equipment_class = equipment_class.upper()
    if equipment_class == "A":
        limits, unit = class_a, "A"
    elif equipment_class == "B":
        limits, unit = {h: 1.5 * v for h, v in class_a.items()}, "A"
    elif equipment_class == "C":
        if power_factor is None or fundamental_a is None:
            raise ValueError("IEC 61000-3-2 Class C needs power_factor and fundamental_a")
        c = t["class_C_percent_of_fundamental"]
        percent = {2: c["2"], 3: 30 * power_factor, 5: c["5"], 7: c["7"], 9: c["9"]}
        percent.update({h: c["11..39 odd"] for h in range(11, 40, 2)})
        limits, unit = {h: p / 100 * fundamental_a for h, p in percent.items()}, "A"
    elif equipment_class == "D":
        if power_w is None or not power_w > 0:
            raise ValueError("IEC 61000-3-2 Class D needs the active power power_w > 0")
        per_w = {int(k): float(v) for k, v in t["class_D_mA_per_W"].items()}
        limits = {h: min(v * power_w / 1000, class_a[h]) for h, v in per_w.items()}
        unit = "A"
    else:
        raise ValueError(f"IEC 61000-3-2 class must be A, B, C or D, got {equipment_class!r}")
    return LimitSet(f"IEC 61000-3-2 Class {equipment_class}", unit, limits, t["source"], edition, True)


def _ieee_row(rows: list, ratio: float) -> list:
    """Pick the Isc/IL row: labels like '<20', '20<50', '>1000', '>=50', '25<50'."""
    for row in rows:
        label = row[0]
        if label.startswith("<"):
            if ratio < float(label[1:]):
                return row
        elif label.startswith(">="):
            if ratio >= float(label[2:]):
                return row
        elif label.startswith(">"):
            if ratio > float(label[1:]):
                return row
        else:
            lo, hi = (float(v) for v in label.split("<"))
            if lo <= ratio < hi:
                return row
    raise ValueError(f"no IEEE 519 row for Isc/IL = {ratio}")


IEEE_BANDS = ((3, 11), (11, 17), (17, 23), (23, 35), (35, 51))


def ieee519_current(*, isc_il: float, voltage_kv: float, max_order: int = 50) -> LimitSet:
    """IEEE 519-2022 current distortion limits (% of IL) with the 2022 even-harmonic rule."""
    t = harmonic_tables()["ieee_519_2022"]
    if not isc_il > 0 or not voltage_kv > 0:
        raise ValueError("IEEE 519 needs isc_il > 0 and voltage_kv > 0")
    if voltage_kv <= 69:
        key = "table_2_current_120V_to_69kV_percent_of_IL"
    elif voltage_kv <= 161:
        key = "table_3_current_69kV_to_161kV_percent_of_IL"
    else:
        key = "table_4_current_above_161kV_percent_of_IL"
    row = _ieee_row(t[key]["rows"], isc_il)
    band_limits, tdd = row[1:6], row[6]
    limits: dict[int, float] = {}
    for h in range(2, max_order + 1):
        band = next((i for i, (lo, hi) in enumerate(IEEE_BANDS) if lo <= h < hi), 0)
        odd_limit = band_limits[band]
        limits[h] = odd_limit if h % 2 else odd_limit * (0.5 if h <= 6 else 1.0)
    return LimitSet(
        f"IEEE 519-2022 current ({key.split('_current')[0]}, Isc/IL {row[0]})",
        "% of IL",
        limits,
        t["source"],
        "IEEE 519-2022",
        True,
        {"TDD": float(tdd)},
    )


def ieee519_voltage(*, voltage_kv: float, max_order: int = 50) -> LimitSet:
    t = harmonic_tables()["ieee_519_2022"]["table_1_voltage_percent_of_fundamental"]
    bounds = [(1.0, 0), (69.0, 1), (161.0, 2)]
    row = t["rows"][next((i for limit, i in bounds if voltage_kv <= limit), 3)]
    limits = {h: float(row[1]) for h in range(2, max_order + 1)}
    return LimitSet(
        f"IEEE 519-2022 voltage ({row[0]})",
        "% of V1",
        limits,
        harmonic_tables()["ieee_519_2022"]["source"],
        "IEEE 519-2022",
        True,
        {"THD": float(row[2])},
    )


def jeag9702(*, contract_kw: float, voltage_kv: float, max_order: int = 50) -> LimitSet:
    """JEAG 9702 outflow current limits (A at the receiving voltage) = mA/kW x contract kW."""
    t = harmonic_tables()["jeag_9702_japan"]
    key = {6.6: "6.6kV", 22.0: "22kV", 33.0: "33kV"}.get(round(float(voltage_kv), 1))
    if key is None:
        raise ValueError(
            f"JEAG 9702 rows exist here for 6.6, 22 and 33 kV only, got {voltage_kv} kV "
            "(66 kV and above were not found in any accessible source)"
        )
    if not contract_kw > 0:
        raise ValueError("JEAG 9702 needs the contract power contract_kw > 0")
    per_kw = t["upper_limit_mA_per_kW"][key]
    named = dict(zip((5, 7, 11, 13, 17, 19, 23), per_kw[:7], strict=True))
    limits = {h: v * contract_kw / 1000 for h, v in named.items()}
    limits.update({h: per_kw[7] * contract_kw / 1000 for h in range(25, max_order + 1, 2)})
    return LimitSet(
        f"JEAG 9702 {key}, {contract_kw:g} kW contract",
        "A",
        limits,
        t["source"],
        "JEAG 9702 (1995, rev. 2013/2018)",
        True,
    )


def iec61000_3_12(*, rsce: float, balanced_three_phase: bool, iref_a: float) -> LimitSet:
    """IEC 61000-3-12 Tables 2/3 from unverified recall: evaluation never passes (see module doc)."""
    t = harmonic_tables()["iec_61000_3_12"]
    recall = t["UNVERIFIED_recall_do_not_use_for_pass_fail"]
    key = (
        "table_3_balanced_three_phase_percent_of_Iref"
        if balanced_three_phase
        else "table_2_other_than_balanced_three_phase_percent_of_Iref"
    )
    table = recall[key]
    rows = [r for r in table["rows"] if r[0] <= rsce] or table["rows"][:1]
    row = dict(zip(table["columns"], rows[-1], strict=True))
    limits = {int(c[1:]): row[c] / 100 * iref_a for c in table["columns"] if c.startswith("I")}
    return LimitSet(
        f"IEC 61000-3-12 {key.split('_percent')[0]} (Rsce {rows[-1][0]})",
        "A",
        limits,
        t["source"],
        "IEC 61000-3-12:2011 (numbers UNVERIFIED)",
        False,
        {"THC %Iref": row["THC"], "PWHC %Iref": row["PWHC"]},
    )


# ----- evaluation --------------------------------------------------------------------------
def _row(order: int, value: float, limit: float) -> OrderVerdict:
    ratio = value / limit if limit > 0 else float("inf")
    return OrderVerdict(order, float(value), float(limit), float(ratio), PASS if value <= limit else FAIL)


def evaluate_harmonics(
    result: HarmonicsResult, limits: LimitSet, *, channel: int = 0, demand_current: float | None = None
) -> Evaluation:
    """Per order: value (mean of 1.5 s smoothed group r.m.s., in the table's unit), limit, ratio, verdict."""
    smoothed = result.smoothed()
    groups = smoothed.group_rms if smoothed.group_rms.ndim == 2 else smoothed.group_rms[channel]
    mean = groups.mean(axis=0)
    peak = groups.max(axis=0)
    fundamental = float(mean[1])
    if limits.unit == "% of IL":
        if not demand_current or demand_current <= 0:
            raise ValueError("IEEE 519 current limits need demand_current (IL, A)")
        scale = 100.0 / demand_current
    elif limits.unit in ("% of V1", "% of I1"):
        if fundamental <= 0:
            raise ValueError("the fundamental is zero; relative limits cannot be evaluated")
        scale = 100.0 / fundamental
    else:
        scale = 1.0
    rows = []
    for order, limit in sorted(limits.limits.items()):
        if order > result.max_order:
            continue
        row = _row(order, mean[order] * scale, limit)
        if limits.table.startswith("IEC 61000-3-2") and peak[order] * scale > 1.5 * limit:
            row = OrderVerdict(order, row.value, row.limit, row.ratio, FAIL)  # 150 % rule on smoothed values
        rows.append(row)
    totals = []
    if "TDD" in limits.extra and demand_current:
        tdd = (
            float(
                np.mean(
                    smoothed.tdd(demand_current)
                    if smoothed.group_rms.ndim == 2
                    else smoothed.tdd(demand_current)[channel]
                )
            )
            * 100
        )
        totals.append(_row(0, tdd, limits.extra["TDD"]))
    if "THD" in limits.extra:
        thd = smoothed.thdg if smoothed.group_rms.ndim == 2 else smoothed.thdg[channel]
        totals.append(_row(0, float(np.mean(thd)) * 100, limits.extra["THD"]))
    if not limits.verified:
        rows = [r if r.verdict == FAIL else OrderVerdict(r.order, r.value, r.limit, r.ratio, UNVERIFIED) for r in rows]
    return Evaluation(limits, rows, totals)


@dataclass(frozen=True)
class VoltageChangeLimits:
    """IEC 61000-3-3 Ed.3 limits (values and status from iec61000_3_3_limits.json)."""

    pst: float
    plt: float
    dc_percent: float
    dmax_percent: float
    tmax_s: float
    source: list[str]

    @classmethod
    def iec61000_3_3(cls, dmax_condition: str = "a", *, manual_switching: bool = False) -> VoltageChangeLimits:
        data = voltage_change_tables()
        lim = data["limits"]
        dmax = {"a": lim["dmax_percent"]["a_default"], "b": 6.0, "c": 7.0}.get(dmax_condition)
        if dmax is None:
            raise ValueError(f"dmax condition must be a, b or c, got {dmax_condition!r}")
        factor = 1.33 if manual_switching else 1.0
        return cls(
            lim["Pst_max"],
            lim["Plt_max"],
            lim["dc_max_percent"] * factor,
            dmax * factor,
            lim["d_t"]["Tmax_ms"] / 1000,
            data["source"],
        )

    def evaluate(
        self,
        *,
        pst: float | None = None,
        plt: float | None = None,
        dc: float | None = None,
        dmax: float | None = None,
        tmax: float | None = None,
    ) -> list[OrderVerdict]:
        pairs = [
            ("Pst", pst, self.pst),
            ("Plt", plt, self.plt),
            ("dc", dc, self.dc_percent),
            ("dmax", dmax, self.dmax_percent),
            ("Tmax", tmax, self.tmax_s),
        ]
        return [_row(0, value, limit) for _, value, limit in pairs if value is not None]
