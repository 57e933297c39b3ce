"""hilbench validate-model on a run directory drawn by the emulator's plant (tests/twin_records.py): the container's
own response validates, a model 10 % short of power or 100 ms late fails in a named window; bad model files are
refused with the file and line."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest

from hilbench.plans.model_validation_run import ValidationError, validate_run
from hilbench.pq.model_file import ModelFileError, read_model_file
from hilbench.report.records import read_run
from hilbench.twin.model import ContainerModel
from hilbench.twin.procedures import event_time, simulate, stored_responses
from tests.conftest import ROOT
from tests.twin_records import write_run

MODEL = ContainerModel(boards=10, controller={"aux_w": 600.0, "contactor_open_s": 0.3})


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("run") / "run", MODEL, rated_kw=MODEL.rated_w() / 1000, harmonics=False)


def model_file(path, run_dir, *, delay_s=0.0, scale=1.0):
    """The container's own response to each event as a model file (event, time_s from the event, p_w)."""
    run = read_run(run_dir)
    responses, _ = stored_responses(run_dir, run.checks, MODEL.rated_w())
    lines = ["event,time_s,p_w"]
    for r in responses:
        p = simulate(r, MODEL) * scale
        lines += [f"{r.check},{t - event_time(r) + delay_s:.4f},{w:.2f}" for t, w in zip(r.time, p, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def verdicts(result) -> dict[tuple[str, str], str]:
    return {(m.check, m.name): m.verdict for m in result.measurements}


def test_the_containers_own_response_is_a_valid_model(tmp_path, run_dir):
    result = validate_run(run_dir, model_file(tmp_path / "own.csv", run_dir), report_dir=tmp_path / "v")
    judged = verdicts(result)
    assert {c for c, _ in judged} == {"validate-step-down-50", "validate-step-up-100", "validate-under-frequency-trip"}
    assert "fail" not in judged.values() and "error" not in judged.values(), judged
    assert judged[("validate-under-frequency-trip", "p_mxe_during")] == "pass"
    assert any("boot check stores no event" in n for n in result.notes)
    records = (tmp_path / "v" / "measurements.jsonl").read_text()
    assert '"validation_of"' in records and '"model_sha256"' in records
    schema = json.loads((ROOT / "hilbench" / "data" / "records.schema.json").read_text())
    for line in records.splitlines():
        jsonschema.validate(json.loads(line), schema)  # a validation's record is a run record like any other
    assert (tmp_path / "v" / "raw" / "validate-step-up-100-validation.png").stat().st_size > 1000


def test_a_model_short_of_power_fails_after_the_step(tmp_path, run_dir):
    result = validate_run(run_dir, model_file(tmp_path / "low.csv", run_dir, scale=0.9), report_dir=tmp_path / "v")
    judged = verdicts(result)
    assert judged[("validate-step-up-100", "p_me_post")] == "fail"  # 10 % of full power after the step
    assert judged[("validate-under-frequency-trip", "p_me_pre")] == "fail"


def test_a_model_100_ms_late_fails_where_the_container_trips(tmp_path, run_dir):
    result = validate_run(run_dir, model_file(tmp_path / "late.csv", run_dir, delay_s=0.1), report_dir=tmp_path / "v")
    judged = verdicts(result)
    assert judged[("validate-under-frequency-trip", "p_mxe_during")] == "fail"
    assert judged[("validate-under-frequency-trip", "p_mxe_pre")] == "pass"  # before the event they agree


def test_a_model_file_is_refused_with_its_file_and_line(tmp_path, run_dir):
    bad = tmp_path / "bad.csv"
    bad.write_text("event,time_s,p_w\nstep-up-100,0.0,1000\nstep-up-100,0.1,lots\n")
    with pytest.raises(ModelFileError, match=r"bad.csv:3: p_w 'lots' is not a number"):
        read_model_file(bad)
    bad.write_text("time,p_w\n0,1\n")
    with pytest.raises(ModelFileError, match=r"bad.csv:1: unknown column\(s\) time"):
        read_model_file(bad)
    unnamed = tmp_path / "one.csv"
    unnamed.write_text("time_s,p_w\n0,1\n1,2\n")
    with pytest.raises(ValidationError, match="give --event CHECK"):
        validate_run(run_dir, unnamed, report_dir=tmp_path / "v1")
    stranger = tmp_path / "stranger.npz"
    np.savez(stranger, event=np.array(["nope", "nope"]), time_s=np.array([0.0, 1.0]), p_w=np.array([1.0, 2.0]))
    with pytest.raises(ValidationError, match="nope are not checks"):
        validate_run(run_dir, stranger, report_dir=tmp_path / "v2")


def test_a_twin_is_held_to_each_figures_tolerance_and_verdict():
    from hilbench.report.agreement import agreement
    from hilbench.report.compare import ComparedFigure

    def row(name, unit, a, b, va="pass", vb="pass"):
        return ComparedFigure("c", name, unit, [a, b], [va, vb], None)

    judged = agreement(
        [row("latency_s", "s", 1.0, 1.2), row("latency_s", "s", 1.0, 1.3), row("worst_ratio", "", 0.5, 0.54),
         row("worst_ratio", "", 0.5, 0.56), row("rated_power_reached_kw", "kW", 100.0, 101.9),
         row("min_power_percent", "%", 2.0, 4.5), row("ramp_up_kw_s", "kW/s", 5.0, 6.0, "error", "pass"),
         row("boot_time_s", "s", 80.0, 80.1, "fail", "pass"), row("shares_accepted", "count", 90, 108)],
        {"c": 0.25},
    )  # fmt: skip
    assert [a.within for a in judged] == [True, False, True, False, True, False, None, False, None]
