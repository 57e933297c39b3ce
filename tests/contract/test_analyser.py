import numpy as np
import pytest


def test_identity_and_numeric_items(hil_driver, hil_expected):
    analyser = hil_driver("analyser")
    assert analyser.identify()
    analyser.setup()
    reading = analyser.read()
    assert reading.urms[0] == pytest.approx(hil_expected.nominal_v, rel=0.1)
    assert reading.frequency == pytest.approx(hil_expected.nominal_hz, abs=0.5)
    assert reading.p_total > 0
    assert reading.p_total == pytest.approx(sum(reading.p), rel=1e-6)


def test_trend_carries_increasing_instrument_timestamps(hil_driver):
    analyser = hil_driver("analyser")
    analyser.setup()
    samples = analyser.trend(1.0)
    times = np.array([s.time for s in samples])
    assert len(times) >= 2 and np.all(np.diff(times) > 0)
    assert times[-1] - times[0] >= 1.0 - 1e-9  # (t0 + 1) - t0 may round below 1
