"""``export noark5``: the arkivuttrekk, built atomically and validated before it is published.

The package is written into a hidden temporary sibling of ``--out`` (``.NAME.partial-PID-…``),
validated with the noark validator (XSD and Arkade controls), and only then renamed to ``--out``
(or packed to ``NAME.tar`` and renamed). An invalid package is never published.

Publishing is three steps, so that a kill at any point leaves a state the next export to the
same ``--out`` reconciles (the file system and the database cannot change in one step):

1. intent — ``.NAME.publishing`` is written next to ``--out`` (process id, package id and the
   SHA-256 of ``arkivstruktur.xml`` or of the tar file);
2. publish — the validated partial folder (or tar file) is renamed to ``--out``;
3. done — the export, its deliveries and one ``export.noark5`` audit event are stored in one
   transaction, then the intent file is removed.

A kill before 2 leaves the hidden partial folder (removed by the next export once its process
is gone). A kill between 2 and 3 leaves a published package the database does not know: the
next export to that ``--out`` finds the intent, sees that no export of that package was
recorded, withdraws the package (it was never reported as delivered) and builds it again. A
kill after 3 leaves only a stale intent file, which the next export removes. Every step is a
named kill point (:mod:`ringebu_journal.killpoints`).

arkivuttrekk.xml carries the audit trail's head (sequence and hash) as it was when the package's
content was read, in ``reference/context/additionalElements/additionalElement[@name=
"auditTrailHead"]`` (see :mod:`ringebu_journal.anchors`); the export's own audit event comes
after it and records the package's checksums.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
import tarfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterable

from sqlalchemy import func, select

from noark import (
    Arkiv,
    Arkivdel,
    Arkivskaper,
    Avskrivning,
    Dokumentbeskrivelse,
    Dokumentfil,
    Dokumentobjekt,
    Endring,
    Journalpost,
    Klasse,
    Klassifikasjonssystem,
    Konvertering,
    Korrespondansepart,
    Mappe,
    Merknad,
    MetadataElement,
    NoarkWriteError,
    PackageBuilder,
    Registrering,
    Saksmappe,
    Skjerming,
    Uttrekksinfo,
    VirksomhetsspesifikkeMetadata,
    stable_uuid,
)
from noark.validate import validate_package
from ringebu_journal import anchors, clock, killpoints
from ringebu_journal.audit import DECISION_ACTIONS
from ringebu_journal.app import App
from ringebu_journal.db.tables import AuditEvent, Delivery, Export, Judgment, Message, ModeratorDecision
from ringebu_journal.errors import ProblemsFound, UsageError
from ringebu_journal.registry import local_day

from .documents import JSON_PUID, plan_documents
from .mapping import (
    ARKIVERT,
    SYSTEM,
    UNNTATT,
    UTGAAR,
    VSM_NS,
    VSM_PREFIX,
    ExportPlan,
    Klassifikasjon,
    MappePlan,
    RecordPlan,
    Selection,
    numbered_plan,
    record_system_id,
    utc,
)
from .masking import ARKIVFORMAT, HJEMMEL_13, SKJERMET_VARIANT
from .render import RenderStats, render_all

AUD = AuditEvent.__table__
MSG = Message.__table__
EXP = Export.__table__
DLV = Delivery.__table__
JUD = Judgment.__table__
DEC = ModeratorDecision.__table__

#: what endringslogg calls the judge's engine (it is rule based: the regelsett is its model)
JUDGE_MODEL = "ringebu-journal regelmotor"
#: the tool that renders the PDF/A from the original data, for ``konvertering``
CONVERTER = "Typst"


def converter_version() -> str:
    import importlib.metadata

    try:
        return f"{CONVERTER} {importlib.metadata.version('typst')}"
    except importlib.metadata.PackageNotFoundError:
        return CONVERTER


class InvalidPackage(ProblemsFound):
    """The built package failed validation; it was not published. ``report`` has every finding."""

    def __init__(self, message: str, report: Any):
        super().__init__(message)
        self.report = report


@dataclass
class ExportResult:
    package_id: str
    path: Path
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)     # what an earlier, interrupted export left and what was done


# -- models ------------------------------------------------------------------------------------


def _skjerming(hjemmel: str | None, metadata: list[str], dokument: str | None = None) -> Skjerming:
    return Skjerming(tilgangsrestriksjon=UNNTATT, skjermingshjemmel=hjemmel or HJEMMEL_13,
                     skjermingMetadata=metadata, skjermingDokument=dokument)


def _konvertering(rec: RecordPlan, doc, has_original: bool) -> list[Konvertering]:
    """The rendered PDF/A is a conversion of the original data (the JSON beside it): Noark's
    konvertering on its dokumentobjekt, dated when the record was archived (the rendering is
    deterministic, so every export produces the same file from the same data)."""
    if not doc.render_key or not has_original:
        return []
    return [Konvertering(
        konvertertDato=rec.arkivert, konvertertAv=SYSTEM, konvertertFraFormat=JSON_PUID, konvertertTilFormat=doc.puid,
        konverteringsverktoey=converter_version(),
        konverteringskommentar="Meldingen i tråden gjengitt som PDF/A-2b fra originaldataene (JSON) i vedlegget «Originaldata»",
    )]


def _dokumentbeskrivelser(rec: RecordPlan, rendered: dict[str, Path]) -> list[Dokumentbeskrivelse]:
    out = []
    has_original = any(d.role == "original" and d.puid == JSON_PUID for d in rec.documents)
    for n, doc in enumerate(rec.documents, start=1):
        if doc.render_key:
            fil = Dokumentfil(sti=doc.sti, kilde=rendered[doc.render_key], puid=doc.puid)
        elif doc.source is not None:
            fil = Dokumentfil(sti=doc.sti, kilde=doc.source, puid=doc.puid)
        else:
            fil = Dokumentfil(sti=doc.sti, data=doc.data or b"", puid=doc.puid)
        objekter = [Dokumentobjekt(
            systemID=stable_uuid("dokumentobjekt", rec.system_id, doc.role, doc.sti),
            opprettetDato=rec.opprettet, opprettetAv=SYSTEM, fil=fil, variantformat=ARKIVFORMAT,
            konvertering=_konvertering(rec, doc, has_original),
        )]
        if doc.redacted_render_key and doc.redacted_sti:
            objekter.append(Dokumentobjekt(
                systemID=stable_uuid("dokumentobjekt", rec.system_id, doc.role, doc.redacted_sti),
                opprettetDato=rec.opprettet, opprettetAv=SYSTEM, variantformat=SKJERMET_VARIANT,
                fil=Dokumentfil(sti=doc.redacted_sti, kilde=rendered[doc.redacted_render_key], puid=doc.puid),
            ))
        # M503 skjermingDokument: the document holds screened text; its title repeats the
        # registrering's, so it is screened with it.
        skjerming = (_skjerming(rec.screening_hjemmel, ["Skjerming tittel dokumentbeskrivelse"], doc.skjerming_dokument)
                     if doc.skjerming_dokument else None)
        out.append(Dokumentbeskrivelse(
            systemID=stable_uuid("dokumentbeskrivelse", rec.system_id, doc.role, doc.sti),
            dokumenttype=doc.dokumenttype, tittel=doc.tittel,
            beskrivelse="Rådata fra plattformen, JSON (UTF-8)" if doc.role == "original" else None,
            opprettetDato=rec.opprettet, opprettetAv=SYSTEM,
            tilknyttetRegistreringSom="Hoveddokument" if doc.role == "hoveddokument" else "Vedlegg",
            dokumentnummer=n, tilknyttetDato=rec.arkivert, tilknyttetAv=SYSTEM,
            skjerming=skjerming, dokumentobjekt=objekter,
        ))
    return out


def _virksomhetsspesifikke(rec: RecordPlan) -> VirksomhetsspesifikkeMetadata | None:
    """Who the korrespondansepart is on the platform (see docs/export.md, namespace VSM_NS)."""
    parts = []
    for p in rec.parter:
        fields = [MetadataElement(navn=k, tekst=str(p[k])) for k in
                  ("korrespondanseparttype", "plattform", "brukernavn", "brukerID") if p.get(k)]
        if fields:
            parts.append(MetadataElement(navn="korrespondansepart", barn=fields))
    if not parts:
        return None
    return VirksomhetsspesifikkeMetadata(namespace=VSM_NS, prefix=VSM_PREFIX, elementer=parts)


def registrering_model(rec: RecordPlan, mappe: MappePlan, rendered: dict[str, Path]) -> Registrering:
    m = rec.message
    merknader = [Merknad(merknadstekst=f"Vedlegg ikke med i uttrekket ({u['media_type'] or 'ukjent type'}, "
                                       f"sha256 {u['sha256'] or 'ukjent'}): {u['reason']}",
                         merknadstype="Vedlegg", merknadsdato=rec.arkivert, merknadRegistrertAv=SYSTEM)
                 for u in rec.unsupported]
    if rec.journal and rec.journalstatus == UTGAAR:
        merknader.append(Merknad(
            merknadstekst="Journalposten utgår: meldingen er senere vurdert som ikke journalføringspliktig "
                          "(se endringsloggen); nummeret er beholdt" + ("" if rec.documents else ", dokumentene er ikke med"),
            merknadstype="Utgår", merknadsdato=rec.arkivert, merknadRegistrertAv=SYSTEM))
    common: dict[str, Any] = dict(
        systemID=rec.system_id, opprettetDato=rec.opprettet, opprettetAv=SYSTEM,
        arkivertDato=rec.arkivert, arkivertAv=rec.number.assigned_by if rec.number else SYSTEM,
        dokumentbeskrivelse=_dokumentbeskrivelser(rec, rendered),
        tittel=rec.tittel, offentligTittel=rec.offentlig_tittel, merknad=merknader,
    )
    if not rec.journal:
        if rec.screened:
            common["skjerming"] = _skjerming(rec.screening_hjemmel, ["Skjerming tittel registrering - utvalgte ord"])
        return Registrering(forfatter=[m.get("author_name")] if (m.get("author_name") or "").strip() else [], **common)
    kp_type = rec.korrespondanseparter[0][0]
    if rec.screened:
        # offl. § 26 femte ledd screens the number only: the title's words, not the party's name
        metadata = ["Skjerming tittel registrering - utvalgte ord"]
        if rec.masks_names and kp_type in ("Avsender", "Mottaker"):
            metadata.append("Skjerming navn avsender" if kp_type == "Avsender" else "Skjerming navn mottaker")
        common["skjerming"] = _skjerming(rec.screening_hjemmel or mappe.hjemmel, metadata)
    created = utc(m["created_at"])
    return Journalpost(
        korrespondansepart=[Korrespondansepart(korrespondanseparttype=t, korrespondansepartNavn=n, skjermetNavn=s)
                            for t, n, s in rec.korrespondanseparter],
        virksomhetsspesifikkeMetadata=_virksomhetsspesifikke(rec),
        journalaar=rec.journalaar, journalsekvensnummer=rec.journalsekvensnummer,
        journalpostnummer=rec.journalpostnummer, journalposttype=rec.journalposttype,
        journalstatus=rec.journalstatus, journaldato=rec.journaldato, dokumentetsDato=rec.dokumentets_dato,
        mottattDato=created if kp_type == "Avsender" else None,
        sendtDato=created if kp_type != "Avsender" else None,
        offentlighetsvurdertDato=rec.journaldato if rec.screened else None,
        antallVedlegg=sum(1 for d in rec.documents if d.role != "hoveddokument"),
        avskrivning=[Avskrivning(**a) for a in rec.avskrivning],
        **common,
    )


def mappe_model(mp: MappePlan, rendered: dict[str, Path]) -> Mappe:
    regs = [registrering_model(r, mp, rendered) for r in mp.records]
    common: dict[str, Any] = dict(
        systemID=mp.system_id, mappeID=mp.mappeID, tittel=mp.tittel, offentligTittel=mp.offentlig_tittel,
        opprettetDato=mp.opprettet, opprettetAv=SYSTEM, avsluttetDato=mp.avsluttet, avsluttetAv=SYSTEM,
        registrering=regs,
    )
    if mp.kind != "saksmappe":
        return Mappe(**common)
    if mp.screened:
        common["skjerming"] = _skjerming(mp.hjemmel, ["Skjerming tittel mappe - utvalgte ord"])
    return Saksmappe(
        saksaar=mp.saksaar, sakssekvensnummer=mp.sakssekvensnummer,
        saksdato=mp.saksdato, administrativEnhet=mp.administrativ_enhet,
        saksansvarlig=mp.saksansvarlig or SYSTEM, saksstatus=mp.saksstatus, **common,
    )


# -- endringslogg ------------------------------------------------------------------------------


def _skjerming_text(screen: bool, hjemmel: str | None, default_hjemmel: str) -> str:
    return f"{UNNTATT}, {hjemmel or default_hjemmel}" if screen else "Ikke skjermet"


def judge_actor(policy_version: str | None, policy_hash: str | None, actor: str | None) -> str:
    """How endringslogg names a change the judge made: the rules and the engine, and who ran it."""
    rules = f"regelsett {policy_version or 'ukjent'}" + (f" (sha256 {policy_hash[:12]})" if policy_hash else "")
    return f"Dommeren, {rules}, modell {JUDGE_MODEL} {_package_version()}" + (f"; kjørt av {actor}" if actor else "")


def _parse_at(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def _package_version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("ringebu-journal")
    except importlib.metadata.PackageNotFoundError:
        return "ukjent versjon"


def _events(conn, ids: list[int]) -> list[tuple[Any, str, str, int, dict[str, Any]]]:
    """(order, action, endretAv, message id, after) for every decision event on the given ids: from
    the audit trail, else (data stored without it) from the judgment and decision rows."""
    events: list[tuple[Any, str, str, int, dict[str, Any]]] = []
    for i in range(0, len(ids), 900):
        for ev in conn.execute(select(AUD.c.seq, AUD.c.at, AUD.c.action, AUD.c.actor, AUD.c.object_id, AUD.c.after)
                               .where(AUD.c.object_type == "message", AUD.c.action.in_(DECISION_ACTIONS),
                                      AUD.c.object_id.in_([str(x) for x in ids[i:i + 900]]))):
            try:
                after = json.loads(ev.after) or {}
            except ValueError:
                after = {}
            who = (judge_actor(after.get("policy_version"), after.get("policy_hash"), ev.actor)
                   if ev.action == "judgment.add" else ev.actor)
            events.append(((ev.seq,), ev.action, who, int(ev.object_id), {**after, "_at": _parse_at(ev.at)}))
    if events:
        return events
    for i in range(0, len(ids), 900):
        part = ids[i:i + 900]
        for j in conn.execute(select(JUD).where(JUD.c.message_id.in_(part))).mappings():
            scr = j["screening"] if isinstance(j["screening"], dict) else {}
            events.append(((utc(j["judged_at"]), 0, j["id"]), "judgment.add",
                           judge_actor(j["policy_version"], j["policy_hash"], j["actor"]), j["message_id"],
                           {"decision": j["decision"], "screen": bool(scr.get("screen")), "_at": utc(j["judged_at"])}))
        for d in conn.execute(select(DEC).where(DEC.c.message_id.in_(part))).mappings():
            events.append(((utc(d["decided_at"]), 1, d["id"]), f"decision.{d['kind']}", d["actor"], d["message_id"],
                           {"decision": d["decision"], "screen": d["screen"], "_at": utc(d["decided_at"])}))
    return events


def endringer(conn, plan: ExportPlan) -> list[Endring]:
    """The changes the package shows, one endring per element changed (referanseMetadata is the
    element's name), from the decisions replayed per message (all its versions):

    * ``journalstatus`` of a journalpost: «NULL» → «Arkivert» when it was journalført (by the
      judge or a moderator), «Arkivert» → «Utgår» when that was reversed, and back;
    * ``skjerming`` of any exported registrering: «Ikke skjermet» ↔ «Unntatt offentlighet, hjemmel».

    endretAv is the moderator, or the judge with its regelsett and model. Numbers never change, so
    no endring names them. A package in which nothing changed still logs each journalpost's
    journalføring, so endringslogg.xml is never empty (the XSD needs one endring).
    """
    records = {r.system_id: r for r in plan.records()}
    keys = {(r.message["platform"], r.message["platform_message_id"]) for r in records.values()}
    pmids = sorted({k[1] for k in keys})
    version_of: dict[int, str] = {}
    for i in range(0, len(pmids), 900):
        for row in conn.execute(select(MSG.c.id, MSG.c.platform, MSG.c.platform_message_id)
                                .where(MSG.c.platform_message_id.in_(pmids[i:i + 900]))):
            if (row.platform, row.platform_message_id) in keys:
                version_of[row.id] = record_system_id(row.platform, row.platform_message_id)
    events = _events(conn, sorted(version_of))
    events.sort(key=lambda e: e[0])
    judge: dict[str, tuple] = {}
    moderator: dict[str, tuple | None] = {}
    effective: dict[str, tuple] = {}
    status: dict[str, str] = {}
    out: list[Endring] = []
    for _, action, actor, mid, after in events:
        sid = version_of.get(mid)
        if sid is None:
            continue
        rec = records[sid]
        before = effective.get(sid)
        if action == "judgment.add":
            judge[sid] = (after.get("decision"), bool(after.get("screen")))
        elif action == "decision.unflag":
            moderator[sid] = None
        else:
            base = judge.get(sid, (None, False))
            moderator[sid] = (after.get("decision") or base[0],
                              base[1] if after.get("screen") is None else bool(after.get("screen")))
        now = moderator.get(sid) or judge.get(sid)
        if now is None or now == before:
            continue
        effective[sid] = now
        at = after["_at"]
        if rec.number is not None:
            new_status = ARKIVERT if now[0] == "journal" else (UTGAAR if sid in status else None)
            if new_status and new_status != status.get(sid):
                out.append(Endring(referanseArkivenhet=sid, referanseMetadata="journalstatus", endretDato=at,
                                   endretAv=actor, tidligereVerdi=status.get(sid), nyVerdi=new_status))
                status[sid] = new_status
        if before is not None and before[1] != now[1]:
            hjemmel = rec.decision.hjemmel
            out.append(Endring(referanseArkivenhet=sid, referanseMetadata="skjerming", endretDato=at, endretAv=actor,
                               tidligereVerdi=_skjerming_text(before[1], hjemmel, plan.organisation.default_hjemmel),
                               nyVerdi=_skjerming_text(now[1], hjemmel, plan.organisation.default_hjemmel)))
    for sid, rec in records.items():
        if rec.number is not None and sid not in status:
            # journalført without a decision event we can see (numbered by migration): the registry's time
            out.append(Endring(referanseArkivenhet=sid, referanseMetadata="journalstatus",
                               endretDato=rec.number.assigned_at, endretAv=rec.number.assigned_by,
                               tidligereVerdi=None, nyVerdi=rec.journalstatus))
    if not out and records:
        first = min(records.values(), key=lambda r: (r.arkivert, r.system_id))
        out.append(Endring(referanseArkivenhet=first.system_id, referanseMetadata="arkivertDato",
                           endretDato=first.arkivert, endretAv=SYSTEM, tidligereVerdi=None,
                           nyVerdi=first.arkivert.isoformat()))
    out.sort(key=lambda e: (e.endretDato, e.referanseArkivenhet, e.referanseMetadata))
    return out


def policies(conn, plan: ExportPlan) -> list[tuple[str, str]]:
    """The judge's regelsett (version, sha256) behind the exported records' latest judgments."""
    ids = sorted({r.message["id"] for r in plan.records()})
    found: set[tuple[str, str]] = set()
    for i in range(0, len(ids), 900):
        part = ids[i:i + 900]
        latest = (select(func.max(JUD.c.id)).where(JUD.c.message_id.in_(part)).group_by(JUD.c.message_id))
        for r in conn.execute(select(JUD.c.policy_version, JUD.c.policy_hash).where(JUD.c.id.in_(latest))):
            found.add((r.policy_version, r.policy_hash))
    return sorted(found)


# -- the export --------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(parent: Path, name: str) -> list[Path]:
    """Remove partial folders/files of ``name`` left by crashed exports (their process is gone)."""
    removed = []
    if not parent.is_dir():
        return removed
    for p in parent.glob(f".{name}.partial-*"):
        try:
            pid = int(p.name.rsplit(".partial-", 1)[1].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and _pid_alive(pid):
            raise UsageError(f"another export (process {pid}) is writing {parent / name} — wait for it to finish")
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def _intent_path(final: Path) -> Path:
    return final.parent / f".{final.name}.publishing"


def _fingerprint(final: Path) -> str | None:
    """SHA-256 of the published package's arkivstruktur.xml (folder) or of the tar file."""
    try:
        return _sha256(final / "arkivstruktur.xml" if final.is_dir() else final)
    except OSError:
        return None


def reconcile_publishing(app: App, final: Path) -> list[str]:
    """Finish what an interrupted export to ``final`` left between publishing and recording.

    Returns one line per thing done, for the user. Raises UsageError if the export that wrote
    the intent is still running.
    """
    marker = _intent_path(final)
    if not marker.exists():
        return []
    try:
        intent = json.loads(marker.read_text(encoding="utf-8"))
        pid, package_id, fingerprint = int(intent["pid"]), str(intent["package_id"]), intent["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        pid, package_id, fingerprint = 0, "", None
    if pid and pid != os.getpid() and _pid_alive(pid):
        raise UsageError(f"another export (process {pid}) is publishing {final} — wait for it to finish")
    notes = []
    with app.db.read() as conn:
        recorded = package_id and conn.execute(
            select(EXP.c.id).where(EXP.c.kind == "noark5", EXP.c.package_id == package_id,
                                   EXP.c.path == str(final))).first() is not None
    if not recorded and final.exists() and fingerprint and _fingerprint(final) == fingerprint:
        aside = final.parent / f".{final.name}.partial-{os.getpid()}-withdrawn"
        os.rename(final, aside)
        if aside.is_dir():
            shutil.rmtree(aside, ignore_errors=True)
        else:
            aside.unlink(missing_ok=True)
        notes.append(f"an earlier export published {final} but was interrupted before it was recorded; "
                     "that package was withdrawn and is built again")
    marker.unlink(missing_ok=True)
    return notes


def _write_intent(final: Path, package_id: str, fingerprint: str) -> None:
    marker = _intent_path(final)
    tmp = final.parent / f".{final.name}.partial-{os.getpid()}-intent"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"pid": os.getpid(), "package_id": package_id, "fingerprint": fingerprint}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, marker)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(512 * 1024):
            h.update(chunk)
    return h.hexdigest()


def _disk_error(exc: OSError, where: Path) -> ProblemsFound:
    if exc.errno == errno.ENOSPC:
        return ProblemsFound(f"the disk is full while writing {where} — free space and export again (nothing was published)")
    return ProblemsFound(f"cannot write {where}: {exc.strerror or exc} — fix the folder and export again (nothing was published)")


def _write_package(folder: Path, plan: ExportPlan, rendered: dict[str, Path], endringsliste: list[Endring],
                   sel: Selection, regelsett: list[tuple[str, str]] = (), head: "anchors.Head | None" = None):
    first, last = plan.first_time, plan.last_time
    org = plan.organisation          # the arkivskaper: its kommunenummer is the arkivskaperID
    arkiv_id = stable_uuid("arkiv", org.kommunenummer, "sosiale medier")
    arkivdel_id = stable_uuid("arkivdel", arkiv_id, str(sel.date_from), str(sel.date_to), sel.account or "")
    ks_id = stable_uuid("klassifikasjonssystem", arkivdel_id)
    start = plan.period_start or local_day(first, org.zone)
    slutt = plan.period_end or local_day(last, org.zone)
    uttrekk = Uttrekksinfo(
        arkivskapere=[org.name], systemnavn=SYSTEM,
        arkivnavn=f"{org.name} – sosiale medier", periodeStart=start, periodeSlutt=slutt,
        kontekst=anchors.package_context(head),
    )
    with PackageBuilder(folder, uttrekk) as pkg:
        arkiv = Arkiv(systemID=arkiv_id, tittel=f"{org.name} – sosiale medier",
                      opprettetDato=first, opprettetAv=SYSTEM, avsluttetDato=last, avsluttetAv=SYSTEM,
                      arkivskaper=[Arkivskaper(arkivskaperID=org.kommunenummer, arkivskaperNavn=org.name)])
        arkivdel = Arkivdel(systemID=arkivdel_id, tittel=f"Sosiale medier {start.isoformat()}–{slutt.isoformat()}"
                            + (f", konto {sel.account}" if sel.account else ""),
                            beskrivelse=_arkivdel_beskrivelse(sel, regelsett, org.time_zone),
                            opprettetDato=first, opprettetAv=SYSTEM, avsluttetDato=last, avsluttetAv=SYSTEM,
                            arkivperiodeStartDato=start, arkivperiodeSluttDato=slutt)
        ks = Klassifikasjonssystem(systemID=ks_id, klassifikasjonstype="Emnebasert, ett nivå",
                                   tittel=plan.klassifikasjon.tittel, opprettetDato=first, opprettetAv=SYSTEM)
        with pkg.arkiv(arkiv), pkg.arkivdel(arkivdel), pkg.klassifikasjonssystem(ks):
            for klasse_def in plan.klassifikasjon.order:
                mapper = [m for m in plan.mapper if m.klasse == klasse_def]
                if not mapper:
                    continue
                klasse = Klasse(systemID=stable_uuid("klasse", ks_id, klasse_def.klasseID), klasseID=klasse_def.klasseID,
                                tittel=klasse_def.tittel, opprettetDato=first, opprettetAv=SYSTEM)
                with pkg.klasse(klasse):
                    for mp in mapper:
                        pkg.add_mappe(mappe_model(mp, rendered))
        for e in endringsliste:
            pkg.add_endring(e)
    return pkg.result


def _arkivdel_beskrivelse(sel: Selection, regelsett: Iterable[tuple[str, str]], time_zone: str) -> str:
    """What the arkivdel holds and by which rules it was judged (the policy versions)."""
    if sel.date_from or sel.date_to:
        what = (f"Meldinger skrevet {sel.date_from.isoformat() if sel.date_from else 'fra starten'} til "
                f"{sel.date_to.isoformat() if sel.date_to else 'i dag'} (dager i {time_zone})")
    else:
        what = "Alle meldinger"
    rules = "; ".join(f"{v} (sha256 {h})" for v, h in regelsett)
    return (f"{what}; perioden dekker også journaldato og saksdato for journalpostene og sakene i uttrekket. "
            f"Journalføringsvurdering: {JUDGE_MODEL} {_package_version()}"
            + (f", regelsett {rules}" if rules else "") + ".")


def _tar(folder: Path, target: Path, arcname: str) -> None:
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tf:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder).as_posix()
            info = tf.gettarinfo(str(path), arcname=f"{arcname}/{rel}")
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            if path.is_file():
                with open(path, "rb") as fh:
                    tf.addfile(info, fh)
            else:
                tf.addfile(info)


def _without_withdrawn(plan: ExportPlan, jobs: list) -> list:
    """A journalpost that utgår and is no longer archived (excluded, or back to review) keeps its
    number and metadata but carries no documents; drop the renderings only it needed."""
    for rec in plan.records():
        if rec.journal and rec.journalstatus == UTGAAR and rec.decision.decision != "archive":
            rec.documents = []
    keys = {k for rec in plan.records() for d in rec.documents for k in (d.render_key, d.redacted_render_key) if k}
    return [j for j in jobs if j.key in keys]


def export_noark5(app: App, out: str | Path, *, date_from: date | None = None, date_to: date | None = None,
                  account: str | None = None, tar: bool = False, klassifikasjon: Klassifikasjon | None = None,
                  advance: Callable[[int], None] | None = None, workers: int = 2) -> ExportResult:
    """Build, validate and publish one arkivuttrekk of the selection at ``out``."""
    app.require("export.run")
    if date_from and date_to and date_from > date_to:
        raise UsageError(f"--from {date_from} is after --to {date_to} — swap them")
    out = Path(out).absolute()
    final = out.with_name(out.name + ".tar") if tar and out.suffix != ".tar" else out
    name = final.name[:-4] if tar else final.name
    try:
        notes = reconcile_publishing(app, final)
    except OSError as exc:
        raise _disk_error(exc, final) from None
    if final.exists() and (final.is_file() or any(final.iterdir())):
        raise UsageError(f"{final} exists already — give a new --out (an export never overwrites a package)")
    parent = final.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _disk_error(exc, parent) from None
    clean_leftovers(parent, final.name)
    sel = Selection(date_from, date_to, account)
    plan = numbered_plan(app.db, sel, klassifikasjon)
    with app.db.read() as conn:
        if not plan.mapper:
            raise UsageError(
                "nothing to export in the selection (" + ", ".join(f"{k}: {v}" for k, v in plan.skipped.items())
                + ") — judge and review the messages first, or widen --from/--to/--account")
        endringsliste = endringer(conn, plan)
        regelsett = policies(conn, plan)
        head = anchors.current_head(conn)
    jobs = _without_withdrawn(plan, plan_documents(plan, app.data_dir))
    rendered, rstats = render_all(jobs, app.data_dir, workers=workers, advance=advance)
    partial = parent / f".{final.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        try:
            result = _write_package(partial, plan, rendered, endringsliste, sel, regelsett, head)
        except NoarkWriteError as exc:
            raise ProblemsFound(f"the package cannot be written as valid Noark 5: {exc} — please report this") from None
        except OSError as exc:
            raise _disk_error(exc, final) from None
        report = validate_package(partial)
        if not report.ok:
            raise InvalidPackage(f"the package failed validation with {len(report.findings)} problem(s); "
                                 "it was not published — see the report above", report)
        arkivstruktur_sha = _sha256(partial / "arkivstruktur.xml")
        package_id = stable_uuid("uttrekk", arkivstruktur_sha)
        summary = _summary(plan, result, rstats, report, package_id, final)
        tar_partial = None
        if tar:
            tar_partial = parent / f".{final.name}.partial-{os.getpid()}-{secrets.token_hex(4)}.tar"
            try:
                _tar(partial, tar_partial, name)
            except OSError as exc:
                raise _disk_error(exc, final) from None
            summary["checksums"][final.name] = _sha256(tar_partial)
        built = partial if not tar else tar_partial
        _publish(app, plan, summary, package_id, final, built,
                 fingerprint=summary["checksums"][final.name] if tar else arkivstruktur_sha)
        return ExportResult(package_id=package_id, path=final, summary=summary, notes=notes)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
        for leftover in parent.glob(f".{final.name}.partial-{os.getpid()}-*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def _summary(plan: ExportPlan, result, rstats: RenderStats, report, package_id: str, final: Path) -> dict[str, Any]:
    records = list(plan.records())
    return {
        "package_id": package_id,
        "path": str(final),
        "period": [plan.period_start.isoformat() if plan.period_start else None,
                   plan.period_end.isoformat() if plan.period_end else None],
        "saksmapper": sum(1 for m in plan.mapper if m.kind == "saksmappe"),
        "mapper": len(plan.mapper),
        "journalposter": sum(1 for r in records if r.journal),
        "registreringer": len(records),
        "registreringer_uten_journalforing": sum(1 for r in records if not r.journal),
        "documents": result.dokumentfiler,
        "screened": sum(1 for r in records if r.screened),
        "endringer": result.endringer,
        "not_exported": dict(plan.skipped),
        "unsupported_attachments": [u for r in records for u in r.unsupported],
        "rendered": {"documents": rstats.documents, "rendered": rstats.rendered, "cached": rstats.cached,
                     "seconds": round(rstats.seconds, 2)},
        "validation": "ok" if report.ok else f"{len(report.findings)} problems",
        "checksums": dict(result.sjekksummer),
    }


def state_hash(rec: RecordPlan) -> str:
    """What was delivered about a record: decision, screening, titles, parties and documents."""
    body = {
        "decision": rec.decision.decision, "screen": rec.screened, "hjemmel": rec.decision.hjemmel if rec.screened else None,
        "tittel": rec.tittel, "offentligTittel": rec.offentlig_tittel,
        "korrespondanseparter": rec.korrespondanseparter, "content": rec.message.get("content_hash"),
        "documents": [(d.role, d.sti, d.render_key) for d in rec.documents],
    }
    if rec.journal and rec.journalstatus != ARKIVERT:
        body["journalstatus"] = rec.journalstatus     # a reversal is delivered again
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")).hexdigest()


def _publish(app: App, plan: ExportPlan, summary: dict[str, Any], package_id: str, final: Path, built: Path, *,
             fingerprint: str) -> None:
    """Intent, publish, done (see the module docstring); each step is a kill point."""
    killpoints.reached("export.validated")
    try:
        _write_intent(final, package_id, fingerprint)
        killpoints.reached("export.intent")
        os.rename(built, final) if not final.exists() else os.replace(built, final)
    except OSError as exc:
        _intent_path(final).unlink(missing_ok=True)
        raise _disk_error(exc, final) from None
    killpoints.reached("export.published")
    now = clock.now()
    try:
        with app.db.write() as conn:
            export_id = conn.execute(EXP.insert().values(
                kind="noark5", package_id=package_id, path=str(final), summary=summary, actor=app.actor, created_at=now,
            )).inserted_primary_key[0]
            rows = [{"message_id": r.message["id"], "kind": "noark5", "export_id": export_id, "system_id": r.system_id,
                     "state_hash": state_hash(r), "delivered_at": now} for r in plan.records()]
            for i in range(0, len(rows), 500):
                conn.execute(DLV.insert(), rows[i:i + 500])
            app.audit(conn, "export.noark5", "export", package_id, after={
                "path": str(final), "saksmapper": summary["saksmapper"], "journalposter": summary["journalposter"],
                "registreringer": summary["registreringer"], "documents": summary["documents"],
                "screened": summary["screened"], "checksums": summary["checksums"], "export_id": export_id,
            })
            killpoints.reached("export.recording")
    except BaseException:
        # not recorded: withdraw the package again, so nothing is published that the database does not know
        aside = final.parent / f".{final.name}.partial-{os.getpid()}-withdrawn"
        try:
            os.rename(final, aside)
            _intent_path(final).unlink(missing_ok=True)
        except OSError:
            pass            # the intent stays; the next export to this --out withdraws it
        raise
    killpoints.reached("export.recorded")
    _intent_path(final).unlink(missing_ok=True)
