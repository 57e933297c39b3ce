"""Security defaults: YAML is loaded safely, nothing from a plan or bench file is executed, report files stay inside
the run directory, and emulated instruments listen on loopback only."""

import ipaddress

import pytest

from hilbench.plans.plan import PlanError, load_plan
from hilbench.report.record_writer import RecordWriter
from hilbench.spec.bench_file import BenchFileError, read_bench
from tests.conftest import ROOT, loopback_block

PAYLOAD = '!!python/object/apply:os.system ["touch {marker}"]'


def test_yaml_tags_that_would_run_code_are_refused(tmp_path):
    marker = tmp_path / "executed"
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        f"plan: {PAYLOAD.format(marker=marker)}\ndut: {{rated_kw: 1, boards: 1, voltage_v: 1, frequency_hz: 1}}\n"
    )
    bench = tmp_path / "bench.yaml"
    bench.write_text(f"bench: {PAYLOAD.format(marker=marker)}\nroles: {{}}\n")
    with pytest.raises(PlanError, match="not valid YAML"):
        load_plan(plan)
    with pytest.raises(BenchFileError, match="not valid YAML"):
        read_bench(bench)
    assert not marker.exists()


def test_report_files_stay_inside_the_run_directory(tmp_path):
    recorder = RecordWriter(tmp_path / "run")
    relative = recorder.save_raw("../../escape", "../../../etc/passwd", x=[1.0])
    written = (tmp_path / "run" / relative).resolve()
    assert written.is_file() and (tmp_path / "run" / "raw").resolve() in written.parents
    recorder.close()


def test_emulated_instruments_listen_on_loopback_only():
    from hilbench.emulation.bench_runner import EmulatedBench

    with EmulatedBench(read_bench(ROOT / "instruments" / "emulated.yaml"), address_base=loopback_block()) as bench:
        for role, spec in bench.roles.items():
            address = spec.address
            if address.startswith("/dev/"):
                continue  # a pty: no network at all
            host = address.split("::")[1] if "::" in address else address.split("//")[-1].rsplit(":", 1)[0]
            hosts = host.split("-")  # a range of board addresses
            assert all(ipaddress.ip_address(h).is_loopback for h in hosts), (role, address)
        ftp = bench.role("analyser").settings["ftp_port"]
        assert ftp > 0  # the analyser's FTP server, bound to 127.0.0.1 as well (ftp_files.FileServer)
