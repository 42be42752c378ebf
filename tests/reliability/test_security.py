"""Security checks: hostile XML, hostile archives, the access token, screened text, roles.

* XML: every XML-reading path (the validator's arkivstruktur/journal/ADDML parsing, the
  arkivmelding check) refuses external entities and DTD network access: an XXE payload that
  names /etc/passwd and a URL on a local HTTP server, and a billion-laughs payload; the server
  must see no request, the report must not contain the file's content, and the run is quick.
* Zip slip and zip bombs in a Facebook export (the X archive case is in
  tests/importers/test_bad_input.py::test_zip_slip_absolute_and_bomb_are_refused).
* The page access token never reaches stdout/stderr, the dump, the database file (every byte,
  WAL included), the audit trail, the data folder or the exported package.
* The public journal (offentligJournal.xml) holds none of several screened messages' text or names.
* Every command refuses the wrong role: the walk in tests/moderation/test_roles.py exists and
  covers every command of the CLI.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile

import click
from pathlib import Path

from graph_server import PAGE as GPAGE, GraphServer
from noark.validate import validate_package
from pipeline import dispose, fast_render, fresh
from ringebu_journal.export.noark5 import export_noark5
from ringebu_journal.importers import run
from ringebu_journal.judging import judge_stored
from ringebu_journal.moderation import flag

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TOKEN = "EAAR1ngebuSecretToken0123456789abcdefXYZ"


class Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        Recorder.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'<!ENTITY x "NETWORK-ENTITY-LOADED">')

    def log_message(self, *a):
        pass


def _package(tmp_path: Path) -> Path:
    apps = fresh(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "data")
    try:
        f = tmp_path / "in.jsonl"
        f.write_text(json.dumps({"platform": "facebook", "kind": "comment", "id": "c1", "post_id": "p1",
                                 "text": "Jeg klager på vedtaket om skoleskyss.", "created_at": "2024-05-02T08:15:30Z",
                                 "author": {"id": "a1", "name": "Kari"}}) + "\n", encoding="utf-8")
        run.import_jsonl(apps["arkiv"], [str(f)])
        judge_stored(apps["arkiv"])
        flag(apps["moderator"], ["facebook:c1"], "journal", "journalføres")
        with fast_render():
            return export_noark5(apps["arkiv"], tmp_path / "pakke", workers=1).path
    finally:
        dispose(apps)


def test_xxe_and_billion_laughs_are_refused_by_every_xml_reader(tmp_path):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/evil.dtd"
    xxe = (f'<?xml version="1.0"?>\n<!DOCTYPE arkiv [ <!ENTITY file SYSTEM "file:///etc/passwd"> '
           f'<!ENTITY % remote SYSTEM "{url}"> %remote; <!ENTITY net SYSTEM "{url}"> ]>\n'
           '<arkiv xmlns="http://www.arkivverket.no/standarder/noark5/arkivstruktur"><tittel>&file;&net;</tittel></arkiv>')
    laughs = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
              + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
              + ']>\n<arkiv xmlns="http://www.arkivverket.no/standarder/noark5/arkivstruktur"><tittel>&lol9;</tittel></arkiv>')
    base = _package(tmp_path)
    try:
        for name, payload in (("xxe", xxe), ("laughs", laughs)):
            for target in ("arkivstruktur.xml", "offentligJournal.xml", "arkivuttrekk.xml", "endringslogg.xml"):
                pkg = tmp_path / f"{name}-{target}"
                shutil.copytree(base, pkg)
                (pkg / target).write_text(payload, encoding="utf-8")
                t = time.perf_counter()
                report = validate_package(pkg)
                assert time.perf_counter() - t < 20
                text = report.to_text() + report.to_json()
                assert not report.ok
                assert "root:x:0" not in text and "NETWORK-ENTITY-LOADED" not in text
                assert "lollollollollol" not in text
                # the CLI too: exit 1 with findings, never a traceback
                p = subprocess.run([sys.executable, "-m", "ringebu_journal.cli.main", "validate", str(pkg)], cwd=ROOT,
                                   capture_output=True, text=True, timeout=60)
                assert p.returncode == 1 and "Traceback" not in p.stderr and "root:x:0" not in p.stdout, p.stderr
        # the arkivmelding reader (export/arkivmelding.py) uses the same kind of parser
        from ringebu_journal.export import arkivmelding
        evil = tmp_path / "arkivmelding.xml"
        evil.write_text(xxe, encoding="utf-8")
        try:
            arkivmelding.validate_arkivmelding(evil) if hasattr(arkivmelding, "validate_arkivmelding") else None
        except Exception as exc:  # noqa: BLE001 - refusing is the point; leaking is not
            assert "root:x:0" not in str(exc)
        assert Recorder.hits == [], f"the XML readers fetched {Recorder.hits}"
    finally:
        srv.shutdown()


def test_zip_slip_and_bomb_in_a_facebook_export(tmp_path, monkeypatch):
    from ringebu_journal.importers import sources

    monkeypatch.setattr(sources, "MAX_ZIP_RATIO", 50)
    apps = fresh(f"sqlite:///{tmp_path / 'z.db'}", tmp_path / "data")
    try:
        z = tmp_path / "facebook-ringebu.zip"
        posts = [{"timestamp": 1714637730, "data": [{"post": "Brøyting i dag"}]}]
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1.json", json.dumps(posts))
            zf.writestr("../../outside.json", "{}")
            zf.writestr("/etc/cron.d/evil", "* * * * * root true")
            zf.writestr("your_facebook_activity/posts/media/bomb.jpg", b"\0" * (5 * 1024 * 1024))
        s = run.import_facebook_export(apps["arkiv"], str(z))
        reasons = " | ".join(f"{r['place']}: {r['reason']}" for r in s.counts["rejections"])
        assert "zip slip" in reasons and "absolute path" in reasons, reasons
        assert not (tmp_path.parent / "outside.json").exists() and not (tmp_path / "outside.json").exists()
        assert all(apps["arkiv"].data_dir in p.parents for p in apps["arkiv"].data_dir.rglob("*") if p.is_file())
    finally:
        dispose(apps)


def test_access_token_appears_nowhere(tmp_path):
    apps = fresh(f"sqlite:///{tmp_path / 't.db'}", tmp_path / "data")
    dispose(apps)
    env = dict(os.environ, RINGEBU_JOURNAL_FB_TOKEN=TOKEN, RINGEBU_JOURNAL_ACTOR="arkiv")
    base = [sys.executable, "-m", "ringebu_journal.cli.main", "--db", f"sqlite:///{tmp_path / 't.db'}", "--data-dir",
            str(tmp_path / "data")]
    outputs = []
    with GraphServer(TOKEN) as srv:
        p = subprocess.run(base + ["harvest", "facebook", "--page-id", GPAGE, "--out", str(tmp_path / "dump.jsonl"),
                                   "--import", "--base-url", srv.base, "--backoff", "0.001"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        outputs += [p.stdout, p.stderr]
        assert p.returncode in (0, 1), p.stderr
        seen = [r for r in srv.requests if not r["path"].startswith("/media/")]
        assert seen and all(r["auth"] == f"Bearer {TOKEN}" for r in seen)      # it was really used
    with GraphServer(TOKEN, expired_token_on_inbox=True) as srv:            # and an error path
        p = subprocess.run(base + ["harvest", "facebook", "--page-id", GPAGE, "--out", str(tmp_path / "dump2.jsonl"),
                                   "--base-url", srv.base, "--backoff", "0.001"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        outputs += [p.stdout, p.stderr]
        assert p.returncode == 2 and "expired" in p.stderr
    for cmd, actor in ((["judge"], "arkiv"), (["export", "noark5", "--out", str(tmp_path / "pakke")], "arkiv"),
                       (["audit", "export", "--out", str(tmp_path / "trail.jsonl")], "admin"),
                       (["audit", "log", "--format", "jsonl"], "admin")):
        p = subprocess.run(base + cmd, cwd=ROOT, env=dict(env, RINGEBU_JOURNAL_ACTOR=actor), capture_output=True,
                           text=True, timeout=600)
        outputs += [p.stdout, p.stderr]
        assert p.returncode == 0, (cmd, p.stderr)
    assert all(TOKEN not in o for o in outputs)
    leaks = [str(f) for f in tmp_path.rglob("*") if f.is_file() and TOKEN.encode() in f.read_bytes()]
    assert leaks == [], f"the token is in {leaks}"       # dumps, the DB file and its WAL, data folder, package, trail
    dump = (tmp_path / "dump.jsonl").read_text("utf-8")
    assert "access_token=" not in dump or "access_token=REDACTED" in dump


SENSITIVE = {"s1": ["Nabogutt", "Ola", "naboen"], "s2": ["24089010035", "240890 10035", "sosialhjelp"],
             "s3": ["Jonas", "autisme", "avlastning"]}
SCREENED = [
    ("s1", "Marte Sørli", "Jeg er bekymret for barna til naboen Ola Nabogutt, de er alene hver natt."),
    ("s2", "Per Hemmelig", "Mitt fødselsnummer er 24089010035, jeg venter på svar om bostøtte og sosialhjelp."),
    ("s3", "Anne Skjult", "Jeg klager på vedtaket om avlastning for sønnen min Jonas som har diagnosen autisme."),
]


def test_public_journal_leaks_no_screened_text(tmp_path):
    apps = fresh(f"sqlite:///{tmp_path / 'j.db'}", tmp_path / "data")
    try:
        f = tmp_path / "in.jsonl"
        lines = [json.dumps({"platform": "messenger", "kind": "message", "id": i, "conversation_id": f"conv-{i}",
                             "text": text, "created_at": "2024-05-02T08:15:30Z", "author": {"id": f"u-{i}", "name": who}})
                 for i, who, text in SCREENED]
        lines.append(json.dumps({"platform": "facebook", "kind": "comment", "id": "open1", "post_id": "p1",
                                 "text": "Jeg klager på brøytingen i Nedre gate.", "created_at": "2024-05-02T09:00:00Z",
                                 "author": {"id": "u-open", "name": "Åpen Person"}}))
        f.write_text("\n".join(lines) + "\n", encoding="utf-8")
        assert run.import_jsonl(apps["arkiv"], [str(f)]).rejected == 0
        judge_stored(apps["arkiv"])
        flag(apps["moderator"], [f"messenger:{i}" for i, _, _ in SCREENED], "journal", "taushetsbelagt", screen=True)
        flag(apps["moderator"], ["facebook:open1"], "journal", "klage", screen=False)
        with fast_render():
            res = export_noark5(apps["arkiv"], tmp_path / "pakke", workers=1)
        public = (res.path / "offentligJournal.xml").read_text("utf-8")
        internal = (res.path / "loependeJournal.xml").read_text("utf-8")
        # offentligTittel masks the screened words and the names (M025), not the whole title: the
        # names, the identity number and every sensitive word are gone, the rest of the sentence stays
        for _i, who, text in SCREENED:
            words = [who, *[n for n in who.split() if len(n) >= 5], text, text[:30], *SENSITIVE[_i]]
            leaked = [w for w in words if w in public]
            assert not leaked, f"screened {leaked} in offentligJournal.xml"
        assert "venter på svar om" in public and "******" in public
        assert "Åpen Person" in public or "brøytingen" in public        # unscreened entries are public
        assert any(who in internal for _i, who, _t in SCREENED)         # the internal journal is whole
    finally:
        dispose(apps)


def test_the_role_walk_exists_and_covers_every_command():
    sys.path.insert(0, str(ROOT / "tests" / "moderation"))
    import test_roles                                   # tests/moderation/test_roles.py
    from ringebu_journal.cli.operations import COMMANDS as PERMISSIONS

    from ringebu_journal.cli.main import cli

    def leaves(cmd, path):
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from leaves(sub, path + [name])
        else:
            yield " ".join(path)

    walked = {name for name, _cmd in test_roles.leaf_commands()}
    assert walked == set(leaves(cli, [])), "the walk misses commands"
    assert walked <= set(PERMISSIONS), walked - set(PERMISSIONS)
    assert set(test_roles.ACTORS) == {"archivist", "moderator", "auditor", "admin", None}   # every role + unregistered
    assert hasattr(test_roles, "test_every_command_with_every_role")
