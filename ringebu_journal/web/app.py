"""The web workspace: server-rendered pages on the same library as the CLI.

Invariants:

* Every page and every action names one operation (``access.ROUTE_OPERATION``) and is checked
  with :func:`access.authorize` for the signed-in user before anything is read; a refusal is a
  403 page and a ``command.refused`` audit event, as on the command line.
* Every action calls the library function the CLI calls (``moderation.flag`` / ``confirm`` /
  ``unflag`` / ``record_action``) with an ``App`` whose actor is the signed-in user, so the audit
  events are the same ones, with that user's name and role.
* Every POST carries the session's CSRF token (a form field, or the ``X-CSRF-Token`` header htmx
  sends); without it nothing runs (403). The sign-in form, before there is a session, uses a
  double-submit cookie.
* The session cookie is HttpOnly and SameSite=Strict, and Secure (named ``__Host-…``) when the
  request came over HTTPS (the reverse proxy's ``X-Forwarded-Proto``, trusted only from
  ``--forwarded-allow-ips``) or when ``secure_cookies`` is set.
* The pages work without JavaScript; htmx (vendored, ``static/htmx.min.js``) and the keyboard
  script only shorten the way.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from .. import audit as auditlib
from .. import audit_query, moderation, queries
from ..app import App
from ..db import migrate
from ..db.engine import Database
from ..errors import PermissionRefused, RingebuError, UsageError
from ..reports import compliance as compmod
from . import access, auth, views
from . import webhooks as webhook_routes
from ..webhooks import ACTOR as WEBHOOK_ACTOR

HERE = Path(__file__).resolve().parent
#: where the direct peer's address is kept before the proxy headers replace the client's
PEER_KEY = "ringebu_journal.peer"
SIGNIN_CSRF_COOKIE = "rj_signin_csrf"
DECISIONS = ("journal", "archive", "exclude")
QUEUE_PAGE = 50
AUDIT_PAGE = 200

#: the first page after signing in: the first of these the role may open (moderators the queue,
#: auditors the trail, archive staff their imports and exports)
HOME_ROUTES = (("decide", "/queue"), ("audit", "/audit"), ("archive", "/archive"), ("queue", "/queue"),
               ("compliance", "/reports/compliance"))


@dataclass
class WebSettings:
    db_url: str | None = None
    data_dir: str | None = None
    trusted_header: str | None = None          # e.g. X-Remote-User; None: single sign-on off
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    secure_cookies: bool | None = None         # None: Secure exactly when the request came over HTTPS
    extra_routes: list[Any] = field(default_factory=list)


class _State:
    def __init__(self, settings: WebSettings):
        self.settings = settings
        self.db = Database(settings.db_url)
        self.data_dir = Path(settings.data_dir).absolute() if settings.data_dir else None
        self.failures = auth.FailedSignIns()

    def app_for(self, actor: str, role: str | None = None) -> App:
        # the signed-in user is both the identity and the name acted under; the role is read
        # from the users table by the permission check, never taken from the session
        return App.for_identity(self.db, actor, via="web", data_dir=self.data_dir)


# -- formatting for the templates ------------------------------------------------------------


def _when(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v.replace("T", " ").replace("Z", " UTC")
    if isinstance(v, datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=timezone.utc)
        return v.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return str(v)


DECISION_NB = {"journal": "journalføres", "archive": "arkiveres", "exclude": "holdes utenfor",
               "review": "må vurderes", None: "ikke vurdert"}
WHY_NB = {queries.WHY_REVIEW: "må vurderes", queries.WHY_JOURNAL: "journalføring ikke bekreftet",
          queries.WHY_SCREEN: "skjerming ikke bekreftet", queries.WHY_EDITED: "endret etter vedtak"}
DUTY_NB = {"reply": "svare", "thank": "takke", "remove": "fjerne", "refer_post": "henvise til postmottak",
           "refer_political": "henvise til politisk nivå"}
ACTION_NB = {"replied": "svart", "hidden": "skjult", "deleted": "slettet", "referred_post": "henvist til postmottak",
             "referred_political": "henvist til politisk nivå"}
KIND_NB = {"post": "innlegg", "comment": "kommentar", "reply": "svar", "message": "melding", "tweet": "innlegg",
           "story": "historie"}
STATUS_NB = {"active": "aktiv", "edited": "endret", "deleted": "slettet", "hidden": "skjult"}


def _why(text: str) -> str:
    if text.startswith(queries.WHY_DUTY):
        duties = text.split(":", 1)[1].split(",") if ":" in text else []
        return "å gjøre: " + ", ".join(DUTY_NB.get(d.strip(), d.strip()) for d in duties)
    return WHY_NB.get(text, text)


def _templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(HERE / "templates"))
    t.env.filters["when"] = _when
    t.env.filters["decision_nb"] = lambda d: DECISION_NB.get(d, d)
    t.env.filters["why_nb"] = _why
    t.env.filters["duty_nb"] = lambda d: DUTY_NB.get(d, d)
    t.env.filters["action_nb"] = lambda a: ACTION_NB.get(a, a)
    t.env.filters["status_nb"] = lambda s: STATUS_NB.get(s, s)
    t.env.filters["kind_nb"] = lambda k: KIND_NB.get(k, k)
    t.env.globals["may"] = access.route_may
    return t


TEMPLATES = _templates()


# -- requests ---------------------------------------------------------------------------------


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _secure(state: _State, request: Request) -> bool:
    if state.settings.secure_cookies is not None:
        return state.settings.secure_cookies
    return request.url.scheme == "https"


def _cookie_name(secure: bool) -> str:
    return "__Host-rj_session" if secure else "rj_session"


def _token(request: Request) -> str | None:
    return request.cookies.get("__Host-rj_session") or request.cookies.get("rj_session")


def _set_session_cookie(state: _State, request: Request, response: Response, token: str) -> None:
    secure = _secure(state, request)
    response.set_cookie(_cookie_name(secure), token, max_age=auth.SESSION_HOURS * 3600, path="/",
                        secure=secure, httponly=True, samesite="strict")


def _clear_session_cookie(response: Response) -> None:
    for name in ("__Host-rj_session", "rj_session"):
        response.delete_cookie(name, path="/", secure=name.startswith("__Host-"), httponly=True, samesite="strict")


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _render(request: Request, name: str, ctx: dict[str, Any], status: int = 200) -> Response:
    return TEMPLATES.TemplateResponse(request, name, ctx, status_code=status)


def _page(request: Request, template: str, session: auth.Session | None, status: int = 200, **ctx: Any) -> Response:
    return _render(request, template, {"session": session, "csrf": session.csrf_token if session else "", **ctx}, status)


def _error(request: Request, session: auth.Session | None, status: int, title: str, detail: str,
           detail_lang: str | None = None) -> Response:
    if _is_htmx(request):
        return _render(request, "_error.html", {"title": title, "detail": detail, "detail_lang": detail_lang}, status)
    return _page(request, "error.html", session, status, title=title, detail=detail, detail_lang=detail_lang)


def _local_path(target: str | None) -> str:
    """Only a path on this site is followed after signing in (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


Work = Callable[[Request, App, auth.Session, Any], Response]


def _guarded(state: _State, route: str, work: Work) -> Callable[[Request], Awaitable[Response]]:
    """Sign-in, CSRF (POST), the operation check, then ``work`` in a worker thread."""

    async def endpoint(request: Request) -> Response:
        session, new_token = await run_in_threadpool(_session, state, request)
        if session is None:
            target = "/signin?" + urlencode({"next": request.url.path + (
                "?" + request.url.query if request.url.query else "")})
            if _is_htmx(request):
                return Response(status_code=401, headers={"HX-Redirect": target})
            return RedirectResponse(target, status_code=303)
        form = None
        if request.method == "POST":
            form = await request.form()
            given = form.get("csrf_token") or request.headers.get("x-csrf-token")
            if not auth.same(str(given) if given else None, session.csrf_token):
                return _error(request, session, 403, "Skjemaet kunne ikke sendes",
                              "Sikkerhetsnøkkelen (CSRF) mangler eller er utløpt. Last siden på nytt og prøv igjen.")
        app = state.app_for(session.user, session.role)
        try:
            await run_in_threadpool(access.authorize, app, access.ROUTE_OPERATION[route], route)
        except PermissionRefused:
            return _error(request, session, 403, "Ingen tilgang",
                          f"Rollen din ({session.role}) gir ikke tilgang til dette. Forsøket er logget.")
        try:
            response = await run_in_threadpool(work, request, app, session, form)
        except UsageError as exc:
            response = _error(request, session, 400, "Det gikk ikke", exc.message, "en")
        except RingebuError as exc:
            response = _error(request, session, 409 if exc.exit_code == 1 else 400, "Det gikk ikke", exc.message, "en")
        if new_token:
            _set_session_cookie(state, request, response, new_token)
        return response

    endpoint.__ringebu_route__ = route  # type: ignore[attr-defined]
    return endpoint


def _session(state: _State, request: Request) -> tuple[auth.Session | None, str | None]:
    app = state.app_for("web")
    session = auth.session_for(app, _token(request))
    if session is not None:
        return session, None
    header = state.settings.trusted_header
    peer = request.scope.get(PEER_KEY)
    if header and peer and peer[0] in state.settings.trusted_proxies:
        name = request.headers.get(header)
        if name:
            started = auth.sign_in_trusted(app, name, header=header, client=_client(request))
            if started is not None:
                return started.session, started.token
    return None, None


# -- parameters -------------------------------------------------------------------------------


def _date(value: str | None, label: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{label} {value!r} is not a date — write it as YYYY-MM-DD") from None


def _int(value: Any, label: str, default: int | None = None, *, low: int = 0, high: int = 10_000) -> int | None:
    if value in (None, ""):
        return default
    try:
        n = int(str(value))
    except ValueError:
        raise UsageError(f"{label} {value!r} is not a whole number") from None
    if not low <= n <= high:
        raise UsageError(f"{label} {n} is outside {low}–{high}")
    return n


def _text(value: Any, limit: int = 2000) -> str | None:
    s = str(value).strip() if value is not None else ""
    return s[:limit] if s else None


# -- pages ------------------------------------------------------------------------------------


def queue_page(request: Request, app: App, session: auth.Session, _form: Any) -> Response:
    q = request.query_params
    decision = q.get("decision") or None
    if decision and decision not in (*DECISIONS, "review"):
        raise UsageError(f"decision {decision!r} is not one of journal, archive, exclude, review")
    filters = {k: q.get(k) or "" for k in ("decision", "category", "action", "account", "since", "until")}
    f = queries.QueueFilter(decision=decision, category=q.get("category") or None, action=q.get("action") or None,
                            account=q.get("account") or None, since=_date(q.get("since"), "since"),
                            until=_date(q.get("until"), "until"),
                            limit=_int(q.get("limit"), "limit", QUEUE_PAGE, low=1, high=1000))
    items = queries.queue(app, f)
    return _page(request, "queue.html", session, items=items, filters=filters, limit=f.limit,
                 can_decide=access.route_may(session.role, "decide"),
                 can_act=access.route_may(session.role, "record_action"))


def _decide(request: Request, app: App, session: auth.Session, form: Any) -> Response:
    mid = int(request.path_params["message_id"])
    decision = _text(form.get("decision"), 20)
    reason = _text(form.get("reason"))
    expect = _int(form.get("expect_version"), "expect_version", None, high=2 ** 31 - 1)
    screen = {"yes": True, "no": False}.get(str(form.get("screen") or ""), None)
    ref = f"id:{mid}"
    if decision == "confirm":
        outcomes = moderation.confirm(app, [ref], reason=reason, expect_version=expect)
    elif decision == "unflag":
        outcomes = moderation.unflag(app, [ref], reason or "", expect_version=expect)
    elif decision in DECISIONS:
        outcomes = moderation.flag(app, [ref], decision, reason or "", screen=screen, expect_version=expect)
    else:
        raise UsageError(f"decision {decision!r} is not one of confirm, journal, archive, exclude, unflag")
    o = outcomes[0]
    ctx = {"outcome": o, "message_id": mid, "decision": decision}
    if not o.stored:
        status = 409
        if _is_htmx(request):
            return _render(request, "_decided.html", ctx, status)
        return _page(request, "decided.html", session, status, **ctx)
    if _is_htmx(request):
        return _render(request, "_decided.html", ctx)
    back = _local_path(_text(form.get("back"), 500))
    return RedirectResponse(back if back != "/" else f"/messages/{mid}", status_code=303)


def _record_action(request: Request, app: App, session: auth.Session, form: Any) -> Response:
    mid = int(request.path_params["message_id"])
    res = moderation.record_action(app, f"id:{mid}", _text(form.get("action"), 40) or "", _text(form.get("note")))
    if _is_htmx(request):
        return _render(request, "_action_recorded.html", {"result": res})
    back = _local_path(_text(form.get("back"), 500))
    return RedirectResponse(back if back != "/" else f"/messages/{mid}", status_code=303)


def message_page(request: Request, app: App, session: auth.Session, _form: Any) -> Response:
    mid = int(request.path_params["message_id"])
    data = queries.show(app, f"id:{mid}").as_dict()    # the page reads the JSON form's names
    versions = data["versions"]
    diffs = {v["version"]: views.version_diff(versions[i - 1]["text"], v["text"])
             for i, v in enumerate(versions) if i > 0}
    journal = views.journal_status(app, data["message"], [v["id"] for v in versions])
    return _page(request, "message.html", session, d=data, m=data["message"], diffs=diffs, journal=journal,
                 can_decide=access.route_may(session.role, "decide"),
                 can_act=access.route_may(session.role, "record_action"), actions=moderation.ACTIONS)


def audit_page(request: Request, app: App, session: auth.Session, _form: Any) -> Response:
    q = request.query_params
    filters = {k: q.get(k) or "" for k in ("actor", "action", "object_type", "object_id", "since", "until")}
    since, until = _date(q.get("since"), "since"), _date(q.get("until"), "until")
    f = audit_query.AuditFilter(
        object_type=filters["object_type"] or None, object_id=filters["object_id"] or None,
        actor=filters["actor"] or None, action=filters["action"] or None,
        since=datetime.combine(since, datetime.min.time(), timezone.utc) if since else None,
        until=datetime.combine(until, datetime.max.time(), timezone.utc) if until else None,
        decisions_only=q.get("decisions") == "1",
        limit=_int(q.get("limit"), "limit", AUDIT_PAGE, low=1, high=5000), newest_first=True)
    events = [audit_query.readable(e) for e in audit_query.query(app, f)]
    return _page(request, "audit.html", session, events=events, filters=filters, decisions=q.get("decisions") == "1",
                 limit=f.limit, can_verify=access.route_may(session.role, "audit_verify"))


def audit_verify_page(request: Request, app: App, session: auth.Session, _form: Any) -> Response:
    head = _text(request.query_params.get("head"), 64)
    with app.db.read() as conn:
        result = auditlib.verify(conn, head=head)
    return _page(request, "verify.html", session, 200 if result.ok else 409, result=result, head=head or "")


def compliance_page(request: Request, app: App, session: auth.Session, _form: Any) -> Response:
    q = request.query_params
    rep = compmod.build_report(app, from_date=_date(q.get("from"), "from"), to_date=_date(q.get("to"), "to"),
                               account=q.get("account") or None)
    return _page(request, "compliance.html", session, report=rep, lines=compmod.summary_lines(rep),
                 filters={k: q.get(k) or "" for k in ("from", "to", "account")})


def archive_page(request: Request, app: App, session: auth.Session, _form: Any) -> Response:
    return _page(request, "archive.html", session, status=200, data=views.archive_status(app))


def search_page(request: Request, app: App, session: auth.Session, _form: Any) -> Response:
    from . import search_view

    return search_view.render(request, app, session)


# -- sign-in ----------------------------------------------------------------------------------


def _signin_form(request: Request, status: int = 200, error: str | None = None,
                 name: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    resp = _page(request, "signin.html", None, status, signin_csrf=token, error=error, name=name,
                 next=_local_path(request.query_params.get("next")))
    resp.set_cookie(SIGNIN_CSRF_COOKIE, token, max_age=3600, path="/signin", httponly=True, samesite="strict",
                    secure=request.url.scheme == "https")
    return resp


def create_app(settings: WebSettings | None = None) -> Any:
    """The ASGI application: the proxy headers believed only from ``trusted_proxies`` (the
    client's address and the scheme come from ``X-Forwarded-For``/``-Proto`` then), the direct
    peer kept for the trusted-header check, and the workspace itself."""
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    settings = settings or WebSettings()
    return _KeepPeer(ProxyHeadersMiddleware(_workspace(settings), trusted_hosts=list(settings.trusted_proxies)))


class _KeepPeer:
    """Keeps the address of whoever connected (the proxy, when there is one) under ``PEER_KEY``."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope[PEER_KEY] = scope.get("client")
        await self.app(scope, receive, send)


def _workspace(settings: WebSettings) -> Starlette:
    state = _State(settings)
    migrate.check_schema(state.db)          # a database older or newer than the program is refused at start

    async def signin_get(request: Request) -> Response:
        session, new_token = await run_in_threadpool(_session, state, request)
        if session is not None:
            resp: Response = RedirectResponse(_local_path(request.query_params.get("next")) or "/", status_code=303)
            if new_token:
                _set_session_cookie(state, request, resp, new_token)
            return resp
        return _signin_form(request)

    async def signin_post(request: Request) -> Response:
        form = await request.form()
        if not auth.same(str(form.get("csrf_token") or ""), request.cookies.get(SIGNIN_CSRF_COOKIE)):
            return _signin_form(request, 403, "Skjemaet var utløpt. Prøv igjen.")
        name = str(form.get("username") or "")[:auth.MAX_NAME]
        password = str(form.get("password") or "")
        client = _client(request)
        if state.failures.blocked(name, client):
            await run_in_threadpool(auth.refuse, state.app_for("web"), name, "too many failed attempts", client)
            return _signin_form(request, 429, "For mange mislykte forsøk. Vent et kvarter, eller be en "
                                              "administrator om nytt passord.", name)
        started = await run_in_threadpool(auth.sign_in, state.app_for("web"), name, password, client=client)
        if started is None:
            state.failures.failed(name, client)
            return _signin_form(request, 401, "Feil brukernavn eller passord.", name)
        state.failures.succeeded(name)
        resp = RedirectResponse(_local_path(str(form.get("next") or "/")), status_code=303)
        _set_session_cookie(state, request, resp, started.token)
        resp.delete_cookie(SIGNIN_CSRF_COOKIE, path="/signin")
        return resp

    async def signout(request: Request) -> Response:
        session, _ = await run_in_threadpool(_session, state, request)
        resp = RedirectResponse("/signin", status_code=303)
        if session is None:
            _clear_session_cookie(resp)
            return resp
        form = await request.form()
        if not auth.same(str(form.get("csrf_token") or request.headers.get("x-csrf-token") or ""),
                         session.csrf_token):
            return _error(request, session, 403, "Skjemaet kunne ikke sendes",
                          "Sikkerhetsnøkkelen (CSRF) mangler eller er utløpt. Last siden på nytt og prøv igjen.")
        await run_in_threadpool(auth.sign_out, state.app_for(session.user, session.role), session,
                                client=_client(request))
        _clear_session_cookie(resp)
        return resp

    async def home(request: Request) -> Response:
        session, new_token = await run_in_threadpool(_session, state, request)
        if session is None:
            return RedirectResponse("/signin", status_code=303)
        target = next((path for route, path in HOME_ROUTES if access.route_may(session.role, route)), None)
        if target is None:
            resp = _page(request, "error.html", session, 403, title="Ingen sider for rollen din",
                         detail=f"Rollen {session.role} har ingen sider i arbeidsflaten. Bruk kommandolinjen.")
        else:
            resp = RedirectResponse(target, status_code=303)
        if new_token:
            _set_session_cookie(state, request, resp, new_token)
        return resp

    g = lambda route, work: _guarded(state, route, work)  # noqa: E731
    routes = [
        Route("/", home),
        Route("/signin", signin_get, methods=["GET"]),
        Route("/signin", signin_post, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/queue", g("queue", queue_page)),
        Route("/messages/{message_id:int}", g("message", message_page)),
        Route("/messages/{message_id:int}/decide", g("decide", _decide), methods=["POST"]),
        Route("/messages/{message_id:int}/actions", g("record_action", _record_action), methods=["POST"]),
        Route("/search", g("search", search_page)),
        Route("/audit", g("audit", audit_page)),
        Route("/audit/verify", g("audit_verify", audit_verify_page)),
        Route("/reports/compliance", g("compliance", compliance_page)),
        Route("/archive", g("archive", archive_page)),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
        # Meta signs its deliveries: the webhook route is outside sign-in and CSRF by design
        *webhook_routes.routes(lambda: state.app_for(WEBHOOK_ACTOR)),
        *settings.extra_routes,
    ]
    return Starlette(routes=routes, middleware=[Middleware(_SecurityHeaders)])


class _SecurityHeaders:
    """Headers every answer carries: no framing, no sniffing, scripts and styles only from here."""

    HEADERS = [
        (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                     b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"cache-control", b"no-store"),
    ]

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in self.HEADERS if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
