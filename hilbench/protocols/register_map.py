"""Modbus register maps as data: one file describes a controller; the driver and the emulator both read it.

Fields: ``address``; optional ``scale`` (engineering value = raw x scale), ``type``
(``uint16`` default, ``uint32`` two registers high word first, ``int16``), ``enum``
(name -> raw value).  Unknown names and out-of-range values are errors, never clipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from hilbench.core.errors import HilbenchError

REFERENCE_MAP = "reference_controller.yaml"


class RegisterMapError(HilbenchError, ValueError):
    """A map file or a value that does not fit it."""


@dataclass(frozen=True)
class Field:
    name: str
    table: str  # "holding" or "input"
    address: int
    scale: float = 1.0
    type: str = "uint16"
    enum: dict[str, int] = field(default_factory=dict)
    unit: str = ""

    @property
    def count(self) -> int:
        return 2 if self.type == "uint32" else 1

    def encode(self, value) -> list[int]:
        if self.enum:
            if isinstance(value, str):
                if value not in self.enum:
                    raise RegisterMapError(f"{self.name}: {value!r} is not one of {', '.join(self.enum)}")
                raw = self.enum[value]
            else:
                raw = int(value)
                if raw not in self.enum.values():
                    raise RegisterMapError(f"{self.name}: {raw} is not one of {sorted(self.enum.values())}")
        else:
            raw = round(float(value) / self.scale)
        limits = {"uint16": (0, 0xFFFF), "int16": (-0x8000, 0x7FFF), "uint32": (0, 0xFFFFFFFF)}[self.type]
        if not limits[0] <= raw <= limits[1]:
            raise RegisterMapError(f"{self.name}: {value} does not fit a {self.type} register (x{self.scale})")
        if self.type == "uint32":
            return [raw >> 16 & 0xFFFF, raw & 0xFFFF]
        return [raw & 0xFFFF]

    def decode(self, registers: list[int]):
        if self.type == "uint32":
            raw = registers[0] << 16 | registers[1]
        elif self.type == "int16":
            raw = registers[0] - 0x10000 if registers[0] & 0x8000 else registers[0]
        else:
            raw = registers[0]
        if self.enum:
            for name, value in self.enum.items():
                if value == raw:
                    return name
            return raw
        return raw * self.scale if self.scale != 1.0 else raw


@dataclass(frozen=True)
class RegisterMap:
    name: str
    unit: int
    fields: dict[str, Field]
    source: str

    @classmethod
    def load(cls, path: str | Path | None = None) -> RegisterMap:
        if path is None or str(path) == "reference":
            text = resources.files("hilbench").joinpath("data", "maps", REFERENCE_MAP).read_text(encoding="utf-8")
            source = f"hilbench/data/maps/{REFERENCE_MAP}"
        else:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except OSError as exc:
                raise RegisterMapError(f"{path}: cannot read register map: {exc.strerror}") from None
            source = str(path)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RegisterMapError(f"{source}: not valid YAML: {exc}") from None
        fields: dict[str, Field] = {}
        for table in ("holding", "input"):
            for name, spec in (data.get(table) or {}).items():
                try:
                    fields[name] = Field(
                        name,
                        table,
                        int(spec["address"]),
                        float(spec.get("scale", 1.0)),
                        spec.get("type", "uint16"),
                        dict(spec.get("enum", {})),
                        spec.get("unit", ""),
                    )
                except (KeyError, TypeError, ValueError) as exc:
                    raise RegisterMapError(f"{source}: {table}.{name}: {exc}") from None
        return cls(data.get("name", source), int(data.get("unit", 1)), fields, source)

    def field(self, name: str) -> Field:
        try:
            return self.fields[name]
        except KeyError:
            raise RegisterMapError(f"{self.source}: no field {name!r}; known: {', '.join(self.fields)}") from None

    def span(self, table: str) -> tuple[int, int]:
        """(first address, count) covering every field of a table."""
        items = [f for f in self.fields.values() if f.table == table]
        first = min(f.address for f in items)
        return first, max(f.address + f.count for f in items) - first
