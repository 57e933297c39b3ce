"""Power quality at the PCC from the analyser's waveforms: harmonics, flicker and voltage change,
power factor; and the MegaWatt-to-MegaHash promise (hash rate follows power)."""

from __future__ import annotations

import math

import numpy as np

from hilbench import pq
from hilbench.plans.checks.base import CheckAborted, CheckContext, check
from hilbench.plans.checks.harmonic_figures import (
    HarmonicCapture,
    TableError,
    as_result,
    harmonic_figures,
    select_table,
)
from hilbench.report import charts


def _harmonic_results(ctx: CheckContext, level: float, capture_s: float):
    """(current, voltage) IEC 61000-4-7 results at one level, the raw file and where the figures came from: the
    recorder's raw record analysed here when the bench has one, else the analyser's own harmonic measurement (one
    reading per update over ``capture_s``, each taken as a window)."""
    if ctx.session.has_role("recorder"):
        capture = ctx.waveform_recorder.acquire(capture_s)
        raw = ctx.run_record.save_raw(
            ctx.check_id,
            f"waveforms-{level:g}",
            voltage=capture.voltage,
            current=capture.current,
            fs=capture.fs,
            t0=capture.t0,
        )
        f = ctx.dut.frequency_hz
        return (
            pq.harmonics(capture.current, capture.fs, f_nominal=f, reference=capture.voltage[0]),
            pq.harmonics(capture.voltage, capture.fs, f_nominal=f),
            raw,
            _waveform_source(ctx),
        )
    start = ctx.analyser.read()
    readings = []
    while not readings or readings[-1].time < start.time + capture_s - 1e-9:
        readings.append(ctx.analyser.harmonics(HARMONIC_ORDERS))
    current = np.stack([r.current_a for r in readings], axis=1)  # (3, windows, orders)
    voltage = np.stack([r.voltage_v for r in readings], axis=1)
    times = np.array([r.time for r in readings])
    raw = ctx.run_record.save_raw(ctx.check_id, f"harmonics-{level:g}", current=current, voltage=voltage, time=times)
    source = f"analyser harmonic measurement: {ctx.session.identities.get('analyser', 'unidentified')}"
    f = ctx.dut.frequency_hz
    return as_result(current, times, f), as_result(voltage, times, f), raw, source


#: orders an analyser's own harmonic measurement reports (IEC 61000-4-7 and the limit tables go to 40 or 50)
HARMONIC_ORDERS = 50


def _waveform_source(ctx: CheckContext) -> str:
    """Which instrument the waveform figures came from, for the report."""
    return f"recorder: {ctx.session.identities.get('recorder', 'unidentified')}"


@check(
    "harmonics",
    measurements={"worst_ratio": "", "tdd_percent": "%", "thd_current_percent": "%", "thd_voltage_percent": "%"},
    params={
        "levels_percent": [100.0, 50.0],
        "table": "ieee519",
        "capture_s": 3.0,
        "settle_s": 20.0,
        "equipment_class": "A",
        "receiving_kv": None,
        "rsce": 33,
    },
    resolution_s=None,
    roles=("controller", "analyser"),
    uses=("recorder.acquire", "analyser.harmonics"),  # the recorder's raw record when the bench has one
)
def harmonics(ctx: CheckContext, params: dict) -> None:
    """IEC 61000-4-7 groups of the PCC currents at several load levels, judged against the plan's table."""
    try:  # a table the plan's figures cannot select is said before anything is captured
        select_table(ctx.dut, params, fundamental_current_a=1.0)
    except ValueError as exc:
        raise CheckAborted(f"harmonics table {params['table']!r}: {exc}") from None
    captures = []
    for level in params["levels_percent"]:
        ctx.prepare_running(level)
        ctx.trend(params["settle_s"], f"settle at {level:g} %")
        current, voltage, raw, source = _harmonic_results(ctx, level, params["capture_s"])
        captures.append(HarmonicCapture(level, current, voltage, raw, source))
        ctx.progress(f"  {ctx.check_id}: {level:g} % captured ({raw})")
    try:
        figures = harmonic_figures(captures, params, ctx.dut, chart=ctx.attach_chart, title=ctx.check_id)
    except TableError as exc:
        raise CheckAborted(f"harmonics table {params['table']!r}: {exc}") from None
    for name, (value, extra) in figures.items():
        ctx.measure(name, value, **extra)


@check(
    "flicker",
    measurements={"pst": "", "plt": "", "dc_percent": "%", "dmax_percent": "%", "tmax_s": "s"},
    params={
        "duration_s": 600.0,
        "sequence": [[60, 50], [120, 100], [300, 70], [420, 100]],
        "lamp": "230V",
        "ramp_kw_s": 50.0,
    },
    resolution_s=None,
    roles=("controller", "analyser", "recorder"),
)
def flicker(ctx: CheckContext, params: dict) -> None:
    """Pst/Plt (IEC 61000-4-15) and dc/dmax/Tmax (IEC 61000-3-3) at the PCC while the container ramps and
    switches boards through the plan's operating sequence ([seconds from start, percent of rated])."""
    ctx.prepare_running(100.0)
    ctx.controller.set_ramp(params["ramp_kw_s"] * 1000)
    steps = sorted((float(at), float(percent)) for at, percent in params["sequence"])

    def operating_sequence() -> None:
        """Each setpoint at its instrument time from the start of the record."""
        start = ctx.now()
        for at, percent in steps:
            if at < params["duration_s"]:
                ctx.analyser.wait_until(start + at)
                ctx.controller.set_power(ctx.rated_w * percent / 100)

    ctx.progress(f"{ctx.check_id}: recording {params['duration_s']:g} s of waveforms (plant time) for flicker")
    capture = ctx.waveform_recorder.acquire(params["duration_s"], during=operating_sequence)
    raw = ctx.run_record.save_raw(
        ctx.check_id, "voltage", voltage=capture.voltage.astype(np.float32), fs=capture.fs, t0=capture.t0
    )
    psts, plts, changes = [], [], []
    for phase in range(3):
        result = pq.flicker(capture.voltage[phase], capture.fs, lamp=params["lamp"], f_nominal=ctx.dut.frequency_hz)
        if result.pst:
            psts.append(max(result.pst))
        if result.plt is not None:
            plts.append(result.plt)
        changes.append(
            pq.voltage_change(
                capture.voltage[phase],
                capture.fs,
                f_nominal=ctx.dut.frequency_hz,
                u_nominal=ctx.dut.voltage_v / math.sqrt(3),
            )
        )
        if phase == 0:
            t = capture.t0 + np.arange(len(result.pinst)) / result.pinst_fs
            ctx.attach_chart(
                "pinst",
                lambda t=t, result=result: charts.pinst_series(
                    f"{ctx.check_id}: Pinst, phase 1", t, result.pinst, pst=result.pst
                ),
            )
    source = _waveform_source(ctx)
    long_enough = len(capture.voltage[0]) / capture.fs >= 600
    ctx.measure(
        "pst",
        max(psts) if long_enough and psts else None,
        raw=raw,
        not_applicable="" if long_enough else "the record is shorter than 10 minutes: Pst needs one 10-minute interval",
        source=source,
    )
    ctx.measure(
        "plt", max(plts) if plts else None, raw=raw, note="" if plts else "Plt needs 2 h (12 Pst)", source=source
    )
    ctx.measure("dc_percent", max(c.dc for c in changes), raw=raw, source=source)
    ctx.measure("dmax_percent", max(c.dmax for c in changes), raw=raw, source=source)
    ctx.measure("tmax_s", max(c.tmax for c in changes), raw=raw, source=source)
    ctx.controller.set_power(ctx.rated_w)


@check(
    "power_factor",
    measurements={"power_factor_min": ""},
    params={"levels_percent": [100.0, 50.0, 20.0], "settle_s": 20.0},
    resolution_s=None,
    roles=("controller", "analyser"),
)
def power_factor(ctx: CheckContext, params: dict) -> None:
    """Total power factor at the PCC at several load levels (the lowest is the figure)."""
    values = []
    for level in params["levels_percent"]:
        ctx.prepare_running(level)
        samples = ctx.trend(params["settle_s"], f"power factor at {level:g} %")
        values.append(float(np.mean([s.power_factor for s in samples[-10:]])))
    ctx.measure(
        "power_factor_min",
        min(values),
        note=", ".join(f"{lv:g} %: {v:.3f}" for lv, v in zip(params["levels_percent"], values, strict=True)),
    )


@check(
    "hashrate_tracking",
    measurements={"tracking_error_percent": "%", "shares_accepted": "count"},
    params={"levels_percent": [100.0, 50.0], "settle_s": 30.0},
    resolution_s=1.0,  # hash rate against power over tens of seconds
    roles=("controller", "analyser", "boards"),
)
def hashrate_tracking(ctx: CheckContext, params: dict) -> None:
    """Hash rate follows power (MegaWatt-to-MegaHash): |hash share - power share| and shares accepted."""
    errors, shares_before, shares_after = [], None, 0
    rated_ths = None
    for level in params["levels_percent"]:
        ctx.prepare_running(level)
        ctx.trend(params["settle_s"], f"settle at {level:g} %")
        power = float(np.mean([s.p_total for s in ctx.trend(2.0, "power")]))
        readings = ctx.boards.read()
        hashrate = sum(r.hashrate_hs for r in readings)
        shares_after = sum(r.accepted_shares for r in readings)
        rated_ths = rated_ths or (hashrate if level == 100.0 else None)
        if shares_before is None:
            shares_before = shares_after
        if rated_ths:
            errors.append(abs(hashrate / rated_ths - power / ctx.rated_w) * 100)
    ctx.measure(
        "tracking_error_percent",
        max(errors) if errors else None,
        note="" if errors else "levels must start at 100 % to know the rated hash rate",
    )
    ctx.measure("shares_accepted", shares_after - (shares_before or 0))
