"""Recorded disturbances and ramps as the dwell-paced steps a grid source's list plays (pure logic)."""

from __future__ import annotations

import numpy as np
import pytest

from hilbench.plans.plan import PlanError, load_plan
from hilbench.plans.trajectory import TrajectoryError, frequency_ramp, load_recording, staircase


def _write(tmp_path, text: str, name: str = "fault.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_recording_becomes_the_fewest_steps_within_the_tolerance(tmp_path):
    t = np.arange(0.0, 2.0, 0.01)
    v = np.where((t >= 0.5) & (t < 0.65), 0.5, 1.0) + 0.002 * np.sin(40 * t)  # a 150 ms sag with ripple
    f = 50.0 - 0.2 * np.clip(t - 1.0, 0, 0.5)  # a 0.4 Hz/s frequency fall after it
    rows = "\n".join(f"{a:.3f},{b:.5f},{c:.5f}" for a, b, c in zip(t, v, f, strict=True))
    recording = load_recording(_write(tmp_path, "# fault recorder export\ntime_s,voltage_pu,frequency_hz\n" + rows))
    stairs = staircase(
        recording, nominal_v=230.0, nominal_hz=50.0, voltage_tolerance_pu=0.01, frequency_tolerance_hz=0.005
    )
    assert len(stairs.steps) < 20 < len(t)
    assert stairs.max_voltage_error_pu <= 0.01 and stairs.max_frequency_error_hz <= 0.005
    starts = np.array([s.start_s for s in stairs.steps])
    played_v = np.array([s.voltage_pu for s in stairs.steps])[np.searchsorted(starts, t, side="right") - 1]
    assert np.max(np.abs(played_v - v)) <= 0.01 and played_v[np.searchsorted(t, 0.55)] == pytest.approx(0.5, abs=0.01)
    assert sum(s.dwell_s for s in stairs.steps) == pytest.approx(2.0, abs=1e-9)
    volts = [s.voltage_pu * 230.0 for s in stairs.steps]
    assert volts[0] == pytest.approx(230.0, abs=2.5) and min(volts) == pytest.approx(115, abs=2.5)
    tight = staircase(
        recording, nominal_v=230.0, nominal_hz=50.0, voltage_tolerance_pu=0.0001, frequency_tolerance_hz=0.0001
    )
    assert len(tight.steps) > 100  # never thinned beyond the tolerance: the caller refuses what does not fit


def test_volts_and_npy_recordings_and_a_missing_frequency(tmp_path):
    recording = load_recording(_write(tmp_path, "time_s,voltage_v\n5.0,230\n5.1,115\n5.2,230\n"))
    assert recording.time_s.tolist() == pytest.approx([0.0, 0.1, 0.2]) and recording.frequency_hz is None
    assert recording.voltage_pu(230.0).tolist() == pytest.approx([1.0, 0.5, 1.0])
    array = np.zeros(3, dtype=[("time_s", float), ("voltage_pu", float), ("frequency_hz", float)])
    array["time_s"], array["voltage_pu"], array["frequency_hz"] = [0, 0.1, 0.2], [1, 0.7, 1], [60, 59.5, 60]
    np.save(tmp_path / "fault.npy", array)
    stairs = staircase(
        load_recording(tmp_path / "fault.npy"),
        nominal_v=277.0,
        nominal_hz=60.0,
        voltage_tolerance_pu=0.01,
        frequency_tolerance_hz=0.01,
    )
    assert [(s.voltage_pu, s.frequency_hz) for s in stairs.steps] == [(1, 60), (0.7, 59.5), (1, 60)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("t,v\n0,1\n", "needs time_s and one of voltage_pu, voltage_v"),
        ("time_s,voltage_pu\n0,1\n0.1,x\n", "fault.csv:3: voltage_pu 'x' is not a number"),
        ("time_s,voltage_pu\n0,1\n0.1,1\n0.1,0.5\n", "fault.csv:4: time_s 0.1 does not rise"),
        ("time_s,voltage_pu\n0,1\n0.1,-0.2\n", "fault.csv:3: voltage_pu -0.2 is not a finite value >= 0"),
        ("time_s,voltage_pu\n0,1\n", "at least two samples"),
    ],
)
def test_a_bad_recording_is_refused_naming_file_and_line(tmp_path, text, message):
    with pytest.raises(TrajectoryError, match=message.replace("(", r"\(")):
        load_recording(_write(tmp_path, text))


def test_a_plan_names_the_line_of_a_bad_recording_before_anything_runs(tmp_path):
    _write(tmp_path, "time_s,voltage_pu\n0,1\n0.1,oops\n")
    plan = tmp_path / "p.yaml"
    plan.write_text(
        "plan: p\ndut: {rated_kw: 97.5, boards: 30, voltage_v: 400, frequency_hz: 50}\nchecks:\n"
        "  - id: replay\n    type: ride_through\n    params:\n      recording: fault.csv\n"
        "    limits: {boards_lost: {max: 0}}\n"
    )
    with pytest.raises(PlanError, match=r"p.yaml:7: replay.params.recording: .*fault.csv:3: voltage_pu 'oops'"):
        load_plan(plan)
    _write(tmp_path, "time_s,voltage_pu\n0,1\n0.1,0.5\n0.2,1\n")
    assert load_plan(plan).checks[0].params["recording"] == str((tmp_path / "fault.csv").resolve())


def test_a_ramp_is_a_staircase_that_never_lags_it():
    steps = frequency_ramp(50.0, 49.0, 1 / 3, step_s=0.05)  # 3 Hz/s
    assert len(steps) == 7 and sum(d for d, _ in steps) == pytest.approx(1 / 3)
    assert steps[0] == pytest.approx((0.05, 50.0 - 0.15)) and steps[-1][1] == pytest.approx(49.0)
    with pytest.raises(TrajectoryError):
        frequency_ramp(50.0, 49.0, 0.0, step_s=0.05)
