"""BM13xx (BM1366 / BM1368 / BM1370) UART framing, shared by the serial driver and the chip emulator.

Source: ESP-Miner ``components/asic`` (bm13xx.c, bm1370.c, crc.c) as summarised in
docs/references/miner_protocols.md section B, checked against its frame vectors.

Host -> chip:  55 AA | header | length | data | crc
    header = TYPE | GROUP | CMD; length = frame length - 2
    command frames end in CRC5 (1 byte), job frames (header 0x21) in CRC16/CCITT-FALSE (2 bytes, BE).
Chip -> host:  AA 55 | 4 bytes | 2 bytes | 2 bytes | flags    (11 bytes)
    flags bit 7 = nonce (job) response, bits 0-4 = CRC5 over the 67 bits before them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

PREAMBLE = b"\x55\xaa"
RESPONSE_PREAMBLE = b"\xaa\x55"
RESPONSE_LENGTH = 11

TYPE_JOB = 0x20
TYPE_CMD = 0x40
GROUP_SINGLE = 0x00
GROUP_ALL = 0x10
CMD_SETADDRESS = 0x00
CMD_WRITE = 0x01
CMD_READ = 0x02
CMD_INACTIVE = 0x03

HEADER_JOB = TYPE_JOB | GROUP_SINGLE | CMD_WRITE  # 0x21
JOB_PAYLOAD_LENGTH = 82  # BM1366/BM1368/BM1370

REG_CHIP_ID = 0x00
REG_PLL0 = 0x08
REG_TICKET_MASK = 0x14
REG_MISC_CONTROL = 0x18
REG_FAST_UART = 0x28
REG_VERSION_MASK = 0xA4

MAX_FRAME = 2 + 1 + 1 + JOB_PAYLOAD_LENGTH + 2 + 64  # generous bound for resynchronisation


def crc5_bits(data: bytes, nbits: int) -> int:
    """CRC5, polynomial x^5+x^2+1, MSB first, init 0x1F, no final XOR, over the first ``nbits`` bits."""
    crc = 0x1F
    for i in range(nbits):
        bit = data[i >> 3] >> (7 - (i & 7)) & 1
        feedback = (crc >> 4 & 1) ^ bit
        crc = (crc << 1) & 0x1F
        if feedback:
            crc ^= 0x05
    return crc


def crc5(data: bytes) -> int:
    return crc5_bits(data, 8 * len(data))


def crc16_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def command_frame(header: int, data: bytes) -> bytes:
    """A command frame with its CRC5."""
    body = bytes([header, len(data) + 3]) + data
    return PREAMBLE + body + bytes([crc5(body)])


def write_register(chip_addr: int, register: int, value: bytes, *, broadcast: bool) -> bytes:
    header = TYPE_CMD | (GROUP_ALL if broadcast else GROUP_SINGLE) | CMD_WRITE
    if len(value) != 4:
        raise ValueError("a register value is 4 bytes")
    return command_frame(header, bytes([chip_addr, register]) + value)


def read_register(chip_addr: int, register: int, *, broadcast: bool) -> bytes:
    header = TYPE_CMD | (GROUP_ALL if broadcast else GROUP_SINGLE) | CMD_READ
    return command_frame(header, bytes([chip_addr, register]))


def chain_inactive() -> bytes:
    return command_frame(TYPE_CMD | GROUP_ALL | CMD_INACTIVE, b"\x00\x00")


def set_address(chip_addr: int) -> bytes:
    return command_frame(TYPE_CMD | GROUP_SINGLE | CMD_SETADDRESS, bytes([chip_addr, 0x00]))


def reverse_words(data32: bytes) -> bytes:
    """Reverse the order of the eight 32-bit words (bytes inside each word unchanged)."""
    return b"".join(data32[i : i + 4] for i in range(28, -4, -4))


@dataclass(frozen=True)
class Job:
    """The fields of a BM1366/68/70 job frame (header fields in the chip's layout)."""

    job_id: int
    starting_nonce: int
    nbits: int
    ntime: int
    merkle_root: bytes  # header byte order
    prev_block_hash: bytes  # header byte order
    version: int

    def header(self, version: int | None = None, nonce: int = 0) -> bytes:
        """The 80-byte block header this job describes."""
        return (
            struct.pack("<I", self.version if version is None else version)
            + self.prev_block_hash
            + self.merkle_root
            + struct.pack("<III", self.ntime, self.nbits, nonce)
        )

    def payload(self) -> bytes:
        return (
            bytes([self.job_id, 0x01])
            + struct.pack("<III", self.starting_nonce, self.nbits, self.ntime)
            + reverse_words(self.merkle_root)
            + reverse_words(self.prev_block_hash)
            + struct.pack("<I", self.version)
        )

    @classmethod
    def from_payload(cls, payload: bytes) -> Job:
        if len(payload) != JOB_PAYLOAD_LENGTH:
            raise ValueError(f"job payload is {JOB_PAYLOAD_LENGTH} bytes, got {len(payload)}")
        starting_nonce, nbits, ntime = struct.unpack_from("<III", payload, 2)
        return cls(
            job_id=payload[0],
            starting_nonce=starting_nonce,
            nbits=nbits,
            ntime=ntime,
            merkle_root=reverse_words(payload[14:46]),
            prev_block_hash=reverse_words(payload[46:78]),
            version=struct.unpack_from("<I", payload, 78)[0],
        )

    @classmethod
    def from_header(cls, job_id: int, header: bytes) -> Job:
        (version,) = struct.unpack_from("<I", header, 0)
        ntime, nbits = struct.unpack_from("<II", header, 68)
        return cls(job_id, 0, nbits, ntime, header[36:68], header[4:36], version)


def job_frame(job: Job) -> bytes:
    """A job frame with its CRC16 (big endian)."""
    body = bytes([HEADER_JOB, JOB_PAYLOAD_LENGTH + 4]) + job.payload()
    return PREAMBLE + body + struct.pack(">H", crc16_false(body))


@dataclass(frozen=True)
class Frame:
    """One host -> chip frame that passed its CRC."""

    header: int
    data: bytes

    @property
    def is_job(self) -> bool:
        return self.header & 0xF0 == TYPE_JOB

    @property
    def broadcast(self) -> bool:
        return bool(self.header & GROUP_ALL)

    @property
    def command(self) -> int:
        return self.header & 0x0F


class FrameParser:
    """Incremental parser of the host -> chip byte stream.

    Garbage before a preamble is skipped; a frame whose CRC fails is dropped without a
    reply (as the chip does) and counted in ``rejected``.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.rejected = 0
        self.skipped_bytes = 0

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while True:
            start = self._buffer.find(PREAMBLE)
            if start < 0:
                keep = 1 if self._buffer.endswith(PREAMBLE[:1]) else 0
                self.skipped_bytes += len(self._buffer) - keep
                del self._buffer[: len(self._buffer) - keep]
                return frames
            if start:
                self.skipped_bytes += start
                del self._buffer[:start]
            if len(self._buffer) < 4:
                return frames
            header, length = self._buffer[2], self._buffer[3]
            total = length + 2
            is_job = header & 0xF0 == TYPE_JOB
            if total < 5 or total > MAX_FRAME or header & 0xF0 not in (TYPE_JOB, TYPE_CMD | GROUP_ALL, TYPE_CMD):
                self.rejected += 1
                del self._buffer[:2]  # not a frame start after all: resynchronise
                continue
            if len(self._buffer) < total:
                return frames
            raw = bytes(self._buffer[:total])
            del self._buffer[:total]
            if is_job:
                ok = total >= 6 and crc16_false(raw[2:-2]) == struct.unpack(">H", raw[-2:])[0]
                data = raw[4:-2]
            else:
                ok = crc5(raw[2:-1]) == raw[-1]
                data = raw[4:-1]
            if ok:
                frames.append(Frame(header, data))
            else:
                self.rejected += 1


def _response(body8: bytes, job_response: bool) -> bytes:
    """Append flags: bit 7 = job response, bits 0-4 = CRC5 over the 67 bits before them."""
    top = 0x80 if job_response else 0x00
    crc = crc5_bits(body8 + bytes([top]), 8 * 8 + 3)
    return RESPONSE_PREAMBLE + body8 + bytes([top | crc])


def register_response(value: int, chip_addr: int, register: int) -> bytes:
    """Register-read reply: AA 55 | value (BE) | chip_addr | reg | 2 unused | crc."""
    return _response(struct.pack(">IBBxx", value, chip_addr, register), False)


def nonce_response(nonce: int, job_id: int, small_core: int, rolled_version_bits: int, chip: str) -> bytes:
    """Nonce reply: AA 55 | nonce (header byte order) | midstate 0 | id | version bits (BE) | flags."""
    if chip == "BM1366":
        ident = (job_id & 0xF8) | (small_core & 0x07)
    else:  # BM1368, BM1370: job_id = (id & 0xF0) >> 1
        ident = ((job_id << 1) & 0xF0) | (small_core & 0x0F)
    body = struct.pack("<I", nonce) + bytes([0, ident]) + struct.pack(">H", rolled_version_bits & 0xFFFF)
    return _response(body, True)


@dataclass(frozen=True)
class Response:
    """A decoded chip -> host reply."""

    raw: bytes

    @property
    def is_nonce(self) -> bool:
        return bool(self.raw[10] & 0x80)

    @property
    def crc_ok(self) -> bool:
        return self.raw[:2] == RESPONSE_PREAMBLE and crc5(self.raw[2:11]) == 0

    @property
    def nonce(self) -> int:
        return struct.unpack_from("<I", self.raw, 2)[0]

    @property
    def register_value(self) -> int:
        return struct.unpack_from(">I", self.raw, 2)[0]

    @property
    def chip_addr(self) -> int:
        return self.raw[6]

    @property
    def register(self) -> int:
        return self.raw[7]

    def job_id(self, chip: str) -> int:
        ident = self.raw[7]
        return ident & 0xF8 if chip == "BM1366" else (ident & 0xF0) >> 1

    @property
    def version_bits(self) -> int:
        return struct.unpack_from(">H", self.raw, 8)[0]

    def rolled_version(self, job_version: int) -> int:
        return job_version | (self.version_bits << 13)


def split_responses(data: bytes) -> tuple[list[Response], bytes]:
    """Cut a chip -> host byte stream into 11-byte replies; returns the replies and the leftover."""
    out = []
    buffer = bytes(data)
    while True:
        start = buffer.find(RESPONSE_PREAMBLE)
        if start < 0:
            return out, buffer[-1:] if buffer.endswith(b"\xaa") else b""
        buffer = buffer[start:]
        if len(buffer) < RESPONSE_LENGTH:
            return out, buffer
        out.append(Response(buffer[:RESPONSE_LENGTH]))
        buffer = buffer[RESPONSE_LENGTH:]


def ticket_mask_value(difficulty: int) -> bytes:
    """Register 0x14 value for an ASIC ticket difficulty (ESP-Miner get_difficulty_mask).

    The difficulty is rounded down to a power of two; (d - 1) is written least significant
    byte last, each byte bit-reversed.
    """
    if difficulty < 1:
        raise ValueError("ticket difficulty must be >= 1")
    mask = (1 << (difficulty.bit_length() - 1)) - 1
    return bytes(_reverse_bits(mask >> (8 * (3 - i)) & 0xFF) for i in range(4))


def ticket_difficulty(value: bytes) -> int:
    """Inverse of :func:`ticket_mask_value`."""
    mask = 0
    for i, byte in enumerate(value):
        mask |= _reverse_bits(byte) << (8 * (3 - i))
    return mask + 1


def _reverse_bits(byte: int) -> int:
    return int(f"{byte:08b}"[::-1], 2)


def pll_frequency_mhz(value: bytes) -> float:
    """Register 0x08 value [vdo_scale, fb_div, refdiv, postdiv] -> output frequency (BM1366+ encoding)."""
    _, fb_div, refdiv, postdiv = value
    post1, post2 = (postdiv >> 4) + 1, (postdiv & 0x0F) + 1
    if refdiv == 0:
        raise ValueError("PLL refdiv 0")
    return 25.0 * fb_div / (refdiv * post1 * post2)


def pll_value(frequency_mhz: float) -> bytes:
    """Closest PLL setting for a frequency (ESP-Miner pll_get_parameters search, BM1370 fb_div 160-239)."""
    best = None
    for refdiv in (2, 1):
        for post1 in range(7, 0, -1):
            for post2 in range(1, post1):
                fb_div = round(frequency_mhz * refdiv * post1 * post2 / 25.0)
                if not 160 <= fb_div <= 239:
                    continue
                freq = 25.0 * fb_div / (refdiv * post1 * post2)
                key = (abs(freq - frequency_mhz), 25 * fb_div / refdiv, post1 * post2)
                if best is None or key < best[0]:
                    best = (key, fb_div, refdiv, post1, post2)
    if best is None:
        raise ValueError(f"no PLL setting reaches {frequency_mhz} MHz")
    _, fb_div, refdiv, post1, post2 = best
    vdo = 0x50 if 25 * fb_div / refdiv >= 2400 else 0x40
    return bytes([vdo, fb_div, refdiv, ((post1 - 1) << 4) | (post2 - 1)])
