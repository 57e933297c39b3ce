import numpy as np
import pytest

from hilbench.pq import harmonics


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


def test_waveform_capture_matches_the_numeric_values(hil_driver):
    analyser = hil_driver("analyser")
    analyser.setup()
    capture = analyser.capture(0.4)
    assert capture.voltage.shape == capture.current.shape and capture.voltage.shape[0] == 3
    assert capture.voltage.shape[1] == pytest.approx(0.4 * capture.fs, abs=1)
    reading = analyser.read()
    v_rms = np.sqrt(np.mean(capture.voltage**2, axis=1))
    assert v_rms == pytest.approx(np.array(reading.urms), rel=0.01)
    h = harmonics(capture.current, capture.fs, f_nominal=round(reading.frequency), reference=capture.voltage[0])
    assert h.group_rms[0, :, 1].mean() == pytest.approx(reading.irms[0], rel=0.03)
