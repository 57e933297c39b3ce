"""An instrument whose calibration is past due stops the run before anything is opened or energised, unless the
operator accepts it explicitly, which every report then says."""

import subprocess
import sys
import time

import yaml

from tests.conftest import ROOT


def overdue_bench(tmp_path):
    bench = yaml.safe_load((ROOT / "instruments" / "lab-example.yaml").read_text())
    bench["roles"]["analyser"]["calibration"]["due"] = "2020-01-31"
    # unroutable test addresses (RFC 5737): a run that tried to connect would hang or fail on them, not refuse early
    for role in ("grid", "analyser"):
        bench["roles"][role]["address"] = "TCPIP::192.0.2.1::5025::SOCKET"
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(bench))
    return path


def test_overdue_calibration_stops_the_run_before_anything_is_energised(tmp_path):
    report = tmp_path / "run"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "hilbench.cli", "run", str(ROOT / "test_plans" / "mw2mh_100kw.yaml"),
         "--bench", str(overdue_bench(tmp_path)), "--report", str(report)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0 and "PLAN FAILED" in result.stdout
    assert "calibration past due, nothing was energised" in result.stdout + result.stderr
    assert "analyser: OVERDUE since 2020-01-31" in result.stdout + result.stderr
    assert "--accept-overdue-calibration" in result.stdout + result.stderr
    assert time.monotonic() - started < 60  # refused before any connection attempt
    measured = (report / "measurements.jsonl").read_text() if (report / "measurements.jsonl").exists() else ""
    assert '"safe_state"' not in measured and '"measurement"' not in measured  # nothing opened, nothing measured
