"""The lab view's web application (Starlette): server-rendered pages over the results store, and one stream of
server-sent events for the live page.  Read-only: the store is opened read-only and no route writes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from hilbench.report.compare import compare
from hilbench.report.records import read_run
from hilbench.store.database import Store
from hilbench.store.queries import (
    RunFilter,
    choices,
    figure_series,
    figures_of_plan,
    find_runs,
    live_records,
    live_runs,
    run_detail,
    serials_of_plan,
    yields,
)
from hilbench.web.auth import TokenGate
from hilbench.web.charts import control_svg, trace_svg, trend_svg

HERE = Path(__file__).parent
PAGE_SIZE = 50
CHART_POINTS = 1000  # the charts draw the newest this many runs; the statistics use every run
LIVE_POLL_S = 0.25  # how often the event stream looks for new records (the page updates within 1 s of a record)
SERVED_SUFFIXES = {".html", ".pdf", ".png", ".svg", ".json", ".jsonl", ".xml", ".txt"}


def fmt(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def limit_text(low, high) -> str:
    parts = ([f">= {low:g}"] if low is not None else []) + ([f"<= {high:g}"] if high is not None else [])
    return " and ".join(parts) or "none (info)"


class LabView:
    """The routes, over one open store and the folders where run directories may be found."""

    def __init__(self, store: Store, reports: list[Path]) -> None:
        self.store, self.reports = store, [Path(p).resolve() for p in reports]
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals.update(fmt=fmt, store_name=store.name)
        self._trace_cache: dict[int, str] = {}

    # ----- pages ---------------------------------------------------------------------------------------------
    def page(self, request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
        return self.templates.TemplateResponse(request, template, context, status_code=status_code)

    def home(self, request: Request) -> Response:
        return RedirectResponse("/history", status_code=303)

    def history(self, request: Request) -> Response:
        q = request.query_params
        page = _int(q.get("page"), 1, "page")
        query = RunFilter(
            plan=q.get("plan") or None, serial=(q.get("serial") or "").strip() or None, bench=q.get("bench") or None,
            verdict=q.get("verdict") or None, dut=q.get("dut") or None, since=_date(q.get("since"), "since"),
            until=_date(q.get("until"), "until", next_day=True), limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
        )  # fmt: skip
        with self.store.engine.connect() as connection:
            rows, total = find_runs(connection, query)
            offered = choices(connection)
        kept = {k: v for k, v in q.items() if k != "page" and v}
        prev_url = f"/history?{urlencode({**kept, 'page': page - 1})}" if page > 1 else None
        more = query.offset + len(rows) < total
        next_url = f"/history?{urlencode({**kept, 'page': page + 1})}" if more else None
        return self.page(
            request, "history.html", rows=rows, total=total, f=query, choices=offered, since=q.get("since", ""),
            until=q.get("until", ""), prev_url=prev_url, next_url=next_url,
        )  # fmt: skip

    def run(self, request: Request) -> Response:
        run_id = _int(request.path_params["run_id"], None, "run")
        with self.store.engine.connect() as connection:
            detail = run_detail(connection, run_id)
        if detail is None:
            raise HTTPException(404, f"no run {run_id} in this store")
        for m in detail["measurements"]:
            m["limit"] = limit_text(m["low"], m["high"])
            m["figure_url"] = "/figure?" + urlencode(
                {"plan": detail["plan_name"], "check": m["check_id"], "name": m["name"]}
            )
        run_dir = self.locate(detail["path"])
        certificate, charts = None, []
        if run_dir is not None:
            if (run_dir / "certificate.html").exists():
                certificate = f"/runs/{run_id}/files/certificate.html"
            charts = [(p.stem, f"/runs/{run_id}/files/raw/{p.name}") for p in sorted((run_dir / "raw").glob("*.png"))]
        return self.page(
            request, "run.html", run=detail, certificate=certificate, charts=charts, files_found=run_dir is not None
        )

    def run_file(self, request: Request) -> Response:
        run_id = _int(request.path_params["run_id"], None, "run")
        with self.store.engine.connect() as connection:
            path = connection.execute(sa.select(sa.column("path")).select_from(sa.table("runs")).where(
                sa.column("id") == run_id)).scalar()  # fmt: skip
        run_dir = self.locate(path) if path else None
        if run_dir is None:
            raise HTTPException(404, f"run {run_id}: its run directory is not where this server can find it")
        wanted = (run_dir / request.path_params["path"]).resolve()
        if not wanted.is_relative_to(run_dir) or not wanted.is_file() or wanted.suffix not in SERVED_SUFFIXES:
            raise HTTPException(404, f"run {run_id} has no file {request.path_params['path']!r} to show")
        return FileResponse(wanted)

    def compare_runs(self, request: Request) -> Response:
        q = request.query_params
        if not q.get("a") or not q.get("b"):
            raise HTTPException(400, "choose two runs to compare (A and B) on the history page")
        ids = (_int(q.get("a"), None, "a"), _int(q.get("b"), None, "b"))
        runs = []
        with self.store.engine.connect() as connection:
            for run_id in ids:
                detail = run_detail(connection, run_id)
                if detail is None:
                    raise HTTPException(404, f"no run {run_id} in this store")
                runs.append(detail)
        dirs = [self.locate(r["path"]) for r in runs]
        missing = [str(r["path"]) for r, d in zip(runs, dirs, strict=True) if d is None]
        if missing:
            raise HTTPException(404, f"the run directories are needed to compare; not found: {', '.join(missing)}")
        rows = []
        for figure in compare([read_run(d) for d in dirs]):
            a, b = figure.values
            diff = figure.differences[1]
            flag = "verdict changed" if figure.verdict_changed else "moved" if figure.moved else ""
            rows.append(
                {
                    "check": figure.check,
                    "name": figure.name,
                    "a": fmt(a),
                    "b": fmt(b),
                    "diff": fmt(diff),
                    "verdicts": " -> ".join(v or "-" for v in figure.verdicts),
                    "flag": flag,
                }
            )
        return self.page(request, "compare.html", a=runs[0], b=runs[1], rows=rows)

    def figures(self, request: Request) -> Response:
        with self.store.engine.connect() as connection:
            plans = choices(connection)["plans"]
            plan = request.query_params.get("plan") or (plans[0] if plans else "")
            found = figures_of_plan(connection, plan) if plan else []
            rates = yields(connection)
        for f in found:
            f["limit"] = limit_text(f["low"], f["high"])
            f["url"] = "/figure?" + urlencode({"plan": plan, "check": f["check_id"], "name": f["name"]})
        return self.page(request, "figures.html", plans=plans, plan=plan, figures=found, yields=rates)

    def figure(self, request: Request) -> Response:
        q = request.query_params
        check_id, name = q.get("check"), q.get("name")
        if not check_id or not name:
            raise HTTPException(400, "a figure is chosen by check and name (from a run's page or Measurements)")
        plan, serial = q.get("plan") or None, q.get("serial") or None
        with self.store.engine.connect() as connection:
            series = figure_series(connection, check_id, name, plan=plan, serial=serial)
            serials = serials_of_plan(connection, plan) if plan else []
            fpy = next(iter(yields(connection, plan)), None) if plan else None
        if not series.points:
            raise HTTPException(404, f"no run{' of ' + plan if plan else ''} measured {check_id}/{name}")
        shown = min(len(series.values), CHART_POINTS)
        return self.page(
            request, "figure.html", s=series, cap=series.capability, chart=series.chart, serials=serials, fpy=fpy,
            limit=limit_text(series.low, series.high), shown=shown, newest=series.points[-10:][::-1],
            trend=trend_svg(series, max_points=CHART_POINTS), control=control_svg(series, max_points=CHART_POINTS),
        )  # fmt: skip

    # ----- live ----------------------------------------------------------------------------------------------
    def live(self, request: Request) -> Response:
        return self.page(request, "live.html", panel=self.live_panel())

    def live_panel(self) -> str:
        with self.store.engine.connect() as connection:
            runs = live_runs(connection)
            for run in runs:
                self._live_state(run, live_records(connection, run["id"]))
        return self.templates.get_template("live_panel.html").render(runs=runs)

    def _live_state(self, run: dict, records: list[dict]) -> None:
        figures, safe, trace, checks, ended = [], [], None, 0, False
        for record in records:
            payload = json.loads(record["payload"])
            kind = record["kind"]
            if kind == "check_start":
                checks += 1
            elif kind == "measurement":
                limits = payload.get("limits") or {}
                figures.append(
                    {
                        "check": payload.get("check"),
                        "name": payload.get("name"),
                        "value": fmt(payload.get("value")),
                        "unit": payload.get("unit", ""),
                        "limit": limit_text(limits.get("low"), limits.get("high")),
                        "verdict": payload.get("verdict", ""),
                    }
                )
            elif kind == "power_trace":
                trace = (record["id"], payload)
            elif kind == "safe_state" and not payload.get("context"):
                safe.append(payload)
            elif kind == "run_end":
                ended = True
        if run["status"] == "ended":
            run["phase"] = f"ended: {run['verdict'].upper()} (sealed and indexed)"
        elif ended:
            run["phase"] = "ended; sealing the run directory"
        elif safe:
            run["phase"] = "making the bench safe"
        elif run["current_check"]:
            run["phase"] = f"running check {checks}: {run['current_check']}"
        else:
            run["phase"] = "starting"
        run["figures"], run["safe_states"] = figures, safe
        run["trace"] = ""
        if trace is not None:
            key, payload = trace
            if key not in self._trace_cache:
                self._trace_cache[key] = trace_svg(
                    payload["time_s"], payload["power_kw"], f"latest power trace: {payload.get('check', '')}"
                )
            run["trace"] = self._trace_cache[key]

    def _live_fingerprint(self) -> tuple:
        with self.store.engine.connect() as connection:
            newest = connection.execute(sa.text("SELECT max(id) FROM live_records")).scalar()
            runs = connection.execute(
                sa.text("SELECT id, status, verdict FROM runs WHERE status = 'running' ORDER BY id")
            ).all()
        return newest, tuple(tuple(r) for r in runs)

    async def live_events(self, request: Request) -> Response:
        async def stream():
            seen = None
            quiet = 0.0
            while not await request.is_disconnected():
                fingerprint = await run_in_threadpool(self._live_fingerprint)
                if fingerprint != seen:
                    seen = fingerprint
                    panel = await run_in_threadpool(self.live_panel)
                    yield "".join(f"data: {line}\n" for line in panel.splitlines() or [""]) + "\n"
                    quiet = 0.0
                elif quiet >= 15.0:  # a comment keeps proxies from closing an idle stream
                    yield ": idle\n\n"
                    quiet = 0.0
                await asyncio.sleep(LIVE_POLL_S)
                quiet += LIVE_POLL_S

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    # ----- helpers -------------------------------------------------------------------------------------------
    def locate(self, path: str) -> Path | None:
        """The run directory: where it was indexed, else under one of ``--reports`` by its name (a store moved
        between machines, or runs copied to a file server)."""
        candidates = [Path(path)] + [root / Path(path).name for root in self.reports]
        for candidate in candidates:
            if (candidate / "measurements.jsonl").is_file():
                return candidate.resolve()
        return None

    def not_found(self, request: Request, exc: HTTPException) -> Response:
        heading = {400: "bad request", 404: "not found"}.get(exc.status_code, "error")
        message = exc.detail if exc.status_code != 404 or exc.detail != "Not Found" else (
            f"there is no page {request.url.path!r} here: the pages are Live, History and Measurements")  # fmt: skip
        return self.page(request, "error.html", status_code=exc.status_code, status=exc.status_code,
                         heading=heading, message=message)  # fmt: skip

    def server_error(self, request: Request, exc: Exception) -> Response:
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        message = f"the store could not answer ({type(exc).__name__}: {detail}); nothing was changed"
        return self.page(request, "error.html", status_code=503, status=503, heading="store unavailable",
                         message=message)  # fmt: skip


def _int(text: str | None, default: int | None, what: str) -> int:
    if text in (None, "") and default is not None:
        return default
    try:
        value = int(str(text))
    except ValueError:
        raise HTTPException(400, f"{what} must be a whole number, got {text!r}") from None
    if value < 1:
        raise HTTPException(400, f"{what} must be at least 1, got {value}")
    return value


def _date(text: str | None, what: str, *, next_day: bool = False) -> dt.datetime | None:
    if not text:
        return None
    try:
        day = dt.datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise HTTPException(400, f"{what} is a date YYYY-MM-DD, got {text!r}") from None
    return day + dt.timedelta(days=1) if next_day else day


def create_app(store: Store, reports: list[Path], token: str | None = None) -> Starlette:
    view = LabView(store, reports)
    routes = [
        Route("/", view.home),
        Route("/history", view.history),
        Route("/runs/{run_id}", view.run),
        Route("/runs/{run_id}/files/{path:path}", view.run_file),
        Route("/compare", view.compare_runs),
        Route("/figures", view.figures),
        Route("/figure", view.figure),
        Route("/live", view.live),
        Route("/live/events", view.live_events),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    gate = TokenGate(token, view.templates)
    routes += gate.routes()
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: view.not_found, sa.exc.SQLAlchemyError: view.server_error},
    )
    app.add_middleware(gate.middleware)
    app.state.view = view
    return app
