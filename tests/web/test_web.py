"""The web workspace through HTTP on both databases: sign-in, CSRF, roles per page, decisions
that write the CLI's audit events, the optimistic-lock conflict, single sign-on, set-password."""

from __future__ import annotations

import io
import json
import sys

import pytest
from sqlalchemy import select

from moderation.conftest import run_cli
from ringebu_journal.app import App
from ringebu_journal.db.tables import AuditEvent, ModeratorDecision, User, WebSession
from ringebu_journal.web.app import WebSettings

from .conftest import PASSWORDS, csrf_of, sign_in

AUD = AuditEvent.__table__
DEC = ModeratorDecision.__table__


def events(app: App, action: str | None = None) -> list[dict]:
    with app.db.read() as conn:
        stmt = select(AUD).order_by(AUD.c.seq)
        if action:
            stmt = stmt.where(AUD.c.action == action)
        return [dict(r) for r in conn.execute(stmt).mappings()]


def lock_of(app: App, mid: int) -> int:
    from ringebu_journal.db.tables import Message
    M = Message.__table__
    with app.db.read() as conn:
        return conn.execute(select(M.c.lock_version).where(M.c.id == mid)).scalar()


def test_sign_in_cookie_and_failed_attempts_audited_without_the_password(site):
    c = site.client()
    assert c.get("/queue").status_code == 303
    assert c.get("/queue").headers["location"].startswith("/signin?next=%2Fqueue")
    bad = sign_in(c, "kari", "feil passord her")
    assert bad.status_code == 401 and "Feil brukernavn eller passord" in bad.text
    unknown = sign_in(c, "ingen", "hva som helst")
    assert unknown.status_code == 401
    failed = events(site.admin, "web.signin.failed")
    assert [json.loads(e["after"])["reason"] for e in failed] == ["wrong password", "unknown user"]
    assert [e["object_id"] for e in failed] == ["kari", "ingen"]
    trail = json.dumps(events(site.admin), default=str)
    assert "feil passord her" not in trail and "hva som helst" not in trail
    assert not any(pw in trail for pw in PASSWORDS.values())

    good = sign_in(c, "kari")
    assert good.status_code == 303
    cookie = good.headers["set-cookie"]
    assert cookie.startswith("rj_session=") and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace(
        "samesite", "SameSite")
    page = c.get("/queue")
    assert page.status_code == 200
    assert '<html lang="nb">' in page.text and '<main id="main"' in page.text and '<nav aria-label="Hovedmeny"' in page.text
    assert 'class="skip" href="#main"' in page.text and "<h1>Arbeidsliste</h1>" in page.text
    assert page.headers["x-frame-options"] == "DENY" and "default-src 'self'" in page.headers["content-security-policy"]
    # the database keeps the token's hash only
    token = c.cookies.get("rj_session")
    with site.admin.db.read() as conn:
        stored = conn.execute(select(WebSession.__table__.c.token_hash)).scalars().all()
        hashed = conn.execute(select(User.__table__.c.password_hash).where(User.__table__.c.name == "kari")).scalar()
    assert token not in stored and len(stored) == 1
    assert hashed.startswith("$argon2id$") and PASSWORDS["kari"] not in hashed

    # sign out ends the session: the old cookie signs nobody in
    out = c.post("/signout", data={"csrf_token": csrf_of(page.text)})
    assert out.status_code == 303
    c.cookies.set("rj_session", token)
    assert c.get("/queue").status_code == 303
    assert [e["actor"] for e in events(site.admin, "web.signout")] == ["kari"]


def test_every_form_needs_the_session_csrf_token(site):
    c = site.client()
    sign_in(c, "kari")
    mid = site.ids["klage"]
    lock = lock_of(site.admin, mid)
    form = {"decision": "exclude", "reason": "ikke en sak", "expect_version": str(lock)}
    for extra in ({}, {"csrf_token": "feil"}):
        r = c.post(f"/messages/{mid}/decide", data={**form, **extra})
        assert r.status_code == 403 and "CSRF" in r.text
    r = c.post(f"/messages/{mid}/decide", data=form, headers={"X-CSRF-Token": "feil", "HX-Request": "true"})
    assert r.status_code == 403
    with site.admin.db.read() as conn:
        assert conn.execute(select(DEC)).first() is None
    # sign-in form: a post without its cookie's token signs nobody in
    other = site.client()
    r = other.post("/signin", data={"csrf_token": "x", "username": "kari", "password": PASSWORDS["kari"]})
    assert r.status_code == 403 and "set-cookie" not in {k.lower() for k in r.headers if "rj_session" in r.headers[k]}
    # with the header htmx sends, the same post goes through
    page = c.get("/queue")
    r = c.post(f"/messages/{mid}/decide", data=form, headers={"X-CSRF-Token": csrf_of(page.text), "HX-Request": "true"})
    assert r.status_code == 200 and 'data-outcome="stored"' in r.text


def test_pages_follow_the_roles_and_refusals_are_audited(site):
    mod, aud, arc = site.client(), site.client(), site.client()
    sign_in(mod, "kari"), sign_in(aud, "revisor"), sign_in(arc, "arkivar")
    mid = site.ids["klage"]
    expected = {
        "/queue": {"kari": 200, "revisor": 200, "arkivar": 200},
        f"/messages/{mid}": {"kari": 200, "revisor": 200, "arkivar": 200},
        "/search?q=renovasjonsgebyr": {"kari": 200, "revisor": 200, "arkivar": 200},
        "/audit": {"kari": 403, "revisor": 200, "arkivar": 403},
        "/audit/verify": {"kari": 403, "revisor": 200, "arkivar": 200},
        "/reports/compliance": {"kari": 200, "revisor": 200, "arkivar": 200},
        "/archive": {"kari": 403, "revisor": 403, "arkivar": 200},
    }
    for path, by_user in expected.items():
        for name, client in (("kari", mod), ("revisor", aud), ("arkivar", arc)):
            r = client.get(path)
            assert r.status_code == by_user[name], (path, name, r.status_code)
            if r.status_code == 200:
                assert '<main id="main"' in r.text and "<h1>" in r.text
    refused = events(site.admin, "command.refused")
    assert {(e["actor"], e["object_id"]) for e in refused} == {
        ("kari", "audit.read"), ("arkivar", "audit.read"), ("kari", "audit.verify"),
        ("kari", "import.run"), ("revisor", "import.run")}
    assert all("web " in str(e["after"]) for e in refused)
    # an auditor may read but not decide; the moderator's form is not shown to them either
    page = aud.get("/queue")
    assert 'id="decide-' not in page.text
    r = aud.post(f"/messages/{mid}/decide", data={"csrf_token": csrf_of(page.text), "decision": "confirm"})
    assert r.status_code == 403
    assert ("revisor", "message.decide") in {(e["actor"], e["object_id"]) for e in events(site.admin, "command.refused")}
    # what each role reads
    assert "Kjeden er hel" in aud.get("/audit/verify").text
    trail = aud.get("/audit?action=web.*")
    assert 'data-action="web.signin"' in trail.text and "web.signin.failed" not in trail.text
    search = mod.get("/search?q=renovasjonsgebyr")
    assert f'id="hit-{mid}"' in search.text and "<mark>" in search.text
    assert 'id="imports"' in arc.get("/archive").text


def test_queue_items_carry_ids_and_the_keyboard_help(site):
    c = site.client()
    sign_in(c, "kari")
    page = c.get("/queue")
    mid = site.ids["klage"]
    lock = lock_of(site.admin, mid)
    assert f'id="item-{mid}" data-message-id="{mid}" data-lock-version="{lock}"' in page.text
    for d in ("confirm", "journal", "archive", "exclude"):
        assert f'id="{d}-{mid}" data-decision="{d}"' in page.text
    assert 'id="shortcuts"' in page.text and "<kbd>j</kbd>" in page.text
    assert "Kari Haugen" in page.text and "klager herved" in page.text          # the thread and the message
    review = c.get("/queue?decision=review")
    assert f'id="item-{site.ids["politisk"]}"' in review.text and f'id="item-{mid}"' not in review.text
    bad = c.get("/queue?since=igår")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text


def test_a_decision_through_http_writes_the_same_audit_event_as_the_cli(site):
    c = site.client()
    sign_in(c, "kari")
    page = c.get("/queue")
    web_mid, cli_mid = site.ids["klage"], site.ids["oppsigelse"]
    r = c.post(f"/messages/{web_mid}/decide", data={
        "csrf_token": csrf_of(page.text), "decision": "exclude", "reason": "ikke en sak for arkivet",
        "expect_version": str(lock_of(site.admin, web_mid)), "back": "/queue"})
    assert r.status_code == 303 and r.headers["location"] == "/queue"
    code, _out, err = run_cli(site.url, "kari", "flag", str(cli_mid), "--exclude", "--reason", "ikke en sak for arkivet",
                              "--expect-version", str(lock_of(site.admin, cli_mid)))
    assert code == 0, err
    web_ev, cli_ev = [e for e in events(site.admin, "decision.flag")]
    assert web_ev["object_id"] == str(web_mid) and cli_ev["object_id"] == str(cli_mid)
    same = ("action", "actor", "role", "object_type", "reason")
    assert {k: web_ev[k] for k in same} == {k: cli_ev[k] for k in same}
    assert web_ev["actor"] == "kari" and web_ev["role"] == "moderator"

    def shape(ev):
        before, after = json.loads(ev["before"]), json.loads(ev["after"])
        drop = ("decision_id", "judgment_id")
        return ({k: v for k, v in before.items() if k not in drop}, {k: v for k, v in after.items() if k not in drop})

    assert shape(web_ev) == shape(cli_ev)
    assert shape(web_ev)[1]["decision"] == "exclude" and shape(web_ev)[1]["source"] == "moderator"
    shown = c.get(f"/messages/{web_mid}")
    assert "ikke en sak for arkivet" in shown.text and 'data-decision="exclude"' in shown.text


def test_the_second_moderator_sees_the_conflict_plainly(site):
    kari, ola = site.client(), site.client()
    sign_in(kari, "kari"), sign_in(ola, "ola")
    mid = site.ids["klage"]
    kari_page, ola_page = kari.get("/queue"), ola.get("/queue")
    lock = lock_of(site.admin, mid)
    assert f'data-lock-version="{lock}"' in kari_page.text and f'data-lock-version="{lock}"' in ola_page.text
    first = kari.post(f"/messages/{mid}/decide", headers={"HX-Request": "true"}, data={
        "csrf_token": csrf_of(kari_page.text), "decision": "confirm", "expect_version": str(lock)})
    assert first.status_code == 200 and 'data-outcome="stored"' in first.text
    second = ola.post(f"/messages/{mid}/decide", headers={"HX-Request": "true"}, data={
        "csrf_token": csrf_of(ola_page.text), "decision": "exclude", "reason": "prat", "expect_version": str(lock)})
    assert second.status_code == 409
    assert 'role="alert"' in second.text and "Konflikt" in second.text
    assert "kari confirmed the judge" in second.text and "Nothing of yours was stored" in second.text
    plain = ola.post(f"/messages/{mid}/decide", data={
        "csrf_token": csrf_of(ola_page.text), "decision": "exclude", "reason": "prat", "expect_version": str(lock)})
    assert plain.status_code == 409 and "<h1>Konflikt</h1>" in plain.text
    with site.admin.db.read() as conn:
        assert [r.actor for r in conn.execute(select(DEC.c.actor).where(DEC.c.message_id == mid))] == ["kari"]


def test_a_missing_reason_is_one_plain_line_and_stores_nothing(site):
    c = site.client()
    sign_in(c, "kari")
    page = c.get("/queue")
    mid = site.ids["klage"]
    r = c.post(f"/messages/{mid}/decide", headers={"HX-Request": "true"}, data={
        "csrf_token": csrf_of(page.text), "decision": "journal", "reason": " ", "expect_version": str(lock_of(site.admin, mid))})
    assert r.status_code == 400 and "needs --reason" in r.text and 'role="alert"' in r.text
    with site.admin.db.read() as conn:
        assert conn.execute(select(DEC)).first() is None


def test_message_page_shows_versions_with_a_diff_and_the_journal_number(site):
    from moderation.seed import new_version

    c = site.client()
    sign_in(c, "kari")
    mid = site.ids["klage"]
    page = c.get(f"/messages/{mid}")
    assert 'id="journal-status"' in page.text and "ikke journalført" in page.text
    r = c.post(f"/messages/{mid}/decide", data={"csrf_token": csrf_of(page.text), "decision": "confirm",
                                                "expect_version": str(lock_of(site.admin, mid))})
    assert r.status_code == 303
    page = c.get(f"/messages/{mid}")
    assert "saksnummer 20" in page.text and "journalnummer 20" in page.text and "ikke levert til arkivet" in page.text
    v2 = new_version(site.admin, mid, "Jeg klager herved på vedtaket om økt renovasjonsgebyr for hytta vår på Kvitfjell.")
    page = c.get(f"/messages/{v2}")
    assert page.status_code == 200
    assert 'id="version-2"' in page.text and "<del>Venabygd.</del>" in page.text or "<del>" in page.text
    assert "<ins>" in page.text and "Kvitfjell" in page.text
    assert 'id="judgments"' in page.text and 'id="decisions"' in page.text and "kari" in page.text


def test_trusted_header_signs_in_only_when_switched_on_and_from_the_proxy(site):
    off = site.client()
    assert off.get("/queue", headers={"X-Remote-User": "kari"}).status_code == 303
    wrong_peer = site.client(trusted_header="X-Remote-User")          # the test client is not 127.0.0.1
    assert wrong_peer.get("/queue", headers={"X-Remote-User": "kari"}).status_code == 303
    on = site.client(trusted_header="X-Remote-User", trusted_proxies=("testclient",))
    r = on.get("/queue", headers={"X-Remote-User": "kari"})
    assert r.status_code == 200 and "kari (moderator)" in r.text
    assert on.get("/queue", headers={"X-Remote-User": "ingen"}).status_code in (200, 303)
    signins = events(site.admin, "web.signin")
    assert json.loads(signins[-1]["after"])["method"] == "trusted header X-Remote-User"


@pytest.mark.filterwarnings("ignore::getpass.GetPassWarning")
def test_users_set_password_prompts_and_never_shows_the_password(site, monkeypatch):
    pw = "et nytt og langt passord"
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{pw}\n{pw}\n"))
    code, out, err = run_cli(site.url, "admin", "users", "set-password", "kari")
    assert code == 0, err
    assert pw not in out and pw not in err and "kari has a new password" in out
    ev = events(site.admin, "user.password")[-1]
    assert ev["object_id"] == "kari" and pw not in json.dumps(ev, default=str)
    c = site.client()
    assert sign_in(c, "kari", pw).status_code == 303
    monkeypatch.setattr(sys, "stdin", io.StringIO("kort\nkort\n"))
    code, _out, err = run_cli(site.url, "admin", "users", "set-password", "kari")
    assert code == 2 and "shorter than 12" in err and "kort" not in err.replace("shorter", "")
    code, _out, err = run_cli(site.url, "kari", "users", "set-password", "ola")
    assert code == 3


def test_the_webhook_route_is_served_without_sign_in_and_checks_its_signature(site, monkeypatch):
    monkeypatch.setenv("RINGEBU_JOURNAL_META_APP_SECRET", "hemmelig-app-secret")
    c = site.client()
    r = c.post("/webhooks/meta", content=b'{"object": "page", "entry": []}',
               headers={"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert r.status_code == 403 and "location" not in r.headers
    refused = events(site.admin, "webhook.refused")
    assert len(refused) == 1 and "hemmelig-app-secret" not in json.dumps(refused, default=str)


def test_repeated_failed_sign_ins_are_stopped_before_the_password_is_checked(site):
    from ringebu_journal.web import auth

    c = site.client()
    for _ in range(auth.MAX_FAILURES):
        assert sign_in(c, "kari", "gjetter et passord").status_code == 401
    blocked = sign_in(c, "kari")                     # even the right password waits now
    assert blocked.status_code == 429 and "For mange mislykte forsøk" in blocked.text
    reasons = [json.loads(e["after"])["reason"] for e in events(site.admin, "web.signin.failed")]
    assert reasons == ["wrong password"] * auth.MAX_FAILURES + ["too many failed attempts"]
    assert "gjetter et passord" not in json.dumps(events(site.admin), default=str)


def test_the_auditor_sees_a_broken_chain_named_by_its_event(site):
    from sqlalchemy import text

    c = site.client()
    sign_in(c, "revisor")
    ok = c.get("/audit/verify")
    assert ok.status_code == 200 and 'data-ok="true"' in ok.text
    # tampered with as someone with database access would (on PostgreSQL past the append-only trigger)
    with site.admin.db.engine.begin() as conn:
        pg = conn.dialect.name == "postgresql"
        if pg:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        conn.execute(text("UPDATE audit_events SET reason = 'endret i ettertid' WHERE seq = 3"))
        if pg:
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    broken = c.get("/audit/verify")
    assert broken.status_code == 409 and 'data-ok="false"' in broken.text
    assert "Kjeden er brutt ved hendelse 3" in broken.text
    report = c.get("/reports/compliance?from=2026-03-01&to=2026-03-31")
    assert report.status_code == 200 and 'id="compliance-summary"' in report.text and "findings" in report.text
    assert c.get("/reports/compliance?from=2026-04-01&to=2026-03-01").status_code == 400


def test_behind_the_proxy_https_makes_the_cookie_secure_and_the_header_comes_from_the_proxy_only(site):
    proxied = site.client(trusted_header="X-Remote-User", trusted_proxies=("testclient",))
    r = proxied.get("/queue", headers={"X-Remote-User": "kari", "X-Forwarded-For": "10.20.30.40",
                                       "X-Forwarded-Proto": "https"})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Host-rj_session=") and "Secure" in cookie and "HttpOnly" in cookie
    signin = events(site.admin, "web.signin")[-1]
    assert json.loads(signin["after"])["client"] == "10.20.30.40"      # the user's address, from the proxy
    # the same headers from anyone else are not believed: no sign-in, no https
    direct = site.client(trusted_header="X-Remote-User")
    r = direct.get("/signin", headers={"X-Remote-User": "kari", "X-Forwarded-Proto": "https"})
    assert r.status_code == 200 and "Secure" not in r.headers["set-cookie"]


def test_every_route_names_one_known_operation_or_is_public(site):
    """Each page and form is guarded by exactly one operation of the permission table (the same
    table the CLI's commands map to); only signing in/out, static files and the signed webhook
    are open."""
    from ringebu_journal import permissions
    from ringebu_journal.web import access
    from ringebu_journal.web.app import _workspace

    assert permissions.require_known(access.ROUTE_OPERATION) == []
    guarded, public = set(), set()
    for route in _workspace(WebSettings(db_url=site.url)).routes:
        name = getattr(getattr(route, "endpoint", None), "__ringebu_route__", None)
        if name is not None:
            assert name in access.ROUTE_OPERATION, route.path
            guarded.add(name)
        else:
            assert route.path in access.PUBLIC_PATHS, f"{route.path} is neither guarded nor public"
            public.add(route.path)
    assert guarded == set(access.ROUTE_OPERATION)
    assert public == set(access.PUBLIC_PATHS)
