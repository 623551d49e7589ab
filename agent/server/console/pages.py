"""The console's pages: incidents, one incident (charts, timeline, approve), answers, sign-in."""

from __future__ import annotations

import hmac
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from opsloop.agent.approvals.decide import DecisionError, decide, pending_request
from opsloop.agent.approvals.people import People
from opsloop.agent.server.auth import ReadAuth
from opsloop.agent.server.console import data
from opsloop.agent.server.console.charts import svg
from opsloop.agent.server.console.png import png
from opsloop.agent.server.console.session import COOKIE, SESSION_S, Sessions, Viewer
from opsloop.tools.backends.prometheus.kube import service_candidates

HERE = Path(__file__).parent
STATIC = {"console.css": "text/css", "console.js": "text/javascript"}
DONE = {"approved": "Approved: the action ran (see the outcome below).", "rejected": "Rejected."}


class Console:
    """Render incident pages from the store, the graph's paused requests and Prometheus."""

    def __init__(
        self,
        settings: Any,
        store: Any,
        assistant: Any = None,
        prom: Any = None,
        changelog: Any = None,
    ) -> None:
        self.store, self.assistant, self.prom, self.changelog = store, assistant, prom, changelog
        self.service_label = str(getattr(settings, "service_label", None) or "service")
        self.people = People(getattr(settings, "people", None) or {})
        self.reader = ReadAuth(settings)
        secret = getattr(settings, "console_secret", None)
        secret = secret.get_secret_value() if hasattr(secret, "get_secret_value") else secret
        self.sessions = Sessions(secret, getattr(settings, "console_user_header", None))
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])
        )

    # -- routing ------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        """Return the console's own routes (the incident page shares `/incidents/{id}`)."""
        return [
            Route("/", self.index, methods=["GET"]),
            Route("/answers", self.answers, methods=["GET"]),
            Route("/console/login", self.login_form, methods=["GET"]),
            Route("/console/login", self.login, methods=["POST"]),
            Route("/console/logout", self.logout, methods=["POST"]),
            Route("/console/static/{name}", self.static, methods=["GET"]),
            Route("/incidents/{incident_id}/decision", self.decision, methods=["POST"]),
        ]

    @staticmethod
    def wants_html(request: Request) -> bool:
        """Return True for a browser (Accept names text/html before JSON)."""
        accept = request.headers.get("accept", "")
        html, js = accept.find("text/html"), accept.find("application/json")
        return html >= 0 and (js < 0 or html < js)

    # -- pages --------------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        viewer = self._viewer(request)
        if isinstance(viewer, Response):
            return viewer
        status = request.query_params.get("status", "")
        service = request.query_params.get("service", "").strip()
        rows = await run_in_threadpool(self._rows, status, service)
        return self._render(
            request, "incidents.html", viewer, nav="incidents", rows=rows, status=status,
            service=service, statuses=("investigating", "open", "resolved"),
        )  # fmt: skip

    async def incident(self, request: Request, flash: str = "", code: int = 200) -> Response:
        viewer = self._viewer(request)
        if isinstance(viewer, Response):
            return viewer
        incident_id = request.path_params["incident_id"]
        page = await run_in_threadpool(self._incident_page, incident_id)
        if page is None:
            return self._render(
                request, "incidents.html", viewer, code=404, nav="incidents", rows=[],
                status="", service="", statuses=(), flash=f"No incident {incident_id}.",
                flash_kind="error",
            )  # fmt: skip
        done = DONE.get(request.query_params.get("done", ""), "")
        return self._render(
            request, "incident.html", viewer, code=code, nav="incidents",
            flash=flash or done, flash_kind="error" if flash else "ok", **page,
        )  # fmt: skip

    async def answers(self, request: Request) -> Response:
        viewer = self._viewer(request)
        if isinstance(viewer, Response):
            return viewer
        rows = await run_in_threadpool(self._answer_rows)
        return self._render(request, "answers.html", viewer, nav="answers", rows=rows)

    # -- sign-in and decisions ----------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        viewer = self.sessions.viewer(request)
        return self._render(request, "login.html", viewer, next=_local(request, "next"))

    async def login(self, request: Request) -> Response:
        if not _same_origin(request):
            return HTMLResponse("cross-site sign-in refused", 403)
        form = await request.form()
        token, target = str(form.get("token") or ""), _local_path(str(form.get("next") or "/"))
        name = self.people.who(f"Bearer {token}")
        if name is None:
            viewer = self.sessions.viewer(request)
            return self._render(
                request, "login.html", viewer, code=401, next=target,
                flash="That token is not a known person's (opsloop token new NAME).",
                flash_kind="error",
            )  # fmt: skip
        response = RedirectResponse(target, 303)
        response.set_cookie(
            COOKIE, self.sessions.issue(name), max_age=SESSION_S, httponly=True,
            samesite="strict", secure=_https(request), path="/",
        )  # fmt: skip
        return response

    async def logout(self, request: Request) -> Response:
        viewer = self.sessions.viewer(request)
        form = await request.form()
        if not _csrf_ok(viewer, str(form.get("csrf") or ""), request):
            return HTMLResponse("missing or wrong CSRF token", 403)
        response = RedirectResponse("/", 303)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def decision(self, request: Request) -> Response:
        viewer = self.sessions.viewer(request)
        form = await request.form()
        incident_id = request.path_params["incident_id"]
        if viewer.name is None:
            return RedirectResponse(f"/console/login?next=/incidents/{quote(incident_id)}", 303)
        if not _csrf_ok(viewer, str(form.get("csrf") or ""), request):
            return HTMLResponse("missing or wrong CSRF token: reload the page and try again", 403)
        word = form.get("decision")
        if word not in ("approve", "reject") or self.assistant is None:
            return await self.incident(request, "Choose Approve or Reject.", 400)
        reason = str(form.get("reason") or "")[:500]
        try:
            await run_in_threadpool(
                decide, self.assistant, incident_id, viewer.name, word == "approve", reason,
                "console",
            )  # fmt: skip
        except DecisionError as exc:
            return await self.incident(request, exc.message, exc.status)
        done = "approved" if word == "approve" else "rejected"
        return RedirectResponse(f"/incidents/{quote(incident_id)}?done={done}", 303)

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return HTMLResponse("not found", 404)
        return FileResponse(HERE / "static" / name, media_type=STATIC[name])

    # -- helpers ------------------------------------------------------------------------------

    def _viewer(self, request: Request) -> Viewer | Response:
        """Return the viewer, or the sign-in redirect when reads need credentials."""
        viewer = self.sessions.viewer(request)
        protected = bool(self.reader.token)
        if viewer.name or not protected or self.reader.allows(request.headers.get("authorization")):
            return viewer
        return RedirectResponse(f"/console/login?next={quote(_here(request))}", 303)

    def _render(self, request: Request, template: str, viewer: Viewer, code: int = 200,
                **context: Any) -> Response:  # fmt: skip
        html = self.env.get_template(template).render(viewer=viewer, here=_here(request), **context)
        return HTMLResponse(html, code, headers={"Cache-Control": "no-store"})

    def _rows(self, status: str, service: str) -> list[dict[str, Any]]:
        wanted = {"": ("investigating", "open"), "all": None}.get(status, (status,))
        only = wanted[0] if wanted is not None and len(wanted) == 1 else None
        found = self.store.list_incidents(200, only)
        now, rows = time.time(), []
        for row in found:
            if wanted is not None and row["status"] not in wanted:
                continue
            full = self.store.get(row["id"]) or row
            report = full.get("report") or {}
            services = self._services(full)
            if service and service not in services:
                continue
            rows.append({
                **row, "services": services, "top": row.get("top_hypothesis"),
                "title": report.get("title"), "severity": report.get("severity"),
                "age": data.age(row.get("opened_at"), now),
            })  # fmt: skip
        return rows[:100]

    def _incident_page(self, incident_id: str) -> dict[str, Any] | None:
        incident = self.store.get(incident_id)
        if incident is None:
            return None
        report, now = incident.get("report") or {}, time.time()
        changes = data.change_marks(self.changelog, incident, set(self._services(incident)))
        audit = self.assistant.deps.audit.for_thread(incident_id) if self.assistant else []
        pending = None
        if self.assistant is not None:
            try:
                _id, pending = pending_request(self.assistant, incident_id)
            except DecisionError:
                pending = None
        charts = [
            {"svg": svg(c), "title": c.title, "link": _link(report, c.title)}
            for c in data.charts(incident, self.prom, changes, now)
        ]
        events = [
            {**e, "iso": _iso(e["at"]), "clock": _iso(e["at"])[11:19]}
            for e in data.timeline(incident, audit, changes)
        ]
        alerts = incident.get("alerts") or [{}]
        title = report.get("title") or f"{alerts[0].get('name', 'Incident')} on " + (
            ", ".join(self._services(incident)) or incident_id
        )
        decided = [e for e in audit if e.get("decision") not in (None, "requested")]
        outcome = ""
        if decided:
            last = decided[-1]
            outcome = f"{last['action']} {last['decision']} by {last.get('approver') or '?'}"
            outcome += f": {last['result']}" if last.get("result") else ""
        return {
            "incident": incident, "report": report, "title": title, "pending": pending,
            "charts": charts, "events": events, "outcome": outcome,
            "age": data.age(incident.get("opened_at"), now),
        }  # fmt: skip

    def top_chart_png(self, incident: dict[str, Any]) -> tuple[bytes, str] | None:
        """Return (PNG, caption) of the incident's top evidence series, for Slack."""
        full = self.store.get(incident["id"]) or incident
        marks = data.change_marks(self.changelog, full, set(self._services(full)))
        drawn = data.charts(full, self.prom, marks, time.time())
        if not drawn or (image := png(drawn[0])) is None:
            return None
        t0 = drawn[0].onset
        onset = f"; onset {_iso(t0)[11:16]} UTC (red dashes)" if t0 else ""
        return image, f"{drawn[0].title}{onset}; baseline band shaded"

    def _services(self, incident: dict[str, Any]) -> list[str]:
        """Return the services the incident's alerts name (the same label conventions as RCA)."""
        found = (service_candidates(a.get("labels") or {}, self.service_label)[:1]
                 for a in incident.get("alerts", []))  # fmt: skip
        return sorted({s for first in found for s in first})

    def _answer_rows(self) -> list[dict[str, Any]]:
        if self.assistant is None:
            return []
        store = self.assistant.deps.answers
        rows = []
        for record in store.recent(50):
            evals = record.get("evals") or {}
            ratings = [f.get("rating") or "note" for f in store.feedback(record["thread_id"])]
            rows.append({
                **record, "grounded": evals.get("grounded"),
                "groundedness": evals.get("groundedness"), "feedback": ratings,
            })  # fmt: skip
        return rows


def _link(report: dict[str, Any], title: str) -> str | None:
    ident = title[1 : title.find("]")] if title.startswith("[") else ""
    return next((e.get("link") for e in report.get("evidence", []) if e.get("id") == ident), None)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _local(request: Request, name: str) -> str:
    return _local_path(request.query_params.get(name) or "/")


def _local_path(target: str) -> str:
    """Return `target` if it is a path on this site, else `/` (no open redirects)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _https(request: Request) -> bool:
    proto = request.headers.get("x-forwarded-proto") or request.url.scheme
    return proto == "https"


def _same_origin(request: Request) -> bool:
    """Refuse a POST whose Origin names another site (browsers send it on form posts)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    host = request.headers.get("x-forwarded-host") or request.headers.get("host") or ""
    return urlsplit(origin).netloc == host


def _csrf_ok(viewer: Viewer, given: str, request: Request) -> bool:
    return bool(viewer.csrf) and hmac.compare_digest(given, viewer.csrf) and _same_origin(request)
