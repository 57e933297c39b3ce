"""The IEC 61400-27-2 validation method (hilbench.pq.model_validation) on cases whose answers are known by
construction: a balanced three-phase set, a pure offset, identical signals, the filter's own frequency response."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from hilbench.pq import model_validation as mv


def test_a_balanced_set_is_all_positive_sequence_and_a_negative_one_has_none():
    fs, f, amplitude = 10_000.0, 50.0, 325.0
    t = np.arange(2000) / fs
    shifts = np.array([0.0, -2 * np.pi / 3, 2 * np.pi / 3])
    balanced = amplitude * np.cos(2 * np.pi * f * t[None, :] + shifts[:, None])
    assert mv.positive_sequence_rms(balanced, fs, f) == pytest.approx(amplitude / np.sqrt(2), rel=1e-9)
    reversed_order = amplitude * np.cos(2 * np.pi * f * t[None, :] - shifts[:, None])
    assert np.max(mv.positive_sequence_rms(reversed_order, fs, f)) < 1e-9
    sag = balanced.copy()
    sag[:, 1000:] *= 0.5  # a balanced sag to 0.5 pu: the r.m.s. follows within one cycle
    rms = mv.positive_sequence_rms(sag, fs, f)
    assert rms[999] == pytest.approx(amplitude / np.sqrt(2)) and rms[1200] == pytest.approx(amplitude / 2 / np.sqrt(2))


def test_a_sample_rate_without_whole_cycles_is_refused():
    with pytest.raises(ValueError, match="whole number"):
        mv.positive_sequence_rms(np.zeros((3, 1000)), 1000.0, 49.83)


def test_the_filter_is_critically_damped_at_its_corner_or_minus_3_db_when_normalized():
    """|H| of one pass at the cut-off: 1/2 with the double pole there, 1/sqrt(2) normalized (two passes square it)."""
    step = mv.COMMON_STEP_S
    for normalized, expected in ((False, 0.5), (True, 1 / np.sqrt(2))):
        corner = mv.CUTOFF_HZ / (np.sqrt(np.sqrt(2) - 1) if normalized else 1.0)
        tau = 1 / (2 * np.pi * corner)
        b, a = signal.bilinear([1.0], [tau * tau, 2 * tau, 1.0], fs=1 / step)
        _, h = signal.freqz(b, a, worN=[mv.CUTOFF_HZ], fs=1 / step)
        assert abs(h[0]) == pytest.approx(expected, rel=0.01)
    t = np.arange(0, 2, step)
    stepped = np.where(t < 1, 0.0, 1.0)
    smooth = mv.critically_damped_lowpass(stepped, step)
    assert smooth.min() >= -1e-9 and smooth.max() <= 1 + 1e-9  # critically damped: no overshoot
    assert smooth[len(t) // 2 - 1] == pytest.approx(0.5, abs=0.05)  # zero phase: centred on the step
    flat = np.full(100, 0.3)
    assert np.array_equal(mv.critically_damped_lowpass(flat, step), flat)


def test_identical_sets_have_no_error_and_an_offset_shows_in_all_three_figures():
    t = np.arange(0, 6, mv.COMMON_STEP_S)
    measured = np.where((t >= 2) & (t < 3), 0.4, 1.0) * 100_000.0
    windows = mv.windows(2.0, 3.0, 6.0, insertion_exclusion_s=0.02, clearing_exclusion_s=0.06)
    assert [w.name for w in windows] == ["pre", "during", "post"]
    assert windows[1].start_s == pytest.approx(2.04) and windows[2].start_s == pytest.approx(3.08)
    for window in windows:
        same = mv.window_errors(t, measured, measured, window, base=100_000.0)
        assert (same.mxe, same.me, same.mae) == (0.0, 0.0, 0.0)
        off = mv.window_errors(t, measured, measured + 3_000.0, window, base=100_000.0)
        assert (off.mxe, off.me, off.mae) == pytest.approx((0.03, 0.03, 0.03))


def test_pchip_resampling_does_not_overshoot_a_step_and_alignment_moves_the_event():
    grid, values = mv.resample(np.array([0.0, 1.0, 1.001, 2.0]), np.array([0.0, 0.0, 1.0, 1.0]), 0.0005)
    assert values.min() >= 0.0 and values.max() <= 1.0 and grid[-1] == pytest.approx(2.0)
    assert mv.align(np.array([0.0, 1.0]), sim_event_s=0.5, measured_event_s=2.0).tolist() == [1.5, 2.5]


def test_tolerances_are_data_with_their_source():
    assert mv.tolerances("field_test", "during") == {"mxe": 0.10, "me": 0.05, "mae": 0.08}
    assert mv.tolerances("simulation", "post") == {"mxe": 0.05, "me": 0.02, "mae": 0.03}
    assert "DyCoV" in mv._tolerance_data()["source"]
    with pytest.raises(ValueError, match="field_test"):
        mv.tolerances("guess", "pre")


def test_step_figures_of_a_first_order_response_are_its_textbook_times():
    """y = 1 - exp(-t/tau): 10 % at tau ln(10/9), 10-90 % in tau ln 9, inside 5 % from tau ln 20, no overshoot."""
    tau, step = 0.4, 1e-4
    t = np.arange(-1.0, 5.0, step)
    y = np.where(t < 0, 0.0, 1 - np.exp(-np.clip(t, 0, None) / tau)) * 80.0 + 20.0
    figures = mv.step_figures(t, y, 0.0, final_s=0.5)
    assert figures.reaction_s == pytest.approx(tau * np.log(10 / 9), abs=2e-3)
    assert figures.rise_s == pytest.approx(tau * np.log(9), abs=2e-3)
    assert figures.settling_s == pytest.approx(tau * np.log(20), abs=2e-3)
    assert figures.overshoot_percent == pytest.approx(0.0, abs=0.1)


def test_the_overshoot_of_an_underdamped_step_is_the_damping_formula():
    zeta, wn = 0.5, 2 * np.pi * 2.0
    t = np.arange(-5000, 60000) * 1e-4
    _, response = signal.step(([wn**2], [1, 2 * zeta * wn, wn**2]), T=t[t >= 0])
    y = np.concatenate([np.zeros(int((t < 0).sum())), response])
    figures = mv.step_figures(t, y, 0.0, final_s=0.5)
    assert figures.overshoot_percent == pytest.approx(100 * np.exp(-np.pi * zeta / np.sqrt(1 - zeta**2)), abs=0.2)


def test_the_models_step_figures_are_judged_relatively_and_a_flat_response_is_refused():
    measured = mv.StepFigures(0.20, 1.00, 2.00, 10.0)
    close = mv.StepFigures(0.21, 1.05, 2.30, 11.0)
    errors = mv.step_figure_errors(measured, close)
    assert errors == pytest.approx({"reaction_s": 0.05, "rise_s": 0.05, "settling_s": 0.15, "overshoot_percent": 0.1})
    limits = mv.step_tolerances()
    assert [name for name, e in errors.items() if e > limits[name]] == ["settling_s"]
    with pytest.raises(ValueError, match="does not change"):
        mv.step_figures(np.arange(0, 3, 0.01), np.ones(300), 1.0)


def sag_response(t: np.ndarray, depth: float, tau: float) -> np.ndarray:
    """Power of a container through a 1 s sag at t = 2 s: it drops by ``depth`` with time constant ``tau``."""
    down = np.where(t >= 2, depth * (1 - np.exp(-np.clip(t - 2, 0, None) / tau)), 0.0)
    back = np.where(t >= 3, depth * (1 - np.exp(-np.clip(t - 3, 0, None) / tau)), 0.0)
    return 100_000.0 * (1 - down + back)


def test_a_model_that_matches_passes_every_window_and_one_too_slow_fails_during_the_event():
    measured_t = np.arange(0, 6, 0.05)  # the analyser's 50 ms updates
    measured = (measured_t, sag_response(measured_t, 0.5, 0.1))
    model_t = np.arange(10, 16, 0.001)  # the vendor's simulation, its own time base, event at 12 s
    good = mv.validate(measured, (model_t, sag_response(model_t - 10, 0.5, 0.1)), event_s=2.0, clearing_s=3.0,
                       simulated_event_s=2.0 + 10, base=100_000.0)  # fmt: skip
    assert [v.errors.window for v in good] == ["pre", "during", "post"] and all(v.passed for v in good), good
    slow = mv.validate(measured, (model_t, sag_response(model_t - 10, 0.5, 0.4)), event_s=2.0, clearing_s=3.0,
                       simulated_event_s=12.0, base=100_000.0, reference="simulation")  # fmt: skip
    by = {v.errors.window: v for v in slow}
    assert by["pre"].passed and not by["during"].passed and by["during"].errors.mxe > 0.08
    # a model starting 0.5 s before the event: the pre window is that long, and says so
    short = mv.validate(measured, (model_t, sag_response(model_t - 10, 0.5, 0.1)), event_s=2.0, clearing_s=3.0,
                        simulated_event_s=10.5, base=100_000.0)  # fmt: skip
    pre = next(v for v in short if v.errors.window == "pre")
    assert pre.window.end_s - pre.window.start_s == pytest.approx(0.5 - 2 * mv.FILTER_EDGE_S)
    assert "pre window 0.5 s" in pre.note
    with pytest.raises(ValueError, match="must begin before the event"):
        mv.validate(measured, (model_t, sag_response(model_t - 10, 0.5, 0.1)), event_s=2.0, clearing_s=3.0,
                    simulated_event_s=9.9, base=100_000.0)  # fmt: skip
