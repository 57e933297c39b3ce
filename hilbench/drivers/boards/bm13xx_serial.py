"""A BM1366/BM1368/BM1370 hash board on a serial line (pyserial), speaking the chips' own framing.

Framing and init sequence: ESP-Miner components/asic (bm13xx.c, bm1370.c), summarised in
docs/references/miner_protocols.md section B; codec in hilbench.protocols.bm13xx.
"""

from __future__ import annotations

import time

from hilbench.core.roles import Nonce, SafeStateReport
from hilbench.core.unverified import Unverified
from hilbench.hashing.sha256d import hash_value, sha256d
from hilbench.protocols import bm13xx
from hilbench.spec.role_spec import RoleSpec
from hilbench.transports.errors import MalformedReply
from hilbench.transports.serial_line import SerialTransport

DEFAULT_VERSION_MASK = bytes.fromhex("9000ffff")  # BIP 320 mask 0x1fffe000 >> 13


class BM13xxSerialBoard:
    role = "hashboard"
    unverified = (
        Unverified(
            "chain_addressing",
            "set address (taken by the first unaddressed chip of a daisy chain)",
            "a behavioural inference from open firmware, not a datasheet",
            skip="re-addressing writes to every chip of a powered chain and is seen only by reading each address "
            "back, which the probe does not do yet; bench check reports how many chips answer (identify)",
        ),
    )

    def __init__(
        self, transport: SerialTransport, *, chip: str = "BM1370", asic_count: int = 1, name: str = "hashboard"
    ) -> None:
        self.transport, self.chip, self.asic_count, self.name = transport, chip, asic_count, name
        self.jobs: dict[int, bm13xx.Job] = {}
        self._rest = b""
        self._next_id = 0

    @classmethod
    def from_spec(cls, spec: RoleSpec) -> BM13xxSerialBoard:
        transport = SerialTransport(spec.role, spec.address, baudrate=int(spec.settings.get("baudrate", 115200)))
        return cls(
            transport,
            chip=spec.settings.get("chip", "BM1370"),
            asic_count=int(spec.settings.get("asic_count", 1)),
            name=spec.role,
        )

    def enumerate_chips(self) -> list[int]:
        """Read register 0 of every chip: returns the chip ids that answered with a valid CRC."""
        self.transport.reset_input()
        self.transport.write(bm13xx.read_register(0, bm13xx.REG_CHIP_ID, broadcast=True))
        data = self.transport.read(11 * self.asic_count, required=False)
        replies, _ = bm13xx.split_responses(data)
        bad = [r for r in replies if not r.crc_ok]
        if bad:
            raise MalformedReply(self.name, self.transport.port, "read chip id", f"{len(bad)} replies with bad CRC5")
        return [r.register_value >> 16 for r in replies]

    def identify(self) -> str:
        ids = self.enumerate_chips()
        if not ids:
            raise MalformedReply(self.name, self.transport.port, "read chip id", "no chip answered")
        return f"{len(ids)} x BM{ids[0]:04X} on {self.transport.port}"

    def setup(self, *, fast_uart: bool = True) -> None:
        """Chain inactive, addresses, version rolling, then the fast UART rate (ESP-Miner init order)."""
        frames = [bm13xx.chain_inactive()]
        interval = 256 // self.asic_count
        frames += [bm13xx.set_address(i * interval) for i in range(self.asic_count)]
        frames.append(bm13xx.write_register(0, bm13xx.REG_VERSION_MASK, DEFAULT_VERSION_MASK, broadcast=True))
        self.transport.write(b"".join(frames))
        if fast_uart:
            self.transport.write(
                bm13xx.write_register(0, bm13xx.REG_FAST_UART, bytes.fromhex("11300200"), broadcast=True)
            )
            time.sleep(0.05)
            self.transport.baudrate = 1_000_000

    def send_job(self, header: bytes) -> int:
        """Send the header's fields as a job; returns its job id (multiples of 8, as ESP-Miner uses)."""
        job_id = self._next_id
        self._next_id = (self._next_id + 8) % 128
        job = bm13xx.Job.from_header(job_id, header)
        self.jobs[job_id] = job
        self.transport.write(bm13xx.job_frame(job))
        return job_id

    def read_nonces(self, wait_s: float, *, target: int) -> list[Nonce]:
        """Nonce replies for known jobs whose rebuilt header really hashes at or below ``target``."""
        data = self._rest + self.transport.read(1 << 16, timeout_s=wait_s, required=False)
        replies, self._rest = bm13xx.split_responses(data)
        found = []
        for reply in replies:
            if not (reply.crc_ok and reply.is_nonce):
                continue
            job = self.jobs.get(reply.job_id(self.chip))
            if job is None:
                continue
            version = reply.rolled_version(job.version)
            header = job.header(version=version, nonce=reply.nonce)
            if hash_value(sha256d(header)) <= target:
                found.append(Nonce(job.job_id, reply.nonce, version, header))
        return found

    def safe_state(self) -> None:
        """Stop giving work: the chips finish their current job and idle."""
        self.jobs.clear()

    def read_safe_state(self) -> SafeStateReport:
        """Nothing to read back on the chain: without jobs the chips idle (the board's supply is not ours)."""
        return SafeStateReport(
            not self.jobs, "no jobs outstanding: the chips idle" if not self.jobs else "jobs pending"
        )

    def close(self) -> None:
        self.transport.close()
