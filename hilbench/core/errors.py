"""The root of hilbench's own errors, so a caller can tell "the bench or its files said no"
(``HilbenchError``) from a programming error inside hilbench (anything else).

Families under it: instrument errors (``hilbench.transports.errors``), bench-file and plan
errors (``hilbench.spec.bench_file``, ``hilbench.plans.plan``) and ``LimitError``, which drivers raise when a
setpoint is beyond the bench file's limits.  This module is a leaf.
"""

from __future__ import annotations


class HilbenchError(Exception):
    """Something hilbench refused or could not do, with a message that names where."""


class LimitError(HilbenchError, ValueError):
    """A setpoint beyond the bench file's limits: refused before anything is sent."""
