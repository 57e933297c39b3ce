"""Genuine shares from an emulated board, at the real board's share rate.

Scaling (why the shares are real but easier).  A real 100 TH/s board at pool difficulty
D finds H / (D * 2**32) shares per second.  The host hashes a few million nonces per
second in all, so it cannot find difficulty-D shares.  Instead each share is a genuine
SHA-256d solution of a real Stratum-assembled header at a *scaled* difficulty

    D_emulated = work_per_share / 2**32        (work_per_share ~ 2**14 hashes)

i.e. share target = DIFF1_TARGET / D_emulated.  The *number* of shares follows the
model: over any interval the board draws a Poisson count with mean
(hashes the model did in that interval) / (D * 2**32), and for each one the scanner
really searches nonces until the header hash is <= the scaled target.  Every share is
credited at the pool difficulty D, so "difficulty accepted x 2**32 / time" recovers the
modelled hash rate, exactly as a pool's estimate does.  ``Share.verify()`` re-checks a
share with plain hashlib.

``work_per_share`` shrinks with the plant time scale (a 100x clock finds 100x the shares
per wall second), down to a floor of 256 hashes, so CPU stays bounded in CI.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hilbench.emulation.board import BoardModel
from hilbench.hashing.sha256d import (
    BIP320_VERSION_MASK,
    NONCE_SPACE,
    difficulty_of_hash,
    hash_value,
    roll_version,
    scan,
    sha256d,
    target_from_difficulty,
    version_rolling_capacity,
    with_nonce,
)
from hilbench.protocols.stratum import StratumJob, header_from_job, prevhash_to_stratum

BASE_WORK_PER_SHARE = 1 << 14
MIN_WORK_PER_SHARE = 1 << 8

BLOCK_125552_PREV_HASH = "00000000000008a3a41b85b8b29ad444def299fee21793cd8b9e567eab02cd81"

#: A synthetic job shaped like a real pool's: prevhash of block 125552's parent (Stratum word
#: order), coinbase halves from ESP-Miner's own test case, mainnet-era nbits.
DEFAULT_JOB = StratumJob(
    job_id="1",
    prevhash=prevhash_to_stratum(bytes.fromhex(BLOCK_125552_PREV_HASH)[::-1]),
    coinbase1="01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20020862062f503253482f04b8864e5008",
    coinbase2="072f736c7573682f000000000100f2052a010000001976a914d23fcdf86f7e756a64a7a9688ef9903327048ed988ac00000000",
    merkle_branch=(),
    version=0x20000000,
    nbits=0x1705DD01,
    ntime=1_700_000_000,
)


@dataclass(frozen=True)
class Share:
    """One share as a board reports it, with everything a third party needs to check it."""

    plant_time: float
    job_id: str
    extranonce2: str
    ntime: int
    nonce: int
    version: int
    header: bytes  # the full 80-byte header, nonce included
    target: int  # the scaled target the share meets
    credited_difficulty: float  # pool difficulty the share counts for

    @property
    def hash_hex(self) -> str:
        return sha256d(self.header)[::-1].hex()

    def verify(self) -> bool:
        """Re-check with plain hashlib: the header carries the nonce and hashes under the target."""
        return (
            int.from_bytes(self.header[76:80], "little") == self.nonce
            and hash_value(sha256d(self.header)) <= self.target
        )

    def as_dict(self) -> dict:
        return {
            "plant_time": round(self.plant_time, 6),
            "job_id": self.job_id,
            "extranonce2": self.extranonce2,
            "ntime": f"{self.ntime:08x}",
            "nonce": f"{self.nonce:08x}",
            "version": f"{self.version:08x}",
            "header": self.header.hex(),
            "hash": self.hash_hex,
            "target": f"{self.target:064x}",
            "difficulty": self.credited_difficulty,
            "hash_difficulty": difficulty_of_hash(sha256d(self.header)),
        }


class NonceSearch:
    """Walks nonce space, then BIP 320 version space, of a header; yields genuine solutions.

    ``next_work`` is called when both spaces are exhausted and returns the next base header
    (a new extranonce2 for a Stratum miner; the same job again for a chip with no new work).
    """

    def __init__(
        self,
        header: bytes,
        target: int,
        chunk: int,
        *,
        version_mask: int = BIP320_VERSION_MASK,
        next_work: Callable[[], bytes] | None = None,
    ) -> None:
        self.target = target
        self.chunk = chunk
        self.version_mask = version_mask
        self._next_work = next_work
        self._reset(header)

    def _reset(self, header: bytes) -> None:
        self.base_version = int.from_bytes(header[:4], "little")
        self._base = header
        self._version_counter = 0
        self._header = header
        self._cursor = 0
        self._found: deque[int] = deque()

    def _advance_work(self) -> None:
        self._cursor = 0
        self._version_counter += 1
        if self._version_counter >= version_rolling_capacity(self.version_mask):
            self._reset(self._next_work() if self._next_work else self._base)
            return
        version = roll_version(self.base_version, self._version_counter, self.version_mask)
        self._header = version.to_bytes(4, "little") + self._base[4:]

    def next(self) -> bytes:
        """The next solved header (nonce in bytes 76..79) whose hash is <= target."""
        while not self._found:
            count = min(self.chunk, NONCE_SPACE - self._cursor)
            self._found.extend(scan(self._header, self._cursor, count, self.target))
            self._cursor += count
            if self._cursor >= NONCE_SPACE and not self._found:
                self._advance_work()
        header = with_nonce(self._header, self._found.popleft())
        if not self._found and self._cursor >= NONCE_SPACE:
            self._advance_work()
        return header


def scaled_work(time_scale: float) -> int:
    """Hashes per emulated share at this plant time scale (see the module docstring)."""
    return max(MIN_WORK_PER_SHARE, int(BASE_WORK_PER_SHARE / max(time_scale, 1.0)))


class ShareEngine:
    """Finds the shares a board owes for the hashes its model has done."""

    def __init__(
        self,
        board: BoardModel,
        *,
        pool_difficulty: float,
        extranonce1: str,
        time_scale: float = 1.0,
        job: StratumJob = DEFAULT_JOB,
        extranonce2_size: int = 4,
        seed: int = 0,
        keep: int = 256,
    ) -> None:
        if not pool_difficulty > 0:
            raise ValueError("pool difficulty must be positive")
        self.board = board
        self.pool_difficulty = pool_difficulty
        self.work_per_share = scaled_work(time_scale)
        self.target = target_from_difficulty(self.work_per_share / NONCE_SPACE)
        self.job = job
        self.extranonce1 = extranonce1
        self.extranonce2_size = extranonce2_size
        self.accepted = 0
        self.difficulty_accepted = 0.0
        self.best_share = 0.0
        self.last_share_time = 0.0
        self._recent: deque[Share] = deque(maxlen=keep)
        self._owed: deque[float] = deque(maxlen=keep)  # plant times of shares counted but not hashed yet
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        snap = board.snapshot()
        self._hashes_seen, self._t_seen = snap.total_hashes, snap.plant_time
        self._extranonce2 = 0
        self._search = NonceSearch(
            self._assemble(), self.target, 4 * self.work_per_share, next_work=self._next_extranonce2
        )

    def _en2(self) -> str:
        return f"{self._extranonce2:0{2 * self.extranonce2_size}x}"

    def _assemble(self) -> bytes:
        return header_from_job(self.job, self.extranonce1, self._en2())

    def _next_extranonce2(self) -> bytes:
        self._extranonce2 += 1
        return self._assemble()

    def collect(self) -> int:
        """Count the shares owed since the last call (Poisson draws from the modelled hashes); returns how many.
        They are hashed when someone looks at them (``recent``): a site of 1,300 boards polled for its summaries
        does not pay for shares nobody reads.  Only the last ``keep`` are ever visible, so only those are owed."""
        with self._lock:
            snap = self.board.snapshot()
            done = snap.total_hashes - self._hashes_seen
            t0, t1 = self._t_seen, snap.plant_time
            self._hashes_seen, self._t_seen = snap.total_hashes, t1
            if done <= 0:
                return 0
            count = int(self._rng.poisson(done / (self.pool_difficulty * NONCE_SPACE)))
            if count:
                times = np.sort(self._rng.uniform(t0, t1, size=count))
                self._owed.extend(float(t) for t in times[-self._owed.maxlen :])
                self.accepted += count
                self.difficulty_accepted += count * self.pool_difficulty
                self.last_share_time = float(times[-1])
            return count

    @property
    def recent(self) -> deque[Share]:
        """The last shares found, each a genuine SHA-256d solution (hashed now if it was only counted so far)."""
        with self._lock:
            while self._owed:
                self._hash_share(self._owed.popleft())
            return self._recent

    def _hash_share(self, when: float) -> None:
        header = self._search.next()
        self._recent.append(
            Share(
                plant_time=when,
                job_id=self.job.job_id,
                extranonce2=self._en2(),
                ntime=self.job.ntime,
                nonce=int.from_bytes(header[76:80], "little"),
                version=int.from_bytes(header[:4], "little"),
                header=header,
                target=self.target,
                credited_difficulty=self.pool_difficulty,
            )
        )
        self.best_share = max(self.best_share, difficulty_of_hash(sha256d(header)))
