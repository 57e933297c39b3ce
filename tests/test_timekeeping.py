"""An emulated bench that falls behind its own clock: the lag is measured on every plant request, recorded per
check, and a check's figures become errors (never verdicts) when the lag exceeds the check's resolution."""

from __future__ import annotations

import pytest

from hilbench.core.measurement import ERROR, PASS, Limits, judge
from hilbench.emulation.clock import ManualClock
from hilbench.emulation.lag import LagMeter
from hilbench.plans.plan import load_plan
from hilbench.plans.timekeeping import CheckTimekeeping


def test_the_meter_counts_plant_time_spent_inside_a_request_once_and_only_in_open_windows():
    clock = ManualClock(start=100.0, time_scale=20.0)
    meter = LagMeter(clock)
    with meter.measuring():
        clock.advance(0.5)  # before any window: counted in the emulator's worst, in no window
    window = meter.open_window()
    with meter.measuring():
        clock.advance(0.2)
        with meter.measuring():  # a request inside a request (numeric() advancing the plant) counts once
            clock.advance(0.1)
    with meter.measuring():
        clock.advance(0.01)
    meter.close_window(window)
    with meter.measuring():
        clock.advance(2.0)  # after the window closed
    assert window.requests == 2
    assert window.worst == pytest.approx(0.3) and window.worst_at == pytest.approx(100.5)
    summary = window.summary(0.25)
    assert summary["time_scale"] == 20.0 and summary["max_lag_s"] == pytest.approx(0.3)
    assert summary["resolution_s"] == 0.25 and summary["requests"] == 2
    assert meter.worst == pytest.approx(2.0)


class _Plant:
    def __init__(self, clock):
        self.lag = LagMeter(clock)


class _EmulatedBench:
    def __init__(self, clock):
        self.plant = _Plant(clock)


def _requests(emulated, clock, lags):
    for lag in lags:
        with emulated.plant.lag.measuring():
            clock.advance(lag)


def test_an_emulation_that_cannot_keep_up_makes_every_figure_an_error():
    clock = ManualClock(time_scale=50.0)
    emulated = _EmulatedBench(clock)
    keeping = CheckTimekeeping.open(emulated, 0.25)
    assert keeping.assess(83.0, "s", Limits(None, 90.0)) == ("", "")
    _requests(emulated, clock, [0.01] * 50 + [0.8] * 50)  # half the requests lag 0.8 s: sustained
    reason, _ = keeping.assess(83.0, "s", Limits(None, 90.0))
    assert "could not keep up at time scale x50" in reason and "0.8 s" in reason and "0.25 s" in reason
    measured = judge("boot", "boot_time_s", 83.0, "s", Limits(None, 90.0), untrusted=reason)
    assert measured.verdict == ERROR and measured.value == 83.0 and reason in measured.note
    assert judge("boot", "boot_time_s", 83.0, "s", Limits(None, 90.0), untrusted="").verdict == PASS
    assert keeping.close()["kept_up"] is False


def test_one_stall_errs_only_a_time_it_could_have_carried_across_a_limit():
    clock = ManualClock(time_scale=20.0)
    emulated = _EmulatedBench(clock)
    keeping = CheckTimekeeping.open(emulated, 0.5)
    _requests(emulated, clock, [0.01] * 300 + [0.8])  # one stall (a machine pausing the process for 40 ms)
    reason, note = keeping.assess(83.0, "s", Limits(None, 90.0))  # 7 s from its limit: the verdict holds
    assert reason == "" and "one emulator stall of 0.8 s" in note and "verdict holds" in note
    reason, _ = keeping.assess(89.5, "s", Limits(None, 90.0))  # 0.5 s from its limit: the stall could flip it
    assert "could have moved this time across its limit" in reason
    reason, note = keeping.assess(95.0, "kW/s", Limits(80.0, None))  # not a time: noted
    assert reason == "" and "stall" in note
    assert keeping.close()["kept_up"] is True  # 99 % of the requests kept up
    assert CheckTimekeeping.open(emulated, None).assess(89.5, "s", Limits(None, 90.0)) == ("", "")
    assert CheckTimekeeping.open(object(), 0.25) is None  # a real bench: no window


def test_a_stall_outside_the_interval_a_time_measures_cannot_err_it():
    clock = ManualClock(time_scale=20.0)
    emulated = _EmulatedBench(clock)
    keeping = CheckTimekeeping.open(emulated, 0.05)
    clock.advance(10.0)
    _requests(emulated, clock, [0.001] * 300)
    event_end = clock.now()  # a response measured from 0.2 s before this plant time up to it
    clock.advance(466.0)
    _requests(emulated, clock, [0.001] * 300 + [0.08])  # one stall, 466 s later (the ERCOT FFR hold in CI)
    reason, note = keeping.assess(0.2, "s", Limits(None, 0.25), instrument_time=event_end)
    assert reason == "" and "outside the 0.2 s this time measures" in note
    # the same figure with no instrument time, or with the stall inside its interval, is an error
    assert "could have moved this time across its limit" in keeping.assess(0.2, "s", Limits(None, 0.25))[0]
    stall_at = clock.now() - 0.08  # the plant time the stall began
    reason, _ = keeping.assess(0.2, "s", Limits(None, 0.25), instrument_time=stall_at + 0.1)
    assert "inside the interval this time measures" in reason
    summary = keeping.close()
    assert summary["stalls_beyond_resolution"] == 1 and summary["kept_up"] is True


def test_a_plan_can_declare_a_checks_resolution_and_zero_is_refused(tmp_path):
    plan = tmp_path / "p.yaml"
    plan.write_text(
        "plan: p\ndut: {rated_kw: 97.5, boards: 30, voltage_v: 400, frequency_hz: 50}\n"
        "checks:\n  - {id: a, type: boot, resolution_s: 2.5, limits: {boot_time_s: {max: 90}}}\n"
    )
    assert load_plan(plan).checks[0].resolution_s == 2.5
