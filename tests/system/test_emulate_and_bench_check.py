"""`hilbench emulate` and `hilbench bench check` as a user runs them."""

import json
import signal
import subprocess
import sys
import textwrap

from tests.conftest import ROOT


def test_emulate_serves_every_role_of_the_default_bench(loopback_base):
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
            loopback_base,
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


def test_bench_check_passes_on_the_emulated_bench_and_fails_on_unreachable_or_uncalibrated(tmp_path, loopback_base):
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "hilbench.cli",
            "bench",
            "check",
            "instruments/emulated.yaml",
            "--address-base",
            loopback_base,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "YOKOGAWA,WT5000" in ok.stdout and "bench check passed" in ok.stdout
    assert (
        "UNVERIFIED: integration (:INTEGrate:STOP before :INTEGrate:RESet, :INTEGrate:STARt, ITIMe in whole "
        "seconds): never probed on this bench; hilbench bench probe instruments/emulated.yaml --role analyser"
        in ok.stdout
    )
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
