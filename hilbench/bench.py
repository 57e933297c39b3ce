"""Bench files (``instruments/*.yaml``): which instruments play which role, on which address.

This issue only needs the ``boards`` role's emulated section; the full role/driver/limits/
calibration schema comes with the instruments issue.  Errors name the file, line and field.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import yaml

from hilbench.emulation.site import BoardGroup, SiteConfig, SiteConfigError

DEFAULT_BENCH = Path(__file__).resolve().parent.parent / "instruments" / "emulated.yaml"


class BenchFileError(ValueError):
    """A bench file that cannot be used; the message names file, line and field."""


def _line(node_map: dict, key: str) -> str:
    mark = node_map.get(key)
    return f":{mark.line + 1}" if mark is not None else ""


class _LineLoader(yaml.SafeLoader):
    """Keeps the line of every mapping key so errors can point at it."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__lines__"] = {k.value: k.start_mark for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_bench(path: str | Path) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BenchFileError(f"{path}: cannot read bench file: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise BenchFileError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise BenchFileError(f"{path}: a bench file is a mapping with a 'roles' key")
    data["__path__"] = str(path)
    return data


def emulated_site_config(bench: dict, *, boards: int | None = None) -> SiteConfig:
    """The emulated boards a bench file describes; ``boards`` overrides the first group's count."""
    path = bench.get("__path__", "<bench>")
    roles = bench.get("roles")
    if not isinstance(roles, dict) or not isinstance(roles.get("boards"), dict):
        raise BenchFileError(f"{path}{_line(bench.get('__lines__', {}), 'roles')}: missing 'roles.boards'")
    role = roles["boards"]
    emulated = role.get("emulated")
    groups_raw = emulated.get("groups") if isinstance(emulated, dict) else None
    if not isinstance(groups_raw, list) or not groups_raw:
        raise BenchFileError(
            f"{path}{_line(role.get('__lines__', {}), 'emulated')}: "
            "roles.boards.emulated.groups must be a non-empty list"
        )
    known = {f.name for f in fields(BoardGroup)}
    groups = []
    for index, raw in enumerate(groups_raw):
        where = f"roles.boards.emulated.groups[{index}]"
        if not isinstance(raw, dict):
            raise BenchFileError(f"{path}: {where} must be a mapping")
        lines = raw.pop("__lines__", {})
        unknown = set(raw) - known
        if unknown:
            key = sorted(unknown)[0]
            raise BenchFileError(
                f"{path}{_line(lines, key)}: {where}.{key}: unknown field; known: {', '.join(sorted(known))}"
            )
        if boards is not None and index == 0:
            raw = {**raw, "count": boards}
        try:
            groups.append(BoardGroup(**raw))
        except TypeError as exc:
            raise BenchFileError(f"{path}{_line(lines, 'name')}: {where}: {exc}") from None
        except SiteConfigError as exc:
            raise BenchFileError(f"{path}{_line(lines, 'name')}: {where}: {exc}") from None
    return SiteConfig(tuple(groups))
