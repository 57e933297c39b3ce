"""The digital twin end to end (issue 20): a run on a container -> ``hilbench fit`` (never shown the bench file)
-> the same plan on the twin -> ``hilbench compare --twin-tolerances``; and ``hilbench validate-model`` on the
twin's exported response, which validates against its own run while a late or weak copy of it does not."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from tests.conftest import ROOT
from tests.system.conftest import MW2MH, run_spared_by_load

HERE = Path(__file__).resolve().parent


def hilbench(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hilbench.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)  # fmt: skip


def fit(run: Path, folder: Path, *extra: str) -> tuple[Path, dict]:
    twin = folder / "twin.yaml"
    done = hilbench("fit", run, "--out", twin, "--report", folder / "fit", *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout)
    report = yaml.safe_load((folder / "fit" / "fit.json").read_text())
    return twin, {e["name"]: e for e in report["estimates"]}


def agreement(source: Path, twin_run: Path) -> subprocess.CompletedProcess:
    done = hilbench("compare", source, twin_run, "--twin-tolerances")
    print(done.stdout)
    return done


def test_the_compliant_containers_twin_reproduces_its_run_and_validates_as_its_model(mw2mh_compliant, tmp_path):
    source = mw2mh_compliant.report
    twin, estimates = fit(source, tmp_path, "--export-response", tmp_path / "response.csv")
    assert estimates["boards"]["value"] == 30 and estimates["boards"]["status"] == "measured"
    assert abs(estimates["boot_s"]["value"] - 75.0) <= 0.1  # the default bench's profile (board_profiles.S19J_PRO)
    assert abs(estimates["stop_stagger_s"]["value"] - 0.5) <= 0.05
    twin_run = run_spared_by_load(MW2MH, tmp_path / "twin-run", "--time-scale", "10", bench=twin)  # x10: see below
    assert twin_run.returncode == 0, twin_run.stdout[-3000:]
    assert agreement(source, twin_run.report).returncode == 0

    valid = hilbench("validate-model", source, "--model", tmp_path / "response.csv", "--report", tmp_path / "v")
    assert valid.returncode == 0 and "MODEL VALID" in valid.stdout, valid.stdout
    for name, change in (("late", lambda t, p: (t + 0.1, p)), ("weak", lambda t, p: (t, 0.9 * p))):
        broken = tmp_path / f"{name}.csv"
        with (tmp_path / "response.csv").open() as f, broken.open("w", newline="") as g:
            rows = list(csv.reader(f))
            writer = csv.writer(g)
            writer.writerow(rows[0])
            for event, t, p, q in rows[1:]:
                t2, p2 = change(float(t), float(p))
                writer.writerow([event, t2, p2, q])
        judged = hilbench("validate-model", source, "--model", broken, "--report", tmp_path / f"v-{name}")
        assert judged.returncode == 1 and "MODEL NOT VALID" in judged.stdout, judged.stdout
        assert "FAIL" in judged.stdout  # the failing figure is named with its window (p_mxe_during, p_me_post...)


def randomised_container(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "boards": int(rng.integers(20, 36)),
        "board": {"nameplate_w": round(float(rng.uniform(2800, 3500)), 1),
                  "boot_s": round(float(rng.uniform(40, 100)), 2),
                  "pll_ramp_mhz_per_s": round(float(rng.uniform(40, 100)), 2),
                  "wake_delay_s": round(float(rng.uniform(1, 4)), 2),
                  "curtail_latency_s": round(float(rng.uniform(0.5, 3)), 2),
                  "graceful_stop_s": round(float(rng.uniform(5, 15)), 2)},
        "controller": {"aux_w": round(float(rng.uniform(500, 1500)), 1),
                       "contactor_open_s": round(float(rng.uniform(0.05, 1.0)), 3),
                       "stop_stagger_s": round(float(rng.uniform(0.2, 1.0)), 3)},
        "plant": {"r_ohm": round(float(rng.uniform(0.03, 0.1)), 4), "x_ohm": round(float(rng.uniform(0.02, 0.08)), 4),
                  "psu_kind": str(rng.choice(["active_pfc", "capacitor_input"]))},
    }  # fmt: skip


def test_a_container_the_fit_knows_nothing_about_gets_a_twin_that_reproduces_its_figures(tmp_path):
    # a new container every run; HILBENCH_TWIN_SEED replays the one a failing run printed
    seed = int(os.environ.get("HILBENCH_TWIN_SEED") or int.from_bytes(os.urandom(4), "little"))
    print(f"randomised container: seed {seed} (tests/system/test_twin.py: randomised_container)")
    true = randomised_container(seed)
    bench = yaml.safe_load((ROOT / "instruments" / "emulated.yaml").read_text())
    bench["plant"].update(true["plant"])
    bench["plant"]["controller"].update(true["controller"])
    group = bench["roles"]["boards"]["emulated"]["groups"][0]
    group["count"], group["overrides"] = true["boards"], true["board"]
    # the container's rating as its controller takes it: its boards' power at the register's 0.1 kW, rounded up
    # (a setpoint a hair under the boards' power would run every board one profile down, 5 % short)
    rated_kw = float(np.ceil(true["boards"] * true["board"]["nameplate_w"] / 100) / 10)
    bench["plant"]["controller"]["setpoint_limit_kw"] = rated_kw
    bench["roles"]["controller"]["limits"]["max_power_kw"] = rated_kw
    bench.pop("interlocks")  # a weak supply may sag the PCC below the lab's permissive: not what is tested here
    (tmp_path / "secret").mkdir()
    bench_file = tmp_path / "secret" / "variant.yaml"
    bench_file.write_text(yaml.safe_dump(bench, sort_keys=False))
    plan = tmp_path / "twin_plan.yaml"
    text = (HERE / "twin_plan.yaml").read_text()
    plan.write_text(text.replace("RATED_KW", f"{rated_kw:.4f}").replace("BOARDS", str(true["boards"])))

    # x10, not the plan's x20: in CI these runs share two cores with the rest of the suite (emulated sites of
    # several processes among it), and at x20 the ramp's analyser updates went unread (its figures became errors)
    source = run_spared_by_load(plan, tmp_path / "source", "--time-scale", "10", bench=bench_file)
    assert source.run.checks, source.stdout[-3000:]
    twin, estimates = fit(source.report, tmp_path)  # the fit reads the run directory only
    assert "secret" not in twin.read_text().replace(str(source.report), "")  # nothing of the bench file leaked in
    truth = {"boards": true["boards"], **true["board"], **true["controller"], **true["plant"]}
    print(f"{'parameter':<22} {'true':>10} {'fitted':>10} {'+-':>8} status")
    for name, value in truth.items():
        if name in estimates and isinstance(value, int | float):
            e = estimates[name]
            sigma = "" if e["uncertainty"] is None else f"{e['uncertainty']:.3g}"
            print(f"{name:<22} {value:>10.4g} {e['value']:>10.4g} {sigma:>8} {e['status']}")
    assert estimates["boards"]["value"] == true["boards"]
    assert abs(estimates["nameplate_w"]["value"] - true["board"]["nameplate_w"]) <= 0.01 * true["board"]["nameplate_w"]
    assert abs(estimates["boot_s"]["value"] - true["board"]["boot_s"]) <= 1.0
    assert abs(estimates["contactor_open_s"]["value"] - true["controller"]["contactor_open_s"]) <= 0.1
    twin_run = run_spared_by_load(plan, tmp_path / "twin-run", "--time-scale", "10", bench=twin)
    assert twin_run.run.checks, twin_run.stdout[-3000:]
    assert agreement(source.report, twin_run.report).returncode == 0


def test_the_1200kw_containers_twin_reproduces_its_run(tmp_path):
    plan, bench = ROOT / "test_plans" / "soluna_1200kw.yaml", ROOT / "instruments" / "emulated-1200kw.yaml"
    # x5, not the plan's x10: these runs share two cores with the rest of the suite, and 370 boards at x10 fell
    # behind their clock in CI (the ramp's figures became errors)
    source = run_spared_by_load(plan, tmp_path / "source", "--time-scale", "5", bench=bench)
    assert source.returncode == 0, source.stdout[-3000:]
    # the template is the lab's bench for a 1.2 MW container: its instruments' limits (a 416 V supply, 200 kW/s)
    twin, estimates = fit(source.report, tmp_path, "--template", bench)
    assert estimates["boards"]["value"] == 370
    twin_run = run_spared_by_load(plan, tmp_path / "twin-run", "--time-scale", "5", bench=twin)
    assert twin_run.returncode == 0, twin_run.stdout[-3000:]
    assert agreement(source.report, twin_run.report).returncode == 0


def test_the_noncompliant_containers_fit_finds_its_broken_promises(mw2mh_noncompliant, tmp_path):
    """The fit of the failing container: its slow trip, slow boot and ignored ramp limit are found, and the stagger
    of the graceful stop the run never saw end (its check stores the stop so far).  Its twin's agreement is in
    issue 20's note (not run here: a third full MW2MH run on two shared cores made its figures untrusted in CI)."""
    _, estimates = fit(mw2mh_noncompliant.report, tmp_path)
    assert estimates["honours_ramp_limit"]["value"] is False and estimates["honours_ramp_limit"]["status"] == "selected"
    assert abs(estimates["contactor_open_s"]["value"] - 3.0) <= 0.1  # the bench's slow trip path
    assert abs(estimates["boot_s"]["value"] - 150.0) <= 1.0
    # from the stop's first 120 s (of 150); the toggling board may be asleep when the stop begins (the twin's
    # replay starts it mining), which moved the fitted stagger by up to 0.3 s in runs by hand
    assert abs(estimates["stop_stagger_s"]["value"] - 5.0) <= 0.5
    assert estimates["psu_spectrum"]["status"] == "measured" and estimates["r_ohm"]["value"] > 0.2  # the weak grid


def randomised_grid_response(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    ranges = {
        "droop_volume_kw": (30, 70, 1), "droop_deadband_hz": (0.01, 0.05, 3), "droop_knee_hz": (0.1, 0.3, 3),
        "droop_knee_percent": (2, 15, 1), "droop_full_hz": (0.4, 0.6, 3), "droop_delay_s": (0.1, 0.6, 3),
        "psu_holdup_s": (0.02, 0.2, 3), "psu_uvlo_pu": (0.3, 0.6, 3), "restart_stagger_s": (0.2, 1.0, 3),
    }  # fmt: skip
    return {name: round(float(rng.uniform(lo, hi)), digits) for name, (lo, hi, digits) in ranges.items()}


def test_a_containers_droop_and_ride_through_are_fitted_by_scanning_and_its_twin_reproduces_them(tmp_path):
    """Droop sheds whole boards and a PSU drops out or holds on: the fit scans those parameters (hilbench.twin.
    scan_fit) on a container whose droop curve, hold-up, lock-out and restart stagger are drawn at random."""
    seed = int(os.environ.get("HILBENCH_TWIN_SEED") or int.from_bytes(os.urandom(4), "little"))
    print(f"randomised grid response: seed {seed} (tests/system/test_twin.py: randomised_grid_response)")
    true = randomised_grid_response(seed)
    bench = yaml.safe_load((ROOT / "instruments" / "emulated.yaml").read_text())
    bench["plant"]["controller"].update(true)
    bench.pop("interlocks")  # a lost supply is what is tested: not the lab's permissive
    (tmp_path / "secret").mkdir()
    bench_file = tmp_path / "secret" / "variant.yaml"
    bench_file.write_text(yaml.safe_dump(bench, sort_keys=False))
    plan = tmp_path / "twin_grid_plan.yaml"
    plan.write_text((HERE / "twin_grid_plan.yaml").read_text().replace("VOLUME_KW", str(true["droop_volume_kw"])))

    source = run_spared_by_load(plan, tmp_path / "source", "--time-scale", "10", bench=bench_file)  # x10: see above
    assert source.run.checks, source.stdout[-3000:]
    twin, estimates = fit(source.report, tmp_path)
    print(f"{'parameter':<22} {'true':>10} {'fitted':>10} {'+-':>8} status")
    for name, value in true.items():
        e = estimates[name]
        sigma = "" if e["uncertainty"] is None else f"{e['uncertainty']:.3g}"
        print(f"{name:<22} {value:>10.4g} {e['value']:>10.4g} {sigma:>8} {e['status']}  {e['note']}")
    for name in ("psu_holdup_s", "restart_stagger_s"):  # each read by its own timing (a drop, a restart)
        e = estimates[name]
        assert e["status"] == "fitted", e
        # a scanned value is anywhere in the interval the records leave open (sigma = its width and one update in
        # quadrature / sqrt(12)), and its event anywhere in its update: within sqrt(3) sigma and half an update
        assert abs(e["value"] - true[name]) <= np.sqrt(3) * e["uncertainty"] + 0.025, (name, true[name], e)
    # the droop's curve points and delay trade against each other on a ramp (several curves shed the same boards
    # at the same updates: their intervals are slices, each with the others held); the held level fixes the
    # volume to a board, the first shed the delay to about two updates
    per_board_w = 3250.0  # the default bench's boards (board_profiles.S19J_PRO)
    assert abs(estimates["droop_volume_kw"]["value"] - true["droop_volume_kw"]) <= per_board_w / 1000
    assert abs(estimates["droop_delay_s"]["value"] - true["droop_delay_s"]) <= 0.1
    twin_run = run_spared_by_load(plan, tmp_path / "twin-run", "--time-scale", "10", bench=twin)
    assert twin_run.run.checks, twin_run.stdout[-3000:]
    assert agreement(source.report, twin_run.report).returncode == 0
