"""AMETEK Sequoia grid-simulator driver, byte for byte, and once on its emulator inside an emulated bench.

S = Sequoia Series Programming Manual (AMETEK/California Instruments, 231 pp.).  Pages as cited in the driver;
rows marked UNVERIFIED follow the manual's SCPI pattern but their page was not read."""

import pytest
import yaml

from hilbench.core.errors import LimitError
from hilbench.drivers import open_driver
from hilbench.drivers.grid.ametek_sequoia import AmetekSequoia
from hilbench.spec.bench_file import parse_bench
from hilbench.testing import expected_protocol
from tests.conftest import ROOT, loopback_block

NO_ERROR = ("SYST:ERR?", '0,"No error"')  # SYSTem:ERRor? (SCPI error queue), UNVERIFIED page
LIMITS = {"min_voltage_v": 180.0, "max_voltage_v": 265.0, "min_frequency_hz": 45.0, "max_frequency_hz": 65.0}


def grid(transport):
    return AmetekSequoia(transport, limits=LIMITS, nominal_v=230.0, nominal_hz=50.0)


def test_identify():
    with expected_protocol(grid, [("*IDN?", "AMETEK California Instruments,SQ90,1,1.0")]) as g:
        assert "SQ90" in g.identify()


def test_the_first_setpoint_couples_the_phases():
    exchanges = [
        ("INST:COUP ALL", None),  # INSTrument:COUPle ALL: a setpoint applies to every phase (p.67)
        ("VOLT 225.00", None),  # [SOURce:]VOLTage[:LEVel] (p.16 example; maximum via VOLT? MAX, p.155)
        NO_ERROR,
        ("FREQ 50.200", None),  # [SOURce:]FREQuency (p.16 example)
        NO_ERROR,
        ("OUTP ON", None),  # OUTPut[:STATe] ON (p.67 "inst:coup all;outp 1")
        NO_ERROR,
    ]
    with expected_protocol(grid, exchanges) as g:
        g.set_voltage(225.0)
        g.set_frequency(50.2)
        g.output(True)


def test_read_selects_each_phase_with_the_phases_decoupled():
    exchanges = [
        ("INST:COUP NONE", None),  # coupled, every phase may read as phase A (public drivers decouple first)
        ("INST:NSEL 1", None),  # INSTrument:NSELect picks the phase measured (pp.57, 64)
        ("MEAS:VOLT:AC?", "229.80"),  # MEASure[:SCALar]:VOLTage[:AC]? (p.64)
        ("MEAS:POW?", "32500.0"),  # MEASure[:SCALar]:POWer[:AC]? (UNVERIFIED page)
        ("INST:NSEL 2", None),
        ("MEAS:POW?", "32400.0"),
        ("INST:NSEL 3", None),
        ("MEAS:POW?", "32600.0"),
        ("MEAS:FREQ?", "50.000"),  # MEASure[:SCALar]:FREQuency? (UNVERIFIED page)
    ]
    with expected_protocol(grid, exchanges) as g:
        reading = g.read()
    assert reading.voltage_v == 229.8 and reading.frequency_hz == 50.0 and reading.power_w == 97_500.0


def test_a_setpoint_after_a_read_couples_the_phases_again():
    exchanges = [
        ("INST:COUP ALL", None),
        ("VOLT 230.00", None),
        NO_ERROR,
        ("INST:COUP NONE", None),
        ("INST:NSEL 1", None),
        ("MEAS:VOLT:AC?", "230.00"),
        ("MEAS:POW?", "32500.0"),
        ("INST:NSEL 2", None),
        ("MEAS:POW?", "32500.0"),
        ("INST:NSEL 3", None),
        ("MEAS:POW?", "32500.0"),
        ("MEAS:FREQ?", "50.000"),
        ("INST:COUP ALL", None),  # decoupled by the read: coupled again before the setpoint
        ("FREQ 50.000", None),
        NO_ERROR,
    ]
    with expected_protocol(grid, exchanges) as g:
        g.set_voltage(230.0)
        g.read()
        g.set_frequency(50.0)


def test_step_list_and_trigger():
    exchanges = [
        ("INST:COUP ALL", None),
        ("LIST:DWEL 5.000,1.000", None),  # LIST:DWELl, 0.001-9E4 s (p.93)
        ("LIST:VOLT 230.00,230.00", None),  # LIST:VOLTage (p.92)
        ("LIST:FREQ 49.600,50.000", None),  # LIST:FREQuency[:LEVel] (p.92)
        ("LIST:COUN 1", None),  # LIST:COUNt 1-2E8 (p.93)
        ("LIST:STEP AUTO", None),  # dwell-paced list (p.165)
        ("VOLT:MODE LIST", None),  # p.164 step 1
        ("FREQ:MODE LIST", None),
        ("TRIG:SOUR BUS", None),  # TRIGger:SOURce BUS: *TRG starts the list (p.167)
        ("INIT", None),  # INITiate arms the trigger system (p.168)
        NO_ERROR,
        ("*TRG", None),  # a single trigger (p.168)
    ]
    with expected_protocol(grid, exchanges) as g:
        g.program_steps([(5.0, 230.0, 49.6), (1.0, 230.0, 50.0)])
        g.trigger()


def test_fluctuation_is_a_repeated_two_point_list():
    exchanges = [
        ("INST:COUP ALL", None),
        ("LIST:DWEL 30.000,30.000", None),
        ("LIST:VOLT 232.30,227.70", None),
        ("LIST:FREQ 50.000,50.000", None),
        ("LIST:COUN 5", None),
        ("LIST:STEP AUTO", None),
        ("VOLT:MODE LIST", None),
        ("FREQ:MODE LIST", None),
        ("TRIG:SOUR BUS", None),
        ("INIT", None),
        NO_ERROR,
        ("*TRG", None),
        NO_ERROR,
    ]
    with expected_protocol(grid, exchanges) as g:
        g.fluctuate(2.0, 2.0, 300.0)


def test_safe_state_aborts_a_running_list_first():
    exchanges = [
        ("INST:COUP ALL", None),
        ("ABOR", None),  # only ABORt leaves the dwelling state (p.168)
        ("VOLT:MODE FIX", None),
        ("FREQ:MODE FIX", None),
        ("VOLT 230.00", None),
        ("FREQ 50.000", None),
        NO_ERROR,
    ]
    with expected_protocol(grid, exchanges) as g:
        g.safe_state()


def test_refusals_send_nothing():
    with expected_protocol(grid, []) as g:
        with pytest.raises(LimitError, match=r"above the bench limit 265"):
            g.set_voltage(270.0)
        with pytest.raises(LimitError, match=r"below the bench limit 45"):
            g.set_frequency(40.0)
        with pytest.raises(ValueError, match=r"holds 32 \(p.164\)"):
            g.program_steps([(1.0, 230.0, 50.0)] * 33)


def test_the_model_runs_a_frequency_step_on_its_emulator_in_a_whole_bench():
    """Entry points only: an emulated bench whose grid role names ametek-sequoia serves it, and the step
    reaches the analyser at the PCC."""
    from hilbench.emulation.bench_runner import EmulatedBench

    raw = yaml.safe_load((ROOT / "instruments" / "emulated.yaml").read_text())
    raw["roles"]["grid"]["driver"] = "ametek-sequoia"
    raw["roles"]["boards"]["emulated"]["groups"][0]["count"] = 3
    raw["__path__"] = "sequoia-bench"
    with EmulatedBench(parse_bench(raw), time_scale=10.0, address_base=loopback_block()) as bench:
        grid_driver, analyser = open_driver(bench.role("grid")), open_driver(bench.role("analyser"))
        try:
            assert "SQ90" in grid_driver.identify()
            analyser.setup()
            start = analyser.read().time
            grid_driver.program_steps([(2.0, 230.0, 49.6), (1.0, 230.0, 50.0)])
            grid_driver.trigger()
            samples = analyser.trend(2.5)
            low = [s for s in samples if s.frequency < 49.7]
            assert low and low[0].time - start < 1.0
            assert grid_driver.read().voltage_v == pytest.approx(230.0, rel=0.03)
            grid_driver.safe_state()
            assert analyser.wait_until(samples[-1].time + 0.5).frequency == pytest.approx(50.0)
        finally:
            grid_driver.close()
            analyser.close()


def test_safe_state_is_read_back_from_the_setpoints_and_modes():
    exchanges = [
        ("VOLT?", "230.00"),  # query forms of the setpoint commands (UNVERIFIED pages)
        ("FREQ?", "50.000"),
        ("OUTP?", "0"),  # OUTPut[:STATe]? (p.19 command)
        ("VOLT:MODE?", "LIST"),
        ("FREQ:MODE?", "LIST"),
    ]
    with expected_protocol(grid, exchanges) as g:
        report = g.read_safe_state()
    assert report.safe and report.detail.startswith("output OFF")  # an output that is off is safe in any mode


def test_the_emulator_reads_phase_a_while_coupled_and_the_driver_decouples_first():
    """Through plain pyvisa on an unbalanced container (4 boards: two on phase A): coupled, phase B reads as phase A,
    as public drivers report of the instrument; decoupled, each phase reads its own; the driver's power is the sum
    of the three decoupled phases."""
    import pyvisa

    from hilbench.emulation.bench_runner import EmulatedBench

    raw = yaml.safe_load((ROOT / "instruments" / "emulated.yaml").read_text())
    raw["roles"]["grid"]["driver"] = "ametek-sequoia"
    raw["roles"]["boards"]["emulated"]["groups"][0]["count"] = 4
    raw["__path__"] = "sequoia-bench"
    with EmulatedBench(parse_bench(raw), time_scale=10.0, address_base=loopback_block()) as bench:
        source = pyvisa.ResourceManager("@py").open_resource(
            bench.role("grid").address, read_termination="\n", write_termination="\n", timeout=5000
        )
        try:

            def phase_power(phase: int) -> float:
                source.write(f"INST:NSEL {phase}")
                return float(source.query("MEAS:POW?"))

            source.write("INST:COUP ALL")
            coupled = [phase_power(p) for p in (1, 2, 3)]
            source.write("INST:COUP NONE")
            decoupled = [phase_power(p) for p in (1, 2, 3)]
        finally:
            source.close()
        assert coupled[1] == pytest.approx(coupled[0], rel=0.02)  # phase B read as phase A
        assert decoupled[0] > 1.5 * decoupled[1]  # two boards on A, one on B
        driver = open_driver(bench.role("grid"))
        try:
            assert driver.read().power_w == pytest.approx(sum(decoupled), rel=0.02)
        finally:
            driver.close()
