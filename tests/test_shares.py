import pytest

from hilbench.emulation.board import BoardModel
from hilbench.emulation.board_profiles import S19J_PRO
from hilbench.emulation.clock import ManualClock
from hilbench.emulation.shares import NonceSearch, ShareEngine, scaled_work
from hilbench.hashing.sha256d import NONCE_SPACE


def test_difficulty_accepted_recovers_the_modelled_hash_rate():
    clock = ManualClock()
    engine = ShareEngine(
        BoardModel(S19J_PRO, clock), pool_difficulty=2**20, extranonce1="00000001", time_scale=100, seed=11
    )
    clock.advance(3600)
    count = engine.collect()
    expected = 100e12 * 3600 / (2**20 * NONCE_SPACE)  # about 80 shares
    assert abs(count - expected) < 4 * expected**0.5
    estimate = engine.difficulty_accepted * NONCE_SPACE / 3600
    assert estimate == pytest.approx(100e12, rel=4 / expected**0.5)
    assert all(share.verify() for share in engine.recent)
    times = [s.plant_time for s in engine.recent]
    assert times == sorted(times) and times[0] >= 0 and times[-1] <= 3600


def test_a_curtailed_board_finds_no_shares():
    clock = ManualClock()
    board = BoardModel(S19J_PRO, clock)
    engine = ShareEngine(board, pool_difficulty=1.0, extranonce1="00000001", time_scale=1000)
    board.sleep()
    clock.advance(S19J_PRO.curtail_latency_s)
    engine.collect()
    clock.advance(100)
    assert engine.collect() == 0


def test_nonce_search_rolls_the_version_when_the_nonce_space_ends():
    base = bytes(4) + bytes(range(76))
    calls = []
    search = NonceSearch(base, (1 << 256) // 4, 1 << 10, version_mask=0x6000, next_work=lambda: calls.append(1) or base)
    search._cursor = NONCE_SPACE - 8  # near the end of the nonce space
    versions = {int.from_bytes(search.next()[:4], "little") for _ in range(2000)}
    assert versions >= {0x0000, 0x2000}
    assert versions <= {0x0000, 0x2000, 0x4000, 0x6000}


def test_work_per_share_shrinks_with_time_scale():
    assert scaled_work(1) == 1 << 14
    assert scaled_work(16) == 1 << 10
    assert scaled_work(10_000) == 256
