import json
import subprocess
import sys

import numpy as np

from tests.pq_signals import modulated


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "hilbench.cli", "analyse", *args], capture_output=True, text=True, timeout=120
    )


def test_flicker_from_npy_prints_json_and_progress(tmp_path):
    path = tmp_path / "u.npy"
    np.save(path, modulated(2000.0, 620, 39 / 120, 0.894, "rect"))
    result = run("flicker", str(path), "--fs", "2000")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["quantity"] == "flicker" and abs(out["pst"][0] - 1.0) < 0.05
    assert "100.0%" in result.stderr  # progress for records longer than a minute


def test_harmonics_and_voltage_change_from_csv(tmp_path):
    t = np.arange(20000) / 10000
    path = tmp_path / "u.csv"
    path.write_text("volts\n" + "\n".join(f"{v:.6f}" for v in 325 * np.sin(2 * np.pi * 60 * t)))
    harmonic = run("harmonics", str(path), "--fs", "10000", "--f-nominal", "60", "--max-order", "25")
    assert harmonic.returncode == 0, harmonic.stderr
    assert abs(json.loads(harmonic.stdout)["group_rms_mean"][1] - 325 / 2**0.5) < 0.01
    change = run("voltage-change", str(path), "--fs", "10000", "--f-nominal", "60")
    assert change.returncode == 0 and json.loads(change.stdout)["dc"] == 0.0


def test_bad_files_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("1.0\n2.0\nthree\n")
    result = run("flicker", str(path), "--fs", "2000")
    assert result.returncode == 2 and f"{path}:3: not a number" in result.stderr
    short = tmp_path / "short.npy"
    np.save(short, np.ones(10))
    result = run("flicker", str(short), "--fs", "2000")
    assert result.returncode == 2 and "needs at least" in result.stderr
    assert run("flicker", str(tmp_path / "missing.npy"), "--fs", "2000").returncode == 2
