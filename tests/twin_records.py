"""Run directories written from a known container: what the emulated bench would have recorded for each check,
drawn by the emulator's own plant on a manual clock (hilbench.twin.procedures), so a fit's answer is known."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hilbench.twin.model import ContainerModel, simulated_plant
from hilbench.twin.procedures import StoredResponse, simulate

PERIOD = 0.05  # the analyser's update period
COMMAND = 1000.0  # record time of each check's command (every check its own simulation)


def _times(before: float, after: float) -> np.ndarray:
    return COMMAND + np.arange(-before / PERIOD, after / PERIOD) * PERIOD + PERIOD / 2


def _response(kind: str, model: ContainerModel, rated_w: float, times, params, *, ramp=None, extra=None):
    full = model.rated_w() + float(model.value("aux_w"))
    r = StoredResponse("x", kind, times, np.full(times.size, full), COMMAND, rated_w, ramp, params, extra or {})
    r.p_total = simulate(r, model)
    return r


def checks_for(model: ContainerModel, rated_w: float, *, graceful: bool = True) -> list[tuple[str, str, dict, dict]]:
    """(check id, type, params, raw arrays) for a plan of boot, two steps, a ramp, a trip, an emergency stop and
    (optionally) a graceful stop."""
    nominal = float(model.value("frequency_hz"))
    boot_for = float(model.value("boot_s")) + 20.0
    out = []
    r = _response("boot", model, rated_w, _times(1.0, boot_for), {"target_percent": 95.0}, ramp=None)
    out.append(("boot", "boot", {"target_percent": 95.0}, {"time": r.time, "p_total": r.p_total, "command": COMMAND}))
    for cid, a, b, observe in (("step-down-50", 100, 50, 30.0), ("step-up-100", 50, 100, 40.0)):
        params = {"from_percent": a, "to_percent": b, "band_percent": 5, "observe_s": observe, "ramp_kw_s": 50}
        r = _response("step", model, rated_w, _times(1.0, observe), params, ramp=50_000.0)  # a second before
        out.append((cid, "step_response", params, {"time": r.time, "p_total": r.p_total, "command": COMMAND}))
    params = {"min_percent": 1, "ramp_kw_s": 10, "low_percent": 20, "settle_s": 20}
    length = 3 * ((rated_w * 0.81) / 10_000 + 20)
    r = _response("ramp", model, rated_w, _times(-PERIOD, length), params, ramp=10_000.0)
    out.append(("ramp-range", "ramp", params, {"time": r.time, "p_total": r.p_total}))
    event = COMMAND + 1.0
    times = _times(0.0, 7.0)
    frequency = np.where((times > event) & (times < event + 4.0), nominal - 0.5, nominal)
    params = {"event_hz": nominal - 0.5, "duration_s": 4, "threshold_hz": nominal - 0.25, "delay_s": 0.1,
              "action": "trip", "reduction_percent": 90}  # fmt: skip
    r = _response("frequency_trip", model, rated_w, times, params, ramp=50_000.0, extra={"frequency": frequency})
    out.append(("under-frequency-trip", "frequency_event", params,
                {"time": r.time, "p_total": r.p_total, "frequency": frequency}))  # fmt: skip
    r = _response("emergency", model, rated_w, _times(0.0, 3.0), {"mode": "emergency"}, ramp=50_000.0)
    out.append(("emergency-stop", "shutdown", {"mode": "emergency"},
                {"time": r.time, "p_total": r.p_total, "command": COMMAND}))  # fmt: skip
    if graceful:
        span = model.boards * float(model.value("stop_stagger_s")) + float(model.value("graceful_stop_s")) + 5.0
        r = _response("graceful", model, rated_w, _times(0.0, span), {"mode": "graceful"}, ramp=50_000.0)
        out.append(("graceful-stop", "shutdown", {"mode": "graceful"},
                    {"time": r.time, "p_total": r.p_total, "command": COMMAND, "boards_online": np.zeros((0, 2)),
                     "boards_online_before": model.boards}))  # fmt: skip
    return out


def harmonic_captures(model: ContainerModel, rated_w: float, levels=(100, 50)) -> dict[int, dict]:
    """Two seconds of the PCC's waveforms at each level, as the harmonics check stores them."""
    captures = {}
    for level in levels:
        sim = simulated_plant(model, running=True)
        sim.plant.controller.write_ramp(50.0, at=1.0)
        sim.plant.controller.write_setpoint(rated_w * level / 100 / 1000, at=1.0)
        sim.at(300.0)
        voltage, current = sim.plant.pcc_waveforms(280.0, 282.0, 10_000.0)
        captures[level] = {"voltage": voltage, "current": current, "fs": 10_000.0, "t0": 280.0}
    return captures


def write_run(folder: Path, model: ContainerModel, *, rated_kw: float, graceful: bool = True, harmonics: bool = True):
    """A run directory (measurements.jsonl and raw/) of the plan above on ``model``; returns the folder."""
    raw = folder / "raw"
    raw.mkdir(parents=True)
    dut = {"name": "synthetic", "rated_kw": rated_kw, "boards": model.boards,
           "voltage_v": round(float(model.value("voltage_v")) * np.sqrt(3), 1),
           "frequency_hz": float(model.value("frequency_hz"))}  # fmt: skip
    records = [
        {
            "record": "run_start",
            "wall_time": 0.0,
            "bench": "synthetic",
            "emulated": True,
            "time_scale": 1.0,
            "roles": {},
            "schema_version": 1,
        },
        {"record": "plan", "wall_time": 0.0, "name": "synthetic", "sha256": "0" * 64, "dut": dut},
    ]
    checks = checks_for(model, rated_kw * 1000, graceful=graceful)
    for cid, kind, params, arrays in checks:
        what = "record" if kind == "frequency_event" else "trend"
        np.savez(raw / f"{cid}-{what}.npz", **arrays)
        records += [
            {"record": "check_start", "plan": "synthetic", "check": cid, "type": kind, "params": params},
            {"record": "check_end", "check": cid, "verdicts": {}},
        ]
    if harmonics:
        for level, arrays in harmonic_captures(model, rated_kw * 1000).items():
            np.savez(raw / f"harmonics-waveforms-{level}.npz", **arrays)
        records += [
            {"record": "check_start", "plan": "synthetic", "check": "harmonics", "type": "harmonics", "params": {}},
            {"record": "check_end", "check": "harmonics", "verdicts": {}},
        ]
    (folder / "measurements.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder
