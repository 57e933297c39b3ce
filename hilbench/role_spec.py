"""Public name kept for drivers and tests outside hilbench: the module lives in ``hilbench.spec.role_spec``."""

from hilbench.spec.role_spec import *  # noqa: F403
