from hilbench.emulation.shares import DEFAULT_JOB
from hilbench.hashing.sha256d import DIFF1_TARGET
from hilbench.protocols.stratum import header_from_job


def test_pyasic_driver_identifies_every_board(hil_driver, hil_expected):
    boards = hil_driver("boards")
    assert boards.identify().startswith(f"{hil_expected.boards} boards")
    readings = boards.read()
    assert len(readings) == hil_expected.boards
    assert all(r.power_w >= 0 and r.hashrate_hs >= 0 for r in readings)


def test_bm13xx_driver_gets_verified_nonces(hil_driver):
    board = hil_driver("hashboard")
    assert "BM13" in board.identify()
    board.setup(fast_uart=True)
    board.send_job(header_from_job(DEFAULT_JOB, "0badf00d", "00000001"))
    # every nonce the driver returns re-hashed below its target; an emulated chip's ticket target is scaled
    # (see shares.py) and a real one's is 256 (diff 256): both meet diff1 * 2**24 many times over
    nonces = board.read_nonces(2.0, target=DIFF1_TARGET << 24)
    assert nonces
    assert all(n.version & ~0x1FFFE000 == DEFAULT_JOB.version for n in nonces)
