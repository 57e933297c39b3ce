"""Role protocols, driver contracts and layers: what a third-party driver author and a real bench rely on."""

import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

import pytest

from hilbench.core.roles import ROLE_PROTOCOLS, missing_methods, protocol_methods
from hilbench.drivers import DriverContractError, driver_class, open_driver, verify_driver_class
from hilbench.spec.role_spec import RoleSpec
from hilbench.testing import expected_protocol
from tests.conftest import ROOT


@pytest.mark.parametrize("name", sorted(ep.name for ep in entry_points(group="hilbench.drivers")))
def test_every_installed_driver_satisfies_its_role_protocol(name):
    cls = driver_class(name)
    assert cls.role in ROLE_PROTOCOLS
    assert issubclass(cls, ROLE_PROTOCOLS[cls.role])
    assert missing_methods(cls, cls.role) == []
    verify_driver_class(cls)


def test_a_driver_missing_methods_is_refused_with_their_names():
    class HalfAGrid:
        role = "grid"

        def identify(self) -> str:
            return "half"

        def safe_state(self) -> None: ...
        def close(self) -> None: ...

    assert not issubclass(HalfAGrid, ROLE_PROTOCOLS["grid"])
    with pytest.raises(DriverContractError, match="missing fluctuate, nominal, output, program_steps, read") as caught:
        verify_driver_class(HalfAGrid)
    assert "from_spec" in str(caught.value)


def test_a_driver_without_a_role_or_used_in_the_wrong_role_is_refused():
    class Anonymous:
        pass

    with pytest.raises(DriverContractError, match="must declare role"):
        verify_driver_class(Anonymous)
    with pytest.raises(DriverContractError, match="is a 'load' driver, but the bench uses it as 'grid'"):
        verify_driver_class(driver_class("chroma-63800"), expected_role="grid")


def test_open_driver_names_the_bench_file_line_when_the_role_does_not_match():
    spec = RoleSpec("grid", "chroma-63800", "TCPIP::127.0.0.1::1::SOCKET", where="bench.yaml:12")
    with pytest.raises(DriverContractError, match=r"bench.yaml:12: roles.grid: .*'load' driver"):
        open_driver(spec)


def test_role_interfaces_have_no_kilowatts():
    import dataclasses

    from hilbench import roles

    for value in vars(roles).values():
        if dataclasses.is_dataclass(value):
            for field in dataclasses.fields(value):
                assert "kw" not in field.name.lower(), f"{value.__name__}.{field.name}"
    for protocol in ROLE_PROTOCOLS.values():
        assert all("kw" not in method for method in protocol_methods(protocol))


def test_hil_fixtures_follow_the_role_table():
    from hilbench import pytest_plugin as plugin

    for role in ROLE_PROTOCOLS:
        assert callable(getattr(plugin, f"hil_{role}"))


def test_the_package_imports_without_the_emulator():
    """A real bench's run never loads hilbench.emulation: import everything with it made unavailable."""
    code = textwrap.dedent(
        """
        import importlib.abc, sys

        class NoEmulation(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "hilbench.emulation" or name.startswith("hilbench.emulation."):
                    raise ImportError(f"{name} is unavailable in this test")
                return None

        sys.meta_path.insert(0, NoEmulation())
        import importlib, pkgutil, hilbench
        # the twin simulates the emulator's plant off-line: it is the emulator's, like the serving commands
        serving = ("hilbench.emulation", "hilbench.twin", "hilbench.cli.demo", "hilbench.cli.emulate_workers",
                   "hilbench.cli.__main__")
        for module in pkgutil.walk_packages(hilbench.__path__, "hilbench."):  # every module but the emulator's own
            if not module.name.startswith(serving):
                importlib.import_module(module.name)
        from importlib.metadata import entry_points
        for ep in entry_points(group="hilbench.drivers"):
            ep.load()
        loaded = sorted(m for m in sys.modules if m.startswith("hilbench.emulation"))
        assert not loaded, loaded
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# ----- the expected_protocol helper itself ---------------------------------------------------------
class Echo:
    role = "load"

    def __init__(self, transport) -> None:
        self.transport = transport


def test_expected_protocol_fails_on_a_wrong_command():
    with pytest.raises(AssertionError, match="expected 'LOAD ON', the driver sent 'LOAD 1'"):  # noqa: SIM117
        with expected_protocol(Echo, [("LOAD ON", None)]) as driver:
            driver.transport.write("LOAD 1")


def test_expected_protocol_fails_on_exchanges_left_over_and_unread_replies():
    with pytest.raises(AssertionError, match="1 expected exchange"):  # noqa: SIM117
        with expected_protocol(Echo, [("LOAD ON", None)]):
            pass
    with pytest.raises(AssertionError, match="never read"):  # noqa: SIM117
        with expected_protocol(Echo, [("X?", "1"), ("Y", None)]) as driver:
            driver.transport._inst.write("X?")
            driver.transport.write("Y")


def test_expected_protocol_fails_on_unread_serial_bytes():
    with pytest.raises(AssertionError, match="never read"):  # noqa: SIM117
        with expected_protocol(Echo, [(b"\x01", b"\x02\x03")], kind="serial") as driver:
            driver.transport.write(b"\x01")
            driver.transport.read(1)


def test_every_top_level_module_of_hilbench_is_in_a_layer():
    """The layers contract names packages, so a module added inside one is covered without editing a list; a new
    top-level module or package must be given its layer (pyproject.toml, docs/architecture.md)."""
    import pkgutil
    import tomllib

    import hilbench

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (layers,) = [c for c in contracts if c["type"] == "layers"]
    named = {name.strip() for layer in layers["layers"] for name in layer.replace(":", "|").split("|")}
    present = {module.name for module in pkgutil.iter_modules(hilbench.__path__)}
    assert present - named == set(), f"in no layer: {sorted(present - named)}"
    assert named - present == set(), f"layers name what does not exist: {sorted(named - present)}"
