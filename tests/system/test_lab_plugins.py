"""Plans run beside the pytest plugins a lab already has.  labgrid's pytest_runtest_setup reads
``item.fixturenames`` and pytest-embedded reads ``item.funcargs``; a plan item carries both, as pytest's own test
functions do.  `.ci/run` runs a plan in a second environment with labgrid and pytest-embedded installed (they
cannot share the suite's: together they make every Python test request labgrid's ``env`` and skip)."""

import subprocess
import sys

from tests.conftest import ROOT


def test_plan_items_carry_what_other_plugins_read_from_items(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", "-o", "testpaths=",
         str(ROOT / "test_plans" / "mw2mh_100kw.yaml"), "-p", "tests.lab_plugin_probe"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    probes = [line for line in result.stdout.splitlines() if line.startswith("probe:")]
    assert len(probes) == 11 and all(line.endswith("fixturenames=[] funcargs={}") for line in probes), probes
