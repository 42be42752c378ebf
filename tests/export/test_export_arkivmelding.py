"""export arkivmelding as a conversation with the archive system (SQLite and PostgreSQL):
one saksmappe per case, oppdater for corrections, avskrivning, cancellation, an append-only
outbox whose files never change, receipts, a consistent snapshot."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from lxml import etree
from sqlalchemy import select

from noark import arkivmelding as am
from noark.arkivmelding_outbox import Outbox, validate_outbox
from ringebu_journal.db.tables import ArkivmeldingKey, Message
from ringebu_journal.export.arkivmelding import export_arkivmelding

from conftest import PAGE, SECRET_NAME

NS = {"o": am.NS_OPPRETT, "u": am.NS_OPPDATER, "m": am.MDK, "a": am.NS_AVSKRIVNING, "d": am.NS_DOKUMENTOBJEKT}
KEYS = ArkivmeldingKey.__table__
MSG = Message.__table__


def payload(out: Path, folder: str) -> etree._Element:
    p = next(f for f in (out / folder).iterdir() if f.name.endswith(".xml"))
    return etree.parse(str(p)).getroot()


def tree_hashes(out: Path) -> dict[str, str]:
    """SHA-256 of every file in every message folder (the index is appended to, not included)."""
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in out.rglob("*") if p.is_file() and p.parent != out and p.parent.name != "inbox"}


def edit_message(app, w, name: str, text: str) -> None:
    """A new version of a message, as the importers store an edit."""
    with app.db.write() as conn:
        old = dict(conn.execute(select(MSG).where(MSG.c.id == w.ids[name])).mappings().one())
        conn.execute(MSG.update().where(MSG.c.id == old["id"]).values(is_current=False))
        new = {k: v for k, v in old.items() if k != "id"}
        new.update(version=old["version"] + 1, previous_id=old["id"], is_current=True, text=text,
                   content_hash=hashlib.sha256(text.encode()).hexdigest(),
                   imported_at=old["imported_at"] + timedelta(days=1))
        w.ids[name] = conn.execute(MSG.insert().values(**new)).inserted_primary_key[0]


def test_one_saksmappe_per_case_later_journalposts_reference_it(world, tmp_path):
    app, w = world
    out = tmp_path / "outbox"
    first = export_arkivmelding(app, out)
    assert len(first.created) == 4 and not first.updated and len(first.avskrivninger) == 2
    mapper: dict[str, list[str]] = {}
    parents: dict[str, str] = {}
    for folder in first.created:
        root = payload(out, folder)
        assert am.validate_payload(etree.tostring(root)) == (am.OPPRETT, [])
        jp = root.find("o:registrering", NS)
        sid = jp.findtext("o:systemID", namespaces=NS)
        parents[sid] = jp.findtext("o:referanseForelderMappe/m:systemID", namespaces=NS)
        assert jp.findtext("o:referanseForelderMappe/m:referanseEksternNoekkel/m:noekkel", namespaces=NS)
        m = root.find("o:mappe", NS)
        if m is not None:
            mapper.setdefault(m.findtext("o:systemID", namespaces=NS), []).append(folder)
    # two cases (skoleskyss, barnevern): each saksmappe created exactly once, by its first journalpost
    assert len(mapper) == 2 and all(len(v) == 1 for v in mapper.values())
    assert set(parents.values()) == set(mapper)
    assert sorted(list(parents.values()).count(m) for m in mapper) == [2, 2]
    # the first message of each case carries the saksmappe; the second only references it
    for msid, (folder,) in mapper.items():
        later = [f for f in first.created if f != folder and parents[payload(out, f).findtext(
            "o:registrering/o:systemID", namespaces=NS)] == msid]
        assert len(later) == 1 and int(later[0][:6]) > int(folder[:6])
        assert payload(out, later[0]).find("o:mappe", NS) is None
    # avskrivning: the citizen's journalpost answered by the municipality's reply
    for folder in first.avskrivninger:
        root = payload(out, folder)
        assert am.validate_payload(etree.tostring(root)) == (am.AVSKRIVNING, [])
        assert root.findtext("a:avskrivning/a:avskrivningsmaate/m:kode", namespaces=NS) == "BU"
    report = validate_outbox(out)
    assert report.ok, report.to_text()
    assert report.messages == 6
    with app.db.read() as conn:
        keys = conn.execute(select(KEYS)).mappings().all()
    assert sorted(k["kind"] for k in keys) == ["journalpost"] * 4 + ["saksmappe"] * 2
    assert {k["state"] for k in keys} == {"created"}

    again = export_arkivmelding(app, out)                 # nothing changed: nothing sent
    assert again.created == again.updated == again.avskrivninger == [] and again.unchanged == 4
    assert len(Outbox(out).entries()) == 6


def test_corrections_go_as_oppdater_and_no_earlier_file_changes(world, tmp_path):
    app, w = world
    out = tmp_path / "outbox"
    export_arkivmelding(app, out)
    before = tree_hashes(out)
    index_before = (out / "index.jsonl").read_bytes()

    edit_message(app, w, "skyss2", "Jeg klager fortsatt på skoleskyssen til datteren min. Veien er farlig om vinteren.")
    with app.db.write() as conn:
        w.decide(conn, "bv3", "flag", "exclude", minutes=500)              # journal decision reversed
        w.decide(conn, "skyss3", "flag", "journal", screen=True, minutes=510)   # new screening
    res = export_arkivmelding(app, out)

    assert res.created == []                                               # never a second opprett
    assert tree_hashes(out) | before == tree_hashes(out)                   # every earlier file unchanged
    assert all(tree_hashes(out)[k] == v for k, v in before.items())
    assert (out / "index.jsonl").read_bytes().startswith(index_before)    # the index only grew
    updated = {payload(out, f).findtext("u:registreringOppdateringer/u:referanseTilRegistrering/m:systemID",
                                        namespaces=NS): f for f in res.updated
               if payload(out, f).find("u:registreringOppdateringer", NS) is not None}
    for f in res.updated + res.cancelled:
        assert am.validate_payload(etree.tostring(payload(out, f)))[0] == am.OPPDATER
        assert am.validate_payload(etree.tostring(payload(out, f)))[1] == []
    with app.db.read() as conn:
        keys = {(k["kind"], k["platform_message_id"]): dict(k) for k in conn.execute(select(KEYS)).mappings()}
    skyss2 = keys[("journalpost", f"{PAGE}_skyss2")]
    skyss3 = keys[("journalpost", f"{PAGE}_skyss3")]
    bv3 = keys[("journalpost", f"{PAGE}_bv3")]
    assert skyss2["system_id"] in updated and skyss3["system_id"] in updated
    assert skyss2["state"] == "updated" and skyss2["updates"] == 1
    # the edit: new title and a new version of the hoveddokument and the original
    root = payload(out, updated[skyss2["system_id"]])
    assert "Jeg klager fortsatt" in root.findtext("u:registreringOppdateringer/u:tittel", namespaces=NS)
    assert "versjon 2" in root.findtext("u:registreringOppdateringer/u:merknadOppdateringer/u:ny/o:merknadstekst",
                                        namespaces=NS)
    assert len(res.documents) == 2
    for f in res.documents:
        d = payload(out, f)
        assert am.validate_payload(etree.tostring(d)) == (am.DOKUMENTOBJEKT, [])
        assert d.findtext("d:dokumentobjekt/o:versjonsnummer", namespaces=NS) == "2"
    # the screening: skjerming on the journalpost and on the saksmappe (the whole case is screened)
    root = payload(out, updated[skyss3["system_id"]])
    assert root.findtext("u:registreringOppdateringer/u:skjermingOppdateringer/u:oppdatering/"
                         "u:tilgangsrestriksjon/m:kode", namespaces=NS) == "13"
    mappe_updates = [f for f in res.updated if payload(out, f).find("u:mappeOppdateringer", NS) is not None]
    assert len(mappe_updates) == 1
    # the reversed decision: journalstatus «Utgår», the lifecycle says cancelled
    assert len(res.cancelled) == 1
    root = payload(out, res.cancelled[0])
    assert root.findtext("u:registreringOppdateringer/u:referanseTilRegistrering/m:systemID",
                         namespaces=NS) == bv3["system_id"]
    assert root.findtext("u:registreringOppdateringer/u:journalstatus/m:kode", namespaces=NS) == "U"
    assert bv3["state"] == "cancelled"
    report = validate_outbox(out)
    assert report.ok, report.to_text()

    third = export_arkivmelding(app, out)                  # all of it sent: nothing more
    assert not (third.created or third.updated or third.cancelled or third.documents or third.avskrivninger)

    with app.db.write() as conn:                           # reversed again: the journalpost comes back
        w.decide(conn, "bv3", "flag", "journal", minutes=600)
    back = export_arkivmelding(app, out)
    assert back.created == [] and len(back.updated) == 1
    root = payload(out, back.updated[0])
    assert root.findtext("u:registreringOppdateringer/u:journalstatus/m:kode", namespaces=NS) == "J"
    assert validate_outbox(out).ok


def test_screened_name_marked_in_arkivmelding(world, tmp_path):
    app, _ = world
    res = export_arkivmelding(app, tmp_path / "l")
    texts = [(tmp_path / "l" / f / "arkivmelding.xml").read_text() for f in res.created]
    with_name = [t for t in texts if SECRET_NAME in t]
    assert with_name and all("<erSkjermet>true</erSkjermet>" in t for t in with_name)


def test_a_new_version_without_a_change_of_text_sends_nothing(world, tmp_path):
    """Keyed by the message, not its version: a status change (deleted on the platform) stored as a
    new version is no new journalpost and no update; the earlier folder stays as it was."""
    app, w = world
    out = tmp_path / "outbox"
    export_arkivmelding(app, out)
    before = tree_hashes(out)
    with app.db.write() as conn:
        old = dict(conn.execute(select(MSG).where(MSG.c.id == w.ids["skyss2"])).mappings().one())
        conn.execute(MSG.update().where(MSG.c.id == old["id"]).values(is_current=False))
        new = {k: v for k, v in old.items() if k != "id"}
        new.update(version=2, previous_id=old["id"], is_current=True, status="deleted")
        conn.execute(MSG.insert().values(**new))
    res = export_arkivmelding(app, out)
    assert res.created == res.updated == res.documents == [] and res.unchanged == 4
    assert tree_hashes(out) == before
