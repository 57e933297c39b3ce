import numpy as np
import pytest

from hilbench.pq import harmonics


def test_a_raw_record_agrees_with_the_analysers_numbers(hil_driver, hil_bench):
    recorder, analyser = hil_driver("recorder"), hil_driver("analyser")
    assert recorder.identify()
    analyser.setup()
    capture = recorder.acquire(0.4)
    assert capture.voltage.shape == capture.current.shape and capture.voltage.shape[0] == 3
    rate = float(hil_bench.role("recorder").settings.get("sample_rate_hz", 10_000.0))
    assert capture.fs == pytest.approx(rate) and capture.voltage.shape[1] == round(0.4 * rate)
    reading = analyser.read()
    v_rms = np.sqrt(np.mean(capture.voltage**2, axis=1))
    assert v_rms == pytest.approx(np.array(reading.urms), rel=0.01)
    h = harmonics(capture.current, capture.fs, f_nominal=round(reading.frequency), reference=capture.voltage[0])
    assert h.group_rms[:, :, 1].mean(axis=1) == pytest.approx(np.array(reading.irms), rel=0.03)
