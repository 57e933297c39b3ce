"""`hilbench run` refuses malformed plans and bench files, and what only the drivers or the emulators know, before
anything starts: exit 2, one line naming the file, no traceback."""

import pytest

from tests.conftest import ROOT
from tests.system.conftest import MW2MH, run_plan


@pytest.mark.parametrize("name", ["plan_negative_time.yaml", "bench_unknown_role.yaml", "plan_not_utf8.yaml"])
def test_hilbench_run_refuses_them_with_exit_code_2_and_no_traceback(name, tmp_path):
    bad = ROOT / "tests" / "bad_input" / name
    if name.startswith("plan_"):
        result = run_plan(bad, tmp_path / "run", timeout=60)
    else:
        result = run_plan(MW2MH, tmp_path / "run", bench=bad, timeout=60)
    assert result.returncode == 2
    output = (result.stdout + result.stderr).strip().splitlines()
    assert len(output) == 1 and str(bad) in output[0] and "Traceback" not in result.stderr, output


RUN_LEVEL = {
    "unknown driver": "bench: x\nroles:\n  grid: {driver: keysight-ac9999, address: 'TCPIP::127.0.0.1::INSTR'}\n",
    "negative plant voltage": (ROOT / "instruments" / "emulated.yaml")
    .read_text()
    .replace("voltage_v: 230.0          # phase-to-neutral", "voltage_v: -230.0         # phase-to-neutral"),
}


@pytest.mark.parametrize("name", sorted(RUN_LEVEL))
def test_hilbench_run_refuses_what_only_the_drivers_or_the_emulators_know_before_anything_starts(tmp_path, name):
    bad = tmp_path / "bench.yaml"
    bad.write_text(RUN_LEVEL[name])
    result = run_plan(MW2MH, tmp_path / "run", bench=bad, timeout=60)
    assert result.returncode == 2
    output = (result.stdout + result.stderr).strip().splitlines()
    assert len(output) == 1 and str(bad) in output[0] and "Traceback" not in result.stderr, output
    assert ("no driver 'keysight-ac9999' installed" if name == "unknown driver" else "voltage_v must be") in output[0]
