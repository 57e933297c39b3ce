"""The commissioning probe against the emulators (through pyvisa, pymodbus and pyserial as on a bench), and the gate
that holds a plan's checks to its evidence (pure logic over the check registry and the drivers' declarations)."""

from __future__ import annotations

import dataclasses
import inspect
import re

import pytest

from hilbench.bench.probe import probe_bench, probe_feature
from hilbench.core.unverified import ProbeCall, Query, SetAtCurrent, Unverified, unverified_items
from hilbench.drivers import available, driver_class, open_driver
from hilbench.emulation.bench_runner import EmulatedBench
from hilbench.plans.checks import REGISTRY
from hilbench.plans.plan import PlanCheck
from hilbench.plans.reliance import refusal_message, relied_on, unsettled
from hilbench.spec.bench_file import read_bench
from hilbench.spec.probe_file import REFUSED, SKIPPED, VERIFIED, read_probe_file, write_probe_file
from tests.conftest import ROOT, loopback_block


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    """The default emulated bench probed once: (its evidence, the probe file written and read back)."""
    with EmulatedBench(read_bench(ROOT / "instruments" / "emulated.yaml"), time_scale=10.0,
                       address_base=loopback_block()) as resolved:  # fmt: skip
        evidence = probe_bench(resolved, timeout_s=5.0, progress=lambda _: None)
    path = write_probe_file(evidence, tmp_path_factory.mktemp("probe") / "emulated.probe.yaml")
    return evidence, read_probe_file(path)


def test_every_unverified_item_of_the_default_bench_is_tried_or_skipped_with_its_reason(probed):
    evidence, _ = probed
    for role, found in evidence.roles.items():
        declared = {item.feature for item in unverified_items(driver_class(found.driver))}
        assert set(found.features) == declared, role
    statuses = {f"{r}:{f}": item.status for r, found in evidence.roles.items() for f, item in found.features.items()}
    assert statuses.pop("grid:power_unit") == SKIPPED and statuses.pop("hashboard:chain_addressing") == SKIPPED
    assert set(statuses.values()) == {VERIFIED}, statuses  # the emulators accept what the drivers send
    assert evidence.emulated and evidence.roles["analyser"].firmware == "F1.04"


def test_the_probe_leaves_the_bench_safe_with_the_outputs_off_and_says_so(probed):
    evidence, _ = probed
    assert all("NOT CONFIRMED" not in line for line in evidence.safe_state)
    assert "grid: output switched off for the probe" in evidence.safe_state
    assert "load: output switched off for the probe" in evidence.safe_state


def test_the_probe_measures_what_a_guess_cannot_say(probed):
    """The analyser's store is timed and its real header kept; the scope's record carries its own trigger time."""
    _, read_back = probed
    store = read_back.roles["analyser"].features["store_record"].steps[0]
    fields = dict(part.split("=", 1) for part in store.reply.split("; "))
    assert fields["samples"] == fields["expected_samples"] == "40"  # 2 s of 50 ms updates
    assert float(fields["record_and_fetch_s"]) > 0 and fields["columns"].startswith("Store No.,Date,Time")
    assert fields["header_block"].startswith('"Model","WT5000"') and fields["timed_by"] == (
        "the instrument's clock (date, time, millisecond)"
    )
    assert "Irms-Sigma" in fields["unused_columns"]  # read by name: what the reader does not use is named
    scope = read_back.roles["recorder"].features["acquisition"].steps[0]
    assert "first_point_after_trigger_s=0" in scope.reply and "points=200" in scope.reply  # 20 ms at 10 kS/s
    itime = read_back.roles["analyser"].features["integration"].steps[1]
    assert "resolution=whole seconds" in itime.reply  # what makes ITIMe useless for response times


def test_an_instrument_that_refuses_a_command_is_recorded_with_its_own_words(tmp_path):
    """Through pyvisa: the scope does not know SYST:ERR? (no reply, an undefined-header event in its queue); the
    analyser accepts its update rate written back at the value it reports."""
    bench = read_bench(ROOT / "instruments" / "emulated.yaml")
    with EmulatedBench(bench, time_scale=10.0, address_base=loopback_block()) as resolved:
        scope = open_driver(dataclasses.replace(resolved.roles["recorder"], settings={"timeout_s": 1.0}))
        analyser = open_driver(resolved.roles["analyser"])
        try:
            refused = probe_feature(scope, Unverified("syst_err", "SYST:ERR?", "test", probe=(Query("SYST:ERR?"),)))
            accepted = probe_feature(
                analyser, Unverified("rate", ":RATE", "test", probe=(SetAtCurrent(":RATE?", ":RATE"),))
            )
            failing_call = probe_feature(analyser, Unverified("x", "x", "test", probe=(ProbeCall("identify"),)))
        finally:
            scope.close()
            analyser.close()
    assert refused.status == REFUSED and "no reply" in refused.reason and "SYST:ERR?" in refused.reason
    assert accepted.status == VERIFIED and accepted.steps[0].command.startswith(":RATE ")
    assert failing_call.status == VERIFIED and "WT5000" in failing_call.steps[0].reply


# ----- the gate (pure logic) ------------------------------------------------------------------------------------
def plan_check(check_id: str, kind: str) -> PlanCheck:
    return PlanCheck(check_id, kind, {}, {}, "plan.yaml", 1)


LAB = read_bench(ROOT / "instruments" / "lab-example.yaml")
CHECKS = [plan_check("boot", "boot"), plan_check("uf", "frequency_event"), plan_check("thd", "harmonics")]


def real_evidence(statuses: dict[str, str] | None = None, bench=LAB):
    """Evidence for every relied item of ``bench``, verified unless ``statuses`` says otherwise."""
    from hilbench.spec.probe_file import FeatureEvidence, ProbeEvidence, RoleEvidence

    roles = {}
    for role, spec in bench.roles.items():
        features = {
            item.feature: FeatureEvidence((statuses or {}).get(f"{role}:{item.feature}", VERIFIED), item.commands)
            for item in unverified_items(driver_class(spec.driver))
        }
        roles[role] = RoleEvidence(
            spec.driver, spec.address, "MAKER,MODEL,SN1,FW2.1", "2026-12-01T09:00:00+00:00", features
        )
    return ProbeEvidence(bench.path, False, "2026-12-01", [], roles, "lab.probe.yaml")


def test_a_real_bench_never_probed_refuses_every_check_naming_the_commands_and_the_probe():
    reliances, refusals = relied_on(CHECKS, LAB, REGISTRY)
    problems, taken = unsettled(reliances, LAB, None, set())
    names = {line.split(" ", 1)[0] for line in problems}
    assert {"analyser:update_wait", "analyser:store_record", "analyser:harmonic_list", "load:error_query"} <= names
    store = next(line for line in problems if line.startswith("analyser:store_record"))
    assert "used by uf" in store and "never probed" in store  # only the check that stores a record relies on it
    reason = driver_class("keysight-ac6900").unavailable["program_steps"]
    assert refusals == [f"check uf needs grid.program_steps, grid.trigger: {reason}"]
    message = refusal_message(LAB, problems, refusals)
    assert "nothing was energised" in message and "hilbench bench probe" in message and "--accept-unverified" in message
    assert not taken


def test_verified_evidence_settles_the_gate_and_a_refusal_or_an_acceptance_is_named():
    reliances, _ = relied_on(CHECKS[:1], LAB, REGISTRY)  # boot: no step program
    assert unsettled(reliances, LAB, real_evidence(), set()) == ([], [])
    problems, _ = unsettled(reliances, LAB, real_evidence({"analyser:update_wait": REFUSED}), set())
    assert len(problems) == 1 and "refused by this instrument (firmware FW2.1, 2026-12-01)" in problems[0]
    accepted = {"analyser:update_wait", "analyser:integration", "load:error_query", "grid:error_query"}
    problems, taken = unsettled(reliances, LAB, None, accepted)
    assert problems == [] and len(taken) == 4


def test_evidence_from_emulators_or_from_another_instrument_does_not_count():
    reliances, _ = relied_on(CHECKS[:1], LAB, REGISTRY)
    emulated = dataclasses.replace(real_evidence(), emulated=True)
    problems, _ = unsettled(reliances, LAB, emulated, set())
    assert problems and all("probed only on emulators" in line for line in problems)
    moved = real_evidence()
    moved.roles["analyser"] = dataclasses.replace(moved.roles["analyser"], address="TCPIP::10.0.0.9::INSTR")
    problems, _ = unsettled(reliances, LAB, moved, set())
    assert problems and all("the bench now has yokogawa-wt5000 at" in line for line in problems)


def test_an_emulated_bench_with_the_ac6900_refuses_step_programs_but_not_the_rest():
    bench = read_bench(ROOT / "instruments" / "emulated.yaml")
    ac6900 = dataclasses.replace(
        bench, roles={**bench.roles, "grid": dataclasses.replace(bench.roles["grid"], driver="keysight-ac6900")}
    )
    assert relied_on(CHECKS, ac6900, REGISTRY)[1] and not relied_on(CHECKS[:1], ac6900, REGISTRY)[1]
    assert not relied_on(CHECKS, bench, REGISTRY)[1]  # the default bench's Sequoia plays them


METHOD_SPECIFIC = sorted(
    {
        (cls.role, method)
        for name in available()
        for cls in [driver_class(name)]
        for method in [*(m for item in unverified_items(cls) for m in item.methods), *getattr(cls, "unavailable", {})]
    }
)


def test_every_check_declares_the_role_methods_that_drivers_mark_for_that_method():
    """A check calling ``ctx.<role>.<method>(`` (or a helper of its module that does) must name it in ``uses``: the
    gate can only hold a check to what it declares."""
    role_attribute = {"recorder": "waveform_recorder"}
    for kind, check_type in REGISTRY.items():
        module = inspect.getmodule(check_type.run)
        source = inspect.getsource(check_type.run)
        helpers = set(re.findall(r"\b(_\w+)\(", source))
        source += "".join(
            inspect.getsource(getattr(module, h)) for h in helpers if inspect.isfunction(getattr(module, h, None))
        )
        for role, method in METHOD_SPECIFIC:
            if re.search(rf"ctx\.{role_attribute.get(role, role)}\.{method}\b", source):
                assert f"{role}.{method}" in check_type.uses, f"check {kind} calls {role}.{method} without declaring it"


def test_an_energising_role_out_of_reach_stops_the_probe_before_any_output_is_switched(tmp_path):
    """The container cannot be curtailed if it cannot be reached: switching its supply off under it is refused."""
    from hilbench.bench.probe import ProbeRefused
    from tests.conftest import closed_port

    bench = read_bench(ROOT / "instruments" / "emulated.yaml")
    with EmulatedBench(bench, time_scale=10.0, address_base=loopback_block()) as resolved:
        controller = dataclasses.replace(resolved.roles["controller"], address=f"tcp://127.0.0.1:{closed_port()}")
        cut = dataclasses.replace(resolved, roles={**resolved.roles, "controller": controller})
        with pytest.raises(ProbeRefused, match=r"nothing was probed; not reached, so not made safe: controller"):
            probe_bench(cut, timeout_s=2.0, progress=lambda _: None)
        grid = open_driver(resolved.roles["grid"])
        try:
            assert grid.transport.query("OUTP?") == "1"  # the source was left as it was
        finally:
            grid.close()


def test_a_refused_error_query_skips_the_roles_other_items_with_that_reason():
    """An AC6900 driver facing an instrument without SYST:ERR? (here the scope, which never answers it): its other
    items cannot be judged, so they are skipped, not blamed."""
    from hilbench.bench.probe import _probe_role

    bench = read_bench(ROOT / "instruments" / "emulated.yaml")
    with EmulatedBench(bench, time_scale=10.0, address_base=loopback_block()) as resolved:
        wrong = dataclasses.replace(resolved.roles["recorder"], driver="keysight-ac6900", settings={"timeout_s": 1.0})
        driver = open_driver(dataclasses.replace(wrong, role="grid"))
        try:
            found = _probe_role("grid", wrong, driver, "TEKTRONIX,MSO58", lambda _: None)
        finally:
            driver.close()
    assert found.features["error_query"].status == REFUSED
    readback = found.features["setpoint_readback"]
    assert readback.status == SKIPPED and readback.reason.startswith("the error query was refused")


def test_a_malformed_probe_file_is_named_with_its_field(tmp_path):
    from hilbench.spec.probe_file import ProbeFileError

    path = tmp_path / "lab.probe.yaml"
    path.write_text(
        "roles:\n  analyser:\n    driver: yokogawa-wt5000\n    address: X\n    identity: Y\n    date: D\n"
        "    features:\n      store_record:\n        status: verified\n        steps: [{command: a, colour: red}]\n"
    )
    with pytest.raises(ProbeFileError, match=r"roles.analyser.features.store_record.steps\[0\]"):
        read_probe_file(path)
    path.write_text("emulated: 'false'\nroles: {}\n")
    with pytest.raises(ProbeFileError, match="'emulated' must be true or false"):
        read_probe_file(path)
