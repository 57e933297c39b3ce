"""``hilbench analyse flicker|harmonics|voltage-change FILE --fs HZ``: offline power-quality analysis.

Reads a ``.npy`` array or a one-column ``.csv`` (a header line is allowed), prints one JSON
object on stdout, and reports progress on stderr for records longer than a minute.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from hilbench import pq
from hilbench.core.errors import HilbenchError

PROGRESS_ABOVE_S = 60.0


class InputFileError(HilbenchError, ValueError):
    """A record file that cannot be read; names the file and, for CSV, the line."""


def read_record(path: Path) -> np.ndarray:
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if path.suffix.lower() == ".npy":
        try:
            data = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise InputFileError(f"{path}: not a readable .npy array: {exc}") from None
        return data
    if path.suffix.lower() == ".csv":
        values = []
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                text = line.strip()
                if not text:
                    continue
                if "," in text or ";" in text:
                    raise InputFileError(f"{path}:{number}: expected one column, got {text[:40]!r}")
                try:
                    values.append(float(text))
                except ValueError:
                    if number == 1 and not values:
                        continue  # a header line
                    raise InputFileError(f"{path}:{number}: not a number: {text[:40]!r}") from None
        return np.asarray(values)
    raise InputFileError(f"{path}: unsupported file type {path.suffix!r}; use .npy or one-column .csv")


def _progress(label: str, seconds: float):
    if seconds <= PROGRESS_ABOVE_S:
        return None

    def report(fraction: float) -> None:
        print(f"\r{label}: {fraction:6.1%} of {seconds:.0f} s", end="", file=sys.stderr, flush=True)
        if fraction >= 1.0:
            print(file=sys.stderr)

    return report


def cmd_analyse(args: argparse.Namespace) -> int:
    data = read_record(args.file)
    seconds = data.shape[-1] / args.fs if data.size else 0.0
    progress = _progress(f"{args.quantity} {args.file.name}", seconds)
    if args.quantity == "flicker":
        result = pq.flicker(data, args.fs, lamp=args.lamp, f_nominal=args.f_nominal, progress=progress).as_dict()
    elif args.quantity == "harmonics":
        result = pq.harmonics(
            data, args.fs, f_nominal=args.f_nominal, max_order=args.max_order, progress=progress
        ).summary()
    else:
        if progress:
            progress(0.0)
        result = pq.voltage_change(data, args.fs, f_nominal=args.f_nominal, u_nominal=args.u_nominal).as_dict()
        if progress:
            progress(1.0)
    print(json.dumps({"quantity": args.quantity, "file": str(args.file), "fs": args.fs, **result}))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("analyse", help="power-quality analysis of a recorded waveform (JSON on stdout)")
    p.add_argument("quantity", choices=["flicker", "harmonics", "voltage-change"])
    p.add_argument("file", type=Path, help=".npy array or one-column .csv of samples")
    p.add_argument("--fs", type=float, required=True, help="sample rate, Hz")
    p.add_argument("--lamp", choices=["230V", "120V"], default="230V", help="flicker lamp model")
    p.add_argument("--f-nominal", type=float, choices=[50.0, 60.0], default=50.0, help="nominal frequency, Hz")
    p.add_argument("--max-order", type=int, default=50, help="highest harmonic order")
    p.add_argument("--u-nominal", type=float, default=None, help="Un for voltage change (default: first steady level)")
    p.set_defaults(func=cmd_analyse)
