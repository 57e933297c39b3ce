"""``hilbench validate-model RUN_DIR --model SIM.csv|.npz [--reference field_test|simulation] [--event CHECK]
[--report DIR]``: a vendor's simulated response judged against the measured events of a run by the IEC 61400-27-2
method (hilbench.plans.model_validation_run); a new run directory with its certificate, the run only read.
Exit 0 when every judged figure is within its tolerance, 1 when one is not or nothing could be judged, 2 for
bad input."""

from __future__ import annotations

import argparse
from pathlib import Path

from hilbench.cli.report import write_certificate
from hilbench.cli.run import summarise
from hilbench.plans.model_validation_run import ValidationError, validate_run
from hilbench.pq.model_file import ModelFileError
from hilbench.report.integrity import seal


def add_parser(sub) -> None:
    p = sub.add_parser(
        "validate-model", help="judge a simulated response against a run's measured events (IEC 61400-27-2)"
    )
    p.add_argument("run_dir", type=Path, help="a run directory whose records hold the events")
    p.add_argument(
        "--model", type=Path, required=True, help="the model's response: .csv or .npz (time_s, p_w[, q_w, event])"
    )
    p.add_argument(
        "--reference", choices=("field_test", "simulation"), default="field_test",
        help="which of RTE's default tolerance sets (DyCoV): a field test or a simulation as the reference",
    )  # fmt: skip
    p.add_argument("--event", default=None, help="the run's check a single unnamed event in the model file answers")
    p.add_argument("--report", type=Path, default=None, help="where to write (default: RUN_DIR-model-validation)")
    p.set_defaults(func=cmd_validate_model)


def cmd_validate_model(args: argparse.Namespace) -> int:
    try:
        result = validate_run(args.run_dir, args.model, reference=args.reference, report_dir=args.report,
                              event=args.event)  # fmt: skip
    except (ValidationError, ModelFileError, FileNotFoundError) as exc:
        print(f"hilbench: {exc}")
        return 2
    print(summarise(result.report_dir / "measurements.jsonl")["table"])
    for note in result.notes:
        print(f"note: {note}")
    seal(result.report_dir)
    print(f"validation written to {result.report_dir} (the run directory was only read)")
    print(f"certificate: {write_certificate(result.report_dir)}")
    judged = [m for m in result.measurements if m.verdict in ("pass", "fail", "marginal")]
    failed = [m for m in result.measurements if m.verdict in ("fail", "error")]
    for m in failed:
        print(f"  {m.check}: {m.name} = {m.value if m.value is None else f'{m.value:.4g}'} {m.note}")
    ok = judged and not failed
    print("MODEL VALID" if ok else "MODEL NOT VALID" if judged else "NOTHING JUDGED")
    return 0 if ok else 1
