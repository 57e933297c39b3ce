import hashlib
import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hilbench.hashing import sha256d as core
from hilbench.hashing.sha256d import (
    BIP320_VERSION_MASK,
    DIFF1_TARGET,
    block_hash_hex,
    roll_version,
    scan,
    sha256d,
    target_from_bits,
    target_from_difficulty,
    with_nonce,
)


def plain(header: bytes) -> int:
    return int.from_bytes(hashlib.sha256(hashlib.sha256(header).digest()).digest(), "little")


def test_native_scanner_is_built():
    # CI has a compiler; the benchmark goal depends on the native scanner being the one in use.
    assert core.BACKEND == "native"


@pytest.mark.parametrize("index", [0, 1, 2])
def test_real_block_headers_hash_to_their_block_hash(bitcoin_vectors, index):
    block = bitcoin_vectors["blocks"][index]
    header = bytes.fromhex(block["header_hex"])
    assert sha256d(header)[::-1].hex() == block["block_hash"]
    assert block_hash_hex(header) == block["block_hash"]
    assert target_from_bits(int(block["bits"], 16)) == int(block["target_hex"], 16)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_scan_finds_the_real_nonce_and_ignores_the_header_nonce_field(bitcoin_vectors, index):
    block = bitcoin_vectors["blocks"][index]
    header = with_nonce(bytes.fromhex(block["header_hex"]), 0)  # nonce field wiped
    nonce, target = block["nonce"], target_from_bits(int(block["bits"], 16))
    start = max(0, nonce - 50_000)
    found = scan(header, start, 100_000, target)
    assert nonce in found
    assert all(plain(with_nonce(header, n)) <= target for n in found)


def test_scan_matches_a_brute_force_hashlib_loop():
    rng = random.Random(7)
    header = bytes(rng.getrandbits(8) for _ in range(80))
    target = (1 << 256) // 300  # about 1 in 300 nonces qualifies
    expected = [n for n in range(5000, 20000) if plain(with_nonce(header, n)) <= target]
    assert scan(header, 5000, 15000, target) == expected
    assert core._scan_hashlib(header, 5000, 15000, target) == expected
    assert len(expected) > 20


@settings(max_examples=25, deadline=None)
@given(header=st.binary(min_size=80, max_size=80), start=st.integers(0, 2**32 - 3000), bits=st.integers(1, 255))
def test_scan_agrees_with_hashlib_for_any_header_and_target(header, start, bits):
    target = (1 << bits) - 1
    expected = [n for n in range(start, start + 2000) if plain(with_nonce(header, n)) <= target]
    assert scan(header, start, 2000, target) == expected


def test_scan_is_inclusive_at_the_target():
    header = bytes(80)
    value = plain(with_nonce(header, 123))
    assert 123 in scan(header, 100, 50, value)
    assert 123 not in scan(header, 100, 50, value - 1)


def test_parallel_scan_equals_single_thread():
    header = os.urandom(80)
    target = (1 << 256) // 1000
    assert scan(header, 0, 200_000, target, workers=0) == scan(header, 0, 200_000, target)


def test_scan_reaches_the_last_nonce():
    header = bytes(80)
    assert scan(header, 2**32 - 10, 10, (1 << 256) - 1) == list(range(2**32 - 10, 2**32))


@pytest.mark.parametrize(
    ("header", "start", "count", "message"),
    [(bytes(79), 0, 1, "80 bytes"), (bytes(80), 2**32 - 1, 2, "nonce space"), (bytes(80), -1, 1, "nonce space")],
)
def test_scan_rejects_bad_arguments(header, start, count, message):
    with pytest.raises(ValueError, match=message):
        scan(header, start, count, 1)


def test_difficulty_targets():
    assert target_from_difficulty(1) == DIFF1_TARGET == target_from_bits(0x1D00FFFF)
    assert target_from_difficulty(2) == DIFF1_TARGET // 2
    assert target_from_difficulty(2**-18) == DIFF1_TARGET * 2**18
    with pytest.raises(ValueError):
        target_from_difficulty(0)


def test_bip320_version_rolling_stays_in_mask():
    base = 0x20000000
    assert roll_version(base, 0) == base
    assert roll_version(base, 1) == base | 0x2000
    top = roll_version(base, 0xFFFF)
    assert top == base | BIP320_VERSION_MASK
    assert roll_version(0, 0b11, mask=0b1010_0000) == 0b1010_0000
    with pytest.raises(ValueError):
        roll_version(base, 0x10000)
