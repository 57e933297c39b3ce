import pytest

from hilbench.emulation.board import BoardCommandError, BoardModel, BoardState
from hilbench.emulation.board_profiles import BITAXE_BM1370, S19J_PRO
from hilbench.emulation.clock import ManualClock, PlantClock
from hilbench.emulation.power_model import PowerModel


def cold_board(profile=S19J_PRO):
    clock = ManualClock()
    return clock, BoardModel(profile, clock, start_mining=False)


def test_boot_then_pll_ramp_to_full_rate():
    clock, board = cold_board()
    assert board.snapshot().state is BoardState.BOOTING
    clock.advance(S19J_PRO.boot_s - 0.1)
    assert board.snapshot().hashrate_ths == 0
    clock.advance(0.1 + 4.2)  # half-way up the 8.4 s ramp
    snap = board.snapshot()
    assert snap.state is BoardState.MINING
    assert snap.frequency_mhz == pytest.approx(262.5)
    clock.advance(10)
    snap = board.snapshot()
    assert snap.hashrate_ths == pytest.approx(100.0) and snap.wall_w == pytest.approx(3250, abs=1)
    changes = [(e.plant_time, e.new) for e in board.events]
    assert changes == [(0.0, BoardState.BOOTING), (S19J_PRO.boot_s, BoardState.MINING)]


def test_hashes_integrate_the_frequency_ramp():
    clock, board = cold_board()
    clock.advance(S19J_PRO.boot_s + 8.4 + 10)
    ramp_hashes = 100e12 * 8.4 / 2  # linear ramp from 0 to full rate
    assert board.snapshot().total_hashes == pytest.approx(ramp_hashes + 100e12 * 10, rel=1e-6)


def test_curtail_sleep_and_wakeup_on_plant_time():
    clock = ManualClock()
    board = BoardModel(S19J_PRO, clock)
    board.sleep()
    clock.advance(S19J_PRO.curtail_latency_s - 0.01)
    assert board.snapshot().state is BoardState.MINING
    clock.advance(0.02)
    snap = board.snapshot()
    assert snap.state is BoardState.CURTAILED and snap.wall_w == pytest.approx(S19J_PRO.standby_w, rel=0.01)
    board.wakeup()
    clock.advance(S19J_PRO.wake_delay_s + 8.4 + 0.1)
    assert board.snapshot().hashrate_ths == pytest.approx(100.0)
    assert board.events[-1].reason == "curtail wakeup"
    assert board.events[-1].plant_time == pytest.approx(S19J_PRO.curtail_latency_s + S19J_PRO.wake_delay_s, abs=0.02)


def test_wakeup_while_sleep_in_flight_cancels_it():
    clock = ManualClock()
    board = BoardModel(S19J_PRO, clock)
    board.sleep()
    board.wakeup()
    clock.advance(10)
    assert board.snapshot().state is BoardState.MINING


def test_emergency_and_graceful_shutdown_times():
    clock = ManualClock()
    board = BoardModel(S19J_PRO, clock)
    board.shutdown(emergency=True)
    assert board.snapshot().wall_w == 0
    clock.advance(S19J_PRO.emergency_stop_s)
    assert board.snapshot().state is BoardState.OFF
    clock2 = ManualClock()
    board2 = BoardModel(S19J_PRO, clock2)
    board2.shutdown()
    clock2.advance(1)
    assert 0 < board2.snapshot().hashrate_ths < 100  # ramping down, still finishing work
    clock2.advance(S19J_PRO.graceful_stop_s)
    assert board2.snapshot().state is BoardState.OFF


def test_rejected_commands_change_nothing():
    clock = ManualClock()
    board = BoardModel(S19J_PRO, clock)
    before = board.snapshot()
    with pytest.raises(BoardCommandError):
        board.set_profile("nonexistent")
    with pytest.raises(BoardCommandError):
        board.power_on()
    board.shutdown(emergency=True)
    clock.advance(1)
    with pytest.raises(BoardCommandError):
        board.sleep()
    with pytest.raises(BoardCommandError):
        board.set_profile("-3")
    assert board.active_profile.name == before.profile


@pytest.mark.parametrize("profile", [S19J_PRO, BITAXE_BM1370])
def test_profile_ladder_power_is_monotonic_and_about_5_percent_apart(profile):
    ladder = PowerModel(profile).ladder
    watts = [p.watts for p in ladder]
    assert watts == sorted(watts, reverse=True)
    default = PowerModel(profile).ladder_entry("default")
    assert default.watts == round(profile.nameplate_w)
    below = [p for p in ladder if p.name.startswith("-")]
    for fraction, entry in zip(profile.down_profile_fractions, below, strict=True):
        assert entry.watts == pytest.approx(fraction * profile.nameplate_w, abs=max(1.0, 0.01 * profile.nameplate_w))


def test_profile_change_moves_power_after_the_ramp():
    clock = ManualClock()
    board = BoardModel(S19J_PRO, clock)
    entry = board.set_profile("-10")
    clock.advance(10)
    assert board.snapshot().wall_w == pytest.approx(entry.watts, rel=0.002)


def test_time_scale_makes_plant_time_run_faster():
    import time

    clock = PlantClock(100)
    t0 = clock.now()
    time.sleep(0.05)
    assert clock.now() - t0 == pytest.approx(5.0, rel=0.5)
    with pytest.raises(ValueError):
        PlantClock(0)
