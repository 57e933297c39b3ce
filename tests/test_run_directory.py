"""What is done with a run directory, without running anything: the verdict read back, sealing and --verify, the
certificate page, the comparison of two runs, a replay against a stricter plan, and the merge of parallel
workers' records.  The runs are written here with the run's own RecordWriter (the system lane does the same
through `hilbench run`)."""

from __future__ import annotations

from pathlib import Path

import yaml

from hilbench.core.measurement import judge
from hilbench.plans.plan import load_plan
from hilbench.plans.replay import replay
from hilbench.report.certificate import build
from hilbench.report.certificate_html import render_html
from hilbench.report.compare import compare
from hilbench.report.integrity import seal, verify
from hilbench.report.merge import merge_worker_runs, worker_run_dir
from hilbench.report.record_writer import RecordWriter
from hilbench.report.records import RECORD_SCHEMA_VERSION, plan_identity, read_run

PLAN = {
    "plan": "tiny",
    "dut": {"rated_kw": 97.5, "boards": 30, "voltage_v": 400, "frequency_hz": 50},
    "checks": [{"id": "boot", "type": "boot", "limits": {"boot_time_s": {"max": 120}}}],
}


def write_plan(folder: Path, max_boot_s: float = 120) -> Path:
    plan = dict(PLAN, checks=[dict(PLAN["checks"][0], limits={"boot_time_s": {"max": max_boot_s}})])
    path = folder / f"tiny-{max_boot_s:g}.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


def write_run(run_dir: Path, boot_time_s: float, *, plan_path: Path, worker: str | None = None) -> Path:
    """A one-check run as `hilbench run` records it: run_start, plan, check_start, the figure, check_end, safe
    state, run_end."""
    plan = load_plan(plan_path)
    (check,) = plan.checks
    writer = RecordWriter(run_dir)
    writer.event(
        "run_start", schema_version=RECORD_SCHEMA_VERSION, bench="synthetic", bench_file=None, emulated=True,
        time_scale=20.0, worker=worker, roles={"analyser": {"driver": "yokogawa-wt5000", "address": "x"}},
    )  # fmt: skip
    writer.event("plan", **plan_identity(plan))
    writer.event(
        "check_start", plan=plan.name, check=check.id, type=check.type, params=check.params,
        declared={k: v.__dict__ for k, v in check.limits.items()}, dut=plan.dut.__dict__,
    )  # fmt: skip
    figure = judge(check.id, "boot_time_s", boot_time_s, "s", check.limits["boot_time_s"])
    writer.record(figure)
    writer.event("check_end", check=check.id, verdicts={figure.name: figure.verdict}, error=None)
    writer.event("safe_state", role="controller", commanded="ok", read_back="state off", confirmed=True, seconds=0.1)
    writer.event("run_end")
    writer.close()
    return run_dir


def test_the_verdict_sealing_and_the_certificate_come_from_the_directory_alone(tmp_path):
    plan = write_plan(tmp_path)
    good = write_run(tmp_path / "good", 82.9, plan_path=plan)
    bad = write_run(tmp_path / "bad", 150.0, plan_path=plan)
    assert read_run(good).verdict() == (True, [])
    passed, reasons = read_run(bad).verdict()
    assert not passed and any("boot_time_s" in r for r in reasons), reasons
    seal(good)
    assert verify(good) == []
    record = good / "measurements.jsonl"
    record.write_text(record.read_text().replace("82.9", "72.9"))
    assert any("measurements.jsonl: changed since the run was sealed" in p for p in verify(good))
    page = render_html(build(bad))
    assert "Verdict: FAILED" in page and "boot_time_s" in page and "EMULATED BENCH" in page


def test_two_runs_compared_and_a_run_replayed_against_a_stricter_plan(tmp_path):
    plan, strict = write_plan(tmp_path), write_plan(tmp_path, max_boot_s=80)
    good = write_run(tmp_path / "good", 82.9, plan_path=plan)
    bad = write_run(tmp_path / "bad", 150.0, plan_path=plan)
    (row,) = compare([read_run(good), read_run(bad)])
    assert row.verdict_changed and row.verdicts == ["pass", "fail"] and row.differences[1] == 150.0 - 82.9
    before = (good / "measurements.jsonl").read_bytes()
    result = replay(good, plan_path=strict, report_dir=tmp_path / "strict")
    assert [(c.name, c.before, c.after) for c in result.changes] == [("boot_time_s", "pass", "fail")]
    assert (good / "measurements.jsonl").read_bytes() == before  # the run is only read
    assert read_run(tmp_path / "strict").start["replay_of"] == str(good)


def test_parallel_workers_records_merge_into_one_stream(tmp_path):
    plan = write_plan(tmp_path)
    run_dir = tmp_path / "run"
    write_run(worker_run_dir(run_dir, "gw0"), 82.9, plan_path=plan, worker="gw0")
    write_run(worker_run_dir(run_dir, "gw1"), 84.0, plan_path=plan, worker="gw1")
    count, notes = merge_worker_runs(run_dir)
    merged = read_run(run_dir)
    assert count == 2 * 7 and not notes  # every record of both workers
    assert sorted(r.get("worker") for r in merged.records if r["record"] == "run_start") == ["gw0", "gw1"]
    walls = [r["wall_time"] for r in merged.records]
    assert walls == sorted(walls)


def test_compare_and_replay_from_the_command_line(tmp_path, capsys):
    from hilbench.cli import main

    plan, strict = write_plan(tmp_path), write_plan(tmp_path, max_boot_s=80)
    good = write_run(tmp_path / "good", 82.9, plan_path=plan)
    bad = write_run(tmp_path / "bad", 150.0, plan_path=plan)
    assert main(["compare", str(good), str(bad)]) == 0
    out = capsys.readouterr().out
    assert "VERDICT CHANGED" in out and "pass -> fail" in out, out
    assert main(["replay", str(good), "--plan", str(strict), "--report", str(tmp_path / "strict")]) == 1
    out = capsys.readouterr().out
    assert "REPLAY FAILED" in out and "boot_time_s" in out, out


def test_a_same_bench_plan_is_one_scope_and_every_other_check_its_own(tmp_path):
    """The xdist scheduler of `hilbench run -n N` (pure logic: the scope of a node id)."""
    from hilbench.pytest_plugin.xdist_scheduling import PlanScheduling

    (tmp_path / "one.yaml").write_text(yaml.safe_dump(dict(PLAN, same_bench=True)))
    (tmp_path / "many.yaml").write_text(yaml.safe_dump(PLAN))
    scheduling = PlanScheduling.__new__(PlanScheduling)  # only the scope rule, without an xdist session
    scheduling._root, scheduling._one_bench, scheduling._only_plan = tmp_path, {}, ""
    assert scheduling._split_scope("one.yaml::boot") == "one.yaml"
    assert scheduling._split_scope("many.yaml::boot") == "many.yaml::boot"
    assert scheduling._split_scope("tests/test_x.py::test_y") == "tests/test_x.py::test_y"
