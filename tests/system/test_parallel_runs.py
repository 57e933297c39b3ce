"""Parallel runs through `hilbench run -n 2`: each worker its own emulated bench, one run directory, one record
stream; a plan that needs one bench stays on one worker."""

from tests.system.conftest import MW2MH, run_plan


def test_two_workers_two_emulated_benches_one_run_directory(tmp_path):
    run_dir = tmp_path / "run"
    # x10: two workers' emulated benches beside this suite's other worker are three plants on two cores; at x20
    # the runners' read gaps (2.5 ms of host time per update) make the analyser's stamp slack an honest error
    result = run_plan(
        MW2MH, run_dir, "-n", "2", "-k", "boot or step or emergency or graceful", "--time-scale", "10", timeout=600
    )
    assert result.returncode == 0 and "PLAN PASSED" in result.stdout, result.stdout[-3000:]
    records = result.records
    starts = {r["worker"]: r for r in records if r["record"] == "run_start"}
    assert set(starts) == {"gw0", "gw1"}  # two benches, each started by its worker
    checks = {r["check"]: r["worker"] for r in records if r["record"] == "check_start"}
    assert set(checks) == {"boot", "step-down-50", "step-up-100", "emergency-stop", "graceful-stop"}
    assert set(checks.values()) == {"gw0", "gw1"}  # spread over both
    for r in records:
        if r["record"] == "measurement" and r["raw"]:
            assert (run_dir / r["raw"]).exists(), r["raw"]  # raw paths point into the worker's directory
        if r["record"] == "chart":
            assert (run_dir / r["file"]).exists(), r["file"]
    assert "Verdict: PASSED" in (run_dir / "certificate.html").read_text()  # one certificate over both workers
    safe = [r for r in records if r["record"] == "safe_state"]
    assert {r["worker"] for r in safe} == {"gw0", "gw1"} and all(r["confirmed"] is not False for r in safe)
    junit = (run_dir / "junit.xml").read_text()
    assert junit.count("<testcase") == 5 and "<failure" not in junit
    assert any((run_dir / "allure-results").glob("*-result.json"))
    assert [r["wall_time"] for r in records] == sorted(r["wall_time"] for r in records)


SAME_BENCH = """\
plan: one-bench
same_bench: true
dut: {rated_kw: 97.5, boards: 30, voltage_v: 400, frequency_hz: 50}
checks:
  - {id: first, type: shutdown, params: {mode: emergency}, limits: {emergency_time_s: {max: 2}}}
  - {id: second, type: shutdown, params: {mode: emergency}, limits: {emergency_time_s: {max: 2}}}
  - {id: third, type: shutdown, params: {mode: emergency}, limits: {emergency_time_s: {max: 2}}}
"""


def test_a_plan_that_needs_one_bench_stays_on_one_worker(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(SAME_BENCH)
    run_dir = tmp_path / "run"
    result = run_plan(plan, run_dir, "-n", "2", timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
    workers = [r["worker"] for r in result.records if r["record"] == "check_start"]
    assert len(workers) == 3 and len(set(workers)) == 1, workers
