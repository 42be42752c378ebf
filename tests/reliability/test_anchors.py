"""Anchors outside the database catch a trail rewritten with the project's own hash recipe.

The attack (issue 14): on SQLite, change every ``decision.flag`` event's actor and reason and
recompute every record and hash from there on with :mod:`ringebu_journal.audit`'s own functions.
The chain verifies ("chain intact"); the head an earlier Noark package, an earlier arkivmelding
outbox and a signed checkpoint carry is no longer in it, so ``audit verify --against`` and
``audit verify --checkpoint`` say NOT (exit 1, one line).
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import tarfile
from pathlib import Path

from noark.addml import read_kontekst
from noark.validate import validate_package
from pipeline import dispose, fast_render, fresh
from ringebu_journal import audit
from ringebu_journal.export.arkivmelding import export_arkivmelding
from ringebu_journal.export.noark5 import export_noark5
from ringebu_journal.importers import run
from ringebu_journal.judging import judge_stored
from ringebu_journal.moderation import flag
from moderation.conftest import run_argv


def cli(*argv: str) -> tuple[int, str, str]:
    return run_argv(*argv)


def _messages(tmp_path: Path) -> Path:
    f = tmp_path / "in.jsonl"
    rows = [
        {"platform": "facebook", "kind": "comment", "id": "c1", "post_id": "p1",
         "text": "Jeg klager på vedtaket om skoleskyss.", "created_at": "2024-05-02T08:15:30Z",
         "author": {"id": "a1", "name": "Kari"}},
        {"platform": "facebook", "kind": "comment", "id": "c2", "post_id": "p2",
         "text": "Søknad om dispensasjon for naust ved Losna.", "created_at": "2024-05-03T09:00:00Z",
         "author": {"id": "a2", "name": "Ola"}},
    ]
    f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return f


def _rewrite_flags(db_file: Path) -> int:
    """The attacker's script: new actor and reason on every decision.flag event, every record and
    hash from the first change on recomputed with the project's own functions."""
    con = sqlite3.connect(db_file)
    cols = ["seq", *audit.FIELDS[1:], "prev_hash", "hash"]
    rows = [dict(zip(cols, r)) for r in con.execute(
        'SELECT seq, at, actor, role, action, object_type, object_id, "before", "after", reason, identity, '
        "prev_hash, hash FROM audit_events ORDER BY seq")]
    prev, changed = audit.GENESIS, 0
    for ev in rows:
        if ev["action"] == "decision.flag":
            ev["actor"], ev["reason"] = "admin", "rettet i ettertid"
            changed += 1
        ev["prev_hash"] = prev
        record = audit.record_bytes(ev)
        ev["hash"] = audit.event_hash(prev, ev)
        con.execute("UPDATE audit_events SET actor=?, reason=?, canonical=?, prev_hash=?, hash=? WHERE seq=?",
                    (ev["actor"], ev["reason"], record, ev["prev_hash"], ev["hash"], ev["seq"]))
        prev = ev["hash"]
    con.commit()
    con.close()
    return changed


def test_rewritten_trail_verifies_as_a_chain_but_not_against_the_anchors(tmp_path):
    db_file = tmp_path / "anchors.db"
    url = f"sqlite:///{db_file}"
    apps = fresh(url, tmp_path / "data")
    try:
        run.import_jsonl(apps["arkiv"], [str(_messages(tmp_path))])
        judge_stored(apps["arkiv"])
        flag(apps["moderator"], ["facebook:c1"], "journal", "journalføres: klage")
        flag(apps["moderator"], ["facebook:c2"], "journal", "journalføres: søknad")
        with fast_render():
            package = export_noark5(apps["arkiv"], tmp_path / "pakke", workers=1).path
            tar_package = export_noark5(apps["arkiv"], tmp_path / "pakke2", tar=True, workers=1).path
            export_arkivmelding(apps["arkiv"], tmp_path / "utboks", workers=1)
    finally:
        dispose(apps)

    # the package carries the head in arkivuttrekk.xml and is still valid Noark 5 (0 errors)
    head = read_kontekst((package / "arkivuttrekk.xml").read_bytes(), "auditTrailHead")
    assert head is not None and int(head["sequence"]) > 0 and len(head["sha256"]) == 64
    report = validate_package(package)
    assert report.ok, report.to_text()
    with tarfile.open(tar_package) as tf:
        assert any(m.name.endswith("/arkivuttrekk.xml") for m in tf.getmembers())
    index = [json.loads(line) for line in (tmp_path / "utboks" / "index.jsonl").read_text().splitlines()]
    assert index and all(len(e["meta"]["audit_head"]) == 64 for e in index)
    from noark.arkivmelding_outbox import validate_outbox
    assert validate_outbox(tmp_path / "utboks").ok

    base = ["--db", url, "--data-dir", str(tmp_path / "data")]
    code, out, err = cli(*base, "audit", "keygen", "--private", str(tmp_path / "k.pem"),
                         "--public", str(tmp_path / "k.pub"))
    assert code == 0, err
    assert stat.S_IMODE(os.stat(tmp_path / "k.pem").st_mode) == 0o600
    code, out, err = cli(*base, "--actor", "revisor", "audit", "checkpoint", "--key", str(tmp_path / "k.pem"),
                         "--out", str(tmp_path / "cp1.json"))
    assert code == 0, err
    assert "signed checkpoint" in out

    anchors = ["--against", str(package), "--against", str(tar_package), "--against", str(tmp_path / "utboks"),
               "--checkpoint", str(tmp_path / "cp1.json"), "--public-key", str(tmp_path / "k.pub")]
    code, out, err = cli(*base, "--actor", "revisor", "audit", "verify", *anchors)
    assert code == 0, err
    assert "chain intact" in out and "holds the" in out

    assert _rewrite_flags(db_file) == 2

    code, out, err = cli(*base, "--actor", "revisor", "audit", "verify")
    assert code == 0 and "chain intact" in out, (out, err)      # the chain alone cannot tell
    for against in (package, tar_package, tmp_path / "utboks"):
        code, out, err = cli(*base, "--actor", "revisor", "audit", "verify", "--against", str(against))
        lines = err.strip().splitlines()
        assert code == 1 and len(lines) == 1, (code, out, err)
        assert "NOT verified" in lines[0] and "rewritten" in lines[0], lines
    code, out, err = cli(*base, "--actor", "revisor", "audit", "verify", "--checkpoint", str(tmp_path / "cp1.json"),
                         "--public-key", str(tmp_path / "k.pub"))
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "NOT verified" in lines[0] and "checkpoint" in lines[0], (out, err)


def test_a_forged_or_foreign_checkpoint_is_not_accepted(tmp_path):
    apps = fresh(f"sqlite:///{tmp_path / 'c.db'}", tmp_path / "data")
    dispose(apps)
    base = ["--db", f"sqlite:///{tmp_path / 'c.db'}", "--actor", "revisor"]
    for name in ("a", "b"):
        assert cli("audit", "keygen", "--private", str(tmp_path / f"{name}.pem"),
                   "--public", str(tmp_path / f"{name}.pub"))[0] == 0
    assert cli(*base, "audit", "checkpoint", "--key", str(tmp_path / "a.pem"), "--out", str(tmp_path / "cp.json"))[0] == 0

    # signed with another key than the one given
    code, _out, err = cli(*base, "audit", "verify", "--checkpoint", str(tmp_path / "cp.json"),
                          "--public-key", str(tmp_path / "b.pub"))
    assert code == 1 and "does not verify" in err and len(err.strip().splitlines()) == 1
    # the head edited after signing
    body = json.loads((tmp_path / "cp.json").read_text())
    body["seq"] = body["seq"] - 1
    (tmp_path / "forged.json").write_text(json.dumps(body))
    code, _out, err = cli(*base, "audit", "verify", "--checkpoint", str(tmp_path / "forged.json"),
                          "--public-key", str(tmp_path / "a.pub"))
    assert code == 1 and "does not verify" in err
    # the right key: fine; the checkpoint's signing is itself in the trail
    code, out, err = cli(*base, "audit", "verify", "--checkpoint", str(tmp_path / "cp.json"),
                         "--public-key", str(tmp_path / "b.pub"), "--public-key", str(tmp_path / "a.pub"))
    assert code == 0, err
    code, out, _ = cli(*base, "audit", "log", "--action", "audit.checkpoint", "--format", "json")
    assert json.loads(out)[0]["action"] == "audit.checkpoint"
    # a private key others can read is refused; a key is never overwritten
    os.chmod(tmp_path / "b.pem", 0o644)
    code, _out, err = cli(*base, "audit", "checkpoint", "--key", str(tmp_path / "b.pem"), "--out", str(tmp_path / "x.json"))
    assert code == 2 and "chmod 600" in err and not (tmp_path / "x.json").exists()
    code, _out, err = cli("audit", "keygen", "--private", str(tmp_path / "a.pem"), "--public", str(tmp_path / "n.pub"))
    assert code == 2 and "exists already" in err
    # checkpoint without a key to check it, and a file that is not a checkpoint
    assert cli(*base, "audit", "verify", "--checkpoint", str(tmp_path / "cp.json"))[0] == 2
    (tmp_path / "junk.json").write_text("[1, 2]")
    code, _out, err = cli(*base, "audit", "verify", "--checkpoint", str(tmp_path / "junk.json"),
                          "--public-key", str(tmp_path / "a.pub"))
    assert code == 2 and "not a checkpoint file" in err
    code, _out, err = cli(*base, "audit", "verify", "--against", str(tmp_path / "junk.json"))
    assert code == 2 and "not a Noark 5 package" in err
