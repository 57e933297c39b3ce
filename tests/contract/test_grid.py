import pytest

from hilbench.errors import LimitError
from hilbench.transports.errors import ScpiError
from hilbench.transports.exchange_log import GLOBAL_LOG


def test_identity_and_setpoints(hil_driver):
    grid = hil_driver("grid")
    assert "AC69" in grid.identify()
    grid.set_voltage(225.0)
    assert float(grid.transport.query("VOLT?")) == pytest.approx(225.0)
    grid.set_frequency(50.2)
    assert float(grid.transport.query("FREQ?")) == pytest.approx(50.2)
    grid.safe_state()
    assert float(grid.transport.query("VOLT?")) == pytest.approx(grid.nominal_v)


def test_setpoints_beyond_the_bench_limits_are_refused_before_sending(hil_driver):
    grid = hil_driver("grid")
    before = len(GLOBAL_LOG)
    with pytest.raises(LimitError, match="above the bench limit 265"):
        grid.set_voltage(300.0)
    with pytest.raises(LimitError, match="below the bench limit 45"):
        grid.set_frequency(40.0)
    assert len(GLOBAL_LOG) == before  # nothing went on the wire


def test_instrument_errors_name_instrument_address_and_command(hil_driver):
    grid = hil_driver("grid")
    with pytest.raises(ScpiError) as caught:
        grid.transport.configure("VOLT 999")  # beyond the source's own range: -222
    assert caught.value.code == -222
    message = str(caught.value)
    assert "grid" in message and grid.transport.resource in message and "VOLT 999" in message
    with pytest.raises(ScpiError) as undefined:
        grid.transport.configure("FROBNICATE 1")
    assert undefined.value.code == -113
    assert grid.identify()  # still serving


def test_timed_frequency_step_reaches_the_pcc(hil_driver):
    grid, analyser = hil_driver("grid"), hil_driver("analyser")
    start = analyser.read().time
    grid.run_steps([(2.0, 230.0, 49.6), (1.0, 230.0, 50.0)])
    samples = analyser.trend(2.5)
    low = [s for s in samples if s.frequency < 49.7]
    assert low, "the analyser never saw the step"
    assert low[0].time - start < 1.0
    assert analyser.wait_until(samples[-1].time + 1.5).frequency == pytest.approx(50.0)
