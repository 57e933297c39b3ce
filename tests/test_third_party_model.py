"""A third-party instrument model is one package with two entry points: the example load in
tests/thirdparty_model (installed by the README's test command), written against hilbench's public names
(hilbench.roles, hilbench.role_spec, hilbench.drivers.limits, hilbench.transports.visa); a plan that uses it runs
in tests/system/test_third_party_model_run.py."""

from hilbench.drivers import driver_class
from hilbench.emulation.registry import emulator_factory
from tests.conftest import EXAMPLE_MODEL as MODEL


def test_the_model_registers_a_driver_and_an_emulator(example_installed):
    assert driver_class(MODEL).role == "load"  # its module imports hilbench.roles and hilbench.role_spec
    assert emulator_factory(MODEL) is not None
    assert emulator_factory("no-such-model") is None
