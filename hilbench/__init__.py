"""hilbench: hardware-in-the-loop acceptance testing of flexible mining loads."""

__version__ = "0.1.0"
