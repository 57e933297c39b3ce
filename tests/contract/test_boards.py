from hilbench.hashing.sha256d import DIFF1_TARGET
from hilbench.emulation.shares import DEFAULT_JOB
from hilbench.protocols.stratum import header_from_job


def test_pyasic_driver_identifies_every_board(hil_driver):
    boards = hil_driver("boards")
    assert boards.identify().startswith("30 boards")


def test_bm13xx_driver_gets_verified_nonces(hil_driver, hil_bench):
    board = hil_driver("hashboard")
    assert "BM1370" in board.identify()
    board.setup(fast_uart=True)
    board.send_job(header_from_job(DEFAULT_JOB, "0badf00d", "00000001"))
    # the emulated chip's ticket target is scaled (see shares.py); any nonce it reports must meet diff1 * 2**24
    nonces = board.read_nonces(2.0, target=DIFF1_TARGET << 24)
    assert nonces
    assert all(n.version & ~0x1FFFE000 == DEFAULT_JOB.version for n in nonces)
