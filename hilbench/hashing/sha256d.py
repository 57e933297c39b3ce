"""SHA-256d, the Bitcoin proof-of-work hash, and a nonce scanner for emulated boards.

``sha256d`` and ``scan`` are the public core.  ``scan`` reuses the midstate of the
first 64 header bytes, so each nonce costs two SHA-256 compressions instead of three.
The work is done by a small C extension (``_sha256d.c``) that releases the GIL, so
``scan(..., workers=N)`` spreads one range over N threads and all cores.  Where the
extension could not be built (no C compiler at install time) a hashlib fallback with
the same results is used; ``BACKEND`` tells which one is active.

Conventions (Bitcoin's): the digest is returned in internal byte order; as a number it
is read little-endian; the familiar block hash is the digest reversed, in hex.
"""

from __future__ import annotations

import hashlib
import os
import struct
from concurrent.futures import ThreadPoolExecutor

try:
    from hilbench.hashing import _sha256d as _native
except ImportError:  # pragma: no cover - exercised only on machines without a compiler
    _native = None

BACKEND = "native" if _native is not None else "hashlib"

NONCE_SPACE = 1 << 32
MAX_TARGET = (1 << 256) - 1
#: Difficulty-1 target, 0xFFFF * 2**208 (= target of nBits 0x1d00ffff; ESP-Miner's truediffone).
DIFF1_TARGET = 0xFFFF << 208
#: BIP 320: the version bits a miner may roll.
BIP320_VERSION_MASK = 0x1FFFE000


def sha256d(header: bytes) -> bytes:
    """Double SHA-256 of ``header``: the 32-byte digest in internal byte order."""
    return hashlib.sha256(hashlib.sha256(header).digest()).digest()


def hash_value(digest: bytes) -> int:
    """The digest read as the little-endian 256-bit integer that targets are compared with."""
    return int.from_bytes(digest, "little")


def block_hash_hex(header: bytes) -> str:
    """Display form of a block hash: the digest reversed, in hex."""
    return sha256d(header)[::-1].hex()


def target_from_bits(bits: int) -> int:
    """Expand compact nBits into the full target."""
    exponent = bits >> 24
    mantissa = bits & 0x007FFFFF
    if exponent <= 3:
        return mantissa >> (8 * (3 - exponent))
    return mantissa << (8 * (exponent - 3))


def target_from_difficulty(difficulty: float) -> int:
    """Share target for a pool difficulty (pdiff): DIFF1_TARGET / difficulty, capped at 2**256-1.

    Fractional difficulties below 1 are allowed: emulated boards use them (see shares.py).
    """
    if not difficulty > 0:
        raise ValueError(f"difficulty must be positive, got {difficulty!r}")
    # Exact rational arithmetic: difficulty as a ratio of integers avoids float rounding of the target.
    num, den = float(difficulty).as_integer_ratio()
    return min(MAX_TARGET, DIFF1_TARGET * den // num)


def difficulty_of_hash(digest: bytes) -> float:
    """The pool difficulty a hash would satisfy (ESP-Miner's hash_to_pdiff)."""
    value = hash_value(digest)
    return float("inf") if value == 0 else DIFF1_TARGET / value


def meets_target(header: bytes, target: int) -> bool:
    """Whether this exact 80-byte header's hash is at or below ``target`` (plain hashlib)."""
    return hash_value(sha256d(header)) <= target


def with_nonce(header: bytes, nonce: int) -> bytes:
    """The header with bytes 76..79 replaced by ``nonce`` (little endian)."""
    return header[:76] + struct.pack("<I", nonce)


def roll_version(version: int, counter: int, mask: int = BIP320_VERSION_MASK) -> int:
    """BIP 320 version rolling: spread ``counter``'s bits over the free bits of ``mask``.

    Bits outside the mask come from ``version``; the result for counter 0 is ``version``'s
    own fixed part.  Works for any mask, not only the contiguous default.
    """
    rolled = version & ~mask & 0xFFFFFFFF
    bit = 0
    for position in range(32):
        if mask >> position & 1:
            if counter >> bit & 1:
                rolled |= 1 << position
            bit += 1
    if counter >> bit:
        raise ValueError(f"version-rolling counter {counter} does not fit in mask {mask:#010x}")
    return rolled


def version_rolling_capacity(mask: int = BIP320_VERSION_MASK) -> int:
    """How many distinct versions a mask allows (2**popcount)."""
    return 1 << bin(mask & 0xFFFFFFFF).count("1")


def _check_scan_args(header: bytes, start: int, count: int, target: int) -> None:
    if len(header) != 80:
        raise ValueError(f"a block header is 80 bytes, got {len(header)}")
    if not 0 <= start < NONCE_SPACE or count < 0 or start + count > NONCE_SPACE:
        raise ValueError(f"nonce range [{start}, {start + count}) leaves the 32-bit nonce space")
    if target < 0:
        raise ValueError("target must be non-negative")


def _scan_hashlib(header: bytes, start: int, count: int, target: int) -> list[int]:
    """Fallback scanner: midstate copy per nonce; same results as the native one, ~3x slower."""
    midstate = hashlib.sha256(header[:64])
    tail = header[64:76]
    sha = hashlib.sha256
    pack = struct.Struct("<I").pack
    found = []
    for nonce in range(start, start + count):
        inner = midstate.copy()
        inner.update(tail + pack(nonce))
        if int.from_bytes(sha(inner.digest()).digest(), "little") <= target:
            found.append(nonce)
    return found


def _scan_one(header: bytes, start: int, count: int, target: int) -> list[int]:
    if _native is None:
        return _scan_hashlib(header, start, count, target)
    return _native.scan_range(header, start, count, min(target, MAX_TARGET).to_bytes(32, "little"))


def scan(header: bytes, start: int, count: int, target: int, *, workers: int = 1) -> list[int]:
    """Every nonce in ``[start, start + count)`` whose header hash is <= ``target``, ascending.

    The hash is read as a little-endian 256-bit integer; ``header``'s own nonce field
    (bytes 76..79) is ignored.  ``workers`` > 1 splits the range over that many threads
    (``0`` = one per CPU); the native scanner releases the GIL, so threads use all cores.
    """
    _check_scan_args(header, start, count, target)
    header = bytes(header)
    if workers == 0:
        workers = os.cpu_count() or 1
    if workers <= 1 or count < 4096:
        return _scan_one(header, start, count, target)
    step = -(-count // workers)
    pieces = [(s, min(step, start + count - s)) for s in range(start, start + count, step)]
    with ThreadPoolExecutor(max_workers=len(pieces)) as pool:
        parts = pool.map(lambda piece: _scan_one(header, piece[0], piece[1], target), pieces)
        return [nonce for part in parts for nonce in part]
