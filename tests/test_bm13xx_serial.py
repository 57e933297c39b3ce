"""The BM13xx chain on a pty, driven through pyserial exactly as a host driver would."""

import time

import pytest
import serial

from hilbench.emulation.bm13xx_serial import BM13xxChain
from hilbench.emulation.board_profiles import BITAXE_BM1370
from hilbench.emulation.clock import PlantClock
from hilbench.emulation.emulated_board import EmulatedBoard
from hilbench.emulation.shares import DEFAULT_JOB
from hilbench.hashing.sha256d import hash_value, sha256d
from hilbench.protocols import bm13xx
from hilbench.protocols.stratum import header_from_job

VERSION_MASK = bytes.fromhex("9000ffff")


@pytest.fixture
def chain():
    board = EmulatedBoard(BITAXE_BM1370, PlantClock(100), 0)
    emulated = BM13xxChain(board, chip="BM1370", asic_count=2, seed=3)
    emulated.start()
    yield emulated
    emulated.stop()


@pytest.fixture
def port(chain):
    with serial.Serial(chain.path, 115200, timeout=1) as opened:
        yield opened


def read_replies(port, count):
    replies, _ = bm13xx.split_responses(port.read(11 * count))
    return replies


def test_enumeration_addressing_and_registers(chain, port):
    port.write(bm13xx.read_register(0, bm13xx.REG_CHIP_ID, broadcast=True))
    ids = read_replies(port, 2)
    assert len(ids) == 2 and all(r.crc_ok and not r.is_nonce for r in ids)
    assert all(r.raw[2:4] == b"\x13\x70" for r in ids)
    port.write(bm13xx.chain_inactive() + bm13xx.set_address(0x00) + bm13xx.set_address(0x80))
    port.write(bm13xx.write_register(0x80, 0x3C, bytes.fromhex("80008b00"), broadcast=False))
    port.write(bm13xx.read_register(0x80, 0x3C, broadcast=False))
    (reply,) = read_replies(port, 1)
    assert reply.crc_ok and reply.chip_addr == 0x80 and reply.register_value == 0x80008B00
    port.write(bm13xx.read_register(0x00, 0x3C, broadcast=False))
    (other,) = read_replies(port, 1)
    assert other.register_value == 0  # the write went to chip 0x80 only


def test_baud_change_is_accepted(chain, port):
    port.write(bm13xx.write_register(0, bm13xx.REG_FAST_UART, bytes.fromhex("11300200"), broadcast=True))
    port.flush()
    time.sleep(0.1)
    port.baudrate = 1_000_000
    port.write(bm13xx.read_register(0, bm13xx.REG_CHIP_ID, broadcast=True))
    assert len(read_replies(port, 2)) == 2
    assert chain.baud == 1_000_000


def test_jobs_yield_genuine_nonces_with_rolled_versions(chain, port):
    port.write(bm13xx.write_register(0, bm13xx.REG_VERSION_MASK, VERSION_MASK, broadcast=True))
    job = bm13xx.Job.from_header(48, header_from_job(DEFAULT_JOB, "00000001", "00000002"))
    port.write(bm13xx.job_frame(job))
    replies = read_replies(port, 20)
    assert len(replies) >= 10
    for r in replies:
        assert r.crc_ok and r.is_nonce and r.job_id("BM1370") == 48
        header = job.header(version=r.rolled_version(job.version), nonce=r.nonce)
        assert hash_value(sha256d(header)) <= chain.nonce_target
        assert r.rolled_version(job.version) & ~0x1FFFE000 == job.version


def test_nonce_rate_follows_hash_rate_and_ticket_difficulty(chain, port):
    port.write(bm13xx.write_register(0, bm13xx.REG_TICKET_MASK, bm13xx.ticket_mask_value(1024), broadcast=True))
    job = bm13xx.Job.from_header(8, header_from_job(DEFAULT_JOB, "00000001", "00000003"))
    port.write(bm13xx.job_frame(job))
    port.reset_input_buffer()
    t0 = chain.board.model.snapshot().plant_time
    port.timeout = 2.0
    data = port.read(11 * 1000)
    elapsed = chain.board.model.snapshot().plant_time - t0
    expected = chain.board.model.snapshot().hashrate_ths * 1e12 * elapsed / (1024 * 2**32)
    got = len(data) // 11
    assert chain.ticket_difficulty == 1024
    assert abs(got - expected) < 5 * expected**0.5 + 3, (got, expected)


def test_pll_write_changes_the_modelled_hash_rate(chain, port):
    port.write(bm13xx.write_register(0, bm13xx.REG_PLL0, bm13xx.pll_value(400), broadcast=True))
    time.sleep(0.2)
    assert chain.board.model.snapshot().frequency_mhz == pytest.approx(400, abs=3)


def test_bad_crc_truncated_and_garbage_frames_get_no_reply(chain, port):
    good = bm13xx.read_register(0, bm13xx.REG_CHIP_ID, broadcast=True)
    bad = good[:-1] + bytes([good[-1] ^ 0x04])
    port.write(bad + b"\x00\x13garbage\xaa\x55" + good[:4])
    assert port.read(11) == b""
    assert chain.parser.rejected >= 1
    port.write(good[4:] + good)  # completes the truncated frame, then one more
    assert len(read_replies(port, 4)) == 4
