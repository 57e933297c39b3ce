"""The twin's fit (hilbench.twin) on records drawn by the emulator's own plant from a container whose parameters
the test chose at random: the fit must find them without being told, within its stated uncertainty."""

from __future__ import annotations

import numpy as np
import pytest

from hilbench.emulation.bench_runner import validate_emulated_bench
from hilbench.spec.bench_file import DEFAULT_BENCH, load_bench, parse_bench
from hilbench.twin.estimates import DECLARED, FITTED, MEASURED, NOT_EXCITED, NOT_FITTED
from hilbench.twin.fit import fit_run
from hilbench.twin.model import ContainerModel
from hilbench.twin.parameters import Parameter
from hilbench.twin.scan_fit import scan
from hilbench.twin.spectrum_fit import analyse_capture, fit_spectrum
from hilbench.twin.twin_file import template_model, twin_bench
from tests.twin_records import harmonic_captures, write_run

SPECTRUM = {
    "load_fractions": [0.3, 1.0],
    "displacement_pf": 0.97,
    "orders": {3: {"ratios": [0.2, 0.1], "phase_rad": 1.1}, 5: {"ratios": [0.08, 0.05], "phase_rad": 2.3},
               7: {"ratios": [0.03, 0.02], "phase_rad": 4.0}},
}  # fmt: skip


def random_container(seed: int) -> ContainerModel:
    rng = np.random.default_rng(seed)
    return ContainerModel(
        boards=int(rng.integers(8, 14)),
        board={
            "nameplate_w": float(rng.uniform(2500, 3600)),
            "boot_s": float(rng.uniform(20, 60)),
            "pll_ramp_mhz_per_s": float(rng.uniform(30, 120)),
            "wake_delay_s": float(rng.uniform(0.5, 4)),
            "curtail_latency_s": float(rng.uniform(0.3, 3)),
            "graceful_stop_s": float(rng.uniform(3, 15)),
        },
        controller={
            "aux_w": float(rng.uniform(300, 1500)),
            "contactor_open_s": float(rng.uniform(0.1, 1.5)),
            "stop_stagger_s": float(rng.uniform(0.3, 2.0)),
            "setpoint_poll_s": float(rng.uniform(0.0, 2.0)),
            "default_ramp_kw_s": 10.0,
        },
        plant={"r_ohm": float(rng.uniform(0.03, 0.2)), "x_ohm": float(rng.uniform(0.02, 0.12)),
               "psu_kind": "fitted", "psu_spectrum": SPECTRUM},
    )  # fmt: skip


@pytest.mark.parametrize("seed", [20, 21])
def test_the_fit_finds_a_random_containers_parameters_from_its_records(tmp_path, seed):
    true = random_container(seed)
    rated_kw = true.rated_w() / 1000
    run = write_run(tmp_path / "run", true, rated_kw=rated_kw)
    result = fit_run(run, template_model(load_bench(DEFAULT_BENCH)), progress=lambda line: None)
    e = result.estimates
    assert e["boards"].status == MEASURED and e["boards"].value == true.boards
    assert e["aux_w"].value == pytest.approx(true.value("aux_w"), rel=1e-3)
    assert e["nameplate_w"].value == pytest.approx(true.value("nameplate_w"), rel=2e-3)
    sample = 0.05  # the records' update period: a time is found to within it whatever the least squares says
    poll = true.value("setpoint_poll_s")  # not separable from the latencies: they carry it (said in the estimate)
    assert e["setpoint_poll_s"].status == NOT_FITTED and "not separable" in e["setpoint_poll_s"].note
    expected = {"boot_s": true.value("boot_s"), "curtail_latency_s": true.value("curtail_latency_s") + poll,
                "wake_delay_s": true.value("wake_delay_s") + poll, "contactor_open_s": true.value("contactor_open_s"),
                "stop_stagger_s": true.value("stop_stagger_s")}  # fmt: skip
    for name, value in expected.items():
        assert e[name].status == FITTED, e[name].describe()
        allowed = max(3 * e[name].uncertainty, sample)
        assert abs(e[name].value - value) <= allowed, (e[name].describe(), value)
    assert e["pll_ramp_mhz_per_s"].value == pytest.approx(true.value("pll_ramp_mhz_per_s"), rel=0.03)
    assert e["graceful_stop_s"].value == pytest.approx(true.value("graceful_stop_s"), abs=0.5)
    assert e["r_ohm"].value == pytest.approx(true.value("r_ohm"), rel=0.02)
    assert e["x_ohm"].value == pytest.approx(true.value("x_ohm"), rel=0.02)
    # a setpoint delay carried by the latencies is not exactly the same response: a few per cent, r.m.s.
    assert all(misfit < 3.0 for misfit in result.residuals().values()), result.residuals()


def test_what_the_run_did_not_excite_keeps_the_templates_value_and_says_so(tmp_path):
    true = random_container(7)
    run = write_run(tmp_path / "run", true, rated_kw=true.rated_w() / 1000, graceful=False, harmonics=False)
    template = template_model(load_bench(DEFAULT_BENCH))
    result = fit_run(run, template, progress=lambda line: None)
    e = result.estimates
    for name in ("stop_stagger_s", "graceful_stop_s", "psu_spectrum"):
        assert e[name].status == NOT_EXCITED, e[name].describe()
        assert result.model.value(name) == template.value(name)
    assert e["boards"].status == DECLARED  # no count before a graceful stop: the plan's figure, said to be so
    assert e["default_ramp_kw_s"].status in (FITTED, NOT_EXCITED)


def test_the_spectrum_and_impedance_are_recovered_from_captured_waveforms(tmp_path):
    true = random_container(3)
    rated_w = true.rated_w()
    captures = []
    for level, arrays in harmonic_captures(true, rated_w).items():
        path = tmp_path / f"h-waveforms-{level}.npz"
        np.savez(path, **arrays)
        captures.append(analyse_capture(path, 50.0, rated_w))
    fit = fit_spectrum(captures)
    assert fit.psu_spectrum["displacement_pf"] == pytest.approx(0.97, abs=1e-3)
    for h, expected in SPECTRUM["orders"].items():
        got = fit.psu_spectrum["orders"][h]
        at = [np.interp(c.load_fraction, SPECTRUM["load_fractions"], expected["ratios"]) for c in fit.captures]
        assert got["ratios"] == pytest.approx(at, rel=1e-3)
        assert got["phase_rad"] == pytest.approx(expected["phase_rad"], abs=1e-2)
    assert fit.r_ohm == pytest.approx(true.value("r_ohm"), rel=0.01)
    assert fit.x_ohm == pytest.approx(true.value("x_ohm"), rel=0.01)
    assert fit.source_voltage_v == pytest.approx(230.0, abs=0.2)


def test_the_twin_is_an_emulated_bench_file_with_the_fitted_container(tmp_path):
    true = random_container(5)
    run = write_run(tmp_path / "run", true, rated_kw=true.rated_w() / 1000)
    template = load_bench(DEFAULT_BENCH)
    result = fit_run(run, template_model(template), progress=lambda line: None)
    bench = twin_bench(result, template)
    group = bench["roles"]["boards"]["emulated"]["groups"][0]
    assert group["count"] == true.boards
    assert group["overrides"]["boot_s"] == pytest.approx(true.value("boot_s"), abs=0.2)
    assert bench["plant"]["psu_kind"] == "fitted"
    rated_kw = max(result.model.rated_w(), true.rated_w()) / 1000  # the plan's rating is accepted, like the source
    assert bench["roles"]["controller"]["limits"]["max_power_kw"] == pytest.approx(rated_kw)
    bench["__path__"] = str(tmp_path / "twin.yaml")
    validate_emulated_bench(parse_bench(bench))  # the emulator accepts it as it is


def test_a_scan_finds_the_interval_a_count_or_a_threshold_leaves_open():
    """A misfit that is a staircase (whole boards shed: round(volume / 3 kW)) or a step (a PSU that drops or not):
    the scan returns the whole interval of least misfit, the template's value when inside it, else the centre."""
    volume = Parameter("droop_volume_kw", "kW", 0.0, 100.0, 50.0, is_time=False)
    boards = lambda kw: float((round(kw / 3.0) - 5) ** 2)  # noqa: E731 - five boards of 3 kW were shed
    found = scan(volume, boards, start=50.0, keep=50.0)
    assert found.low == pytest.approx(13.5, abs=0.01) and found.high == pytest.approx(16.5, abs=0.01)
    assert found.value == pytest.approx(15.0, abs=0.01) and found.least == 0.0
    assert scan(volume, boards, start=50.0, keep=14.0).value == 14.0  # inside: the records cannot prefer another
    uvlo = Parameter("psu_uvlo_pu", "pu", 0.0, 1.0, 0.45, is_time=False)
    dropped_at_half = lambda pu: 0.0 if pu > 0.5 else 1.0  # noqa: E731 - the boards dropped in a 0.5 pu sag
    found = scan(uvlo, dropped_at_half, start=0.45, keep=0.45)
    assert found.low == pytest.approx(0.5, abs=1e-4) and found.high == 1.0 and found.value == pytest.approx(0.75)
