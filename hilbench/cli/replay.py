"""``hilbench replay RUN_DIR [--plan PLAN] [--report DIR] [--only-failed]``: a stored run judged again (see
hilbench.plans.replay); prints the table, every verdict that changed, and exits 0 only if every figure passes."""

from __future__ import annotations

import argparse
from pathlib import Path

from hilbench.cli.indexing import add_store_options, index_finished_run
from hilbench.cli.report import write_certificate
from hilbench.cli.run import summarise
from hilbench.plans.plan import PlanError
from hilbench.plans.replay import ReplayError, replay
from hilbench.report.integrity import seal


def add_parser(sub) -> None:
    p = sub.add_parser("replay", help="judge a stored run again against a plan (new limits or table); no instruments")
    p.add_argument("run_dir", type=Path, help="a run directory (holds measurements.jsonl and raw/)")
    p.add_argument("--plan", type=Path, default=None, help="judge against this plan (default: the run's own limits)")
    p.add_argument("--report", type=Path, default=None, help="where the replay is written (default: beside the run)")
    p.add_argument("--only-failed", action="store_true", help="print only the measurements whose verdict changed")
    add_store_options(p)
    p.set_defaults(func=cmd_replay)


def cmd_replay(args: argparse.Namespace) -> int:
    try:
        result = replay(args.run_dir, plan_path=args.plan, report_dir=args.report)
    except (ReplayError, PlanError) as exc:
        print(f"hilbench: {exc}")
        return 2
    summary = summarise(result.report_dir / "measurements.jsonl")
    if not args.only_failed:
        print(summary["table"])
    for note in result.notes:
        print(f"note: {note}")
    print(f"REPLAY of {args.run_dir} against {args.plan or 'its own limits'}: {len(result.changes)} verdict(s) changed")
    for c in result.changes:
        before = "-" if c.value_before is None else f"{c.value_before:.4g}"
        after = "-" if c.value_after is None else f"{c.value_after:.4g}"
        print(f"  {c.check:<24} {c.name:<26} {c.before} -> {c.after}  ({before} -> {after})")
    print(f"replay written to {result.report_dir} (the run directory was only read)")
    seal(result.report_dir)
    print(f"certificate: {write_certificate(result.report_dir)} (marked as a replay)")
    if not args.no_index:
        print(index_finished_run(result.report_dir, args.db))
    failed = [m for m in result.measurements if m.verdict in ("fail", "error")]
    print("REPLAY PASSED" if not failed and result.measurements else "REPLAY FAILED")
    return 0 if not failed and result.measurements else 1
