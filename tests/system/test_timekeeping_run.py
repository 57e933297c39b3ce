"""A run whose emulation cannot keep up reports errors, not verdicts (through `hilbench run`)."""

import json

from tests.system.conftest import run_plan


def test_a_run_whose_emulation_cannot_keep_up_reports_errors_not_verdicts(tmp_path):
    """The emergency stop of the MW2MH plan with a resolution no Python emulator can keep (1 us of plant time):
    its figure is an error naming the lag, the run prints EMULATION LAG and PLAN FAILED, and the lag is recorded."""
    plan = tmp_path / "strict.yaml"
    plan.write_text(
        "plan: strict\nci_time_scale: 50\n"
        "dut: {rated_kw: 97.5, boards: 30, voltage_v: 400, frequency_hz: 50}\n"
        "checks:\n"
        "  - {id: emergency-stop, type: shutdown, resolution_s: 0.000001, params: {mode: emergency},\n"
        "     limits: {emergency_time_s: {max: 2.0}}}\n"
    )
    report = tmp_path / "run"
    result = run_plan(plan, report, timeout=300)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "EMULATION LAG: emergency-stop" in result.stdout and "PLAN FAILED" in result.stdout
    records = [json.loads(line) for line in (report / "measurements.jsonl").read_text().splitlines()]
    (figure,) = [r for r in records if r["record"] == "measurement"]
    assert figure["verdict"] == "error" and figure["value"] is not None
    assert "could not keep up at time scale x50" in figure["note"]
    (lag,) = [r for r in records if r["record"] == "emulation_lag"]
    assert lag["kept_up"] is False and lag["max_lag_s"] > 1e-6 and lag["requests"] > 0 and lag["time_scale"] == 50
