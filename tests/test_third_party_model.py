"""A third-party instrument model is one package with two entry points: the example load in
tests/thirdparty_model (installed by the README's test command) is used by a plan on an emulated bench
whose load role names it, with no hilbench file changed."""

import xml.etree.ElementTree as ET
from importlib.metadata import entry_points

import pytest
import yaml

from hilbench.drivers import driver_class
from hilbench.emulation.registry import emulator_factory
from tests.conftest import ROOT
from tests.test_plan_runs import run_plan

MODEL = "example-el1000"
INSTALL = "pip install ./tests/thirdparty_model (the README's test command does)"


@pytest.fixture(scope="module")
def example_installed():
    names = {ep.name for ep in entry_points(group="hilbench.drivers")}
    if MODEL not in names:
        pytest.fail(f"the example third-party model is not installed: {INSTALL}")


def test_the_model_registers_a_driver_and_an_emulator(example_installed):
    assert driver_class(MODEL).role == "load"
    assert emulator_factory(MODEL) is not None
    assert emulator_factory("no-such-model") is None


def test_a_plan_uses_the_third_party_load(example_installed, tmp_path):
    bench = yaml.safe_load((ROOT / "instruments" / "emulated.yaml").read_text())
    bench["bench"] = "emulated-example-load"
    bench["roles"]["load"] = {"driver": MODEL, "limits": {"max_power_w": 2000.0}}
    bench["roles"]["boards"]["emulated"]["groups"][0]["address_base"] = "127.0.46.2"
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
    result, measurements = run_plan(plan_file, bench_file, report)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    properties = {p.get("name"): p.get("value") for p in ET.parse(report / "junit.xml").iter("property")}
    assert properties["instrument.load"].startswith("EXAMPLE,EL-1000")  # the strategy put this load in its state
    assert [m["verdict"] for m in measurements] == ["pass"]
