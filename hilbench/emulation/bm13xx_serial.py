"""A BM13xx hash chain (BM1366/1368/1370) on a pseudo-terminal, backed by an emulated board.

The host opens the pty's slave path with pyserial exactly as it would open the UART of a
Bitaxe-class board and speaks the chips' framing (hilbench.protocols.bm13xx): chain
enumeration, addressing, register reads/writes (PLL, version mask, ticket mask, fast
UART), and jobs.  The chips answer with nonces that are genuine SHA-256d solutions of
the job's header at the emulated ticket target (see shares.py for the scaling), at the
rate the board's modelled hash rate gives for the ticket difficulty in register 0x14.
A frame with a bad CRC gets no reply, as on the real chip.

One thread per chain waits in select() on the pty and a stop pipe: idle costs nothing.
"""

from __future__ import annotations

import logging
import os
import random
import select
import threading
import tty
from collections import OrderedDict
from dataclasses import dataclass, field

from hilbench.emulation.board import BoardCommandError
from hilbench.emulation.emulated_board import EmulatedBoard
from hilbench.emulation.shares import NonceSearch, scaled_work
from hilbench.hashing.sha256d import NONCE_SPACE, target_from_difficulty
from hilbench.protocols import bm13xx

log = logging.getLogger(__name__)

DEFAULT_TICKET_DIFFICULTY = 256  # ESP-Miner main/device_config.h
MAX_IDLE_WAIT_S = 0.5
CORES = {"BM1366": 112, "BM1368": 80, "BM1370": 128}  # miner_protocols.md B.6


@dataclass
class _Chip:
    address: int | None = None
    registers: dict[int, bytes] = field(default_factory=dict)


class BM13xxChain:
    """``asic_count`` chips on one UART, exposed on a pty."""

    def __init__(self, board: EmulatedBoard, *, chip: str = "BM1370", asic_count: int = 1, seed: int = 0) -> None:
        if chip not in CORES:
            raise ValueError(f"unsupported chip {chip!r}; supported: {', '.join(CORES)}")
        self.board = board
        self.chip = chip
        self.chip_id = int(chip[2:], 16)
        self.chips = [_Chip() for _ in range(asic_count)]
        self.baud = 115200
        self.version_mask = 0
        self.ticket_difficulty = DEFAULT_TICKET_DIFFICULTY
        work = scaled_work(board.clock.time_scale)
        self.nonce_target = target_from_difficulty(work / NONCE_SPACE)
        self._work = work
        self.parser = bm13xx.FrameParser()
        self.nonces_sent = 0
        self._jobs: OrderedDict[int, bm13xx.Job] = OrderedDict()
        self._job: bm13xx.Job | None = None
        self._search: NonceSearch | None = None
        self._rng = random.Random(seed)
        self._next_mark = 0.0
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name=f"bm13xx-{board.identity.name}", daemon=True)

    # ----- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=5)
        for fd in (self._master, self._slave, self._stop_r, self._stop_w):
            os.close(fd)

    def _run(self) -> None:
        while True:
            ready, _, _ = select.select([self._master, self._stop_r], [], [], self._wait_s())
            if self._stop_r in ready:
                return
            if self._master in ready:
                try:
                    data = os.read(self._master, 4096)
                except OSError:  # no client has the slave open right now
                    data = b""
                if data:
                    self._on_bytes(data)
            try:
                self._emit_due_nonces()
            except Exception:  # keep serving: a failure here must not kill the chain
                log.exception("%s: nonce emission failed", self.board.identity.name)

    def _write(self, data: bytes) -> None:
        try:
            os.write(self._master, data)
        except OSError as exc:
            log.debug("%s: write failed: %s", self.path, exc)

    # ----- host -> chip -----------------------------------------------------------------
    def _on_bytes(self, data: bytes) -> None:
        self.board.touch()
        for frame in self.parser.feed(data):
            try:
                self._on_frame(frame)
            except (ValueError, BoardCommandError) as exc:  # well-formed but unacceptable: ignored
                log.debug("%s: frame %02x ignored: %s", self.path, frame.header, exc)

    def _targets(self, frame: bm13xx.Frame) -> list[_Chip]:
        if frame.broadcast:
            return self.chips
        return [c for c in self.chips if c.address == frame.data[0]]

    def _on_frame(self, frame: bm13xx.Frame) -> None:
        if frame.is_job:
            self._on_job(bm13xx.Job.from_payload(frame.data))
        elif frame.command == bm13xx.CMD_WRITE and len(frame.data) == 6:
            for chip in self._targets(frame):
                chip.registers[frame.data[1]] = frame.data[2:6]
            self._apply_register(frame.data[1], frame.data[2:6])
        elif frame.command == bm13xx.CMD_READ and len(frame.data) == 2:
            for index, chip in enumerate(self._targets(frame)):
                self._write(self._read_reply(index, chip, frame.data[1]))
        elif frame.command == bm13xx.CMD_INACTIVE:
            pass  # chips stop forwarding enumeration replies; addressing follows
        elif frame.command == bm13xx.CMD_SETADDRESS and len(frame.data) == 2:
            for chip in self.chips:  # daisy chain: the first chip without an address takes it
                if chip.address is None:
                    chip.address = frame.data[0]
                    break

    def _read_reply(self, index: int, chip: _Chip, register: int) -> bytes:
        address = chip.address if chip.address is not None else 0
        if register == bm13xx.REG_CHIP_ID:
            value = self.chip_id << 16 | CORES[self.chip] << 8 | address
        else:
            value = int.from_bytes(chip.registers.get(register, b"\0\0\0\0"), "big")
        return bm13xx.register_response(value, address, register)

    def _apply_register(self, register: int, value: bytes) -> None:
        if register == bm13xx.REG_FAST_UART:
            self.baud = 1_000_000  # BM1366+ 0x28 = 11 30 02 00 -> 1 Mbaud (ESP-Miner *_set_max_baud)
        elif register == bm13xx.REG_VERSION_MASK:
            self.version_mask = int.from_bytes(value[2:4], "big") << 13
        elif register == bm13xx.REG_TICKET_MASK:
            self.ticket_difficulty = bm13xx.ticket_difficulty(value)
        elif register == bm13xx.REG_PLL0:
            self.board.model.set_pll(bm13xx.pll_frequency_mhz(value))

    def _on_job(self, job: bm13xx.Job) -> None:
        self._jobs[job.job_id] = job
        while len(self._jobs) > 128:
            self._jobs.popitem(last=False)
        self._job = job
        self._search = NonceSearch(job.header(), self.nonce_target, 4 * self._work, version_mask=self.version_mask)
        if self._next_mark == 0.0:
            self._draw_next_mark()

    # ----- chip -> host nonces ----------------------------------------------------------
    def _draw_next_mark(self) -> None:
        done = self.board.model.snapshot().total_hashes
        self._next_mark = done + self._rng.expovariate(1.0) * self.ticket_difficulty * NONCE_SPACE

    def _wait_s(self) -> float | None:
        if self._job is None:
            return None
        snap = self.board.model.snapshot()
        rate = snap.hashrate_ths * 1e12
        if rate <= 0:
            return MAX_IDLE_WAIT_S
        plant_s = max(0.0, self._next_mark - snap.total_hashes) / rate
        return min(MAX_IDLE_WAIT_S, max(0.001, self.board.clock.wall_seconds(plant_s)))

    def _emit_due_nonces(self) -> None:
        if self._job is None or self._search is None:
            return
        done = self.board.model.snapshot().total_hashes
        while done >= self._next_mark:
            header = self._search.next()
            version = int.from_bytes(header[:4], "little")
            nonce = int.from_bytes(header[76:80], "little")
            bits = ((version & self.version_mask) >> 13) if self.version_mask else 0
            self._write(bm13xx.nonce_response(nonce, self._job.job_id, self._rng.randrange(16), bits, self.chip))
            self.nonces_sent += 1
            self._next_mark += self._rng.expovariate(1.0) * self.ticket_difficulty * NONCE_SPACE
