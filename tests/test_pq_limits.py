import numpy as np
import pytest

from hilbench.pq import harmonics
from hilbench.pq.limits import (
    FAIL,
    PASS,
    UNVERIFIED,
    VoltageChangeLimits,
    evaluate_harmonics,
    iec61000_3_2,
    iec61000_3_12,
    ieee519_current,
    ieee519_voltage,
    jeag9702,
)
from tests.pq_signals import tones


def test_iec61000_3_2_class_a_table_follows_its_formulas():
    a = iec61000_3_2("A").limits
    assert a[3] == 2.30 and a[5] == 1.14 and a[2] == 1.08
    for h in range(15, 40, 2):
        assert a[h] == pytest.approx(0.15 * 15 / h, rel=1e-4)
    for h in range(8, 41, 2):
        assert a[h] == pytest.approx(0.23 * 8 / h, rel=1e-4)


def test_class_b_is_one_and_a_half_class_a_and_class_d_is_capped():
    a, b = iec61000_3_2("A").limits, iec61000_3_2("B").limits
    assert all(b[h] == pytest.approx(1.5 * a[h]) for h in a)
    d = iec61000_3_2("D", power_w=400).limits
    assert d[3] == pytest.approx(3.4 * 400 / 1000) and d[5] == pytest.approx(1.9 * 0.4)
    assert iec61000_3_2("D", power_w=5000).limits[3] == a[3]  # capped at Class A
    c = iec61000_3_2("C", power_factor=0.9, fundamental_a=2.0).limits
    assert c[3] == pytest.approx(0.27 * 2.0) and c[11] == pytest.approx(0.03 * 2.0)
    with pytest.raises(ValueError):
        iec61000_3_2("D")
    with pytest.raises(ValueError):
        iec61000_3_2("E")


@pytest.mark.parametrize(
    ("ratio", "h5", "h13", "tdd"),
    [(10, 4.0, 2.0, 5.0), (20, 7.0, 3.5, 8.0), (75, 10.0, 4.5, 12.0), (999, 12.0, 5.5, 15.0), (5000, 15.0, 7.0, 20.0)],
)
def test_ieee519_current_rows(ratio, h5, h13, tdd):
    lim = ieee519_current(isc_il=ratio, voltage_kv=0.48)
    assert lim.limits[5] == h5 and lim.limits[13] == h13 and lim.extra["TDD"] == tdd
    assert lim.limits[2] == h5 * 0.5 and lim.limits[4] == h5 * 0.5  # 2022: even h <= 6 at 50 %
    assert lim.limits[8] == h5 and lim.limits[12] == h13  # 2022: even h > 6 at 100 %
    assert lim.limits[50] == lim.limits[49]


def test_ieee519_voltage_levels_and_high_voltage_tables():
    assert ieee519_voltage(voltage_kv=0.4).limits[5] == 5.0 and ieee519_voltage(voltage_kv=0.4).extra["THD"] == 8.0
    assert ieee519_voltage(voltage_kv=22).extra["THD"] == 5.0
    assert ieee519_voltage(voltage_kv=500).limits[7] == 1.0
    assert ieee519_current(isc_il=30, voltage_kv=138).limits[5] == 3.5
    assert ieee519_current(isc_il=60, voltage_kv=345).limits[5] == 3.0


def test_jeag9702_scales_with_contract_power():
    lim = jeag9702(contract_kw=1000, voltage_kv=6.6)
    assert lim.limits[5] == pytest.approx(3.5) and lim.limits[7] == pytest.approx(2.5)
    assert lim.limits[25] == pytest.approx(0.7) and 9 not in lim.limits
    with pytest.raises(ValueError, match="66 kV"):
        jeag9702(contract_kw=1000, voltage_kv=66)


def test_unverified_table_never_passes():
    fs = 10000.0
    i = tones(fs, 3, [(50, 40.0, 0), (250, 0.1, 0)])
    evaluation = evaluate_harmonics(harmonics(i, fs), iec61000_3_12(rsce=120, balanced_three_phase=True, iref_a=40))
    assert evaluation.verdict == UNVERIFIED and all(r.verdict == UNVERIFIED for r in evaluation.orders)
    loud = tones(fs, 3, [(50, 40.0, 0), (250, 30.0, 0)])
    assert (
        evaluate_harmonics(harmonics(loud, fs), iec61000_3_12(rsce=120, balanced_three_phase=True, iref_a=40)).verdict
        == FAIL
    )


def test_evaluation_per_order_value_limit_ratio_verdict():
    fs = 10000.0
    i = tones(fs, 4, [(50, 10.0, 0), (150, 2.0, 0), (250, 1.5, 0)])
    result = evaluate_harmonics(harmonics(i, fs), iec61000_3_2("A"))
    rows = {r.order: r for r in result.orders}
    assert rows[3].value == pytest.approx(2.0, rel=1e-3) and rows[3].verdict == PASS
    assert rows[5].value == pytest.approx(1.5, rel=1e-3) and rows[5].verdict == FAIL
    assert rows[5].ratio == pytest.approx(1.5 / 1.14, rel=1e-3)
    assert result.verdict == FAIL
    ieee = evaluate_harmonics(harmonics(i, fs), ieee519_current(isc_il=50, voltage_kv=0.48), demand_current=20.0)
    assert {r.order: r for r in ieee.orders}[5].value == pytest.approx(7.5, rel=1e-3)
    assert ieee.totals[0].value == pytest.approx(100 * np.hypot(2.0, 1.5) / 20.0, rel=1e-3)
    with pytest.raises(ValueError, match="demand_current"):
        evaluate_harmonics(harmonics(i, fs), ieee519_current(isc_il=50, voltage_kv=0.48))


def test_iec61000_3_3_limits_and_manual_switching():
    lim = VoltageChangeLimits.iec61000_3_3()
    assert (lim.pst, lim.plt, lim.dc_percent, lim.dmax_percent, lim.tmax_s) == (1.0, 0.65, 3.3, 4.0, 0.5)
    assert VoltageChangeLimits.iec61000_3_3("c").dmax_percent == 7.0
    assert VoltageChangeLimits.iec61000_3_3(manual_switching=True).dc_percent == pytest.approx(3.3 * 1.33)
    verdicts = lim.evaluate(pst=0.8, dc=3.5)
    assert [v.verdict for v in verdicts] == [PASS, FAIL]
