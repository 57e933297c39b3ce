"""BM13xx hash-board driver, byte for byte on the serial line.  Frames from ESP-Miner (bm13xx.c, bm1370.c),
summarised with verified examples in docs/references/miner_protocols.md B.2-B.5."""

import binascii
import struct

from hilbench.drivers.boards.bm13xx_serial import BM13xxSerialBoard
from hilbench.hashing.sha256d import hash_value, sha256d
from hilbench.protocols import bm13xx
from hilbench.testing import expected_protocol

READ_CHIP_ID = bytes.fromhex("55 AA 52 05 00 00 0A")  # B.5 step 1: read all, register 0x00
CHAIN_INACTIVE = bytes.fromhex("55 AA 53 05 00 00 03")  # B.2 verified example
SET_ADDRESS_0 = bytes.fromhex("55 AA 40 05 00 00 1C")  # B.2 verified example
VERSION_MASK = bytes.fromhex("55 AA 51 09 00 A4 90 00 FF FF 1C")  # B.2/B.3: mask 0x1fffe000
FAST_UART = bytes.fromhex("55 AA 51 09 00 28 11 30 02 00 03")  # B.1: register 0x28 = 11 30 02 00 -> 1 Mbaud


def board(transport):
    return BM13xxSerialBoard(transport, chip="BM1370", asic_count=1)


def chip_id_reply() -> bytes:
    return bm13xx.register_response(0x13700000, 0, bm13xx.REG_CHIP_ID)


def test_enumeration_reads_register_zero_of_every_chip():
    with expected_protocol(board, [(READ_CHIP_ID, chip_id_reply())], kind="serial") as b:
        assert b.enumerate_chips() == [0x1370]


def test_setup_follows_the_esp_miner_init_order():
    exchanges = [(CHAIN_INACTIVE + SET_ADDRESS_0 + VERSION_MASK, b""), (FAST_UART, b"")]
    with expected_protocol(board, exchanges, kind="serial") as b:
        b.setup(fast_uart=True)
        assert b.transport.baudrate == 1_000_000


def job_frame_from_the_table(job_id: int, header: bytes) -> bytes:
    """B.3's table, written out independently of hilbench.protocols.bm13xx: 82-byte payload, header 0x21,
    length 0x56, CRC-16/CCITT-FALSE big-endian (binascii.crc_hqx with init 0xFFFF)."""

    def reversed_words(field: bytes) -> bytes:
        return b"".join(field[i : i + 4] for i in range(28, -4, -4))

    payload = (
        bytes([job_id, 0x01])
        + bytes(4)  # starting nonce
        + header[72:76]  # nbits, little-endian as in the header
        + header[68:72]  # ntime
        + reversed_words(header[36:68])  # merkle root, word order reversed
        + reversed_words(header[4:36])  # previous block hash, word order reversed
        + header[0:4]  # version
    )
    body = bytes([0x21, 0x56]) + payload
    return b"\x55\xaa" + body + binascii.crc_hqx(body, 0xFFFF).to_bytes(2, "big")


def test_job_frame_and_a_verified_nonce(bitcoin_vectors):
    header = bytes.fromhex(bitcoin_vectors["blocks"][0]["header_hex"])
    (nonce,) = struct.unpack_from("<I", header, 76)
    reply = bm13xx.nonce_response(nonce, job_id=0, small_core=0, rolled_version_bits=0, chip="BM1370")
    with expected_protocol(board, [(job_frame_from_the_table(0, header), reply)], kind="serial") as b:
        assert b.send_job(header) == 0
        nonces = b.read_nonces(0.0, target=hash_value(sha256d(header)))
    assert [n.header for n in nonces] == [header]


def test_identify_counts_the_chips_and_safe_state_sends_nothing():
    with expected_protocol(board, [(READ_CHIP_ID, chip_id_reply())], kind="serial") as b:
        assert b.identify().startswith("1 x BM1370")
        b.safe_state()  # the chips finish their job and idle: nothing on the wire
