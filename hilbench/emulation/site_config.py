"""The emulated boards a bench file describes (``roles.<role>.emulated.groups``) as a SiteConfig.

Lives in emulation/ so that parsing a bench file (hilbench.spec.bench_file) never loads the emulator."""

from __future__ import annotations

from dataclasses import fields

from hilbench.emulation.site import BoardGroup, SiteConfig, SiteConfigError
from hilbench.spec.bench_file import BenchFileError, _clean, _line


def emulated_site_config(bench: dict, *, boards: int | None = None) -> SiteConfig:
    """The emulated boards of every role with ``emulated.groups``; ``boards`` overrides the first group's count."""
    path = bench.get("__path__", "<bench>")
    roles = bench.get("roles")
    if not isinstance(roles, dict) or not isinstance(roles.get("boards"), dict):
        raise BenchFileError(f"{path}{_line(bench.get('__lines__', {}), 'roles')}: missing 'roles.boards'")
    tagged = []
    for role_name, role in roles.items():
        if role_name == "__lines__" or not isinstance(role, dict) or "emulated" not in role:
            continue
        emulated = role.get("emulated")
        groups_raw = emulated.get("groups") if isinstance(emulated, dict) else None
        if not isinstance(groups_raw, list) or not groups_raw:
            raise BenchFileError(
                f"{path}{_line(role.get('__lines__', {}), 'emulated')}: "
                f"roles.{role_name}.emulated.groups must be a non-empty list"
            )
        tagged.extend((role_name, index, raw) for index, raw in enumerate(groups_raw))
    if not tagged:
        raise BenchFileError(f"{path}: roles.boards.emulated.groups must be a non-empty list")
    known = {f.name for f in fields(BoardGroup)} - {"role"}
    groups = []
    for role_name, index, raw in tagged:
        where = f"roles.{role_name}.emulated.groups[{index}]"
        if not isinstance(raw, dict):
            raise BenchFileError(f"{path}: {where} must be a mapping")
        lines = raw.get("__lines__", {})
        raw = {k: v for k, v in raw.items() if k != "__lines__"}
        unknown = set(raw) - known
        if unknown:
            key = sorted(unknown)[0]
            raise BenchFileError(
                f"{path}{_line(lines, key)}: {where}.{key}: unknown field; known: {', '.join(sorted(known))}"
            )
        if boards is not None and not groups:
            raw["count"] = boards
        raw["role"] = role_name
        if isinstance(raw.get("overrides"), dict):
            raw["overrides"] = _clean(raw["overrides"])
        try:
            groups.append(BoardGroup(**raw))
        except TypeError as exc:
            raise BenchFileError(f"{path}{_line(lines, 'name')}: {where}: {exc}") from None
        except SiteConfigError as exc:
            raise BenchFileError(f"{path}{_line(lines, 'name')}: {where}: {exc}") from None
    return SiteConfig(tuple(groups))
