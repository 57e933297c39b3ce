"""A corpus of plans and bench files made the way people mistype them (tests/bad_input): each gets one clear line
naming the file (and the line where there is one), and `hilbench run` exits 2 without a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

from hilbench.plans.plan import PlanError, load_plan
from hilbench.spec.bench_file import BenchFileError, read_bench
from tests.conftest import ROOT

CORPUS = sorted((ROOT / "tests" / "bad_input").glob("*.yaml"))


def test_the_corpus_is_big_enough():
    assert len(CORPUS) >= 30
    assert {p.name.split("_")[0] for p in CORPUS} == {"plan", "bench"}


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_each_malformed_file_gets_one_clear_line(path: Path):
    loader, error = (load_plan, PlanError) if path.name.startswith("plan_") else (read_bench, BenchFileError)
    with pytest.raises(error) as caught:
        loader(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message and len(message) < 400, message


@pytest.mark.parametrize("name", ["plan_negative_time.yaml", "bench_unknown_role.yaml", "plan_not_utf8.yaml"])
def test_hilbench_run_refuses_them_with_exit_code_2_and_no_traceback(name):
    bad = ROOT / "tests" / "bad_input" / name
    args = (
        [str(bad)] if name.startswith("plan_") else [str(ROOT / "test_plans" / "mw2mh_100kw.yaml"), "--bench", str(bad)]
    )
    result = subprocess.run(
        [sys.executable, "-m", "hilbench.cli", "run", *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 2
    output = (result.stdout + result.stderr).strip().splitlines()
    assert len(output) == 1 and str(bad) in output[0] and "Traceback" not in result.stderr, output


RUN_LEVEL = {
    "unknown driver": "bench: x\nroles:\n  grid: {driver: keysight-ac9999, address: 'TCPIP::10.0.0.9::INSTR'}\n",
    "negative plant voltage": (ROOT / "instruments" / "emulated.yaml")
    .read_text()
    .replace("voltage_v: 230.0          # phase-to-neutral", "voltage_v: -230.0         # phase-to-neutral"),
}


@pytest.mark.parametrize("name", sorted(RUN_LEVEL))
def test_hilbench_run_refuses_what_only_the_drivers_or_the_emulators_know_before_anything_starts(tmp_path, name):
    bad = tmp_path / "bench.yaml"
    bad.write_text(RUN_LEVEL[name])
    result = subprocess.run(
        [sys.executable, "-m", "hilbench.cli", "run", str(ROOT / "test_plans" / "mw2mh_100kw.yaml"),
         "--bench", str(bad)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    output = (result.stdout + result.stderr).strip().splitlines()
    assert len(output) == 1 and str(bad) in output[0] and "Traceback" not in result.stderr, output
    assert ("no driver 'keysight-ac9999' installed" if name == "unknown driver" else "voltage_v must be") in output[0]
