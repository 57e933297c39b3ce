import os

import pytest

from hilbench.protocols import bm13xx


def frame_cases(vectors):
    return [bytes.fromhex(c["frame_hex"]) for c in vectors["bm13xx_frame_cases"]]


def test_published_frames_pass_their_crc(bitcoin_vectors):
    for frame in frame_cases(bitcoin_vectors):
        parser = bm13xx.FrameParser()
        assert len(parser.feed(frame)) == 1, frame.hex()
        assert parser.rejected == 0


def test_builders_reproduce_published_frames():
    assert bm13xx.write_register(0, 0xA8, bytes.fromhex("00070000"), broadcast=True).hex() == "55aa510900a80007000003"
    assert bm13xx.chain_inactive().hex() == "55aa5305000003"
    assert bm13xx.set_address(0).hex() == "55aa400500001c"
    assert bm13xx.write_register(0, 0x18, bytes.fromhex("f000c100"), broadcast=True).hex() == "55aa51090018f000c10004"
    assert bm13xx.write_register(0, 0x28, bytes.fromhex("11300200"), broadcast=True).hex() == "55aa510900281130020003"
    assert bm13xx.write_register(0, 0xA4, bytes.fromhex("9000ffff"), broadcast=True).hex() == "55aa510900a49000ffff1c"


def test_crc16_ccitt_false_check_value():
    assert bm13xx.crc16_false(b"123456789") == 0x29B1  # the catalogue check value of CRC-16/CCITT-FALSE


def test_bad_crc_and_garbage_are_dropped_and_resynchronised(bitcoin_vectors):
    good = frame_cases(bitcoin_vectors)[0]
    bad = good[:-1] + bytes([good[-1] ^ 0x01])
    parser = bm13xx.FrameParser()
    frames = parser.feed(os.urandom(0) + b"\x00\xff\x55" + bad + b"garbage" + good)
    assert [f.data for f in frames] == [good[4:-1]]
    assert parser.rejected == 1


def test_truncated_frame_waits_for_the_rest(bitcoin_vectors):
    good = frame_cases(bitcoin_vectors)[0]
    parser = bm13xx.FrameParser()
    assert parser.feed(good[:5]) == []
    assert len(parser.feed(good[5:])) == 1


def test_job_frame_round_trip():
    job = bm13xx.Job(
        job_id=24,
        starting_nonce=0,
        nbits=0x1705DD01,
        ntime=0x64658BD8,
        merkle_root=bytes(range(32)),
        prev_block_hash=bytes(range(32, 64)),
        version=0x20000000,
    )
    frame = bm13xx.job_frame(job)
    assert frame[:4] == bytes.fromhex("55aa2156") and len(frame) == 88
    (parsed,) = bm13xx.FrameParser().feed(frame)
    assert parsed.is_job and bm13xx.Job.from_payload(parsed.data) == job
    # merkle root travels with its 32-bit words reversed, bytes inside each word unchanged
    assert frame[18:22] == bytes(range(28, 32))


@pytest.mark.parametrize("chip", ["BM1366", "BM1370"])
def test_nonce_response_crc5_and_fields(chip):
    raw = bm13xx.nonce_response(0xDEADBEEF, 48, 5, 0x0ABC, chip)
    reply = bm13xx.Response(raw)
    assert len(raw) == 11 and reply.crc_ok and reply.is_nonce
    assert reply.nonce == 0xDEADBEEF and reply.job_id(chip) == 48 and reply.version_bits == 0x0ABC
    assert reply.rolled_version(0x20000000) == 0x20000000 | 0x0ABC << 13
    corrupted = raw[:4] + bytes([raw[4] ^ 0x10]) + raw[5:]
    assert not bm13xx.Response(corrupted).crc_ok


def test_register_response_and_ticket_mask():
    reply = bm13xx.Response(bm13xx.register_response(0x13708000, 0, 0))
    assert reply.crc_ok and not reply.is_nonce and reply.register_value == 0x13708000
    assert bm13xx.ticket_mask_value(256) == bytes.fromhex("000000ff")
    for difficulty in (1, 2, 256, 512, 1000, 65536):
        assert bm13xx.ticket_difficulty(bm13xx.ticket_mask_value(difficulty)) == 1 << (difficulty.bit_length() - 1)


def test_pll_settings_round_trip():
    for mhz in (400, 490, 525, 575):
        assert abs(bm13xx.pll_frequency_mhz(bm13xx.pll_value(mhz)) - mhz) < 3
