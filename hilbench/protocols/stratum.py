"""Stratum v1 header assembly: from a ``mining.notify`` job to the 80-byte block header.

Rules follow ESP-Miner's ``stratum/mining.c`` and the public Stratum v1 / BIP 310 / BIP 320
conventions (see ``docs/references/miner_protocols.md`` section C).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass


def _dsha(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


@dataclass(frozen=True)
class StratumJob:
    """The fields of one ``mining.notify``, kept as the pool sent them (hex strings, numbers)."""

    job_id: str
    prevhash: str
    coinbase1: str
    coinbase2: str
    merkle_branch: tuple[str, ...]
    version: int
    nbits: int
    ntime: int
    clean_jobs: bool = False

    @classmethod
    def from_notify(cls, params: list) -> StratumJob:
        """Parse ``mining.notify`` params: job_id, prevhash, coinb1, coinb2, branch, version, nbits, ntime, clean."""
        job_id, prevhash, coinb1, coinb2, branch, version, nbits, ntime, clean = params
        return cls(
            job_id=str(job_id),
            prevhash=prevhash,
            coinbase1=coinb1,
            coinbase2=coinb2,
            merkle_branch=tuple(branch),
            version=int(version, 16),
            nbits=int(nbits, 16),
            ntime=int(ntime, 16),
            clean_jobs=bool(clean),
        )


def coinbase_transaction(coinbase1: str, extranonce1: str, extranonce2: str, coinbase2: str) -> bytes:
    """coinbase1 ‖ extranonce1 ‖ extranonce2 ‖ coinbase2 (hex concatenation, then bytes)."""
    return bytes.fromhex(coinbase1 + extranonce1 + extranonce2 + coinbase2)


def merkle_root(coinbase_tx: bytes, branch: tuple[str, ...] | list[str]) -> bytes:
    """Merkle root in header (internal) byte order: fold dSHA256(root ‖ branch) over the branch."""
    root = _dsha(coinbase_tx)
    for node in branch:
        root = _dsha(root + bytes.fromhex(node))
    return root


def prevhash_to_header(prevhash_stratum: str) -> bytes:
    """Stratum sends the previous hash with each 4-byte word byte-swapped; swap them back."""
    raw = bytes.fromhex(prevhash_stratum)
    if len(raw) != 32:
        raise ValueError(f"prevhash must be 32 bytes, got {len(raw)}")
    return b"".join(raw[i : i + 4][::-1] for i in range(0, 32, 4))


def prevhash_to_stratum(prevhash_header: bytes) -> str:
    """Inverse of :func:`prevhash_to_header` (what a pool puts in ``mining.notify``)."""
    return b"".join(prevhash_header[i : i + 4][::-1] for i in range(0, 32, 4)).hex()


def build_header(version: int, prevhash: bytes, merkle: bytes, ntime: int, nbits: int, nonce: int = 0) -> bytes:
    """Pack the 80-byte header: version, prevhash, merkle root, ntime, nbits, nonce (LE numbers)."""
    if len(prevhash) != 32 or len(merkle) != 32:
        raise ValueError("prevhash and merkle root must be 32 bytes each")
    return struct.pack("<I", version) + prevhash + merkle + struct.pack("<III", ntime, nbits, nonce)


def header_from_job(
    job: StratumJob,
    extranonce1: str,
    extranonce2: str,
    *,
    version: int | None = None,
    ntime: int | None = None,
    nonce: int = 0,
) -> bytes:
    """Assemble the header a miner hashes for ``job`` with the given extranonces.

    ``version`` overrides the job's version (after BIP 320 rolling); ``ntime`` may roll forward.
    """
    coinbase = coinbase_transaction(job.coinbase1, extranonce1, extranonce2, job.coinbase2)
    return build_header(
        job.version if version is None else version,
        prevhash_to_header(job.prevhash),
        merkle_root(coinbase, job.merkle_branch),
        job.ntime if ntime is None else ntime,
        job.nbits,
        nonce,
    )


def submit_params(
    worker: str, job: StratumJob, extranonce2: str, ntime: int, nonce: int, rolled_version: int
) -> list[str]:
    """``mining.submit`` params as ESP-Miner sends them (``%08lx``; version bits = rolled XOR job)."""
    return [
        worker,
        job.job_id,
        extranonce2,
        f"{ntime:08x}",
        f"{nonce:08x}",
        f"{rolled_version ^ job.version:08x}",
    ]
