import numpy as np
import pytest

from hilbench.pq import harmonics


def test_identity_and_numeric_items(hil_driver):
    analyser = hil_driver("analyser")
    assert "WT5000" in analyser.identify()
    analyser.setup()
    reading = analyser.read()
    assert 200 < reading.urms[0] < 250 and reading.p_total > 0
    assert reading.frequency == pytest.approx(50.0, abs=0.5)
    assert reading.p_total == pytest.approx(sum(reading.p), rel=1e-6)


def test_trend_carries_increasing_instrument_timestamps_on_the_update_grid(hil_driver):
    analyser = hil_driver("analyser")
    analyser.setup()
    samples = analyser.trend(1.0)
    times = np.array([s.time for s in samples])
    assert np.all(np.diff(times) > 0)
    steps = np.diff(times) / analyser.update_rate_s
    assert np.allclose(steps, np.round(steps), atol=1e-6)  # only whole update intervals


def test_waveform_capture_matches_the_numeric_values(hil_driver):
    analyser = hil_driver("analyser")
    analyser.setup()
    capture = analyser.capture(0.4)
    assert capture.voltage.shape == capture.current.shape and capture.voltage.shape[0] == 3
    assert capture.voltage.shape[1] == pytest.approx(0.4 * capture.fs, abs=1)
    reading = analyser.read()
    v_rms = np.sqrt(np.mean(capture.voltage**2, axis=1))
    assert v_rms == pytest.approx(np.array(reading.urms), rel=0.01)
    h = harmonics(capture.current, capture.fs, reference=capture.voltage[0])
    assert h.group_rms[0, :, 1].mean() == pytest.approx(reading.irms[0], rel=0.03)
