"""Public name kept for drivers and tests outside hilbench: the module lives in ``hilbench.core.roles``."""

from hilbench.core.roles import *  # noqa: F403
