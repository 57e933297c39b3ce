"""``hilbench fit RUN_DIR [--out TWIN.yaml] [--template BENCH] [--report DIR] [--export-response FILE]``: a digital
twin of the container a stored run measured (hilbench.twin), written as an emulated bench file.

Prints every parameter with its status (fitted, measured, selected, declared, not excited, not fitted), each
response's misfit, and the wall time.  Exit 0 with a twin written; 2 for a run directory it cannot use.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from hilbench.report import charts
from hilbench.spec.bench_file import DEFAULT_BENCH, load_bench

if TYPE_CHECKING:  # the twin simulates the emulator's plant: imported when fitting, not to build the parser
    from hilbench.twin.fit import FitResult


def add_parser(sub) -> None:
    p = sub.add_parser("fit", help="fit a digital twin (an emulated bench file) from a stored run")
    p.add_argument("run_dir", type=Path, help="a run directory (measurements.jsonl and raw/) of any bench")
    p.add_argument("--out", type=Path, default=None, help="the twin's bench file (default: RUN_DIR.twin.yaml)")
    p.add_argument(
        "--template", type=Path, default=DEFAULT_BENCH,
        help="emulated bench whose instruments, interlocks and unfitted values the twin keeps (default: %(default)s)",
    )  # fmt: skip
    p.add_argument("--report", type=Path, default=None, help="fit report directory (default: RUN_DIR.fit/)")
    p.add_argument(
        "--export-response", type=Path, default=None, metavar="FILE",
        help="also write the twin's simulated response to each event of the run (.csv or .npz) for validate-model",
    )  # fmt: skip
    p.set_defaults(func=cmd_fit)


def cmd_fit(args: argparse.Namespace) -> int:
    from hilbench.twin.export import write_response_file
    from hilbench.twin.fit import FitError, fit_run
    from hilbench.twin.twin_file import template_model, write_twin

    run_dir = args.run_dir.resolve()
    template = load_bench(args.template)
    try:
        result = fit_run(run_dir, template_model(template), progress=lambda line: print(line, flush=True))
    except FitError as exc:
        print(f"hilbench: {exc}")
        return 2
    out = args.out or run_dir.with_name(run_dir.name + ".twin.yaml")
    report = args.report or run_dir.with_name(run_dir.name + ".fit")
    write_twin(result, args.template, out)
    write_fit_report(result, report)
    print()
    for estimate in result.estimates.values():
        print(f"  {estimate.describe()}")
    print()
    for check, misfit in result.residuals().items():
        print(f"  {check}: simulated vs measured power, r.m.s. misfit {misfit:.3g} % of rated")
    for note in result.notes:
        print(f"  note: {note}")
    if args.export_response is not None:
        path = write_response_file(result, args.export_response)
        print(f"twin's response to each event: {path}")
    print(f"twin: {out}  (hilbench run PLAN --bench {out})")
    print(f"fit report: {report}/fit.json; fitted in {result.seconds:.1f} s")
    return 0


def write_fit_report(result: FitResult, report: Path) -> None:
    """fit.json (every estimate, each response's misfit, the spectrum) and one chart per response."""
    report.mkdir(parents=True, exist_ok=True)
    spectrum = None
    if result.spectrum is not None:
        spectrum = {
            "psu_spectrum": result.spectrum.psu_spectrum,
            "r_ohm": result.spectrum.r_ohm,
            "x_ohm": result.spectrum.x_ohm,
            "impedance_relative_misfit": result.spectrum.impedance_residual,
            "captures": [
                {"source": c.source, "load_fraction": c.load_fraction, "power_w": c.power_w}
                for c in result.spectrum.captures
            ],
        }
    data = {
        "run": str(result.run),
        "seconds": round(result.seconds, 2),
        "estimates": [e.as_dict() for e in result.estimates.values()],
        "misfit_percent_of_rated": result.residuals(),
        "spectrum": spectrum,
        "notes": result.notes,
    }
    (report / "fit.json").write_text(json.dumps(data, indent=1, default=_plain) + "\n", encoding="utf-8")
    for r in result.responses:
        png = charts.overlay(
            f"{r.check}: measured and twin",
            [("measured", r.time, r.p_total), ("twin (simulated)", r.time, result.simulated[r.check])],
            quantity="total active power",
            unit="W",
        )
        (report / f"{r.check}.png").write_bytes(png)


def _plain(value):
    """numpy scalars and arrays in JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
