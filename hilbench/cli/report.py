"""``hilbench report RUN_DIR [--format html|pdf] [--output FILE] [--verify]``: the acceptance certificate from a
run directory alone, or a check that nothing in it changed since the run was sealed."""

from __future__ import annotations

import argparse
from pathlib import Path

from hilbench.report.certificate import build
from hilbench.report.integrity import MANIFEST, read_manifest, seal, verify


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="render a run's acceptance certificate (HTML or PDF), or --verify its files")
    p.add_argument("run_dir", type=Path, help="a run directory (holds measurements.jsonl and raw/)")
    p.add_argument("--format", choices=("html", "pdf"), default="html")
    p.add_argument("--output", type=Path, default=None, help="default: RUN_DIR/certificate.html or .pdf")
    p.add_argument("--verify", action="store_true", help="only check every file against the run's integrity manifest")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    run_dir = args.run_dir
    if not (run_dir / "measurements.jsonl").exists():
        print(f"hilbench: {run_dir}: not a run directory (no measurements.jsonl)")
        return 2
    if args.verify:
        problems = verify(run_dir)
        manifest = read_manifest(run_dir) or {}
        for problem in problems:
            print(f"CHANGED: {problem}")
        if problems:
            print(f"VERIFY FAILED: {run_dir} is not as it was sealed")
            return 1
        print(f"VERIFIED: {len(manifest['files'])} files as sealed; sha256 {manifest['sha256']}")
        return 0
    if read_manifest(run_dir) is None:  # an older run, or one killed before it ended: sealed now, and said so
        seal(run_dir, when="when its first certificate was rendered, not at the end of the run")
        print(f"note: {run_dir} had no {MANIFEST}; sealed now (edits made before now cannot be detected)")
    output = write_certificate(run_dir, args.format, args.output)
    print(f"certificate: {output}")
    return 0


def write_certificate(run_dir: Path, fmt: str = "html", output: Path | None = None) -> Path:
    """Render the certificate of ``run_dir``; returns its path (prints nothing: ``hilbench run`` calls this too)."""
    certificate = build(run_dir)
    output = output or run_dir / f"certificate.{fmt}"
    if fmt == "pdf":
        from hilbench.report.certificate_pdf import render_pdf

        render_pdf(certificate, output)
    else:
        from hilbench.report.certificate_html import render_html

        output.write_text(render_html(certificate), encoding="utf-8")
    return output
