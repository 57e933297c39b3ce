"""The lab view as a user sees it: headless Chromium (the distribution's, driven by Playwright) against
``hilbench serve``, while ``hilbench run --live`` runs a plan on the emulated bench into the same store.

It sees the run appear on the live page, its verdicts arrive while it runs (each within a second of its record),
its safe state when it ends; the history filters; the figure page's Cpk for a seeded set of runs.  Screenshots of
each page go to $HILBENCH_SCREENSHOTS (docs/screenshots when the docs are refreshed), else the test's folder."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hilbench.store.database import open_store
from hilbench.store.index import index_run
from hilbench.store.spc import capability
from tests.conftest import ROOT, loopback_block
from tests.store_support import write_run

CHROMIUM = os.environ.get("HILBENCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# as this machine's notes start Chromium: no sandbox (root in CI), and none of its background connections
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
SEEDED_BOOT = [81.0, 84.0, 79.5, 88.0, 83.0, 91.0, 85.5, 80.0, 86.0, 82.5]
DAY0 = dt.datetime(2026, 11, 2, 9, 0, 0)
#: kept by the page itself: when each figure first appeared (wall clock, s) and each status in turn, so the test
#: need not poll the browser fast (two cores are shared with the rest of the suite)
OBSERVER = """() => {
  window.hilbenchSeen = {}; window.hilbenchStatuses = [];
  const look = () => {
    const now = Date.now() / 1000;
    for (const td of document.querySelectorAll('.live-figures tr td:nth-child(2)'))
      if (!(td.textContent in window.hilbenchSeen)) window.hilbenchSeen[td.textContent] = now;
    for (const e of document.querySelectorAll('[id^=live-status-]')) {
      const last = window.hilbenchStatuses[window.hilbenchStatuses.length - 1];
      if (last !== e.textContent) window.hilbenchStatuses.push(e.textContent);
    }
  };
  new MutationObserver(look).observe(document.getElementById('live'), {childList: true, subtree: true});
  look();
}"""


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def serve(db: str, reports: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "hilbench.cli", "serve", "--db", db, "--port", "0", "--reports", str(reports)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
    )  # fmt: skip
    line = process.stdout.readline()
    if "serving" not in line:
        process.kill()
        pytest.fail(f"hilbench serve did not start: {line}{process.stdout.read()}")
    return process, line.split(" on ", 1)[1].split()[0].rstrip("/")


def test_a_plan_running_on_the_emulated_bench_is_seen_live_and_the_pages_answer_in_a_browser(browser, tmp_path):
    shots = Path(os.environ.get("HILBENCH_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    reports = tmp_path / "reports"
    db = f"sqlite:///{tmp_path / 'hilbench.db'}"
    store = open_store(db)
    for i, value in enumerate(SEEDED_BOOT):  # a seeded history: ten containers of one design through one plan
        figures = {("boot", "boot_time_s"): (value, None, 90.0)}
        started, serial = DAY0 + dt.timedelta(days=i), f"C-{40 + i:04d}"
        run_dir = write_run(reports / f"seeded-{i}", started=started, serial=serial, figures=figures)
        index_run(store, run_dir)
    store.close()
    server, base = serve(db, reports)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/live")
        page.wait_for_selector("#no-live-runs")
        page.wait_for_function("document.getElementById('stream-status').textContent.startsWith('connected')")
        page.evaluate(OBSERVER)

        run_dir, address_base = reports / "live-run", loopback_block()
        run = subprocess.Popen(
            [sys.executable, "-m", "hilbench.cli", "run", "test_plans/mw2mh_100kw.yaml", "-k",
             "boot or step-down-50 or emergency", "--time-scale", "5", "--live", "--db", db, "--report", str(run_dir),
             "--address-base", address_base],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        )  # fmt: skip
        deadline = time.monotonic() + 400
        statuses: list[str] = []
        while time.monotonic() < deadline:  # the page keeps its own record (OBSERVER); a slow look here is enough
            statuses = page.evaluate("window.hilbenchStatuses")
            seen = page.evaluate("window.hilbenchSeen")
            if statuses and statuses[-1].startswith("ended: "):
                break
            running = statuses and not statuses[-1].startswith(("ended", "making"))
            if "boot_time_s" in seen and running and not (shots / "live.png").exists():
                page.screenshot(path=str(shots / "live.png"), full_page=True)
            time.sleep(0.5)
        output = run.communicate(timeout=120)[0]
        assert run.returncode == 0, output
        assert "indexed: run" in output, output
        print("live statuses seen:", statuses)
        # it appeared, ran check by check, and ended sealed with its safe state shown
        running = [s for s in statuses if s.startswith("running check")]
        assert any("boot" in s for s in running) and any("emergency-stop" in s for s in running), statuses
        assert statuses[-1] == "ended: PASS (sealed and indexed)", statuses
        assert page.locator(".live-safe").first.inner_text().count("confirmed") >= 3
        page.screenshot(path=str(shots / "live-ended.png"), full_page=True)
        # verdicts arrived while it ran: the boot figure was on the page before the last check started
        records = [json.loads(line) for line in (run_dir / "measurements.jsonl").read_text().splitlines()]
        written = {r["name"]: r["wall_time"] for r in records if r.get("record") == "measurement"}
        last_start = max(r["wall_time"] for r in records if r.get("record") == "check_start")
        assert seen["boot_time_s"] < last_start, "the boot verdict was not shown before the run's last check began"
        delays = {name: seen[name] - written[name] for name in written}
        print("seconds from record to browser:", {k: round(v, 3) for k, v in delays.items()})
        assert statistics.median(delays.values()) <= 1.0 and max(delays.values()) <= 2.0, delays

        # history: the filters, as a user sets them
        page.goto(f"{base}/history")
        assert page.locator("#run-count").inner_text().startswith("11 runs match")
        page.select_option("select[name=verdict]", "fail")
        page.click("#apply-filters")
        page.wait_for_url("**verdict=fail**")
        assert page.locator("#run-count").inner_text().startswith("1 run matches")
        assert page.locator(".run-row .serial").all_inner_texts() == ["C-0045"]
        page.select_option("select[name=verdict]", "")
        page.fill("input[name=serial]", "MW2MH-0001")
        page.click("#apply-filters")
        page.wait_for_url("**serial=MW2MH-0001**")
        assert page.locator(".run-row").count() == 1
        page.screenshot(path=str(shots / "history.png"), full_page=True)
        page.click(".run-row a")
        page.wait_for_selector("#measurements")
        assert page.locator("#certificate").count() == 1
        page.screenshot(path=str(shots / "run.png"), full_page=True)

        # a figure across runs: the Cpk of the seeded boot times, against their limit (upper only, 90 s)
        page.goto(f"{base}/figures?plan=container_acceptance")
        page.click("#figure-list a:text('boot_time_s')")
        page.wait_for_selector("#cpk")
        expected = capability(SEEDED_BOOT, None, 90.0)
        print(f"Cpk shown {page.inner_text('#cpk')}, expected {expected.cpk:.4f}; Ppk {page.inner_text('#ppk')}")
        assert page.inner_text("#cpk") == f"{expected.cpk:.3g}" and page.inner_text("#ppk") == f"{expected.ppk:.3g}"
        assert page.locator("#trend-chart svg").count() == 1 and page.locator("#control-chart svg").count() == 1
        page.screenshot(path=str(shots / "figure.png"), full_page=True)
        page.goto(f"{base}/no-such-page")
        assert "there is no page" in page.inner_text("#error-message")
        print("screenshots:", sorted(str(p) for p in shots.glob("*.png")))
    finally:
        server.terminate()
        server.wait(10)
