"""The twin as a bench file: the template bench (its instruments, interlocks, limits) with the fitted container.

The file is an ordinary emulated bench file, so ``hilbench run PLAN --bench TWIN.yaml`` needs nothing new.  Its
``twin:`` section says where it came from (the run, its record's SHA-256) and where the estimates are listed;
its header comment lists every parameter with its status, so a reader sees at once what was measured and what
is the template's value.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import numpy as np
import yaml

from hilbench.emulation.plant import fundamental_current
from hilbench.spec.bench_file import _clean, load_bench
from hilbench.twin.fit import FitResult
from hilbench.twin.model import ContainerModel

#: plant fields of the bench file (the rest of the model's plant dict are PlantParams too)
PLANT_KEYS = ("voltage_v", "frequency_hz", "r_ohm", "x_ohm", "psu_kind", "psu_spectrum")


def template_model(template: dict) -> ContainerModel:
    """The container a template bench file describes: its first board group and its plant section."""
    plant = _clean(dict(template.get("plant") or {}))
    controller = plant.pop("controller", {}) or {}
    group = template["roles"]["boards"]["emulated"]["groups"][0]
    controller_role = template["roles"].get("controller") or {}
    return ContainerModel(
        register_map=str((controller_role.get("settings") or {}).get("map", "reference")),
        boards=int(group["count"]),
        profile=str(group["profile"]),
        board=dict(_clean(group.get("overrides") or {})),
        controller=dict(controller),
        plant=plant,
    )


def twin_bench(result: FitResult, template: dict) -> dict:
    """The template bench file with the fitted container in it."""
    bench = _clean(copy.deepcopy(template))
    model = result.model
    name = f"twin-{result.run.name}"
    bench["bench"] = name
    bench["description"] = f"digital twin fitted from run {result.run.name} (hilbench fit)"
    bench["emulated"] = True
    plant = {k: v for k, v in model.plant.items() if k in PLANT_KEYS}
    plant["controller"] = dict(model.controller)
    bench["plant"] = plant
    group = bench["roles"]["boards"]["emulated"]["groups"][0]
    group["count"] = model.boards
    group["profile"] = model.profile
    group["overrides"] = dict(model.board)
    for key in ("pool_difficulty",):  # the template's own DUT quirks are not the fitted container's
        group.pop(key, None)
    voltage = float(model.value("voltage_v"))
    frequency = float(model.value("frequency_hz"))
    template_voltage = float((template.get("plant") or {}).get("voltage_v", voltage))
    grid = bench["roles"].get("grid")
    if isinstance(grid, dict):
        grid.setdefault("settings", {}).update({"nominal_voltage_v": voltage, "nominal_frequency_hz": frequency})
        limits = grid.setdefault("limits", {})
        scale = voltage / template_voltage
        if "max_voltage_v" in limits:
            limits["max_voltage_v"] = round(float(limits["max_voltage_v"]) * max(scale, 1.0), 1)
    controller = bench["roles"].get("controller")
    if isinstance(controller, dict):
        rated_kw = max(model.rated_w() / 1000, float(model.value("setpoint_limit_kw")))
        controller.setdefault("limits", {})["max_power_kw"] = round(rated_kw, 3)
    _scale_voltage_permissives(bench, voltage / template_voltage)
    widened = _cover_full_load_voltage(bench, model)
    bench["twin"] = {
        "source_run": str(result.run),
        "records_sha256": _sha256(result.run / "measurements.jsonl"),
        "estimates": "see the fit report (fit.json) beside this file or in --report",
    }
    if widened:
        bench["twin"]["widened"] = widened
    return bench


def _cover_full_load_voltage(bench: dict, model: ContainerModel) -> list[str]:
    """A PCC-voltage permissive the measured container itself would violate at full load (a weak supply sags the
    PCC) would stop the twin before its first check: its low bound is lowered to 5 % under that voltage, and
    the file says so.  The template's permissive protects a lab, not the fitted container."""
    voltage = float(model.value("voltage_v"))
    r, x = float(model.value("r_ohm")), float(model.value("x_ohm"))
    pf = float((model.plant.get("psu_spectrum") or {}).get("displacement_pf", 0.995))
    drop = r * pf + x * float(np.sqrt(max(1 - pf * pf, 0.0)))
    per_phase = (model.rated_w() + float(model.value("aux_w"))) / 3
    lowest = voltage - float(fundamental_current(per_phase, voltage, pf, drop)) * drop
    widened = []
    for permissive in (bench.get("interlocks") or {}).get("permissives", []) or []:
        reading = permissive.get("reading") or {}
        if reading.get("quantity") == "voltage_v" and "min" in permissive and lowest < float(permissive["min"]):
            new_min = round(0.95 * lowest, 1)
            widened.append(f"{permissive.get('name', 'voltage permissive')}: min {permissive['min']} -> {new_min} V "
                           f"(the fitted container's PCC at full load: {lowest:.1f} V)")  # fmt: skip
            permissive["min"] = new_min
    return widened


def _scale_voltage_permissives(bench: dict, scale: float) -> None:
    """A PCC-voltage permissive of the template moves with the fitted supply voltage."""
    for permissive in (bench.get("interlocks") or {}).get("permissives", []) or []:
        reading = permissive.get("reading") or {}
        if reading.get("quantity") == "voltage_v" and abs(scale - 1.0) > 1e-3:
            for key in ("min", "max"):
                if key in permissive:
                    permissive[key] = round(float(permissive[key]) * scale, 1)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def write_twin(result: FitResult, template_path: Path, out: Path) -> Path:
    template = load_bench(template_path)
    bench = twin_bench(result, template)
    header = [
        f"# Digital twin of the container measured in {result.run}",
        f"# fitted by hilbench fit from {template_path.name} (instruments, interlocks, limits) in "
        f"{result.seconds:.1f} s; run it with: hilbench run PLAN --bench {out.name}",
        "# each parameter: value +- one standard deviation, how it was obtained, from which checks",
        *(f"#   {e.describe()}" for e in result.estimates.values()),
    ]
    text = "\n".join(header) + "\n" + yaml.safe_dump(_plain(bench), sort_keys=False, width=118)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


def _plain(value):
    """numpy scalars as Python numbers (YAML's safe dumper knows only those)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
