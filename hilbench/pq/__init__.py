"""Power-quality analysis: pure numpy/scipy, no I/O, no pytest.

``flicker`` (IEC 61000-4-15), ``voltage_change`` (IEC 61000-3-3/-3-11), ``harmonics``
(IEC 61000-4-7) and the limit tables of ``hilbench.pq.limits``.
"""

from hilbench.pq.flicker import FlickerResult, flicker
from hilbench.pq.harmonics import HarmonicsResult, harmonics
from hilbench.pq.voltage_change import VoltageChangeResult, voltage_change

__all__ = ["FlickerResult", "HarmonicsResult", "VoltageChangeResult", "flicker", "harmonics", "voltage_change"]
