"""Envelope verdicts (IEEE 1547.1 style): the NESO Dynamic Containment curve, a step envelope with margins in the
DUT's favour, and the first sample outside it."""

from __future__ import annotations

import numpy as np
import pytest

from hilbench.core.envelope import ResponseCurve, StepRequirement, margins, step_envelope

# NESO DC (docs/references/grid_response.md s.6): deadband 0.015 Hz, 5 % at 0.2 Hz, 100 % at 0.5 Hz
DC = ResponseCurve.from_plan([[0.015, 0.0], [0.2, 0.05], [0.5, 1.0]])


def test_the_dynamic_containment_curve():
    assert DC.fraction(0.01) == 0.0 and DC.fraction(-0.01) == 0.0  # inside the deadband, either side
    assert DC.fraction(0.2) == pytest.approx(0.05)
    assert DC.fraction(0.35) == pytest.approx(0.525)  # half way between the knee and full response
    assert DC.fraction(0.5) == 1.0 and DC.fraction(0.8) == 1.0  # flat beyond the last point
    with pytest.raises(ValueError):
        ResponseCurve.from_plan([[0.2, 0.05], [0.1, 1.0]])
    with pytest.raises(ValueError):
        ResponseCurve.from_plan([[0.1, 1.5]])


def _reduction(at: float = 10.0) -> list[StepRequirement]:
    return [StepRequirement(at=at, before=100.0, target=50.0, initiation_s=0.5, full_s=1.0)]


def test_a_response_inside_the_envelope_passes_and_one_too_slow_fails_at_its_deadline():
    value_margin, time_margin = margins(value_accuracy=1.0, time_accuracy_s=0.05)
    assert (value_margin, time_margin) == pytest.approx((1.5, 0.075))
    envelope = step_envelope(_reduction(), value_margin=value_margin, time_margin=time_margin)
    t = np.arange(8.0, 20.0, 0.05)
    prompt = np.where(t < 10.3, 100.0, 50.0)  # all of it 0.3 s after the step
    assert envelope.judge(t, prompt).first_violation is None
    slow = np.where(t < 11.5, 100.0, 50.0)  # 1.5 s: nothing by the 0.5 s (+ margin) initiation deadline
    result = envelope.judge(t, slow)
    assert result.first_violation == pytest.approx(10.6, abs=0.051)  # the first update after 10.575 s
    assert result.outside > 0 and result.worst_excess == pytest.approx(100.0 - (100 - 0.9 * 50) - 1.5)  # at 1 s


def test_overshoot_and_a_response_that_lets_go_are_outside():
    envelope = step_envelope(_reduction(), value_margin=1.5, time_margin=0.075)
    t = np.arange(8.0, 20.0, 0.05)
    overshoot = np.where(t < 10.3, 100.0, 40.0)  # sheds 60 of the 50 asked
    assert envelope.judge(t, overshoot).first_violation == pytest.approx(10.3, abs=0.051)
    released = np.where((t >= 10.3) & (t < 15.0), 50.0, 100.0)  # delivered, then gave it back mid-event
    assert envelope.judge(t, released).first_violation == pytest.approx(15.0, abs=0.051)
    assert envelope.judge(t[:10], released[:10]).first_violation is None  # before the step nothing is bounded


def test_the_next_step_takes_over_from_the_previous_ones_deadlines():
    steps = [
        StepRequirement(at=10.0, before=100.0, target=50.0, initiation_s=0.5, full_s=1.0),
        StepRequirement(at=10.6, before=50.0, target=100.0, initiation_s=0.5, full_s=1.0),  # back up, early
    ]
    envelope = step_envelope(steps, value_margin=1.0, time_margin=0.0)
    t = np.arange(9.0, 15.0, 0.05)
    follows = np.where((t >= 10.2) & (t < 10.8), 50.0, 100.0)
    assert envelope.judge(t, follows).first_violation is None


def test_a_ramp_played_as_small_steps_may_lag_by_the_initiation_time_and_no_more():
    # 100 -> 50 over 1 s in 20 ms increments (a 3 Hz/s frequency ramp on a proportional curve), held after
    edges = np.arange(1, 51) * 0.02
    steps = [
        StepRequirement(
            at=10.0 + e - 0.02, before=100.0 - 50 * (e - 0.02), target=100.0 - 50 * e, initiation_s=0.5, full_s=1.0
        )
        for e in edges
    ]
    envelope = step_envelope(steps, value_margin=1.0, time_margin=0.0)
    t = np.arange(9.0, 14.0, 0.05)

    def lagging(delay: float) -> np.ndarray:
        return np.clip(100.0 - 50 * (t - 10.0 - delay), 50.0, 100.0)

    assert envelope.judge(t, lagging(0.3)).first_violation is None
    late = envelope.judge(t, lagging(0.8))
    assert late.first_violation is not None and 10.5 <= late.first_violation <= 10.6
    ahead = envelope.judge(t, lagging(-0.3))  # ahead of the ramp: overshoots what was asked so far
    assert ahead.first_violation is not None and ahead.first_violation < 10.1
