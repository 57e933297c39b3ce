"""A plan on an emulated bench whose load role names the third-party example model, with no hilbench file changed."""

import xml.etree.ElementTree as ET

import yaml

from tests.conftest import EXAMPLE_MODEL as MODEL
from tests.conftest import ROOT
from tests.system.conftest import run_plan


def test_a_plan_uses_the_third_party_load(example_installed, tmp_path):
    bench = yaml.safe_load((ROOT / "instruments" / "emulated.yaml").read_text())
    bench["bench"] = "emulated-example-load"
    bench["roles"]["load"] = {"driver": MODEL, "limits": {"max_power_w": 2000.0}}
    bench_file = tmp_path / "bench.yaml"
    bench_file.write_text(yaml.safe_dump(bench))
    plan = {
        "plan": "third-party-load",
        "ci_time_scale": 50,
        "dut": {
            "name": "MW2MH",
            "rated_kw": 97.5,
            "boards": 30,
            "voltage_v": 400,
            "frequency_hz": 50,
            "isc_ka": 5.0,
            "contract_kw": 100,
        },
        "checks": [
            {
                "id": "pf",
                "type": "power_factor",
                "params": {"levels_percent": [100.0], "settle_s": 2.0},
                "limits": {"power_factor_min": {"min": 0.9}},
            }
        ],
    }
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(yaml.safe_dump(plan))
    report = tmp_path / "report"
    result = run_plan(plan_file, report, bench=bench_file)
    measurements = result.measurements
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    properties = {p.get("name"): p.get("value") for p in ET.parse(report / "junit.xml").iter("property")}
    assert properties["instrument.load"].startswith("EXAMPLE,EL-1000")  # the strategy put this load in its state
    assert [m["verdict"] for m in measurements] == ["pass"]
