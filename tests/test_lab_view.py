"""The lab view's pages over a seeded store, through Starlette's in-process client (the browser tests in
tests/system/test_lab_view_browser.py drive the same pages in Chromium): what each page shows, the errors it gives,
and the token gate."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from starlette.testclient import TestClient

from hilbench.store.database import open_store
from hilbench.store.index import index_run
from hilbench.store.spc import capability
from hilbench.web.app import create_app
from tests.store_support import write_run

DAY0 = dt.datetime(2026, 11, 2, 9, 0, 0)
VALUES = [81.0, 84.0, 79.5, 88.0, 83.0, 91.0, 85.5, 80.0]
TOKEN = "a-lab-token-of-sufficient-length"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    url = f"sqlite:///{root / 'store.db'}"
    store = open_store(url)
    for i, value in enumerate(VALUES):
        run_dir = write_run(root / "reports" / f"run-{i}", started=DAY0 + dt.timedelta(days=i),
                            serial=f"C-{i % 4:04d}", bench=f"bench-{1 + i % 2}",
                            figures={("boot", "boot_time_s"): (value, None, 90.0),
                                     ("ramp", "ramp_kw_per_s"): (10.0 + i % 3, 8.0, 14.0)})  # fmt: skip
        index_run(store, run_dir)
    (root / "reports" / "run-0" / "certificate.html").write_text("<h1>certificate</h1>")
    store.close()
    return url, root


@pytest.fixture
def client(seeded):
    url, root = seeded
    store = open_store(url, read_only=True)
    with TestClient(create_app(store, [root / "reports"])) as client:
        yield client
    store.close()


def test_history_lists_runs_newest_first_and_filters_them(client):
    page = client.get("/history")
    assert page.status_code == 200 and "8 runs match" in page.text
    serials = re.findall(r'class="serial">([^<]+)<', page.text)
    assert serials[:3] == ["C-0003", "C-0002", "C-0001"]  # run 7, 6, 5
    failed = client.get("/history", params={"verdict": "fail"})
    assert "1 run matches" in failed.text and failed.text.count('class="run-row"') == 1
    window = client.get("/history", params={"since": "2026-11-03", "until": "2026-11-04", "bench": "bench-2"})
    assert "1 run matches" in window.text
    by_serial = client.get("/history", params={"serial": "C-0001"})
    assert "2 runs match" in by_serial.text


def test_a_run_page_links_its_certificate_and_its_figures_trends(client):
    history = client.get("/history", params={"serial": "C-0000", "since": "2026-11-02", "until": "2026-11-02"})
    (run_id,) = re.findall(r'href="/runs/(\d+)"', history.text)
    page = client.get(f"/runs/{run_id}")
    assert page.status_code == 200 and "EMULATED BENCH" in page.text and "boot_time_s" in page.text
    assert f'href="/runs/{run_id}/files/certificate.html"' in page.text
    assert client.get(f"/runs/{run_id}/files/certificate.html").text == "<h1>certificate</h1>"
    for sneaky in ("../../store.db", "measurements.jsonl/../../../etc/passwd", "raw"):
        assert client.get(f"/runs/{run_id}/files/{sneaky}").status_code in (400, 404)  # never the file


def test_the_figure_page_shows_the_capability_of_the_seeded_runs(client):
    page = client.get("/figure", params={"plan": "container_acceptance", "check": "boot", "name": "boot_time_s"})
    assert page.status_code == 200
    expected = capability(VALUES, None, 90.0)
    assert re.search(r'id="cpk">([^<]+)<', page.text).group(1) == f"{expected.cpk:.3g}"
    assert re.search(r'id="ppk">([^<]+)<', page.text).group(1) == f"{expected.ppk:.3g}"
    assert re.search(r'id="cap-n">(\d+)<', page.text).group(1) == str(len(VALUES))
    assert page.text.count("<svg") == 2  # the trend and the control chart
    assert "first-pass yield of container_acceptance" in page.text


def test_compare_uses_the_run_directories(client):
    ids = re.findall(r'href="/runs/(\d+)"', client.get("/history").text)
    page = client.get("/compare", params={"a": ids[-1], "b": ids[2]})
    assert page.status_code == 200 and "boot_time_s" in page.text and "verdict changed" in page.text


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/runs/999", 404, "no run 999 in this store"),
        ("/runs/abc", 400, "run must be a whole number"),
        ("/no/such/page", 404, "there is no page &#39;/no/such/page&#39; here"),
        ("/figure?check=boot&name=nothing", 404, "no run measured boot/nothing"),
        ("/history?since=yesterday", 400, "since is a date YYYY-MM-DD"),
        ("/compare?a=1", 400, "choose two runs"),
    ],
)
def test_bad_requests_get_a_page_that_says_what_is_wrong(client, path, status, says):
    page = client.get(path)
    assert page.status_code == status and says in page.text


def test_the_view_never_writes(client):
    assert client.post("/history").status_code == 405


def test_with_a_token_every_page_needs_it_and_it_never_appears_in_a_url(seeded):
    url, root = seeded
    store = open_store(url, read_only=True)
    with TestClient(create_app(store, [root / "reports"], token=TOKEN), follow_redirects=False) as client:
        assert client.get("/history", headers={"accept": "text/html"}).headers["location"] == "/login?next=/history"
        assert client.get("/history").status_code == 401
        assert client.get("/history", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
        refused = client.post("/login", data={"token": "wrong", "next": "/figures"})
        assert refused.status_code == 401 and "not the one" in refused.text
        signed_in = client.post("/login", data={"token": TOKEN, "next": "/figures"})
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/figures"
        assert TOKEN not in signed_in.headers["set-cookie"]
        assert client.get("/figures").status_code == 200  # the session cookie
        offsite = client.post("/login", data={"token": TOKEN, "next": "//evil.example/"})
        assert offsite.headers["location"] == "/history"
    store.close()


@pytest.mark.postgres
def test_a_store_that_stops_answering_is_a_503_page_with_the_reason(request, tmp_path):
    import sqlalchemy as sa

    from tests.store_support import fresh_database

    server_url = request.getfixturevalue("postgres_server")
    url = fresh_database(server_url)
    store = open_store(url)
    index_run(store, write_run(tmp_path / "run", started=DAY0))
    store.close()
    store = open_store(url, read_only=True)
    with TestClient(create_app(store, [tmp_path])) as client:
        assert client.get("/history").status_code == 200
        admin = sa.create_engine(
            server_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as connection:  # the lab's database goes away under the view
            connection.execute(sa.text(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()
        page = client.get("/history")
        assert page.status_code == 503 and "the store could not answer" in page.text
    store.close()
