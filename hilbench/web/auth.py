"""The lab view's access token (for a view served on a lab network): every request carries it, either as
``Authorization: Bearer TOKEN`` (scripts) or as a session cookie set by signing in once (browsers).  The token
never appears in a URL, so never in an access log or a browser's history; the cookie holds a keyed hash of it,
not the token itself.  Without a token (loopback only) the gate is open."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

COOKIE = "hilbench_session"
OPEN_PATHS = ("/login", "/static/")


class TokenGate:
    def __init__(self, token: str | None, templates) -> None:
        self.token, self.templates = token, templates
        self._salt = secrets.token_bytes(16)  # sessions end when the server restarts

    def _session(self) -> str:
        return hmac.new(self._salt, (self.token or "").encode(), hashlib.sha256).hexdigest()

    def allows(self, headers: dict[str, str], cookies: dict[str, str]) -> bool:
        if not self.token:
            return True
        bearer = headers.get("authorization", "")
        if bearer.startswith("Bearer ") and hmac.compare_digest(bearer[7:].encode(), self.token.encode()):
            return True
        return hmac.compare_digest(cookies.get(COOKIE, "").encode(), self._session().encode())

    def routes(self) -> list[Route]:
        return [Route("/login", self.login, methods=["GET", "POST"])]

    async def login(self, request: Request) -> Response:
        target = request.query_params.get("next", "/history")
        if request.method == "GET":
            return self.templates.TemplateResponse(request, "login.html", {"next": target, "failed": False})
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        target = str(form.get("next") or "/history")
        if not target.startswith("/") or target.startswith("//"):  # only this server's pages
            target = "/history"
        given = str(form.get("token") or "")
        if not self.token or not hmac.compare_digest(given.encode(), self.token.encode()):
            context = {"next": target, "failed": bool(self.token)}
            return self.templates.TemplateResponse(request, "login.html", context, status_code=401)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, self._session(), httponly=True, samesite="strict")
        return response

    def middleware(self, app):
        gate = self

        async def guarded(scope, receive, send):
            if scope["type"] != "http" or not gate.token or scope["path"].startswith(OPEN_PATHS):
                return await app(scope, receive, send)
            request = Request(scope)
            if gate.allows({k.lower(): v for k, v in request.headers.items()}, request.cookies):
                return await app(scope, receive, send)
            if "text/html" in request.headers.get("accept", ""):
                response = RedirectResponse(f"/login?next={quote(scope['path'])}", status_code=303)
            else:
                response = Response("a token is needed: Authorization: Bearer TOKEN\n", status_code=401)
            return await response(scope, receive, send)

        return guarded
