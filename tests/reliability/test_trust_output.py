"""What the program shows: no database password in any form, no raw control or bidi character.

* Secrets: a real PostgreSQL role with a password, reached by every URL form (``user:pw@``,
  ``?password=``, ``?user=&password=``, ``sslpassword=``, a percent-encoded password, PGPASSWORD
  in the environment) and by every failing one (wrong password, connection refused, a bad URL,
  an unknown option, an unsupported dialect). All standard output and error of every command,
  the whole ``audit export`` and every stored audit event are searched for the password.
* Terminal: escape sequences, carriage returns, C1 controls, DEL and bidi overrides in --actor,
  user names, reasons, notes and message text arrive escaped (``\\u001b``, ``\\u202e``) in table
  and text output and in error lines; JSON output keeps its meaning; the database keeps the text
  verbatim.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ringebu_journal.cli.common import UNSAFE, printable
from moderation.conftest import run_argv


def cli(*argv: str) -> tuple[int, str, str]:
    return run_argv(*argv)


# -- secrets ---------------------------------------------------------------------------------------


@pytest.fixture
def pw_role(pg_url):
    role = f"rj_pw_{uuid.uuid4().hex[:8]}"
    pw = "Pw-" + secrets.token_hex(10) + "@x"          # an @ so that the URL must percent-encode it
    su = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    db = make_url(pg_url).database
    with su.connect() as c:
        c.execute(text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{pw}'"))
        c.execute(text(f'ALTER DATABASE "{db}" OWNER TO "{role}"'))
    yield role, pw, db
    with su.connect() as c:
        c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"), {"r": role})
        c.execute(text(f'ALTER DATABASE "{db}" OWNER TO CURRENT_USER'))
        c.execute(text(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER'))
        c.execute(text(f'DROP OWNED BY "{role}"'))
        c.execute(text(f'DROP ROLE "{role}"'))
    su.dispose()


def test_no_password_in_any_output_event_or_export(pw_role, tmp_path, monkeypatch):
    from urllib.parse import quote

    role, pw, db = pw_role
    enc = quote(pw, safe="")
    forms = [
        f"postgresql+psycopg://{role}:{enc}@127.0.0.1/{db}",
        f"postgresql://127.0.0.1/{db}?user={role}&password={enc}",
        f"postgresql+psycopg://{role}@127.0.0.1/{db}?password={enc}",
        f"postgresql+psycopg://{role}:{enc}@127.0.0.1/{db}?sslpassword={enc}&sslmode=disable",
    ]
    failing = [
        f"postgresql+psycopg://{role}:{enc}X@127.0.0.1/{db}",                 # wrong password
        f"postgresql+psycopg://{role}:{enc}@127.0.0.1:1/{db}",                # connection refused
        f"postgresql+psycopg://{role}:{enc}@127.0.0.1:notaport/{db}",         # bad URL
        f"postgresql+psycopg://127.0.0.1/{db}?user={role}&password={enc}&bogus_option=1",
        f"mysql://{role}:{enc}@127.0.0.1/{db}",                               # unsupported
        f"postgresql+psycopg://{role}:{pw}@127.0.0.1/{db}",                   # not encoded: a broken URL
    ]
    data = ["--data-dir", str(tmp_path / "data")]
    seen: list[str] = []

    def run(*argv: str) -> tuple[int, str, str]:
        code, out, err = cli(*argv)
        seen.append(out + err)
        return code, out, err

    code, out, err = run("--db", forms[0], "--actor", "admin", *data, "init")
    assert code == 0, err
    assert "***" in out
    for i, url in enumerate(forms):
        code, out, err = run("--db", url, "--actor", "admin", "users", "add", f"kari{i}", "--role", "auditor")
        assert code == 0, (url.replace(pw, "PW").replace(enc, "PW"), err)
        assert run("--db", url, "--actor", "admin", "audit", "log")[0] == 0
        assert run("--db", url, "--actor", "admin", "audit", "verify")[0] == 0
        assert run("--db", url, "--actor", "admin", "init")[0] == 0
    monkeypatch.setenv("PGPASSWORD", pw)
    code, out, err = run("--db", f"postgresql+psycopg://{role}@127.0.0.1/{db}", "--actor", "admin", "audit", "log")
    assert code == 0, err
    monkeypatch.delenv("PGPASSWORD")
    for url in failing:
        code, out, err = run("--db", url, "--actor", "admin", "audit", "log")
        assert code == 2 and len(err.strip().splitlines()) >= 1, (code, err)
        assert "Traceback" not in err
    # the same through the environment variable instead of --db
    monkeypatch.setenv("RINGEBU_JOURNAL_DB", failing[0])
    assert run("--actor", "admin", "audit", "log")[0] == 2
    monkeypatch.delenv("RINGEBU_JOURNAL_DB")

    trail = tmp_path / "trail.jsonl"
    assert run("--db", forms[1], "--actor", "admin", "audit", "export", "--out", str(trail))[0] == 0
    assert run("--db", forms[1], "--actor", "admin", "audit", "export", "--out", "-")[0] == 0
    everything = "\n".join(seen) + trail.read_text(encoding="utf-8")
    su = create_engine(f"postgresql+psycopg://{role}:{enc}@127.0.0.1/{db}")
    with su.connect() as c:
        everything += "\n".join(str(tuple(r)) for r in c.execute(text("SELECT * FROM audit_events")))
        everything += "\n".join(str(tuple(r)) for r in c.execute(text("SELECT * FROM settings")))
    su.dispose()
    assert "database.create" in everything
    for secret in (pw, enc, pw.split("@")[0]):
        assert secret not in everything, f"the password ({'encoded' if secret == enc else 'plain'}) leaked"


def test_redaction_of_every_url_form_without_a_server():
    from ringebu_journal.db.engine import redact, safe_url

    pw = "Hemmelig-Pw-31337"
    for url in (f"postgresql://u:{pw}@h/db", f"postgresql://h/db?user=u&password={pw}",
                f"postgresql://h/db?password={pw}&user=u", f"postgresql://u@h/db?sslpassword={pw}",
                f"postgresql://h/db?PASSWORD={pw}", f"postgresql://u:{pw}@h:port/db", f"weird://u:{pw}@h/db",
                f"host=h user=u password={pw} dbname=d"):
        shown = safe_url(url)
        assert pw not in shown, shown
        # and any later line that quotes it (a driver's message, say)
        assert pw not in redact(f'connection to "{url}" failed: bad password {pw}')


# -- terminal --------------------------------------------------------------------------------------

ESC = "\x1b[2J\x1b]0;owned\x07"
EVIL_NAME = "mallory\u202eGNP.exe\x1b[31m"
EVIL_REASON = "ok\rFAKE LINE\x1b[1A\x9b2K\x7f\u2066hidden\u2069"
# C0 controls but tab, line feed and carriage return are replaced on import (XML cannot hold them)
EVIL_TEXT = "Hei\r skjult \x9b8m\u202eslutt\u200f\x85"


def _raw_unsafe(s: str) -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in s if ord(c) in UNSAFE})


def test_escape_sequences_arrive_escaped_and_are_stored_verbatim(tmp_path):
    db = tmp_path / "t.db"
    base = ["--db", f"sqlite:///{db}"]
    admin = ["--actor", "admin"]
    assert cli(*base, *admin, "init")[0] == 0
    for name, role in (("arkiv", "archivist"), (EVIL_NAME, "moderator"), ("revisor", "auditor")):
        assert cli(*base, *admin, "users", "add", name, "--role", role)[0] == 0
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"platform": "facebook", "kind": "comment", "id": "c1", "post_id": "p1",
                               "text": EVIL_TEXT + " Jeg klager på vedtaket om skoleskyss.",
                               "created_at": "2024-05-02T08:15:30Z",
                               "author": {"id": "a1", "name": "Kari\u202e\u2066"}}, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    assert cli(*base, "--actor", "arkiv", "import", "jsonl", str(src))[0] == 0
    assert cli(*base, "--actor", "arkiv", "judge")[0] == 0
    code, out, err = cli(*base, "--actor", EVIL_NAME, "flag", "facebook:c1", "--journal", "--reason", EVIL_REASON)
    assert code == 0, err
    code, out, err = cli(*base, "--actor", EVIL_NAME, "record-action", "facebook:c1", "--replied", "--note", EVIL_REASON)
    assert code == 0, err

    outputs = {
        "audit log": cli(*base, "--actor", "revisor", "audit", "log"),
        "show": cli(*base, "--actor", "revisor", "show", "facebook:c1"),
        "queue": cli(*base, "--actor", "revisor", "queue"),
        "judgments": cli(*base, "--actor", "revisor", "judgments"),
        "users list": cli(*base, "--actor", "revisor", "users", "list"),
        "report": cli(*base, "--actor", "revisor", "report", "compliance"),
        "refused": cli(*base, "--actor", EVIL_NAME, "users", "add", "x", "--role", "admin"),
        "bad ref": cli(*base, "--actor", "revisor", "show", "facebook:" + ESC),
        "bad date": cli(*base, "--actor", "revisor", "audit", "log", "--since", "2024" + ESC),
        "bad option": cli(*base, "--actor", "revisor", "audit", "log", "--format", "x" + ESC),
    }
    for what, (code, out, err) in outputs.items():
        assert _raw_unsafe(out + err) == [], (what, _raw_unsafe(out + err), out + err)
    log = outputs["audit log"][1]
    assert "mallory\\u202eGNP.exe\\u001b[31m" in log and "ok\\u000dFAKE LINE" in log
    assert "\\u009b2K\\u007f\\u2066hidden\\u2069" in log
    assert "Hei\\u000d skjult \\u009b8m\\u202eslutt\\u200f\\u0085" in outputs["show"][1]
    assert "Kari\\u202e\\u2066" in outputs["show"][1]
    assert "mallory\\u202e" in outputs["users list"][1]
    assert outputs["refused"][0] == 3 and "mallory\\u202eGNP.exe\\u001b[31m" in outputs["refused"][2]
    # an error line quoting the input shows it escaped (by repr or by the one escape)
    assert outputs["bad ref"][0] == 2 and ("\\u001b[2J" in outputs["bad ref"][2] or "\\x1b[2J" in outputs["bad ref"][2])
    assert outputs["bad option"][0] == 2 and ("\\u001b" in outputs["bad option"][2] or "\\x1b" in outputs["bad option"][2])

    # JSON output: the same text after decoding, and still nothing raw on the terminal
    code, out, err = cli(*base, "--actor", "revisor", "audit", "log", "--format", "json")
    assert code == 0 and _raw_unsafe(out) == []
    events = json.loads(out)
    assert any(e["reason"] == EVIL_REASON and e["actor"] == EVIL_NAME for e in events)
    code, out, err = cli(*base, "--actor", "revisor", "show", "facebook:c1", "--format", "json")
    assert code == 0 and _raw_unsafe(out) == []
    con = sqlite3.connect(db)
    stored = con.execute("SELECT text FROM messages").fetchone()[0]
    con.close()
    assert "\u202eslutt\u200f\x85" in stored          # stored verbatim (the importer only folds line ends)
    assert json.loads(out)["message"]["text"] == stored

    # stored verbatim
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM audit_events WHERE actor = ? AND reason = ?",
                       (EVIL_NAME, EVIL_REASON)).fetchone()[0] >= 1
    assert con.execute("SELECT count(*) FROM users WHERE name = ?", (EVIL_NAME,)).fetchone()[0] == 1
    con.close()
    # the trail is still whole, and its export keeps every character (JSON escapes mean the same)
    code, out, err = cli(*base, "--actor", "revisor", "audit", "verify")
    assert code == 0, err
    trail = tmp_path / "trail.jsonl"
    assert cli(*base, "--actor", "revisor", "audit", "export", "--out", str(trail))[0] == 0
    assert any(json.loads(line)["reason"] == EVIL_REASON for line in trail.read_text(encoding="utf-8").splitlines())
    code, out, err = cli(*base, "--actor", "revisor", "audit", "export", "--out", "-")
    assert code == 0 and _raw_unsafe(out) == []
    piped = tmp_path / "piped.jsonl"
    piped.write_text(out, encoding="utf-8")
    assert cli(*base, "--actor", "revisor", "audit", "verify", "--file", str(piped))[0] == 0


def test_printable_is_the_one_escape():
    assert printable("a\x1bb\rc\u202ed\x85e\x7ff\u061cg\u200eh\n\ti") == \
        "a\\u001bb\\u000dc\\u202ed\\u0085e\\u007ff\\u061cg\\u200eh\n\ti"
    assert printable("a\nb\tc", newlines=False) == "a\\u000ab\\u0009c"
    assert printable("blåbær ✓ «Ringebu» – æøå") == "blåbær ✓ «Ringebu» – æøå"
    for c in UNSAFE:
        assert json.loads('"' + printable(chr(c), newlines=False) + '"') == chr(c)
