"""Bench files (``instruments/*.yaml``): which instruments play which role, on which address.

A bench file is data only (labgrid's resources): per role a driver name (an entry point of
the ``hilbench.drivers`` group), an address, limits that setpoints are checked against
before anything is sent, and a calibration record.  An emulated bench (``emulated: true``)
also describes the plant behind the emulators, and its addresses are filled in when the
emulators start.  Errors name the file, line and field.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from hilbench.core.errors import HilbenchError
from hilbench.core.roles import ROLE_PROTOCOLS
from hilbench.spec.fault_spec import FaultSpec, FaultSpecError, parse_faults
from hilbench.spec.interlock_spec import Interlocks, parse_interlocks
from hilbench.spec.role_spec import Calibration, RoleSpec

DEFAULT_BENCH = Path(__file__).resolve().parents[2] / "instruments" / "emulated.yaml"


class BenchFileError(HilbenchError, ValueError):
    """A bench file that cannot be used; the message names file, line and field."""


def _line(node_map: dict, key: str) -> str:
    mark = node_map.get(key)
    return f":{mark.line + 1}" if mark is not None else ""


class _LineLoader(yaml.SafeLoader):
    """Keeps the line of every mapping key so errors can point at it."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    seen: dict = {}
    for key_node, _ in node.value:  # YAML keeps the last of two equal keys; in a plan that hides a typo
        if isinstance(key_node, yaml.ScalarNode):
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key_node.value!r} appears twice (first on line {seen[key_node.value]})",
                    key_node.start_mark,
                )  # fmt: skip
            seen[key_node.value] = key_node.start_mark.line + 1
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__lines__"] = {k.value: k.start_mark for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# YAML 1.2 reads 1e9 as a number; PyYAML (YAML 1.1) reads it as text, which a user would never guess
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789")
)


def load_bench(path: str | Path) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BenchFileError(f"{path}: cannot read bench file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise BenchFileError(f"{path}: not UTF-8 text (byte {exc.start}): a bench file is a YAML text file") from None
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise BenchFileError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    except ValueError as exc:  # a scalar YAML itself cannot build, e.g. the date 2030-13-01
        raise BenchFileError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise BenchFileError(f"{path}: a bench file is a mapping with a 'roles' key")
    data["__path__"] = str(path)
    return data


@dataclass(frozen=True)
class Bench:
    name: str
    path: str
    emulated: bool
    roles: dict[str, RoleSpec]
    plant: dict
    raw: dict
    interlocks: Interlocks | None = None  # permissives watched before and while anything is energised
    faults: tuple[FaultSpec, ...] = ()  # to inject (emulated benches only)

    def role(self, name: str) -> RoleSpec:
        try:
            return self.roles[name]
        except KeyError:
            raise BenchFileError(
                f"{self.path}: the bench has no {name!r} role; roles: {', '.join(self.roles)}"
            ) from None


#: setting names that end in a unit are numbers (nominal_voltage_v, update_rate_s, watchdog_s, ...)
_UNIT_SUFFIXES = ("_v", "_a", "_w", "_kw", "_hz", "_s", "_ms", "_kw_s", "_w_s", "_percent")


def _check_numbers(spec: dict, name: str, where: str) -> None:
    """Every limit is a number, and so is every setting whose name ends in a unit: '265 V' is refused here, with
    the file and line, rather than by the driver after the run has started."""
    numeric = [("limits", k, v) for k, v in (spec.get("limits") or {}).items() if k != "__lines__"]
    numeric += [("settings", k, v) for k, v in (spec.get("settings") or {}).items() if str(k).endswith(_UNIT_SUFFIXES)]
    for section, key, value in numeric:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BenchFileError(f"{where}: roles.{name}.{section}.{key} must be a number (no unit), got {value!r}")


_VISA_PREFIXES = ("TCPIP", "GPIB", "USB", "ASRL", "VXI", "PXI")


def address_problem(address: str) -> str | None:
    """What is wrong with an address in one of the forms hilbench's transports take, or None.  Forms it does not
    know (a third-party driver's) pass; their driver judges them when it opens."""
    if address.startswith("tcp://"):
        host, sep, port = address[len("tcp://") :].rpartition(":")
        if not (sep and host and port.isdigit() and 0 < int(port) < 65536):
            return "expected tcp://host:port with a port 1-65535"
    elif address.startswith("rtu://"):
        if not address[len("rtu://") :]:
            return "expected rtu:// and the serial device, e.g. rtu:///dev/ttyUSB0"
    elif address.upper().startswith(_VISA_PREFIXES):
        parts = address.split("::")
        if parts[-1].upper() not in ("INSTR", "SOCKET"):
            return "a VISA resource ends in ::INSTR or ::SOCKET"
        if parts[-1].upper() == "SOCKET" and not (len(parts) == 4 and parts[2].isdigit() and 0 < int(parts[2]) < 65536):
            return "expected TCPIP::host::port::SOCKET with a port 1-65535"
    elif address[:1].isdigit():  # IPv4 addresses, lists and ranges (the boards)
        for part in (p.strip() for p in address.split(",") if p.strip()):
            try:
                ends = [ipaddress.IPv4Address(x.strip()) for x in part.split("-", 1)]
            except ValueError as exc:
                return f"not an IPv4 address, list or range: {exc}"
            if len(ends) == 2 and ends[1] < ends[0]:
                return f"the range {part} runs backwards"
    return None


def _clean(value):
    """Drop the line bookkeeping from a parsed mapping (recursively)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in ("__lines__", "__path__")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def parse_bench(data: dict, *, force_emulated: bool = False) -> Bench:
    path = data.get("__path__", "<bench>")
    lines = data.get("__lines__", {})
    roles_raw = data.get("roles")
    if not isinstance(roles_raw, dict) or not roles_raw:
        raise BenchFileError(f"{path}{_line(lines, 'roles')}: 'roles' must be a mapping of role -> instrument")
    if not isinstance(data.get("emulated", False), bool):
        raise BenchFileError(f"{path}{_line(lines, 'emulated')}: 'emulated' must be true or false")
    emulated = force_emulated or bool(data.get("emulated", False))
    role_lines = roles_raw.get("__lines__", {})
    roles = {}
    for name, spec in roles_raw.items():
        if name == "__lines__":
            continue
        where = f"{path}{_line(role_lines, name)}"
        if name not in ROLE_PROTOCOLS:
            raise BenchFileError(f"{where}: roles.{name}: unknown role; roles: {', '.join(ROLE_PROTOCOLS)}")
        if not isinstance(spec, dict):
            raise BenchFileError(f"{where}: roles.{name} must be a mapping with at least 'driver'")
        if not isinstance(spec.get("driver"), str):
            raise BenchFileError(f"{where}: roles.{name}.driver is missing (the instrument model's driver name)")
        address = spec.get("address", "auto")
        if not isinstance(address, str):
            raise BenchFileError(
                f"{where}: roles.{name}.address must be text (e.g. TCPIP::host::INSTR), got {address!r}"
            )
        if not emulated and (address == "auto" or not isinstance(address, str)) and name not in ("boards",):
            raise BenchFileError(f"{where}: roles.{name}.address is required on a real bench")
        problem = address_problem(address) if isinstance(address, str) and address != "auto" else None
        if problem is not None:
            raise BenchFileError(f"{where}: roles.{name}.address {address!r}: {problem}")
        calibration = None
        cal = spec.get("calibration")
        if cal is not None:
            if not isinstance(cal, dict):
                raise BenchFileError(f"{where}: roles.{name}.calibration must be a mapping")
            due = cal.get("due")
            if isinstance(due, str):
                try:
                    due = dt.date.fromisoformat(due)
                except ValueError:
                    raise BenchFileError(f"{where}: roles.{name}.calibration.due {due!r} is not YYYY-MM-DD") from None
            if due is not None and not isinstance(due, dt.date):
                raise BenchFileError(f"{where}: roles.{name}.calibration.due must be a date (YYYY-MM-DD)")
            calibration = Calibration(str(cal.get("serial", "")), str(cal.get("certificate", "")), due)
        for key in ("limits", "settings"):
            if key in spec and not isinstance(spec[key], dict):
                raise BenchFileError(f"{where}: roles.{name}.{key} must be a mapping")
        _check_numbers(spec, name, where)
        roles[name] = RoleSpec(
            name,
            spec["driver"],
            str(address),
            _clean(spec.get("limits", {})),
            _clean(spec.get("settings", {})),
            calibration,
            where,
        )
    plant = data.get("plant", {})
    if emulated and not isinstance(plant, dict):
        raise BenchFileError(f"{path}{_line(lines, 'plant')}: 'plant' must be a mapping")
    try:
        faults = parse_faults(data.get("faults"), f"{path}{_line(lines, 'faults')}")
    except FaultSpecError as exc:
        raise BenchFileError(str(exc)) from None
    if faults and not emulated:
        raise BenchFileError(f"{path}{_line(lines, 'faults')}: faults are injected into emulated benches only")
    interlocks = parse_interlocks(data.get("interlocks"), path, _line, BenchFileError)
    for permissive in interlocks.permissives if interlocks else ():
        role = getattr(permissive.source, "role", None)
        if role is not None and role not in roles:
            raise BenchFileError(
                f"{permissive.where}: interlock {permissive.name!r} reads the {role}, which the bench lacks"
            )
        contact_address = getattr(permissive.source, "address", None)
        problem = address_problem(contact_address) if contact_address not in (None, "auto") else None
        if problem is not None:
            raise BenchFileError(f"{permissive.where}: interlock {permissive.name!r}: {problem}")
        if contact_address == "auto" and not emulated:
            raise BenchFileError(
                f"{permissive.where}: interlock {permissive.name!r}: modbus.address is required on a real bench"
            )
    name = str(data.get("bench", Path(path).stem))
    return Bench(name, path, emulated, roles, _clean(plant or {}), data, interlocks, faults)


def read_bench(path: str | Path) -> Bench:
    return parse_bench(load_bench(path))
