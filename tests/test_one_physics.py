"""One physics: a board's power, the plant's numeric readings, its waveforms and its energy all come from
one definition, so they agree in every board state (found disagreeing: a curtailed S19j Pro drew 14.97 W
in the scalar path and 15.0 W in the waveform path; auxiliaries were counted in energy while the grid
was off)."""

import numpy as np
import pytest

from hilbench.emulation.board import BoardModel, BoardState, segment_power
from hilbench.emulation.board_profiles import BITAXE_BM1370, S19J_PRO
from hilbench.emulation.clock import ManualClock
from hilbench.emulation.controller import ControllerParams, Mode
from hilbench.emulation.plant import Plant, PlantParams

FS = 10_000.0


def make_plant(boards=6):
    clock = ManualClock()
    models = [BoardModel(S19J_PRO, clock, name=f"b{i}") for i in range(boards)]
    return clock, Plant(clock, models, PlantParams(), ControllerParams())


def go(clock, plant, t):
    clock._now = t
    plant.advance(t)


def numeric_mean_w(plant, t0, t1, points=401):
    """Mean of the analyser's numeric total power over [t0, t1] (trapezoid over many readings)."""
    times = np.linspace(t0, t1, points)
    values = np.array([plant.numeric(t)["p_total"] for t in times])
    return float(np.trapezoid(values, times) / (t1 - t0))


def waveform_mean_w(plant, t0, t1):
    voltage, current = plant.pcc_waveforms(t0, t1, FS)
    return float(np.sum(np.mean(voltage * current, axis=1)))


@pytest.mark.parametrize("profile", [S19J_PRO, BITAXE_BM1370])
def test_the_live_reading_and_the_redrawn_history_agree_in_every_state(profile):
    """snapshot().wall_w (what the LuxOS API and the analyser's numbers use) vs wall_power_at (what the
    waveforms are drawn from), at the same plant time, through off, booting, ramping, mining, curtailed,
    waking and a graceful stop."""
    clock = ManualClock()
    board = BoardModel(profile, clock, name="b", powered=False)
    seen = {}

    def look(t: float) -> None:
        snapshot = board.snapshot(t)
        redrawn = board.wall_power_at(np.array([t]))[0]
        assert redrawn == pytest.approx(snapshot.wall_w, rel=1e-12, abs=1e-12), (snapshot.state, t)
        seen[snapshot.state] = snapshot.wall_w

    look(0.0)
    board.power_on(at=0.0)
    look(1.0)
    look(profile.boot_s + 0.5)  # PLL ramping up
    look(profile.boot_s + 600.0)
    board.sleep(at=profile.boot_s + 600.0)
    look(profile.boot_s + 600.0 + profile.curtail_latency_s + 1.0)
    board.wakeup(at=profile.boot_s + 700.0)
    look(profile.boot_s + 1400.0)
    board.shutdown(at=profile.boot_s + 1400.0)
    look(profile.boot_s + 1400.0 + profile.graceful_stop_s / 2)
    look(profile.boot_s + 1400.0 + profile.graceful_stop_s + 1.0)
    assert set(seen) == set(BoardState)
    assert seen[BoardState.CURTAILED] == pytest.approx(profile.standby_w, rel=1e-12)  # standby_w is at the wall


def test_segment_power_gives_the_same_figures_for_a_float_and_an_array():
    board = BoardModel(S19J_PRO, ManualClock(), name="b")
    segment = board.history[-1]
    times = np.array([0.0, 1.0, 2.0])
    for scalar_t, array_value in zip(times, segment_power(board.power, segment, times)[1], strict=True):
        assert float(segment_power(board.power, segment, float(scalar_t))[1]) == pytest.approx(array_value, rel=1e-12)


@pytest.mark.parametrize("state", ["mining", "curtailed", "booting", "stopping", "off"])
def test_numeric_power_and_waveform_power_agree_within_0_1_percent(state):
    clock, plant = make_plant()
    go(clock, plant, 10.0)
    if state == "curtailed":
        plant.controller.write_mode(int(Mode.CURTAIL), at=10.0)
        go(clock, plant, 40.0)
    elif state == "booting":
        plant.controller.write_mode(int(Mode.OFF), at=10.0)
        go(clock, plant, 30.0)
        plant.controller.write_mode(int(Mode.RUN), at=30.0)
        go(clock, plant, 31.0)
    elif state == "stopping":
        plant.controller.write_mode(int(Mode.GRACEFUL_STOP), at=10.0)
        go(clock, plant, 10.5)
    elif state == "off":
        plant.controller.write_mode(int(Mode.OFF), at=10.0)
        go(clock, plant, 40.0)
    t0 = clock.now()
    energy_t0 = plant.energy_j(t0)  # the plant moves forward only: read it before moving on
    numeric = numeric_mean_w(plant, t0, t0 + 1.0)  # readings taken as time goes, like an analyser's
    energy = plant.energy_j(t0 + 1.0) - energy_t0
    waveform = waveform_mean_w(plant, t0, t0 + 1.0)  # a capture of the window just past
    states = {b.state for b in plant.boards}
    expected = {
        "mining": {BoardState.MINING},
        "curtailed": {BoardState.CURTAILED},
        "booting": {BoardState.BOOTING},
        "stopping": {BoardState.SHUTTING_DOWN},
        "off": {BoardState.OFF},
    }[state]
    assert states & expected, states
    assert waveform == pytest.approx(numeric, rel=1e-3)
    assert energy == pytest.approx(numeric * 1.0, rel=1e-3)


def test_auxiliaries_count_in_energy_only_while_the_grid_is_live():
    clock, plant = make_plant(boards=0)
    plant.grid.set_output(False, at=5.0)
    go(clock, plant, 10.0)
    assert plant.numeric(10.0)["p_total"] == 0.0
    assert plant.energy_j(10.0) == pytest.approx(plant.controller.params.aux_w * 5.0)


def test_the_stored_series_equals_the_live_readings_it_stands_for():
    """numeric_series (the analyser's store function) and numeric (its live readings) share one definition."""
    clock, plant = make_plant()
    go(clock, plant, 10.0)
    plant.controller.write_mode(int(Mode.GRACEFUL_STOP), at=10.0)
    times = np.arange(10.0, 12.0, 0.05)
    live = []
    for t in times:
        go(clock, plant, t)
        live.append(plant.numeric(t))
    stored = plant.numeric_series(times)
    assert np.array_equal(stored["p_total"], [r["p_total"] for r in live])
    assert np.array_equal(stored["frequency"], [r["frequency"] for r in live])
    for key in ("urms", "irms", "p", "lambda"):
        assert np.allclose(stored[key], np.array([r[key] for r in live]).T, rtol=1e-12, atol=0)
