"""The arkivmelding outbox under crashes, receipts, concurrent decisions and `validate`
(SQLite and PostgreSQL, real subprocesses killed with SIGKILL at counted points)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from noark import arkivmelding as am
from noark.arkivmelding_outbox import INDEX, MANIFEST, Outbox, folder_name, validate_outbox
from ringebu_journal.db.tables import ArkivmeldingKey, AuditEvent, OutboxMessage
from ringebu_journal.export.arkivmelding import KILL_ENV, export_arkivmelding
from ringebu_journal.reports.journal import build_journal_report

from conftest import PAGE
from pdfcheck import pdf_text

REPO = Path(__file__).resolve().parents[2]
KEYS = ArkivmeldingKey.__table__
OUTM = OutboxMessage.__table__
AUD = AuditEvent.__table__

EXPORT_SCRIPT = """
import sys
sys.path.insert(0, {repo!r})
from ringebu_journal.app import App
from ringebu_journal.export.arkivmelding import export_arkivmelding
app = App.open({url!r}, actor="archivist", data_dir={data!r})
app.role = "archivist"
export_arkivmelding(app, {out!r}, workers=1)
print("FINISHED", flush=True)
"""


def _db_url(app) -> str:
    return app.db.engine.url.render_as_string(hide_password=False)


def _sent(out: Path) -> list[tuple[str, str]]:
    return [(e.type, e.key) for e in Outbox(out).entries()]


@pytest.mark.parametrize("point", ["outbox.written:2", "outbox.published:3", "outbox.indexed:1", "outbox.recorded:4"])
def test_kill_9_during_export_leaves_no_half_message_and_rerun_sends_each_once(world, tmp_path, point):
    app, _ = world
    out = tmp_path / "outbox"
    script = EXPORT_SCRIPT.format(repo=str(REPO), url=_db_url(app), data=str(app.data_dir), out=str(out))
    proc = subprocess.run([sys.executable, "-c", script], env={**os.environ, KILL_ENV: point},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "FINISHED" not in proc.stdout
    name, n = point.split(":")
    published = Outbox(out).published_folders()
    # what is visible as a message is complete: every published folder has all its files and manifest
    for folder in published.values():
        manifest = json.loads((folder / MANIFEST).read_text())
        assert all((folder / f["name"]).is_file() for f in manifest["files"])
    expected_published = int(n) - 1 if name == "outbox.written" else int(n)
    assert len(published) == expected_published

    res = export_arkivmelding(app, out)                  # the rerun repairs and completes
    assert [p for p in out.iterdir() if ".partial-" in p.name] == []
    sent = _sent(out)
    assert len(sent) == len(set(sent)) == 6              # each message exactly once
    assert sorted(t for t, _ in sent) == [am.OPPRETT] * 4 + [am.AVSKRIVNING] * 2
    assert [e.seq for e in Outbox(out).entries()] == list(range(1, 7))
    if name in ("outbox.published", "outbox.indexed"):
        assert len(res.recovered) == 1                   # published by the killed run, recorded now
    report = validate_outbox(out)
    assert report.ok, report.to_text()
    with app.db.read() as conn:
        assert conn.execute(select(OUTM.c.seq).order_by(OUTM.c.seq)).scalars().all() == list(range(1, 7))
        assert conn.execute(select(OUTM.c.seq).where(OUTM.c.export_id.is_(None))).all() == []
        assert len(conn.execute(select(KEYS)).all()) == 6
    again = export_arkivmelding(app, out)
    assert again.created == [] and len(_sent(out)) == 6


def _kvittering(sid_mappe: str | None, sid_jp: str) -> bytes:
    mappe = (f"<mappeKvittering><systemID>{sid_mappe}</systemID>"
             "<opprettetEllerEksisterende>Opprettet</opprettetEllerEksisterende></mappeKvittering>") if sid_mappe else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<arkivmeldingKvittering xmlns="{am.NS_KVITTERING}">{mappe}'
            f"<registreringKvittering><systemID>{sid_jp}</systemID>"
            "<opprettetEllerEksisterende>Opprettet</opprettetEllerEksisterende></registreringKvittering>"
            "</arkivmeldingKvittering>\n").encode()


def test_receipts_are_read_back_and_shown_in_report_journal(world, tmp_path):
    app, _ = world
    out = tmp_path / "outbox"
    export_arkivmelding(app, out)
    entries = Outbox(out).entries()
    pid = {e.keys["journalpost"]: e.meta["platform_message_id"] for e in entries if e.type == am.OPPRETT}
    inbox = out / "inbox"
    inbox.mkdir()
    for e in entries:
        who = pid[e.keys["journalpost"]]
        if who in (f"{PAGE}_skyss2", f"{PAGE}_skyss3"):
            if e.type == am.OPPRETT:
                sm = e.keys["saksmappe"] if e.keys.get("saksmappe_created") else None
                (inbox / f"{e.folder}.kvittering.xml").write_bytes(_kvittering(sm, e.keys["journalpost"]))
            else:
                (inbox / f"{e.folder}.kvittering").write_bytes(b"")        # avskrivning: no payload
        elif who == f"{PAGE}_bv2" and e.type == am.OPPRETT:
            (inbox / f"{e.folder}.feilmelding.xml").write_text(
                '<?xml version="1.0"?><serverfeil xmlns="https://ks-no.github.io/standarder/fiks-protokoll/fiks-arkiv/'
                'feil/serverfeil/v2"><feilId xmlns="https://ks-no.github.io/standarder/fiks-protokoll/fiks-arkiv/feil/'
                'feilmelding/v2">F-17</feilId><feilmelding xmlns="https://ks-no.github.io/standarder/fiks-protokoll/'
                'fiks-arkiv/feil/feilmelding/v2">Arkivdel mangler</feilmelding></serverfeil>')
        elif who == f"{PAGE}_bv3":
            # not valid against the kvittering XSD (opprettetEllerEksisterende missing): reported, not recorded
            (inbox / f"{e.folder}.kvittering.xml").write_text(
                f'<arkivmeldingKvittering xmlns="{am.NS_KVITTERING}"><registreringKvittering>'
                f"<systemID>{e.keys['journalpost']}</systemID></registreringKvittering></arkivmeldingKvittering>")
    (inbox / "ukjent.kvittering.xml").write_bytes(b"<x/>")

    res = export_arkivmelding(app, out)
    assert sorted(s for _, _, s in res.receipts.recorded) == ["confirmed"] * 3 + ["failed"]
    assert len(res.receipts.problems) == 2
    assert any("opprettetEllerEksisterende" in p for p in res.receipts.problems)
    assert any("names no message" in p for p in res.receipts.problems)
    assert tree_unchanged_after_rerun(app, out)

    rep = build_journal_report(app)
    by_id = {r["platform_message_id"]: r for r in rep.messages}
    assert by_id[f"{PAGE}_skyss2"]["receipt"] == "confirmed" and by_id[f"{PAGE}_skyss3"]["receipt"] == "confirmed"
    assert by_id[f"{PAGE}_skyss3"]["arkivmelding"] == "delivered"
    assert by_id[f"{PAGE}_bv2"]["receipt"] == "failed" and "Arkivdel mangler" in by_id[f"{PAGE}_bv2"]["receipt_detail"]
    assert by_id[f"{PAGE}_bv3"]["receipt"] == "missing"
    assert sum(r["receipt_failed"] for r in rep.summary) == 1 and sum(r["receipt_missing"] for r in rep.summary) == 1

    from ringebu_journal.cli.main import cli

    result = CliRunner().invoke(cli, ["--db", _db_url(app), "--actor", "archivist", "--data-dir", str(app.data_dir),
                                      "report", "journal"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "arkivmelding receipts: 1 failed, 1 missing" in result.output


def tree_unchanged_after_rerun(app, out: Path) -> bool:
    """Reading receipts twice records nothing twice and writes nothing into the outbox."""
    before = sorted(p.name for p in out.iterdir())
    res = export_arkivmelding(app, out)
    return res.receipts.recorded == [] and sorted(p.name for p in out.iterdir()) == before


def test_export_reflects_one_snapshot_and_records_its_audit_sequence(world, tmp_path):
    app, w = world
    out = tmp_path / "outbox"
    late: dict[str, int] = {}

    def moderator_decides_meanwhile() -> None:
        with app.db.write() as conn:               # another connection, committed during the export
            w.decide(conn, "skyss3", "flag", "exclude", minutes=700)
            late["seq"] = conn.execute(select(AUD.c.seq).order_by(AUD.c.seq.desc()).limit(1)).scalar()

    res = export_arkivmelding(app, out, on_snapshot=moderator_decides_meanwhile)
    assert res.audit_seq < late["seq"]
    # the snapshot was taken before the decision: skyss3 is still a journalpost in this export
    assert any(e.meta.get("platform_message_id") == f"{PAGE}_skyss3" and e.type == am.OPPRETT
               for e in Outbox(out).entries())
    with app.db.read() as conn:
        ev = conn.execute(select(AUD).where(AUD.c.action == "export.arkivmelding")).mappings().one()
    assert json.loads(ev["after"])["audit_seq"] == res.audit_seq
    nxt = export_arkivmelding(app, out)            # the decision goes in the next export
    assert len(nxt.cancelled) == 1 and nxt.audit_seq >= late["seq"]


def _cli(*args: str) -> tuple[int, str]:
    """Invoke like cli.main does: a RingebuError becomes its exit code."""
    from ringebu_journal.cli.main import cli
    from ringebu_journal.errors import RingebuError

    r = CliRunner().invoke(cli, list(args), standalone_mode=False)
    if isinstance(r.exception, RingebuError):
        return r.exception.exit_code, r.output + str(r.exception)
    assert r.exception is None, repr(r.exception)
    return 0, r.output


def test_validate_outbox_checks_schemas_hashes_and_lifecycle(world, tmp_path):
    app, _ = world
    out = tmp_path / "outbox"
    export_arkivmelding(app, out)
    code, text = _cli("validate", str(out))
    assert code == 0 and "6 message(s)" in text and "valid" in text
    entries = Outbox(out).entries()
    first = entries[0]
    code, text = _cli("validate", str(out / first.folder / "arkivmelding.xml"))
    assert code == 0, text
    code, text = _cli("validate", str(out / first.folder))
    assert code == 0, text

    # a second opprett of the same journalpost: refused by the lifecycle check
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    seq = entries[-1].seq + 1
    dup = folder_name(seq, first.type, first.key)
    shutil.copytree(bad / first.folder, bad / dup)
    line = {**first.line(), "seq": seq, "folder": dup}
    (bad / dup / MANIFEST).write_text(json.dumps(line, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")
    with open(bad / INDEX, "a") as fh:
        fh.write(json.dumps(line, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")
    code, text = _cli("validate", str(bad))
    assert code == 1 and "second opprett of journalpost" in text

    # a changed file of an earlier delivery
    changed = tmp_path / "changed"
    shutil.copytree(out, changed)
    pdf = next(p for p in (changed / first.folder).iterdir() if p.suffix == ".pdf")
    pdf.write_bytes(pdf.read_bytes() + b"%")
    code, text = _cli("validate", str(changed))
    assert code == 1 and "SHA-256 or size differs" in text

    # an oppdater of a key no earlier message created
    lone = Outbox(tmp_path / "lone")
    ref = am.Referanse(first.key, am.Noekkel("ringebu-journal", "facebook:1"))
    xml = am.oppdater_journalpost(am.JournalpostEndring(
        ref=ref, tittel="Ny tittel", offentlig_tittel=None, skjerming=None, parter=[],
        merknad=am.Merknad("Oppdatering: ny tittel", datetime(2026, 3, 3, tzinfo=timezone.utc), "arkivar")))
    with lone.lock():
        lone.append(am.OPPDATER, first.key, xml, [], keys={"journalpost": first.key})
    code, text = _cli("validate", str(lone.path))
    assert code == 1 and "which no earlier message created" in text

    # one payload that breaks its XSD
    broken = tmp_path / "broken.xml"
    broken.write_bytes((out / first.folder / "arkivmelding.xml").read_bytes().replace(b"<system>", b"<systemet>")
                       .replace(b"</system>", b"</systemet>"))
    code, text = _cli("validate", str(broken))
    assert code == 1 and "systemet" in text


def test_bad_outbox_input_is_one_clear_line_and_changes_nothing(world, tmp_path):
    from ringebu_journal.errors import ConflictError, ProblemsFound, UsageError

    app, _ = world
    out = tmp_path / "outbox"
    export_arkivmelding(app, out)
    before = (out / INDEX).read_bytes()
    with pytest.raises(UsageError, match=f"give --out {out}"):        # a second outbox would send opprett twice
        export_arkivmelding(app, tmp_path / "another")
    assert not (tmp_path / "another" / INDEX).exists()
    with Outbox(out).lock():                                            # another export is running
        with pytest.raises(ConflictError, match="another export is writing"):
            export_arkivmelding(app, out)
    damaged = before.replace(b'"seq":3', b'"seq":"three"', 1)
    (out / INDEX).write_bytes(damaged)
    with pytest.raises(ProblemsFound, match=r"index.jsonl:3: not an index line .* melding.json"):
        export_arkivmelding(app, out)
    assert (out / INDEX).read_bytes() == damaged
    code, text = _cli("validate", str(out))
    assert code == 1 and "index.jsonl:3" in text
    (out / INDEX).write_bytes(before)
    file_out = tmp_path / "a-file"
    file_out.write_text("x")
    with pytest.raises(UsageError, match="cannot create"):
        export_arkivmelding(app, file_out)


def test_cli_export_arkivmelding_reports_messages_and_receipt_problems(world, tmp_path):
    app, _ = world
    out = tmp_path / "outbox"
    base = ["--db", _db_url(app), "--actor", "archivist", "--data-dir", str(app.data_dir)]
    code, text = _cli(*base, "export", "arkivmelding", "--out", str(out))
    assert code == 0 and "4 opprett" in text and "2 avskrivning" in text and "000001-arkivmelding.opprett-" in text
    (out / "inbox").mkdir()
    (out / "inbox" / "000001-feil.kvittering.xml").write_text("<ikke-xml")
    code, text = _cli(*base, "export", "arkivmelding", "--out", str(out), "--format", "json")
    assert code == 1 and "could not be recorded" in text
    data = json.loads(text[: text.rindex("}") + 1])
    assert data["unchanged"] == 4 and "names no message" in data["receipt_problems"][0]


def test_a_confirmed_receipt_stays_confirmed_oppdater_is_checked_and_links_are_refused(world, tmp_path):
    app, w = world
    out = tmp_path / "outbox"
    export_arkivmelding(app, out)
    first = next(e for e in Outbox(out).entries() if e.type == am.OPPRETT)
    inbox = out / "inbox"
    inbox.mkdir()
    sm = first.keys["saksmappe"] if first.keys.get("saksmappe_created") else None
    (inbox / f"{first.folder}.kvittering.xml").write_bytes(_kvittering(sm, first.keys["journalpost"]))
    res = export_arkivmelding(app, out)
    assert res.receipts.recorded == [(f"{first.folder}.kvittering.xml", first.folder, "confirmed")]
    # a second file for the same message (a retry's serverfeil) does not turn it into failed
    (inbox / f"{first.folder}.feilmelding.xml").write_text(
        '<?xml version="1.0"?><serverfeil xmlns="https://ks-no.github.io/standarder/fiks-protokoll/fiks-arkiv/'
        'feil/serverfeil/v2"><feilId xmlns="https://ks-no.github.io/standarder/fiks-protokoll/fiks-arkiv/feil/'
        'feilmelding/v2">F-18</feilId><feilmelding xmlns="https://ks-no.github.io/standarder/fiks-protokoll/'
        'fiks-arkiv/feil/feilmelding/v2">Tidsavbrudd</feilmelding></serverfeil>')
    # a symbolic link in the inbox is not followed
    secret = tmp_path / "elsewhere.xml"
    secret.write_bytes(_kvittering(None, "x"))
    other = next(e for e in Outbox(out).entries() if e.type == am.OPPRETT and e.folder != first.folder)
    (inbox / f"{other.folder}.kvittering.xml").symlink_to(secret)
    res = export_arkivmelding(app, out)
    assert res.receipts.recorded == []
    assert any("already confirmed" in p for p in res.receipts.problems)
    assert any("symbolic link" in p for p in res.receipts.problems)
    with app.db.read() as conn:
        status = dict(conn.execute(select(OUTM.c.folder, OUTM.c.receipt)).all())
    assert status[first.folder] == "confirmed" and status[other.folder] == "pending"
    # a kvittering for an oppdater that names another registrering is no confirmation
    with app.db.write() as conn:
        w.decide(conn, "skyss3", "flag", "exclude", minutes=700)
    nxt = export_arkivmelding(app, out)
    [cancel] = nxt.cancelled
    (inbox / f"{cancel}.kvittering.xml").write_bytes(_kvittering(None, "00000000-0000-0000-0000-000000000000"))
    res = export_arkivmelding(app, out)
    assert res.receipts.recorded == [(f"{cancel}.kvittering.xml", cancel, "failed")]


def test_screening_after_delivery_sends_the_redacted_variant(world, tmp_path):
    app, w = world
    out = tmp_path / "outbox"
    export_arkivmelding(app, out)
    first = next(e for e in Outbox(out).entries() if e.type == am.OPPRETT
                 and "<skjerming>" not in (out / e.folder / "arkivmelding.xml").read_text("utf-8"))
    name = first.meta["platform_message_id"].split("_", 1)[1]
    with app.db.write() as conn:
        w.decide(conn, name, "flag", "journal", screen=True, minutes=700)
    res = export_arkivmelding(app, out)
    assert res.updated and len(res.documents) == 1      # the journalpost (and its case) updated, one variant sent
    folder = out / res.documents[0]
    payload = next(p for p in folder.iterdir() if p.suffix == ".xml")
    text = payload.read_text("utf-8")
    assert "Dokument hvor deler av innholdet er skjermet" in text or ">O<" in text
    pdf = next(p for p in folder.iterdir() if p.name.endswith("-skjermet.pdf"))
    assert "Skjermet variant" in pdf_text(pdf)
    assert validate_outbox(out).ok, validate_outbox(out).to_text()
    # sent once: the next export sends nothing
    again = export_arkivmelding(app, out)
    assert again.documents == [] and again.updated == []
