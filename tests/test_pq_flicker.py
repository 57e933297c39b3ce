import json

import numpy as np
import pytest
from scipy import signal

from hilbench.pq import flicker
from hilbench.pq.flicker import LAMPS, FlickerMeter, plt_from_pst
from tests.conftest import ROOT
from tests.pq_signals import modulated

TABLES = json.loads((ROOT / "fixtures" / "flicker_230V_50Hz.json").read_text())
PINST_TOL = TABLES["pinst_max_tolerance_relative"]
PST_TOL = TABLES["pst_tolerance_relative"]


def pinst_max_steady(u, fs, **kw):
    result = flicker(u, fs, **kw)
    return result.pinst[int(5 * result.pinst_fs) :].max()


@pytest.mark.parametrize("shape,key", [("sine", "pinst_sinusoidal_230V_50Hz"), ("rect", "pinst_rectangular_230V_50Hz")])
@pytest.mark.parametrize("fs", [1600.0, 4000.0, 12800.0])
def test_pinst_max_on_the_standards_table_points(shape, key, fs):
    for row in TABLES[key]:
        u = modulated(fs, 20, row["f_mod_hz"], row["dV_over_V_percent"], shape)
        value = pinst_max_steady(u, fs)
        assert value == pytest.approx(1.0, rel=PINST_TOL), (shape, row)


@pytest.mark.parametrize(
    "row", TABLES["pst_equals_1_rectangular_230V_50Hz"], ids=lambda r: f"{r['changes_per_min']}cpm"
)
def test_pst_on_table_5_from_the_first_sample(row):
    fs = 2000.0
    u = modulated(fs, 600, row["changes_per_min"] / 120, row["dV_over_V_percent"], "rect")
    result = flicker(u, fs)
    assert len(result.pst) == 1
    assert result.pst[0] == pytest.approx(1.0, rel=PST_TOL)


@pytest.mark.parametrize("scale", [0.5, 2.0, 3.0])
def test_pst_scales_linearly_with_the_fluctuation(scale):
    fs = 2000.0
    u = modulated(fs, 600, 39 / 120, 0.894 * scale, "rect")
    assert flicker(u, fs).pst[0] == pytest.approx(scale, rel=PST_TOL)


@pytest.mark.parametrize("lamp", ["230V", "120V"])
@pytest.mark.parametrize("f_line", [50.0, 60.0])
def test_calibration_anchor_for_both_lamps_and_frequencies(lamp, f_line):
    dv = {"230V": 0.250, "120V": 0.321}[lamp]  # Ed.2 Table 1, 8.8 Hz rows
    u_rms = 230.0 if lamp == "230V" else 120.0
    u = modulated(4000.0, 20, 8.8, dv, "sine", u_rms=u_rms, f_line=f_line)
    assert pinst_max_steady(u, 4000.0, lamp=lamp, f_nominal=f_line) == pytest.approx(1.0, rel=0.01)


@pytest.mark.parametrize(("lamp", "gain"), [("230V", 1.0017), ("120V", 0.7826)])
def test_weighting_filter_constants_match_the_reference_response(lamp, gain):
    k, f_lambda, f1, f2, f3, f4 = LAMPS[lamp]
    w1, w2, w3, w4, lam = (2 * np.pi * f for f in (f1, f2, f3, f4, f_lambda))
    num = np.polymul([k * w1, 0.0], [1.0 / w2, 1.0])
    den = np.polymul([1.0, 2 * lam, w1**2], np.polymul([1.0 / w3, 1.0], [1.0 / w4, 1.0]))
    _, h = signal.freqs(num, den, worN=[2 * np.pi * 8.8])
    assert abs(h[0]) == pytest.approx(gain, abs=2e-4)  # pq_reference.md: |F(j 2 pi 8.8)|


def test_the_120v_lamp_is_less_sensitive_at_8_8_hz_than_the_230v_lamp():
    u = modulated(4000.0, 20, 8.8, 0.25, "sine", u_rms=120.0, f_line=60.0)
    p120 = pinst_max_steady(u, 4000.0, lamp="120V", f_nominal=60.0)
    assert p120 == pytest.approx((0.25 / 0.321) ** 2, rel=0.02)  # Pinst ~ (dV/V)^2


def test_a_steady_voltage_has_no_start_up_flicker():
    fs = 4000.0
    t = np.arange(int(600 * fs)) / fs
    u = 230 * np.sqrt(2) * np.sin(2 * np.pi * 50 * t + 1.1)
    result = flicker(u, fs)
    assert result.pinst_max < 1e-3 and result.pst[0] < 0.01


def test_streaming_equals_one_shot():
    fs = 2000.0
    u = modulated(fs, 90, 3.0, 0.6, "sine")
    meter = FlickerMeter(fs)
    parts = [meter.feed(u[i : i + 3333]) for i in range(0, len(u), 3333)]
    np.testing.assert_allclose(np.concatenate(parts), flicker(u, fs).pinst, rtol=1e-9, atol=1e-12)


def test_plt_from_twelve_pst_and_series():
    assert plt_from_pst([1.0] * 12) == pytest.approx(1.0)
    assert plt_from_pst([2.0] + [0.0] * 11) == pytest.approx(2.0 / 12 ** (1 / 3))


def test_pst_per_complete_ten_minutes_and_plt_none_when_fewer():
    fs = 1600.0
    u = modulated(fs, 1300, 39 / 120, 0.894, "rect")
    result = flicker(u, fs)
    assert len(result.pst) == 2 and result.plt is None and result.plt_series == []


@pytest.mark.parametrize(
    ("u", "fs", "kwargs", "message"),
    [
        (np.r_[np.ones(5000), np.nan, np.ones(5000)], 4000.0, {}, "non-finite sample.*sample 5000"),
        (np.ones(100), 4000.0, {}, "needs at least"),
        (np.sin(np.arange(20000)), 1000.0, {}, "below the minimum of 1600"),
        (np.zeros(20000), 4000.0, {}, "constant"),
        (np.ones((3, 20000)), 4000.0, {}, "expected one channel"),
        (np.sin(np.arange(20000)), 4000.0, {"lamp": "100V"}, "lamp must be"),
        (np.sin(np.arange(20000)), 4000.0, {"f_nominal": 55}, "50 or 60"),
    ],
)
def test_bad_input_is_a_clear_value_error(u, fs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        flicker(u, fs, **kwargs)


@pytest.mark.parametrize("fs", [1600.0, 3333.0, 7001.0, 12800.0])
def test_a_ten_minute_record_gives_exactly_one_pst_at_any_rate(fs):
    t = np.arange(int(600 * fs)) / fs
    assert len(flicker(np.sin(2 * np.pi * 50 * t), fs).pst) == 1
