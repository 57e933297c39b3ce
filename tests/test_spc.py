"""Capability and control-chart arithmetic against cases worked by hand from the definitions (NIST/SEMATECH
e-Handbook 6.1.6 and 6.3.2.2; ASTM E2587 Table 1 for d2 = 1.128, E2 = 2.66, D4 = 3.267)."""

from __future__ import annotations

import itertools
import math

import pytest

from hilbench.store.spc import MOVING_RANGE_OF_TWO, capability, control_chart, first_pass_yield


def test_the_constants_are_those_of_the_tables():
    assert MOVING_RANGE_OF_TWO == {"d2": 1.128, "E2": 2.660, "D4": 3.267}
    assert 3 / MOVING_RANGE_OF_TWO["d2"] == pytest.approx(MOVING_RANGE_OF_TWO["E2"], abs=0.001)


def test_two_sided_capability_worked_by_hand():
    values = [10.0, 12.0, 11.0, 13.0, 12.0]  # mean 11.6; moving ranges 2, 1, 2, 1 -> mean 1.5
    cap = capability(values, low=8.0, high=14.0)
    sigma_within = 1.5 / 1.128
    sigma_overall = math.sqrt(sum((v - 11.6) ** 2 for v in values) / 4)  # 1.1402
    assert cap.sigma_within == pytest.approx(sigma_within)
    assert cap.sigma_overall == pytest.approx(sigma_overall)
    assert cap.cpk == pytest.approx(min(14 - 11.6, 11.6 - 8) / (3 * sigma_within))  # 0.6016, the upper side
    assert cap.ppk == pytest.approx((14 - 11.6) / (3 * sigma_overall))
    assert cap.sides == "two-sided"


def test_one_sided_limits_give_cpu_or_cpl():
    values = [1.0, 1.2, 0.9, 1.1]
    upper, lower = capability(values, None, 2.0), capability(values, 0.5, None)
    sigma = ((0.2 + 0.3 + 0.2) / 3) / 1.128
    assert upper.cpk == pytest.approx((2.0 - 1.05) / (3 * sigma)) and upper.sides == "upper only"
    assert lower.cpk == pytest.approx((1.05 - 0.5) / (3 * sigma)) and lower.sides == "lower only"


def test_too_little_data_or_no_spread_or_no_limit_is_none_with_the_reason():
    assert capability([5.0], 0, 10).cpk is None and capability([5.0], 0, 10).note == "fewer than 2 values"
    flat = capability([5.0, 5.0, 5.0], 0, 10)
    assert flat.cpk is None and flat.ppk is None and "no spread" in flat.note
    free = capability([1.0, 2.0], None, None)
    assert free.cpk is None and free.sides == "no limits"


def test_the_individuals_chart_flags_a_point_outside_its_limits():
    values = [10.0, 10.2, 9.9, 10.1, 10.0, 9.8, 10.1, 13.0]
    chart = control_chart(values)
    ranges = [abs(b - a) for a, b in itertools.pairwise(values)]
    mr = sum(ranges) / len(ranges)
    assert chart.center == pytest.approx(sum(values) / len(values))
    assert chart.upper == pytest.approx(chart.center + 2.66 * mr) and chart.mr_upper == pytest.approx(3.267 * mr)
    assert chart.out_of_control == [7]
    assert control_chart([1.0]) is None


def test_first_pass_yield_counts_units_not_runs():
    assert first_pass_yield(["pass", "fail", "pass", "pass"]) == 0.75
    assert first_pass_yield([]) is None
