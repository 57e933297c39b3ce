"""``hilbench emulate`` as a process: endpoints as JSON lines, ready line, clean stop on signals."""

import json
import signal
import subprocess
import sys
import textwrap
from ipaddress import IPv4Address

import pytest

from hilbench.transports.tcp_json import TcpJsonError, query
from tests.conftest import loopback_block


def bench_file(tmp_path, base, count=3):
    path = tmp_path / "bench.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        bench: test
        roles:
          boards:
            driver: emulated
            emulated:
              groups:
                - name: c
                  profile: s19j_pro
                  count: {count}
                  address_base: {base}
                - name: s
                  profile: bitaxe_bm1370
                  count: 1
                  protocol: bm13xx-serial
        """)
    )
    return path


def start(*args):
    return subprocess.Popen(
        [sys.executable, "-m", "hilbench.cli", "emulate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until_ready(proc):
    lines = []
    for line in proc.stdout:
        record = json.loads(line)
        lines.append(record)
        if record.get("ready"):
            return lines
    raise AssertionError(f"no ready line; stderr: {proc.stderr.read()}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_emulate_prints_endpoints_serves_and_stops_cleanly(tmp_path, sig, loopback_base):
    second = str(IPv4Address(loopback_base) + 1)
    proc = start("--bench", str(bench_file(tmp_path, loopback_base)), "--boards", "2", "--time-scale", "50")
    try:
        lines = read_until_ready(proc)
        endpoints = lines[:-1]
        assert lines[-1]["ready"] is True
        assert [e["protocol"] for e in endpoints] == ["luxos-cgminer-rpc"] * 2 + ["bm13xx-serial"]
        assert {"role", "name", "protocol", "address"} <= set(endpoints[0])
        assert endpoints[0]["address"] == f"{loopback_base}:4028" and endpoints[1]["address"] == f"{second}:4028"
        assert endpoints[2]["address"].startswith("/dev/")
        assert query(second, 4028, "power")["POWER"][0]["Watts"] == 3250
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("roles: [1, 2\n", "bench.yaml:"),
        ("bench: x\n", "'roles' must be a mapping of role -> instrument"),
        (
            "roles:\n  boards:\n    driver: pyasic\n    emulated:\n      groups:\n"
            "        - name: a\n          profile: nope\n"
            "          count: 1\n",
            "unknown board profile 'nope'",
        ),
        (
            "roles:\n  boards:\n    driver: pyasic\n    emulated:\n      groups:\n"
            "        - name: a\n          profile: s19j_pro\n"
            "          count: 1\n          colour: red\n",
            "bench.yaml:9: roles.boards.emulated.groups[0].colour",
        ),
    ],
)
def test_bad_bench_files_name_file_line_and_field(tmp_path, content, message):
    path = tmp_path / "bench.yaml"
    path.write_text(content)
    result = subprocess.run(
        [sys.executable, "-m", "hilbench.cli", "emulate", "--bench", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert message in result.stderr and str(path) in result.stderr


def test_busy_address_is_a_clear_error(tmp_path, loopback_base):
    path = bench_file(tmp_path, loopback_base, count=1)
    first = start("--bench", str(path))
    try:
        read_until_ready(first)
        second = subprocess.run(
            [sys.executable, "-m", "hilbench.cli", "emulate", "--bench", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 1
        assert f"cannot listen on {loopback_base}:4028" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=10) == 0


def test_a_site_spread_over_worker_processes_serves_every_board_and_exports_a_pool(tmp_path):
    """--workers 2: two emulator processes, each its own container on its own /16; every board answers; the pool
    lists both containers' bench files (for hilbench run -n 2 --bench-pool); SIGTERM stops both."""
    from hilbench.bench.pool import read_pool
    from hilbench.spec.bench_file import read_bench
    from tests.conftest import ROOT

    pool = tmp_path / "site.yaml"
    base = IPv4Address(loopback_block(boards=65536 + 256))  # two /16s: the second worker's boards one /16 up
    proc = start("--bench", str(ROOT / "instruments" / "emulated.yaml"), "--boards", "7", "--workers", "2",
                 "--address-base", str(base), "--time-scale", "10", "--export-pool", str(pool))  # fmt: skip
    try:
        lines = read_until_ready(proc)
        assert lines[-1] == {"ready": True, "workers": 2, "boards": 7}
        luxos = [e for e in lines[:-1] if e["protocol"] == "luxos-cgminer-rpc"]
        by_worker = {w: [e["address"] for e in luxos if e["worker"] == w] for w in (1, 2)}
        assert by_worker[1] == [f"{base + i}:4028" for i in range(4)]  # 4 + 3 boards, one /16 apart
        assert by_worker[2] == [f"{base + 65536 + i}:4028" for i in range(3)]
        for address in (by_worker[1][0], by_worker[1][-1], by_worker[2][0], by_worker[2][-1]):
            host, port = address.split(":")
            assert query(host, int(port), "summary")["SUMMARY"][0]["GHS 5s"] > 0
        benches = [read_bench(p) for p in read_pool(pool)]
        assert [p.name for p in read_pool(pool)] == ["site-1.yaml", "site-2.yaml"]
        assert benches[0].roles["controller"].address != benches[1].roles["controller"].address  # two containers
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        with pytest.raises(TcpJsonError):
            query(str(base + 65536), 4028, "summary", timeout=2)  # the workers stopped with it
    finally:
        proc.kill()
