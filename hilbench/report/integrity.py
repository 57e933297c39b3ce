"""A run's integrity manifest: the SHA-256 of its record and of every raw capture, sealed when the run ends, so
an edit made later - a figure changed in ``measurements.jsonl``, a capture replaced - is found by
``hilbench report RUN_DIR --verify``.

The overall hash is SHA-256 over the lines ``<file sha256>  <path>`` (sorted by path, ``\\n``-terminated): the
output of ``sha256sum measurements.jsonl raw/*`` run in the run directory, sorted, so anyone can recompute it
without hilbench.  This detects edits; it is not a signature (whoever can rewrite the files can rewrite the
manifest too): keep the certificate's printed hash, or sign ``integrity.json``, where that matters.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

MANIFEST = "integrity.json"
#: what the manifest covers: the record and the raw captures (worker copies of a parallel run included)
COVERED = ("measurements.jsonl", "raw", "workers")


def digest_files(run_dir: Path) -> dict[str, str]:
    """{path relative to the run directory: sha256} of every covered file."""
    run_dir = Path(run_dir)
    files = {}
    for top in COVERED:
        root = run_dir / top
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        for path in paths:
            files[path.relative_to(run_dir).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return dict(sorted(files.items()))


def overall(files: dict[str, str]) -> str:
    listing = "".join(f"{digest}  {path}\n" for path, digest in sorted(files.items()))
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def seal(run_dir: Path, *, when: str = "at the end of the run") -> dict:
    """Write the manifest (``integrity.json``) for the run as it is now; returns it."""
    files = digest_files(run_dir)
    manifest = {
        "algorithm": "sha256",
        "sealed": when,
        "sealed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "sha256": overall(files),
        "files": files,
    }
    (Path(run_dir) / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def read_manifest(run_dir: Path) -> dict | None:
    path = Path(run_dir) / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"unreadable": True}


def verify(run_dir: Path) -> list[str]:
    """What differs from the manifest (empty: every covered file is as sealed)."""
    manifest = read_manifest(run_dir)
    if manifest is None:
        return [f"{run_dir}: no {MANIFEST}: the run was not sealed (killed before it ended, or written before 0.1)"]
    if manifest.get("unreadable") or not isinstance(manifest.get("files"), dict):
        return [f"{Path(run_dir) / MANIFEST}: not a readable manifest"]
    sealed, now = manifest["files"], digest_files(run_dir)
    changed = [path for path in sealed if path in now and now[path] != sealed[path]]
    problems = [f"{path}: changed since the run was sealed" for path in changed]
    problems += [f"{path}: missing (it was sealed)" for path in sealed if path not in now]
    problems += [f"{path}: added after the run was sealed" for path in now if path not in sealed]
    if not problems and overall(sealed) != manifest.get("sha256"):
        problems.append(f"{MANIFEST}: its overall hash does not match its own file list (the manifest was edited)")
    return problems
