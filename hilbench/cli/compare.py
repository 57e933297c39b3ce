"""``hilbench compare RUN_A RUN_B [...] [--html FILE] [--changed-only]``: every measurement side by side, the
difference from the first run, verdict changes and figures that moved beyond their marginal band flagged; the
HTML page adds the runs' traces overlaid for every check whose verdicts changed."""

from __future__ import annotations

import argparse
import base64
from html import escape
from pathlib import Path

import numpy as np

from hilbench.report import charts
from hilbench.report.agreement import agreement
from hilbench.report.compare import ComparedFigure, compare
from hilbench.report.records import Run, read_run


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="compare the measurements of two or more runs (verdict changes, moves)")
    p.add_argument("runs", type=Path, nargs="+", help="run directories; the first is the reference")
    p.add_argument("--html", type=Path, default=None, help="also write the comparison as a page with overlaid charts")
    p.add_argument("--changed-only", action="store_true", help="print only figures whose verdict changed or moved")
    p.add_argument(
        "--twin-tolerances", action="store_true",
        help="judge run B against run A with a twin's tolerances (times within the check's resolution, powers 2 %%, "
        "harmonic and flicker figures 10 %%; hilbench.report.agreement); exit 1 when a figure is outside",
    )  # fmt: skip
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    if len(args.runs) < 2:
        print("hilbench: compare needs at least two run directories")
        return 2
    try:
        runs = [read_run(path) for path in args.runs]
    except FileNotFoundError as exc:
        print(f"hilbench: {exc}")
        return 2
    rows = compare(runs)
    for k, run in enumerate(runs):
        print(f"run {chr(65 + k)}: {run.path}")
    print(table(rows, len(runs), changed_only=args.changed_only))
    changed = [r for r in rows if r.verdict_changed]
    moved = [r for r in rows if r.moved and not r.verdict_changed]
    print(f"{len(rows)} figures compared: {len(changed)} verdict(s) changed, {len(moved)} more moved beyond their band")
    if args.html:
        args.html.write_text(page(runs, rows), encoding="utf-8")
        print(f"comparison page: {args.html}")
    if args.twin_tolerances:
        return print_agreement(runs, rows)
    return 0


def check_resolutions(run: Run) -> dict[str, float | None]:
    """Each check's time resolution: the one its run recorded (emulated runs), else its type's (plan overrides of a
    real run are not in its record: the type's figure is then the one used)."""
    from hilbench.plans.checks import REGISTRY

    recorded = {r["check"]: r.get("resolution_s") for r in run.records if r.get("record") == "emulation_lag"}
    by_type = {c.id: getattr(REGISTRY.get(c.type), "resolution_s", None) for c in run.checks}
    return {check: recorded.get(check, by_type.get(check)) for check in set(recorded) | set(by_type)}


def print_agreement(runs: list[Run], rows: list[ComparedFigure]) -> int:
    if len(runs) != 2:
        print("hilbench: --twin-tolerances compares exactly two runs (the source and its twin)")
        return 2
    judged = agreement(rows, check_resolutions(runs[0]))
    print()
    print(f"{'check':<24} {'measurement':<26} {'tolerance':>12}  agreement")
    for item in judged:
        mark = {True: "within", False: "OUTSIDE", None: "-"}[item.within]
        reason = f" ({item.why})" if item.why else ""
        print(f"{item.figure.check:<24} {item.figure.name:<26} {item.tolerance:>12}  {mark}{reason}")
    outside = [a for a in judged if a.within is False]
    print(f"{sum(a.within is True for a in judged)} figures within the twin's tolerances, {len(outside)} outside")
    return 1 if outside else 0


def table(rows: list[ComparedFigure], count: int, *, changed_only: bool = False) -> str:
    names = [chr(65 + k) for k in range(count)]
    header = f"{'check':<24} {'measurement':<26} " + " ".join(f"{n:>12}" for n in names)
    header += f" {'B-A':>10} {'unit':<6} verdicts"
    lines = [header]
    for row in rows:
        if changed_only and not (row.verdict_changed or row.moved):
            continue
        values = " ".join(f"{_number(v):>12}" for v in row.values)
        flag = "VERDICT CHANGED" if row.verdict_changed else ("MOVED" if row.moved else "")
        verdicts = " -> ".join(v or "-" for v in row.verdicts)
        lines.append(
            f"{row.check:<24} {row.name:<26} {values} {_number(row.differences[1]):>10} {row.unit:<6} "
            f"{verdicts}  {flag}".rstrip()
        )
    return "\n".join(lines)


def page(runs: list[Run], rows: list[ComparedFigure]) -> str:
    names = [chr(65 + k) for k in range(len(runs))]
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>hilbench comparison</title><style>',
        "body{font-family:sans-serif;margin:2em auto;max-width:70em} table{border-collapse:collapse;width:100%;"
        "font-size:.9em} td,th{border:1px solid #ddd;padding:.2em .5em} .changed{background:#fde0dc}"
        ".moved{background:#fff3cd} td.num{text-align:right} img{max-width:100%}</style></head><body>",
        "<h1>Comparison</h1><ul>",
        *(f"<li>{n}: {escape(str(run.path))}</li>" for n, run in zip(names, runs, strict=True)),
        "</ul><table><tr><th>check</th><th>measurement</th>",
        *(f"<th>{n}</th>" for n in names),
        "<th>B-A</th><th>unit</th><th>verdicts</th></tr>",
    ]
    for row in rows:
        cls = "changed" if row.verdict_changed else "moved" if row.moved else ""
        cells = "".join(f'<td class="num">{_number(v)}</td>' for v in row.values)
        parts.append(
            f'<tr class="{cls}"><td>{escape(row.check)}</td><td>{escape(row.name)}</td>{cells}'
            f'<td class="num">{_number(row.differences[1])}</td><td>{escape(row.unit)}</td>'
            f"<td>{escape(' -> '.join(v or '-' for v in row.verdicts))}</td></tr>"
        )
    parts.append("</table><h2>Checks whose verdicts changed</h2>")
    for check in dict.fromkeys(r.check for r in rows if r.verdict_changed):
        png = _overlay(check, runs, names)
        if png is None:
            parts.append(f"<p>{escape(check)}: no power trace in the runs' raw data to overlay.</p>")
        else:
            data = base64.b64encode(png).decode("ascii")
            parts.append(f'<h3>{escape(check)}</h3><img alt="{escape(check)}" src="data:image/png;base64,{data}">')
    parts.append("</body></html>")
    return "\n".join(parts)


def _overlay(check: str, runs: list[Run], names: list[str]) -> bytes | None:
    """The check's power trace from each run's raw record (the first raw file with time and p_total)."""
    traces = []
    for name, run in zip(names, runs, strict=True):
        for m in (m for m in run.measurements if m.check == check and m.raw.endswith(".npz")):
            path = run.path / m.raw
            if not path.exists():
                continue
            with np.load(path) as data:
                if "time" in data and "p_total" in data:
                    traces.append((f"run {name}", data["time"], data["p_total"]))
                    break
    if not traces:
        return None
    return charts.overlay(f"{check}: power, runs overlaid", traces, quantity="active power", unit="W")


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
