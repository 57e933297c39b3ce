"""Test plans (``test_plans/*.yaml``): what a container promises, as data, validated on load.

    plan: mw2mh_100kw
    dut: {rated_kw: 97.5, boards: 30, voltage_v: 400, frequency_hz: 50, isc_ka: 5, contract_kw: 100}
    checks:
      - id: emergency-stop
        type: shutdown
        params: {mode: emergency}
        limits: {emergency_time_s: {max: 2.0}}

Every error names the file, the line and the field.  Parameters not given take the check's
defaults; a limit may only name a measurement the check produces.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hilbench.core.errors import HilbenchError
from hilbench.core.measurement import Limits
from hilbench.plans.checks import REGISTRY, Dut
from hilbench.plans.trajectory import TrajectoryError, load_recording
from hilbench.spec.bench_file import _clean, _construct_mapping, _line, _LineLoader

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
#: plant seconds per wall second on an emulated bench when neither the plan nor --time-scale says otherwise: at x50 a
#: 16 ms stall of a loaded CI machine is 0.8 s of plant time, beyond the ramp check's resolution (docs/scaling.md)
DEFAULT_TIME_SCALE = 20.0

TOP_KEYS = {"plan", "title", "version", "description", "dut", "checks", "ci_time_scale", "same_bench"}
DUT_REQUIRED = ("rated_kw", "boards", "voltage_v", "frequency_hz")
DUT_OPTIONAL = {"name": "", "isc_ka": 10.0, "contract_kw": None, "serials": []}


class PlanError(HilbenchError, ValueError):
    """A plan that cannot run; the message names file, line and field."""


@dataclass(frozen=True)
class PlanCheck:
    id: str
    type: str
    params: dict
    limits: dict[str, Limits]
    where: str
    line: int
    description: str = ""
    #: The finest time step the check's figures claim (s); None: what its check type declares.  On an emulated
    #: bench a lag longer than this makes the figures errors (hilbench.plans.timekeeping).
    resolution_s: float | None = None


@dataclass(frozen=True)
class Plan:
    name: str
    title: str
    path: str
    dut: Dut
    checks: list[PlanCheck] = field(default_factory=list)
    ci_time_scale: float = DEFAULT_TIME_SCALE
    same_bench: bool = False  # parallel runs (-n): every check of the plan on one worker's bench, in order
    version: str = ""  # the plan's own version label, if it gives one
    sha256: str = ""  # of the plan file's bytes: which plan a certificate states, whatever its label says


def missing_roles(checks: list[PlanCheck], roles: set[str] | dict, bench_path: str) -> str | None:
    """Why these checks cannot run on a bench with these roles (None: they can): each missing role with the checks
    that need it, said before anything is opened, let alone energised."""
    needed: dict[str, list[str]] = {}
    for item in checks:
        for role in REGISTRY[item.type].roles:
            if role not in roles:
                needed.setdefault(role, []).append(item.id)
    if not needed:
        return None
    parts = [f"role {role!r} (needed by {', '.join(ids)})" for role, ids in needed.items()]
    return (
        f"{bench_path}: the bench has no {'; no '.join(parts)}; it has {', '.join(sorted(roles)) or 'no roles'}. "
        "Nothing was energised: add the role to the bench file, or leave those checks out (-k)"
    )


_PlanLoader = type("_PlanLoader", (_LineLoader,), {})
_PlanLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


#: parameters that are durations, rates, frequencies or shares: a negative value is a typo, never a setting
NON_NEGATIVE_SUFFIXES = ("_s", "_percent", "_kw_s", "_hz", "_kw")


def load_plan(path: str | Path) -> Plan:
    path = Path(path)
    try:
        content = path.read_bytes()
        data = yaml.load(content.decode("utf-8"), Loader=_PlanLoader)
    except OSError as exc:
        raise PlanError(f"{path}: cannot read plan: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise PlanError(f"{path}: not UTF-8 text (byte {exc.start}): a plan is a YAML text file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PlanError(
            f"{path}{f':{mark.line + 1}' if mark else ''}: not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from None
    except ValueError as exc:  # a scalar YAML itself cannot build, e.g. the date 2030-13-01
        raise PlanError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PlanError(f"{path}: a plan is a mapping with 'dut' and 'checks'")
    lines = data.get("__lines__", {})
    unknown = set(data) - TOP_KEYS - {"__lines__"}
    if unknown:
        key = sorted(unknown)[0]
        raise PlanError(
            f"{path}{_line(lines, key)}: {key}: unknown top-level field; known: {', '.join(sorted(TOP_KEYS))}"
        )
    dut = _dut(path, data.get("dut"), lines)
    raw_checks = data.get("checks")
    if not isinstance(raw_checks, list) or not raw_checks:
        raise PlanError(f"{path}{_line(lines, 'checks')}: checks must be a non-empty list")
    checks, seen = [], set()
    for index, raw in enumerate(raw_checks):
        checks.append(_check(path, index, raw, seen))
    return Plan(
        str(data.get("plan", path.stem)),
        str(data.get("title", "")),
        str(path),
        dut,
        checks,
        float(data.get("ci_time_scale", DEFAULT_TIME_SCALE)),
        _same_bench(path, data, lines),
        str(data.get("version", "")),
        hashlib.sha256(content).hexdigest(),
    )


def _recording(path: Path, value, where: str, check_id: str) -> str:
    """A recorded disturbance named by a plan, relative to the plan's folder, read and checked before anything runs."""
    if not isinstance(value, str) or not value:
        raise PlanError(f"{where}: {check_id}.params.recording must be a file name (CSV or NPY), got {value!r}")
    file = (path.parent / value).resolve()
    try:
        load_recording(file)
    except TrajectoryError as exc:
        raise PlanError(f"{where}: {check_id}.params.recording: {exc}") from None
    return str(file)


def _same_bench(path: Path, data: dict, lines) -> bool:
    value = data.get("same_bench", False)
    if not isinstance(value, bool):
        raise PlanError(f"{path}{_line(lines, 'same_bench')}: same_bench must be true or false, got {value!r}")
    return value


def _dut(path: Path, raw, lines) -> Dut:
    if not isinstance(raw, dict):
        raise PlanError(f"{path}{_line(lines, 'dut')}: dut must be a mapping with {', '.join(DUT_REQUIRED)}")
    dut_lines = raw.get("__lines__", {})
    values = {}
    for key in DUT_REQUIRED:
        if key not in raw:
            raise PlanError(f"{path}{_line(lines, 'dut')}: dut.{key} is required")
        if not isinstance(raw[key], (int, float)) or raw[key] <= 0:
            raise PlanError(f"{path}{_line(dut_lines, key)}: dut.{key} must be a positive number, got {raw[key]!r}")
        values[key] = float(raw[key])
    if values["boards"] != int(values["boards"]):
        raise PlanError(f"{path}{_line(dut_lines, 'boards')}: dut.boards must be a whole number, got {raw['boards']!r}")
    unknown = set(raw) - set(DUT_REQUIRED) - set(DUT_OPTIONAL) - {"__lines__"}
    if unknown:
        key = sorted(unknown)[0]
        raise PlanError(f"{path}{_line(dut_lines, key)}: dut.{key}: unknown field")
    return Dut(
        str(raw.get("name", "")),
        values["rated_kw"],
        int(values["boards"]),
        values["voltage_v"],
        values["frequency_hz"],
        float(raw.get("isc_ka", 10.0)),
        float(raw.get("contract_kw") or values["rated_kw"]),
        tuple(_clean(raw.get("serials", []))),
    )


def _check(path: Path, index: int, raw, seen: set) -> PlanCheck:
    where = f"checks[{index}]"
    if not isinstance(raw, dict):
        raise PlanError(f"{path}: {where} must be a mapping with id, type, params, limits")
    lines = raw.get("__lines__", {})
    line = next(iter(lines.values())).line + 1 if lines else 0
    check_id = raw.get("id")
    if not isinstance(check_id, str) or not ID_PATTERN.match(check_id):
        raise PlanError(f"{path}{_line(lines, 'id')}: {where}.id must match {ID_PATTERN.pattern}, got {check_id!r}")
    if check_id in seen:
        raise PlanError(f"{path}{_line(lines, 'id')}: {where}.id {check_id!r} is used twice")
    seen.add(check_id)
    kind = raw.get("type")
    if kind not in REGISTRY:
        raise PlanError(
            f"{path}{_line(lines, 'type')}: {check_id}.type {kind!r} is not a check; known: "
            f"{', '.join(sorted(REGISTRY))}"
        )
    spec = REGISTRY[kind]
    unknown = set(raw) - {"id", "type", "params", "limits", "description", "resolution_s", "__lines__"}
    if unknown:
        key = sorted(unknown)[0]
        raise PlanError(f"{path}{_line(lines, key)}: {check_id}.{key}: unknown field")
    params_raw = raw.get("params") or {}
    if not isinstance(params_raw, dict):
        raise PlanError(f"{path}{_line(lines, 'params')}: {check_id}.params must be a mapping")
    param_lines = params_raw.get("__lines__", {})
    params = dict(spec.params)
    for key, value in _clean(params_raw).items():
        if key not in spec.params:
            raise PlanError(
                f"{path}{_line(param_lines, key)}: {check_id}.params.{key}: not a parameter of {kind}; "
                f"known: {', '.join(sorted(spec.params))}"
            )
        default = spec.params[key]
        numeric_default = isinstance(default, (int, float)) and not isinstance(default, bool)
        if numeric_default and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise PlanError(f"{path}{_line(param_lines, key)}: {check_id}.params.{key} must be a number, got {value!r}")
        if numeric_default and key.endswith(NON_NEGATIVE_SUFFIXES) and value < 0:
            raise PlanError(
                f"{path}{_line(param_lines, key)}: {check_id}.params.{key} must not be negative, got {value}"
            )
        params[key] = value
    if params.get("recording") is not None:
        where = f"{path}{_line(param_lines, 'recording')}"
        params["recording"] = _recording(path, params["recording"], where, check_id)
    limits_raw = raw.get("limits") or {}
    if not isinstance(limits_raw, dict):
        raise PlanError(f"{path}{_line(lines, 'limits')}: {check_id}.limits must be a mapping")
    limit_lines = limits_raw.get("__lines__", {})
    limits = {}
    for name, value in limits_raw.items():
        if name == "__lines__":
            continue
        field_where = f"{path}{_line(limit_lines, name)}: {check_id}.limits.{name}"
        if name not in spec.measurements:
            raise PlanError(f"{field_where}: {kind} measures {', '.join(sorted(spec.measurements))}")
        if not isinstance(value, dict):
            raise PlanError(f"{field_where}: a limit is a mapping like {{max: 2.0}}")
        try:
            limit = Limits.from_plan(_clean(value), field_where)
        except ValueError as exc:
            raise PlanError(str(exc)) from None
        if not limit.unit:
            limit = Limits(
                limit.low,
                limit.high,
                limit.low_inclusive,
                limit.high_inclusive,
                limit.marginal,
                spec.measurements[name],
            )
        limits[name] = limit
    if not limits:
        raise PlanError(f"{path}{_line(lines, 'limits')}: {check_id} declares no limits: nothing could fail")
    resolution = raw.get("resolution_s")
    if resolution is not None and (
        isinstance(resolution, bool) or not isinstance(resolution, int | float) or not 0 < resolution < math.inf
    ):
        raise PlanError(
            f"{path}{_line(lines, 'resolution_s')}: {check_id}.resolution_s must be a number of seconds above 0, "
            f"got {resolution!r}"
        )
    return PlanCheck(
        check_id,
        kind,
        params,
        limits,
        f"{path}:{line}",
        line,
        str(raw.get("description", "")),
        None if resolution is None else float(resolution),
    )
