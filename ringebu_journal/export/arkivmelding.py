"""``export arkivmelding``: one Fiks Arkiv V2 arkivmelding per new or changed journalpost.

Each message goes into its own folder ``OUT/<systemID>[-oppdatering-N]/`` with ``arkivmelding.xml``
and the files it names (the PDF/A archive copy, the attachments, the raw «Originaldata»), ready for
the daily delivery into the archive system. Each message is validated against
``schemas/fiks-arkiv/no.ks.fiks.arkiv.v2.arkivering.arkivmelding.opprett.xsd`` before anything is
recorded.

What was delivered is kept in ``deliveries`` (kind ``arkivmelding``) with a hash of the delivered
state (decision, skjerming, titles, parties, documents). A journalpost already delivered in the
same state is never sent again. A changed state (a moderator's later decision, a new screening)
is sent again as an *update*: the project ships only the ``opprett`` schema of Fiks Arkiv V2, so
the update is an ``arkivmelding`` with the **same systemIDs and the same referanseEksternNoekkel**
(fagsystem ``ringebu-journal``, nøkkel = the platform id) plus a merknad of type «Oppdatering»
naming the earlier delivery; the archive system recognises the record by its external key. See
docs/export.md for the upstream ``arkivmelding.oppdater`` message and how to switch to it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from lxml import etree
from sqlalchemy import select

from noark import stable_uuid
from noark.text import clean_text, format_date, format_datetime
from ringebu_journal.app import App
from ringebu_journal.db.tables import Delivery, Export
from ringebu_journal.errors import ProblemsFound, UsageError
from schemas import FIKS_ARKIV_DIR

from .documents import plan_documents
from .mapping import SYSTEM, UNNTATT, ExportPlan, Klassifikasjon, MappePlan, RecordPlan, Selection, numbered_plan, utc
from .noark5 import state_hash
from .render import render_all

NS = "https://ks-no.github.io/standarder/fiks-protokoll/fiks-arkiv/arkivmelding/opprett/v2"
# Children of the metadatakatalog's complex types (kode, eksternNoekkel, referanseTilMappe) are
# in the metadatakatalog namespace (its elementFormDefault is qualified).
MDK = "https://ks-no.github.io/standarder/fiks-protokoll/fiks-arkiv/metadatakatalog/v2"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ENTRY = "no.ks.fiks.arkiv.v2.arkivering.arkivmelding.opprett.xsd"
FAGSYSTEM = "ringebu-journal"
EXP = Export.__table__
DLV = Delivery.__table__

# Noark 5 code values with their Fiks Arkiv short codes (Noark 5 tjenestegrensesnitt).
JOURNALPOSTTYPE = {"Inngående dokument": "I", "Utgående dokument": "U"}
KORRESPONDANSEPARTTYPE = {"Avsender": "EA", "Mottaker": "EM", "Intern avsender": "IA"}
FORMAT_CODE = {"pdf": "PDF", "txt": "TXT", "json": "JSON", "jpg": "JPEG", "png": "PNG"}
MIME = {"pdf": "application/pdf", "txt": "text/plain; charset=utf-8", "json": "application/json",
        "jpg": "image/jpeg", "png": "image/png"}

_schema: etree.XMLSchema | None = None


def fiks_schema() -> etree.XMLSchema:
    """The Fiks Arkiv V2 arkivmelding schema, compiled offline from the shipped files."""
    global _schema
    if _schema is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        _schema = etree.XMLSchema(etree.parse(str(FIKS_ARKIV_DIR / ENTRY), parser))
    return _schema


def validate_arkivmelding(path: Path) -> list[str]:
    """Every schema error of one arkivmelding.xml (empty when valid)."""
    schema = fiks_schema()
    doc = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
    if schema.validate(doc):
        return []
    return [f"{path.name}:{e.line}: {e.message}" for e in schema.error_log]


class _X:
    """A tiny element builder that never writes an empty element."""

    def __init__(self, parent: etree._Element, ns: str = NS):
        self.el = parent
        self.ns = ns

    def leaf(self, name: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, datetime):
            text = format_datetime(utc(value))
        elif hasattr(value, "isoformat"):
            text = format_date(value)
        else:
            text = clean_text(str(value))
        if text.strip():
            etree.SubElement(self.el, f"{{{self.ns}}}{name}").text = text

    def sub(self, name: str, attrib: dict[str, str] | None = None, *, children_ns: str | None = None) -> "_X":
        return _X(etree.SubElement(self.el, f"{{{self.ns}}}{name}", attrib or {}), children_ns or self.ns)

    def kode(self, name: str, kode: str, beskrivelse: str | None = None) -> None:
        k = self.sub(name, children_ns=MDK)
        k.leaf("kode", kode)
        k.leaf("beskrivelse", beskrivelse)

    def noekkel(self, name: str, key: str) -> None:
        n = self.sub(name, children_ns=MDK)
        n.leaf("fagsystem", FAGSYSTEM)
        n.leaf("noekkel", key)


@dataclass
class Melding:
    record: RecordPlan
    mappe: MappePlan
    state: str
    update_of: dict[str, Any] | None      # the earlier delivery this one replaces
    folder: str


def arkivmelding_xml(m: Melding, files: list[tuple[str, str, str, int, str]]) -> bytes:
    """The XML of one arkivmelding. ``files``: (filename in the message, title, extension, size, sha256)."""
    rec, mp = m.record, m.mappe
    msg = rec.message
    root = etree.Element(f"{{{NS}}}arkivmelding", nsmap={None: NS, "n5mdk": MDK, "xsi": XSI})
    x = _X(root)
    x.leaf("system", SYSTEM)
    x.leaf("antallFiler", len(files))
    mappe = x.sub("mappe", {f"{{{XSI}}}type": "saksmappe"})
    mappe.sub("systemID").el.text = mp.system_id
    mappe.leaf("tittel", mp.tittel)
    mappe.leaf("offentligTittel", mp.offentlig_tittel)
    mappe.leaf("opprettetDato", mp.opprettet)
    mappe.leaf("opprettetAv", SYSTEM)
    if mp.screened:
        s = mappe.sub("skjerming")
        s.kode("tilgangsrestriksjon", "13", UNNTATT)
        s.leaf("skjermingshjemmel", mp.hjemmel)
    k = mappe.sub("klassifikasjon")
    k.leaf("klassifikasjonssystemID", "EMNE")
    k.leaf("klasseID", mp.klasse.klasseID)
    k.leaf("tittel", mp.klasse.tittel)
    thread_key = mp.mappeID if mp.thread_id is None else f"{msg['platform']}:{mp.system_id}"
    mappe.noekkel("referanseEksternNoekkel", thread_key)
    mappe.leaf("saksdato", mp.saksdato or rec.journaldato)
    mappe.sub("administrativEnhet", children_ns=MDK).leaf("navn", mp.administrativ_enhet)
    mappe.sub("saksansvarlig", children_ns=MDK).leaf("navn", mp.saksansvarlig or rec.decision.decided_by)

    reg = x.sub("registrering", {f"{{{XSI}}}type": "journalpost"})
    reg.sub("systemID").el.text = rec.system_id
    reg.leaf("opprettetDato", rec.opprettet)
    reg.leaf("opprettetAv", SYSTEM)
    reg.leaf("arkivertDato", rec.arkivert)
    reg.leaf("arkivertAv", rec.decision.decided_by)
    parent = reg.sub("referanseForelderMappe", children_ns=MDK)
    parent.sub("systemID").el.text = mp.system_id
    parent.noekkel("referanseEksternNoekkel", thread_key)
    if rec.screened:
        s = reg.sub("skjerming")
        s.kode("tilgangsrestriksjon", "13", UNNTATT)
        s.leaf("skjermingshjemmel", rec.decision.hjemmel)
    for n, (doc, (fname, title, ext, size, sha)) in enumerate(zip(rec.documents, files), start=1):
        d = reg.sub("dokumentbeskrivelse")
        d.sub("systemID").el.text = stable_uuid("dokumentbeskrivelse", rec.system_id, doc.role, doc.sti)
        d.kode("dokumenttype", "SOME" if doc.role == "hoveddokument" else "ORIG" if doc.role == "original" else "BILDE",
               doc.dokumenttype)
        d.kode("dokumentstatus", "F", "Dokumentet er ferdigstilt")
        d.leaf("tittel", title)
        d.kode("tilknyttetRegistreringSom", "H" if doc.role == "hoveddokument" else "V",
               "Hoveddokument" if doc.role == "hoveddokument" else "Vedlegg")
        d.leaf("dokumentnummer", n)
        d.leaf("tilknyttetDato", rec.arkivert)
        d.leaf("tilknyttetAv", SYSTEM)
        o = d.sub("dokumentobjekt")
        o.sub("systemID").el.text = stable_uuid("dokumentobjekt", rec.system_id, doc.role, doc.sti)
        o.leaf("versjonsnummer", 1)
        o.kode("variantformat", "A", "Arkivformat")
        o.kode("format", FORMAT_CODE.get(ext, ext.upper()), doc.puid)
        o.leaf("formatDetaljer", doc.puid)
        o.leaf("mimeType", MIME.get(ext))
        o.leaf("filnavn", fname)
        o.leaf("referanseDokumentfil", fname)
        o.leaf("sjekksum", sha)
        o.leaf("sjekksumAlgoritme", "SHA-256")
        o.leaf("filstoerrelse", size)
    reg.leaf("tittel", rec.tittel)
    reg.leaf("offentligTittel", rec.offentlig_tittel)
    if m.update_of is not None:
        mk = reg.sub("merknad")
        mk.leaf("merknadstekst", f"Oppdatering: erstatter levering {m.update_of['system_id']} fra "
                                 f"{format_datetime(utc(m.update_of['delivered_at']))} (tilstand {m.update_of['state_hash'][:12]}); "
                                 f"ny vurdering: {'skjermet' if rec.screened else 'ikke skjermet'}")
        mk.kode("merknadstype", "OPPD", "Oppdatering")
        mk.leaf("merknadsdato", rec.arkivert)
        mk.leaf("merknadRegistrertAv", rec.decision.decided_by)
    for typ, navn, skjermet in rec.korrespondanseparter:
        kp = reg.sub("korrespondansepart")
        kp.kode("korrespondanseparttype", KORRESPONDANSEPARTTYPE.get(typ, typ), typ)
        kp.leaf("korrespondansepartNavn", navn)
        if skjermet:
            kp.leaf("erSkjermet", "true")
    reg.noekkel("referanseEksternNoekkel", f"{msg['platform']}:{msg['platform_message_id']}")
    reg.kode("journalposttype", JOURNALPOSTTYPE[rec.journalposttype], rec.journalposttype)
    if rec.journalstatus == "Utgår":
        reg.kode("journalstatus", "U", "Utgår")
    else:
        reg.kode("journalstatus", "J", "Journalført")
    reg.leaf("journaldato", rec.journaldato)
    reg.leaf("dokumentetsDato", rec.dokumentets_dato)
    if rec.journalposttype == "Inngående dokument":
        reg.leaf("mottattDato", msg["created_at"])
    else:
        reg.leaf("sendtDato", msg["created_at"])
    if rec.screened:
        reg.leaf("offentlighetsvurdertDato", rec.journaldato)
    reg.leaf("antallVedlegg", max(0, len(files) - 1))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


@dataclass
class ArkivmeldingResult:
    export_id: int | None
    created: list[str] = field(default_factory=list)      # folders of new journalposter
    updated: list[str] = field(default_factory=list)      # folders of updates
    unchanged: int = 0
    summary: dict[str, Any] = field(default_factory=dict)


def _latest_deliveries(conn, ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for i in range(0, len(ids), 900):
        rows = conn.execute(select(DLV).where(DLV.c.kind == "arkivmelding", DLV.c.message_id.in_(ids[i:i + 900]))
                            .order_by(DLV.c.id)).mappings()
        for r in rows:
            out[r["message_id"]] = dict(r)     # the last one wins
    return out


def export_arkivmelding(app: App, out: str | Path, *, klassifikasjon: Klassifikasjon | None = None,
                        advance: Callable[[int], None] | None = None, workers: int = 2) -> ArkivmeldingResult:
    """Write an arkivmelding for each journalpost not yet delivered in its current state."""
    out = Path(out).absolute()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {out}: {exc.strerror} — give a writable --out folder") from None
    plan = numbered_plan(app.db, Selection(), klassifikasjon)
    with app.db.read() as conn:
        journal = [(r, mp) for mp in plan.mapper for r in mp.records if r.journal]
        delivered = _latest_deliveries(conn, [r.message["id"] for r, _ in journal])
        # also an earlier version's delivery counts for the message
        counts: dict[int, int] = {}
        for r in conn.execute(select(DLV.c.message_id).where(DLV.c.kind == "arkivmelding")):
            counts[r.message_id] = counts.get(r.message_id, 0) + 1
    sub = ExportPlan(mapper=[MappePlan(**{**mp.__dict__, "records": [r for r in mp.records if r.journal]})
                             for mp in plan.mapper if any(r.journal for r in mp.records)],
                     threads=plan.threads, captures=plan.captures, attachments=plan.attachments,
                     period_start=None, period_end=None, skipped=plan.skipped, klassifikasjon=plan.klassifikasjon,
                     excluded_ids=plan.excluded_ids)
    jobs = plan_documents(sub, app.data_dir)
    rendered, _ = render_all(jobs, app.data_dir, workers=workers, advance=advance)
    meldinger: list[Melding] = []
    result = ArkivmeldingResult(export_id=None)
    for rec, mp in ((r, m) for m in sub.mapper for r in m.records):
        state = state_hash(rec)
        prev = delivered.get(rec.message["id"])
        if prev is not None and prev["state_hash"] == state:
            result.unchanged += 1
            continue
        n = counts.get(rec.message["id"], 0)
        folder = rec.system_id if prev is None else f"{rec.system_id}-oppdatering-{n}"
        meldinger.append(Melding(rec, mp, state, prev, folder))
    written: list[tuple[Melding, Path]] = []
    try:
        for m in meldinger:
            final = out / m.folder
            if final.exists():
                shutil.rmtree(final)          # an earlier run that was never recorded
            partial = out / f".{m.folder}.partial-{os.getpid()}-{secrets.token_hex(3)}"
            partial.mkdir()
            files = []
            for n, doc in enumerate(m.record.documents, start=1):
                ext = doc.sti.rsplit(".", 1)[-1]
                fname = f"{n:02d}-{doc.role}.{ext}"
                src = rendered[doc.render_key] if doc.render_key else doc.source
                if src is not None:
                    shutil.copyfile(src, partial / fname)
                else:
                    (partial / fname).write_bytes(doc.data or b"")
                data_path = partial / fname
                sha = hashlib.sha256(data_path.read_bytes()).hexdigest()
                files.append((fname, doc.tittel, ext, data_path.stat().st_size, sha))
            (partial / "arkivmelding.xml").write_bytes(arkivmelding_xml(m, files))
            errors = validate_arkivmelding(partial / "arkivmelding.xml")
            if errors:
                shutil.rmtree(partial, ignore_errors=True)
                raise ProblemsFound(f"arkivmelding for {m.record.system_id} is not valid against the Fiks Arkiv schema: "
                                    f"{errors[0]} — please report this (nothing was recorded)")
            written.append((m, partial))
        if not written:
            result.summary = {"created": 0, "updated": 0, "unchanged": result.unchanged}
            return result
        now = datetime.now(timezone.utc)
        batch_id = stable_uuid("arkivmelding", *sorted(f"{m.record.system_id}:{m.state}" for m, _ in written))
        summary = {"created": sum(1 for m, _ in written if m.update_of is None),
                   "updated": sum(1 for m, _ in written if m.update_of is not None),
                   "unchanged": result.unchanged, "folders": [m.folder for m, _ in written]}
        with app.db.write() as conn:
            export_id = conn.execute(EXP.insert().values(kind="arkivmelding", package_id=batch_id, path=str(out),
                                                         summary=summary, actor=app.actor, created_at=now)).inserted_primary_key[0]
            conn.execute(DLV.insert(), [{"message_id": m.record.message["id"], "kind": "arkivmelding", "export_id": export_id,
                                         "system_id": m.record.system_id, "state_hash": m.state, "delivered_at": now}
                                        for m, _ in written])
            app.audit(conn, "export.arkivmelding", "export", batch_id, after={**summary, "export_id": export_id})
            for m, partial in written:
                os.replace(partial, out / m.folder)
        result.export_id = export_id
        result.created = [m.folder for m, _ in written if m.update_of is None]
        result.updated = [m.folder for m, _ in written if m.update_of is not None]
        result.summary = summary
        return result
    except OSError as exc:
        raise ProblemsFound(f"cannot write into {out}: {exc.strerror or exc} — free space or fix the folder; "
                            "nothing was recorded, run the export again") from None
    finally:
        for p in out.glob(f".*.partial-{os.getpid()}-*"):
            shutil.rmtree(p, ignore_errors=True)
