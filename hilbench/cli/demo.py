"""``hilbench demo``: a short tour of the emulated boards' protocols (the main job is ``hilbench run``).

Starts the emulated container from the bench file, then drives it over the real
protocols the way a lab tool would: reads every board's power and hash rate over the
LuxOS API, curtails half of the boards, lowers the others' power profile, wakes the
curtailed ones, re-verifies a board's shares with plain hashlib, and talks BM13xx to
the serial board through pyserial.  Prints what it serves and a small power table.
Exits 0 only if every verification held.
"""

from __future__ import annotations

import json
import time

import serial

from hilbench.emulation.shares import DEFAULT_JOB
from hilbench.emulation.site import EmulatedSite
from hilbench.hashing.sha256d import hash_value, sha256d
from hilbench.protocols import bm13xx
from hilbench.protocols.stratum import header_from_job
from hilbench.transports.tcp_json import query


def _hostport(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


def _privileged(host: str, port: int, command: str, argument: str) -> dict:
    sid = (
        query(host, port, "session")["SESSION"][0]["SessionID"] or query(host, port, "logon")["SESSION"][0]["SessionID"]
    )
    return query(host, port, command, f"{sid},{argument}")


def _totals(site: EmulatedSite, luxos: list[tuple[str, int]]) -> tuple[float, float, int]:
    kw = ths = 0.0
    mining = 0
    for host, port in luxos:
        watts = query(host, port, "power")["POWER"][0]["Watts"]
        ghs = query(host, port, "summary")["SUMMARY"][0]["GHS 5s"]
        kw += watts / 1000
        ths += ghs / 1000
        mining += ghs > 0
    return kw, ths, mining


def _check_serial(path: str, target: int) -> tuple[int, int]:
    """Enumerate the chain, send one job, return (nonces received, nonces that verify)."""
    with serial.Serial(path, 115200, timeout=2) as port:
        port.write(bm13xx.read_register(0, bm13xx.REG_CHIP_ID, broadcast=True))
        reply = bm13xx.Response(port.read(11))
        if not reply.crc_ok:
            return 0, 0
        port.write(
            bm13xx.chain_inactive()
            + bm13xx.set_address(0)
            + bm13xx.write_register(0, bm13xx.REG_VERSION_MASK, bytes.fromhex("9000ffff"), broadcast=True)
        )
        job = bm13xx.Job.from_header(24, header_from_job(DEFAULT_JOB, "cafef00d", "00000001"))
        port.write(bm13xx.job_frame(job))
        responses, _ = bm13xx.split_responses(port.read(11 * 5))
    good = 0
    for r in responses:
        header = job.header(version=r.rolled_version(job.version), nonce=r.nonce)
        good += r.crc_ok and r.is_nonce and hash_value(sha256d(header)) <= target
    return len(responses), good


def run_demo(site: EmulatedSite, *, duration: float = 15.0) -> int:
    started = time.monotonic()
    ok = True
    with site:
        for endpoint in site.endpoints:
            print(json.dumps(endpoint.as_dict()))
        luxos = [_hostport(e.address) for e in site.endpoints if e.protocol == "luxos-cgminer-rpc"]
        serial_ends = [e for e in site.endpoints if e.protocol == "bm13xx-serial"]
        print(
            f"\nserving {len(luxos)} LuxOS boards and {len(serial_ends)} serial chain(s); "
            f"plant time runs {site.clock.time_scale:g}x\n"
        )
        print(f"{'plant s':>8}  {'step':<34} {'kW':>8} {'TH/s':>8} {'mining':>6}")

        def row(step: str) -> tuple[float, float, int]:
            kw, ths, mining = _totals(site, luxos)
            print(f"{site.clock.now():8.1f}  {step:<34} {kw:8.1f} {ths:8.1f} {mining:6d}", flush=True)
            return kw, ths, mining

        def wait_plant(seconds: float) -> None:
            site.clock.sleep(seconds)

        full_kw, _, _ = row("all boards at default profile")
        half = len(luxos) // 2
        for host, port in luxos[:half]:
            _privileged(host, port, "curtail", "sleep")
        wait_plant(5)
        curtailed_kw, _, mining = row(f"curtailed {half} boards (sleep)")
        ok &= mining == len(luxos) - half and curtailed_kw < full_kw * 0.6
        for host, port in luxos[half:]:
            _privileged(host, port, "atmset", "enabled=false")
            _privileged(host, port, "profileset", "1700W")
        wait_plant(15)
        lowered_kw, _, _ = row("others at the 1.7 kW profile")
        ok &= lowered_kw < curtailed_kw
        for host, port in luxos[:half]:
            _privileged(host, port, "curtail", "wakeup")
        wait_plant(15)
        _, _, mining = row("woke the curtailed boards")
        ok &= mining == len(luxos)

        if luxos:
            host, port = luxos[-1]
            shares = query(host, port, "hilshares")["SHARES"]
            verified = sum(hash_value(sha256d(bytes.fromhex(s["header"]))) <= int(s["target"], 16) for s in shares)
            print(f"\n{host}: {len(shares)} shares reported, {verified} re-verified with hashlib")
            ok &= verified == len(shares) and len(shares) > 0
        for end in serial_ends:
            got, good = _check_serial(end.address, end.share_target)
            print(f"{end.address}: BM13xx chain answered; {got} nonce frames, {good} verified (CRC5, hash <= target)")
            ok &= got > 0 and good == got
        remaining = duration - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(min(remaining, 1.0))
    print("\ndemo", "passed" if ok else "FAILED")
    return 0 if ok else 1
