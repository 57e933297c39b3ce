"""An instrument whose calibration is past due stops the run before anything is opened or energised, unless the
operator accepts it explicitly, which every report then says."""

import time

import yaml

from tests.conftest import loopback_lab_bench
from tests.system.conftest import MW2MH, run_plan


def overdue_bench(tmp_path):
    bench = yaml.safe_load(loopback_lab_bench(tmp_path).read_text())
    bench["roles"]["analyser"]["calibration"]["due"] = "2020-01-31"
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(bench))
    return path


def test_overdue_calibration_stops_the_run_before_anything_is_energised(tmp_path):
    report = tmp_path / "run"
    started = time.monotonic()
    result = run_plan(MW2MH, report, bench=overdue_bench(tmp_path), timeout=120)
    assert result.returncode != 0 and "PLAN FAILED" in result.stdout
    assert "calibration past due, nothing was energised" in result.stdout + result.stderr
    assert "analyser: OVERDUE since 2020-01-31" in result.stdout + result.stderr
    assert "--accept-overdue-calibration" in result.stdout + result.stderr
    assert time.monotonic() - started < 60  # refused before any connection attempt
    measured = (report / "measurements.jsonl").read_text() if (report / "measurements.jsonl").exists() else ""
    assert '"safe_state"' not in measured and '"measurement"' not in measured  # nothing opened, nothing measured
