"""The registry of official profiles: add, change, list, close, reopen — audited; errors in one line."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from ringebu_journal.cli.operations import command_line
from ringebu_journal import accounts as accmod
from ringebu_journal.db.tables import Account, AuditEvent, Message
from ringebu_journal.errors import UsageError

from .conftest import run_cli

AUDIT = AuditEvent.__table__
ACC = Account.__table__
MSG = Message.__table__
PAGE = "104000000000001"


def today() -> date:
    return datetime.now(timezone.utc).date()


def events(app, object_id: str) -> list[dict]:
    with app.db.read() as conn:
        rows = conn.execute(select(AUDIT).where(AUDIT.c.object_type == "account", AUDIT.c.object_id == object_id)
                            .order_by(AUDIT.c.seq)).mappings().all()
    return [dict(r) for r in rows]


def test_add_change_close_reopen_are_audited(make_app):
    app = make_app("archivist", actor="arkivar")
    res = accmod.add_account(app, "facebook", PAGE, name="Ringebu kommune", unit="Kommunikasjon")
    assert res.change == "added" and res.account.registered and res.account.own
    assert accmod.add_account(app, "facebook", PAGE, name="Ringebu kommune", unit="Kommunikasjon").change == "unchanged"
    res = accmod.add_account(app, "facebook", PAGE, name="Ringebu kommune", unit="Servicetorget",
                             notified_date=date(2024, 1, 10))
    assert res.change == "changed" and res.account.notified_date == date(2024, 1, 10)
    # a later change without --notified-date keeps the date
    accmod.add_account(app, "facebook", PAGE, name="Ringebu kommune", unit="Kommunikasjon")
    reopens = today() + timedelta(days=21)
    accmod.close_account(app, PAGE, reopens=reopens, notice="Siden er stengt i fellesferien, åpner 5. august.")
    rows = {r.platform_id: r.as_dict() for r in accmod.list_accounts(app)}
    assert rows[PAGE]["closed"] and rows[PAGE]["status"] == f"closed until {reopens}"
    assert rows[PAGE]["rådmann_notified"] == "2024-01-10" and rows[PAGE]["unit"] == "Kommunikasjon"
    assert accmod.reopen_account(app, f"facebook:{PAGE}").change == "reopened"
    assert accmod.reopen_account(app, PAGE).change == "unchanged"
    ev = events(app, f"facebook:{PAGE}")
    assert [e["action"] for e in ev] == ["account.add", "account.change", "account.change", "account.close",
                                         "account.reopen"]
    assert all(e["actor"] == "arkivar" and e["role"] == "archivist" for e in ev)
    change = ev[1]
    assert json.loads(change["before"]) == {"unit": "Kommunikasjon", "notified_date": None}
    assert json.loads(change["after"]) == {"unit": "Servicetorget", "notified_date": "2024-01-10"}
    close = json.loads(ev[3]["after"])
    assert close["closed_from"] == today().isoformat() and close["reopens_date"] == reopens.isoformat()
    with app.db.read() as conn:
        periods = accmod.closure_periods(conn)[f"facebook:{PAGE}"]
    assert len(periods) == 1 and periods[0].end <= datetime.now(timezone.utc)


def test_registering_an_imported_own_account_is_an_add(make_app):
    app = make_app("archivist", actor="arkivar")
    with app.db.write() as conn:
        conn.execute(ACC.insert().values(platform="facebook", platform_id="104999", name="Ringebu bibliotek",
                                         own=True, registered=False, closed=False,
                                         created_at=datetime.now(timezone.utc)))
        conn.execute(MSG.insert().values(
            platform="messenger", platform_message_id="m_1", version=1, is_current=True, kind="message",
            conversation_id="t_1", account_platform_id="104777", author_is_municipality=True, text="Hei!",
            created_at=datetime.now(timezone.utc), status="active", content_hash="0" * 64, raw="{}",
            raw_sha256="0" * 64, extra={}, imported_at=datetime.now(timezone.utc)))
    with app.db.read() as conn:
        missing = accmod.unregistered_own_accounts(conn)
    assert [(m["platform"], m["platform_id"]) for m in missing] == [("facebook", "104777"), ("facebook", "104999")]
    warning = missing[1]["warning"]
    assert "not in the registry" in warning and "account registration" in warning
    assert ("run `ringebu-journal accounts add facebook 104999 --name 'Ringebu bibliotek' --unit UNIT`"
            in warning.render(command_line))
    assert accmod.registration_warning("messenger", "104777").render(command_line).endswith(
        "run `ringebu-journal accounts add facebook 104777 --name NAME --unit UNIT`")
    assert accmod.add_account(app, "facebook", "104999", name="Ringebu bibliotek", unit="Biblioteket").change == "added"
    assert [e["action"] for e in events(app, "facebook:104999")] == ["account.add"]
    with app.db.read() as conn:
        assert [m["platform_id"] for m in accmod.unregistered_own_accounts(conn)] == ["104777"]


USAGE_ERRORS = [
    (lambda app: accmod.add_account(app, "myspace", "1", name="x", unit="y"), "unknown platform"),
    (lambda app: accmod.add_account(app, "facebook", " ", name="x", unit="y"), "account id is empty"),
    (lambda app: accmod.add_account(app, "facebook", "1", name="", unit="y"), "--name is empty"),
    (lambda app: accmod.add_account(app, "facebook", "1", name="x", unit=" "), "--unit is empty"),
    (lambda app: accmod.add_account(app, "facebook", "1", name="x", unit="y",
                                    notified_date=today() + timedelta(days=3)), "in the future"),
    (lambda app: accmod.close_account(app, "404", reopens=today() + timedelta(days=3), notice="Stengt"), "no account"),
    (lambda app: accmod.close_account(app, PAGE, reopens=today() - timedelta(days=1), notice="Stengt"), "not after"),
    (lambda app: accmod.close_account(app, PAGE, reopens=today() + timedelta(days=3), notice=" "), "--notice is empty"),
    (lambda app: accmod.reopen_account(app, "facebook:404"), "no account"),

]


def test_usage_errors_say_what_to_do(make_app):
    app = make_app("archivist", actor="arkivar")
    accmod.add_account(app, "facebook", PAGE, name="Ringebu kommune", unit="Kommunikasjon")
    for call, needle in USAGE_ERRORS:
        with pytest.raises(UsageError) as exc:
            call(app)
        assert needle in str(exc.value) and "\n" not in str(exc.value), needle


def test_cli_accounts(sqlite_url):
    assert run_cli(sqlite_url, "eli", "init")[0] == 0
    assert run_cli(sqlite_url, "eli", "users", "add", "arkivar", "--role", "archivist")[0] == 0
    assert run_cli(sqlite_url, "eli", "users", "add", "kari", "--role", "moderator")[0] == 0
    code, out, err = run_cli(sqlite_url, "arkivar", "accounts", "add", "facebook", PAGE, "--name", "Ringebu kommune",
                             "--unit", "Kommunikasjon")
    assert code == 0 and "registered facebook:" in out and "rådmann is notified" in out, err
    code, out, _ = run_cli(sqlite_url, "arkivar", "accounts", "add", "facebook", PAGE, "--name", "Ringebu kommune",
                           "--unit", "Kommunikasjon", "--notified-date", "2024-01-10")
    assert code == 0 and "updated" in out and "rådmann is notified" not in out
    reopens = (today() + timedelta(days=20)).isoformat()
    code, out, _ = run_cli(sqlite_url, "arkivar", "accounts", "close", PAGE, "--reopens", reopens,
                           "--notice", "Siden er stengt i ferien.")
    assert code == 0 and f"until {reopens}" in out
    code, out, _ = run_cli(sqlite_url, "kari", "accounts", "list", "--format", "json")
    rows = json.loads(out)
    assert rows[0]["platform_id"] == PAGE and rows[0]["rådmann_notified"] == "2024-01-10"
    assert rows[0]["status"] == f"closed until {reopens}" and rows[0]["closed_notice"] == "Siden er stengt i ferien."
    code, out, _ = run_cli(sqlite_url, "kari", "accounts", "list", "--format", "csv")
    assert out.splitlines()[0].startswith("platform,platform_id,name,unit,registered")
    code, out, _ = run_cli(sqlite_url, "arkivar", "accounts", "reopen", PAGE)
    assert code == 0 and "open again" in out
    code, out, _ = run_cli(sqlite_url, "kari", "accounts", "list")
    assert "open" in out and "Kommunikasjon" in out
    # a moderator may list but not register; the refusal is audited
    code, _, err = run_cli(sqlite_url, "kari", "accounts", "add", "facebook", "1", "--name", "x", "--unit", "y")
    assert code == 3 and "accounts add" in err
    code, out, _ = run_cli(sqlite_url, "eli", "audit", "log", "--format", "json")
    actions = [e["action"] for e in json.loads(out)]
    for a in ("account.add", "account.change", "account.close", "account.reopen", "command.refused"):
        assert a in actions


CLI_ERRORS = [
    (["accounts", "close", PAGE, "--reopens", "31.07.2030", "--notice", "x"], "YYYY-MM-DD"),
    (["accounts", "close", "999", "--reopens", "2099-01-01", "--notice", "x"], "accounts add"),
    (["accounts", "add", "fb", "1", "--name", "x", "--unit", "y"], "unknown platform"),
    (["report", "compliance", "--from", "2025-13-01"], "YYYY-MM-DD"),
    (["report", "compliance", "--from", "2025-07-02", "--to", "2025-07-01"], "before --from"),
    (["report", "compliance", "--reply-hours", "0"], "more than 0"),
    (["report", "compliance", "--domain", "https://ringebu.kommune.no/"], "not a domain"),
    (["report", "compliance", "--account", "nope"], "no account"),
    (["report", "compliance", "--format", "html", "--out", "/nonexistent/dir/r.html"], "does not exist"),

]


def test_cli_errors_are_one_line(sqlite_url):
    run_cli(sqlite_url, "eli", "init")
    for args, needle in CLI_ERRORS:
        code, out, err = run_cli(sqlite_url, "eli", *args)
        assert code == 2, (args, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err, (args, err)
