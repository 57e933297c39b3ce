import numpy as np
import pytest

from hilbench.pq import voltage_change


def record(fs, seconds, f_line, u_rms, envelope):
    t = np.arange(int(round(seconds * fs))) / fs
    return np.sqrt(2) * u_rms * np.sin(2 * np.pi * f_line * t + 0.3) * envelope(t)


@pytest.mark.parametrize(("f_line", "fs"), [(50.0, 10000.0), (60.0, 7680.0), (50.0, 1600.0)])
def test_lasting_step(f_line, fs):
    u = record(fs, 8, f_line, 230, lambda t: np.where(t < 4, 1.0, 0.97))
    r = voltage_change(u, fs, f_nominal=f_line)
    assert r.dc == pytest.approx(3.0, abs=0.01)
    assert r.dmax == pytest.approx(3.0, abs=0.05)
    assert r.tmax == 0.0  # 3 % never exceeds 3.3 %
    assert r.steady_levels == pytest.approx([230.0, 223.1], abs=0.05)


def test_dip_and_recovery_motor_start():
    # a 5 % dip for 300 ms, back to the original level: dc 0, dmax 5, tmax 0.3 s
    u = record(10000.0, 6, 50.0, 230, lambda t: np.where((t > 2) & (t < 2.3), 0.95, 1.0))
    r = voltage_change(u, 10000.0)
    assert r.dc == pytest.approx(0.0, abs=0.01)
    assert r.dmax == pytest.approx(5.0, abs=0.05)
    assert r.tmax == pytest.approx(0.3, abs=0.011)


def test_step_over_the_d_threshold_is_held_for_the_qualification_second():
    u = record(10000.0, 8, 50.0, 230, lambda t: np.where(t < 3, 1.0, 0.955))
    r = voltage_change(u, 10000.0, u_nominal=230.0)
    assert r.dc == pytest.approx(4.5, abs=0.01)
    assert r.tmax == pytest.approx(1.0, abs=0.02)  # until the new level is established (1 s)


def test_rising_voltage_gives_negative_d_and_positive_dc():
    u = record(10000.0, 6, 50.0, 230, lambda t: np.where(t < 3, 1.0, 1.02))
    r = voltage_change(u, 10000.0)
    assert r.dc == pytest.approx(2.0, abs=0.01)
    assert r.d.min() == pytest.approx(-2.0, abs=0.05)


def test_explicit_nominal_voltage_scales_the_result():
    u = record(10000.0, 6, 50.0, 220, lambda t: np.where(t < 3, 1.0, 0.97))
    r = voltage_change(u, 10000.0, u_nominal=230.0)
    assert r.dc == pytest.approx(3.0 * 220 / 230, abs=0.01)


@pytest.mark.parametrize(
    ("u", "fs", "message"),
    [
        (np.r_[np.zeros(30000), np.nan], 10000.0, "non-finite"),
        (np.zeros(1000), 10000.0, "needs at least"),
        (np.random.default_rng(1).normal(size=40000), 10000.0, "no detectable 50 Hz"),
        (record(1000.0, 4, 50.0, 230, lambda t: 1.0 + 0.05 * np.sin(2 * np.pi * 0.7 * t)), 1000.0, "no steady state"),
        (record(300.0, 4, 50.0, 230, lambda t: 1.0), 300.0, "below the minimum"),
    ],
)
def test_bad_input_is_a_clear_value_error(u, fs, message):
    with pytest.raises(ValueError, match=message):
        voltage_change(u, fs)
