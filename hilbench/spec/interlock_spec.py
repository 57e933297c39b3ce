"""Bench-file interlocks as data: the permissives a run needs before it may energise anything, and keeps
needing while it lives (a cell door switch or a breaker's auxiliary contact read over Modbus, a PCC
voltage read by the analyser or the meter that must stay within range).

Parsed with the bench file (``interlocks:`` section); watched by hilbench.bench.interlocks.  A leaf: errors
are raised as the caller's error class so they name the bench file and line.

    interlocks:
      period_s: 0.2                      # every permissive is read this often while the run lives
      permissives:
        - name: cell door closed
          modbus: {address: tcp://192.0.2.10:502, unit: 1, discrete_input: 0}
          permits: 1                     # the value that allows energising
        - name: PCC voltage within range
          reading: {role: meter, quantity: voltage_v}
          min: 207.0
          max: 253.0
"""

from __future__ import annotations

from dataclasses import dataclass

#: Modbus tables a contact can be read from (function codes 02, 01, 03; Modbus Application Protocol V1.1b3, 6.1-6.3)
CONTACT_TABLES = ("discrete_input", "coil", "holding_register")
#: reading quantities per role (fields of the role's reading in hilbench.core.roles; per-phase tuples are judged per
#: phase).
#: Only roles whose read() is a stateless query: the power analyser's read() waits on its update event register,
#: which every connection shares (WT5000: :STATus:EESR?), so a second reader would delay the run's own readings.
QUANTITIES = {
    "meter": ("voltage_v", "current_a", "power_total_w", "frequency_hz"),
    "grid": ("voltage_v", "frequency_hz", "power_w"),
}
DEFAULT_PERIOD_S = 0.2


@dataclass(frozen=True)
class ModbusContact:
    address: str  # tcp://host:port, or "auto" on an emulated bench (served by the emulated interlock panel)
    unit: int
    table: str
    register: int
    permits: int


@dataclass(frozen=True)
class ReadingRange:
    role: str
    quantity: str
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Permissive:
    name: str
    source: ModbusContact | ReadingRange
    where: str  # bench file:line
    hold_s: float = 0.0  # a time-delayed relay: lost for this long before it trips (0: at once); never at start-up

    def describe(self) -> str:
        src = self.source
        if isinstance(src, ModbusContact):
            return f"{src.table.replace('_', ' ')} {src.register} of unit {src.unit} at {src.address} = {src.permits}"
        bounds = " and ".join(
            text for text in (f">= {src.low:g}" if src.low is not None else "", f"<= {src.high:g}"
                              if src.high is not None else "") if text
        )  # fmt: skip
        return f"{src.role} {src.quantity} {bounds}"


@dataclass(frozen=True)
class Interlocks:
    period_s: float
    permissives: tuple[Permissive, ...]


def _number(value, where: str, what: str, error: type[Exception]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(f"{where}: {what} must be a number, got {value!r}")
    return float(value)


def parse_interlocks(raw, path: str, line_of, error: type[Exception]) -> Interlocks | None:
    """The ``interlocks:`` section of a bench file; ``line_of(mapping, key)`` gives ':line' for messages."""
    if raw is None:
        return None
    where = f"{path}"
    if not isinstance(raw, dict):
        raise error(f"{where}: interlocks must be a mapping with 'permissives' (a list)")
    lines = raw.get("__lines__", {})
    period = _number(raw.get("period_s", DEFAULT_PERIOD_S), f"{path}{line_of(lines, 'period_s')}",
                     "interlocks.period_s", error)  # fmt: skip
    if not 0.01 <= period <= 10:
        raise error(f"{path}{line_of(lines, 'period_s')}: interlocks.period_s {period:g} s is outside 0.01..10 s")
    items = raw.get("permissives")
    if not isinstance(items, list) or not items:
        raise error(f"{path}{line_of(lines, 'permissives')}: interlocks.permissives must be a non-empty list")
    permissives = []
    for index, item in enumerate(items):
        here = f"{path}{line_of(item.get('__lines__', {}), 'name') if isinstance(item, dict) else ''}"
        label = f"interlocks.permissives[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise error(f"{here}: {label} must be a mapping with a 'name'")
        if ("modbus" in item) == ("reading" in item):
            raise error(f"{here}: {label} ({item['name']}) needs exactly one of 'modbus' or 'reading'")
        if "modbus" in item:
            source = _contact(item, here, label, error)
        else:
            source = _range(item, here, label, error)
        hold = _number(item.get("hold_s", 0.0), here, f"{label}.hold_s", error)
        if not 0 <= hold <= 60:
            raise error(f"{here}: {label}.hold_s {hold:g} s is outside 0..60 s")
        permissives.append(Permissive(item["name"], source, here, hold))
    names = [p.name for p in permissives]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise error(f"{path}: interlocks.permissives: duplicate names {', '.join(duplicates)}")
    return Interlocks(period, tuple(permissives))


def _contact(item: dict, where: str, label: str, error: type[Exception]) -> ModbusContact:
    spec = item["modbus"]
    if not isinstance(spec, dict):
        raise error(
            f"{where}: {label}.modbus must be a mapping (address, unit, and one of {', '.join(CONTACT_TABLES)})"
        )
    tables = [t for t in CONTACT_TABLES if t in spec]
    if len(tables) != 1:
        raise error(f"{where}: {label}.modbus needs exactly one of {', '.join(CONTACT_TABLES)} (the register number)")
    address = spec.get("address", "auto")
    if not isinstance(address, str) or not (address == "auto" or address.startswith(("tcp://", "rtu://"))):
        raise error(f"{where}: {label}.modbus.address {address!r} must be tcp://host:port or rtu:///dev/...")
    register, unit, permits = spec[tables[0]], spec.get("unit", 1), item.get("permits", 1)
    for what, value, top in (("register", register, 65535), ("unit", unit, 247), ("permits", permits, 65535)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            raise error(f"{where}: {label} {what} {value!r} must be an integer 0..{top}")
    return ModbusContact(address, unit, tables[0], register, permits)


def _range(item: dict, where: str, label: str, error: type[Exception]) -> ReadingRange:
    spec = item["reading"]
    if isinstance(spec, dict) and spec.get("role") == "analyser":
        raise error(
            f"{where}: {label}.reading.role analyser: a second reader would share the analyser's update event register "
            "with the run's own readings and delay them; read the PCC from the meter (or the grid source) instead"
        )
    if not isinstance(spec, dict) or spec.get("role") not in QUANTITIES:
        raise error(f"{where}: {label}.reading.role must be one of {', '.join(QUANTITIES)}")
    role, quantity = spec["role"], spec.get("quantity")
    if quantity not in QUANTITIES[role]:
        raise error(f"{where}: {label}.reading.quantity {quantity!r}: the {role} gives {', '.join(QUANTITIES[role])}")
    low = _number(item["min"], where, f"{label}.min", error) if "min" in item else None
    high = _number(item["max"], where, f"{label}.max", error) if "max" in item else None
    if low is None and high is None:
        raise error(f"{where}: {label} needs 'min', 'max' or both")
    if low is not None and high is not None and low > high:
        raise error(f"{where}: {label}: min {low:g} is above max {high:g}")
    return ReadingRange(role, quantity, low, high)


def interlocks_as_data(interlocks: Interlocks) -> dict:
    """The section as a bench file writes it (for ``hilbench emulate --export-bench``)."""
    items = []
    for p in interlocks.permissives:
        src = p.source
        if isinstance(src, ModbusContact):
            items.append({"name": p.name, "modbus": {"address": src.address, "unit": src.unit, src.table: src.register},
                          "permits": src.permits})  # fmt: skip
        else:
            bounds = {k: v for k, v in (("min", src.low), ("max", src.high)) if v is not None}
            items.append({"name": p.name, "reading": {"role": src.role, "quantity": src.quantity}, **bounds})
        if p.hold_s:
            items[-1]["hold_s"] = p.hold_s
    return {"period_s": interlocks.period_s, "permissives": items}
