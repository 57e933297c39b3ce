"""Whole emulated benches through the real drivers: coupling, the non-compliant container, the load
follower, `hilbench emulate` and `hilbench bench check`."""

import json
import signal
import subprocess
import sys
import textwrap

import pytest

from hilbench.bench.load_follower import LoadFollower
from hilbench.drivers import open_driver
from hilbench.emulation.bench_runner import EmulatedBench
from hilbench.emulation.board import BoardModel
from hilbench.emulation.board_profiles import S19J_PRO
from hilbench.spec.bench_file import read_bench
from tests.conftest import ROOT


def time_to_trip(bench_file: str, scale: float, base: str) -> float:
    with EmulatedBench(read_bench(ROOT / "instruments" / bench_file), time_scale=scale, address_base=base) as bench:
        controller, analyser = open_driver(bench.role("controller")), open_driver(bench.role("analyser"))
        try:
            analyser.setup()
            start = analyser.read()
            assert start.p_total > 90_000
            controller.set_mode("emergency_stop")
            commanded = analyser.read().time
            samples = analyser.trend(6.0)
            below = next(s for s in samples if s.p_total < 5_000)
            return below.time - commanded
        finally:
            controller.close()
            analyser.close()


def test_compliant_container_trips_fast_and_the_noncompliant_one_slowly():
    fast = time_to_trip("emulated.yaml", 10.0, "127.0.41.2")
    slow = time_to_trip("emulated-noncompliant.yaml", 10.0, "127.0.42.2")
    assert fast < 0.5  # 60 ms contactor + one analyser update + polling at 10x
    assert 2.5 < slow < 4.5  # 3 s contactor path


def test_load_follower_draws_the_absent_boards_power():
    bench_file = read_bench(ROOT / "instruments" / "emulated.yaml")
    with EmulatedBench(bench_file, time_scale=10.0, address_base="127.0.43.2") as bench:
        load = open_driver(bench.role("load"))
        from hilbench.emulation.clock import PlantClock

        absent = [BoardModel(S19J_PRO, PlantClock(10.0), name="absent")]
        with LoadFollower(load, absent, period_s=0.05) as follower:
            assert load.read().power_w == pytest.approx(3250, rel=0.01)
            absent[0].sleep()
            absent[0].clock.sleep(2.0)
            import time

            time.sleep(0.2)
            assert load.read().power_w == pytest.approx(S19J_PRO.standby_w, rel=0.05)
            assert follower.error is None
        assert load.transport.query("LOAD?") == "OFF"
        load.close()


def test_emulate_serves_every_role_of_the_default_bench():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hilbench.cli",
            "emulate",
            "--boards",
            "2",
            "--time-scale",
            "20",
            "--address-base",
            "127.0.44.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        lines = []
        for line in proc.stdout:
            lines.append(json.loads(line))
            if lines[-1].get("ready"):
                break
        assert lines[-1] == {"ready": True}
        roles = {e["role"] for e in lines[:-1]}
        assert roles == {
            "grid",
            "analyser",
            "recorder",
            "load",
            "controller",
            "meter",
            "boards",
            "hashboard",
            "interlocks",
        }
        protocols = {e["role"]: e["protocol"] for e in lines[:-1]}
        assert protocols["grid"] == "scpi-socket" and protocols["meter"] == protocols["interlocks"] == "modbus-tcp"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()


def test_bench_check_passes_on_the_emulated_bench_and_fails_on_unreachable_or_uncalibrated(tmp_path):
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "hilbench.cli",
            "bench",
            "check",
            "instruments/emulated.yaml",
            "--address-base",
            "127.0.45.2",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "YOKOGAWA,WT5000" in ok.stdout and "bench check passed" in ok.stdout
    assert "UNVERIFIED (check on this instrument first): ITIMe in whole seconds" in ok.stdout
    bad = tmp_path / "lab.yaml"
    bad.write_text(
        textwrap.dedent("""\
        bench: broken-lab
        roles:
          grid:
            driver: keysight-ac6900
            address: TCPIP::127.0.0.1::1::SOCKET
            calibration: {serial: X1, certificate: C1, due: 2020-01-01}
          meter:
            driver: eastron-sdm630
            address: tcp://127.0.0.1:1
            calibration: {serial: M1, certificate: C2, due: 2999-01-01}
        """)
    )
    failed = subprocess.run(
        [sys.executable, "-m", "hilbench.cli", "bench", "check", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert failed.returncode == 1
    assert "UNREACHABLE" in failed.stdout and "OVERDUE since 2020-01-01" in failed.stdout
    assert "127.0.0.1::1" in failed.stdout
