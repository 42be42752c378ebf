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
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from sqlalchemy import select

from noark import (
    Arkiv,
    Arkivdel,
    Arkivskaper,
    Dokumentbeskrivelse,
    Dokumentfil,
    Dokumentobjekt,
    Endring,
    Journalpost,
    Klasse,
    Klassifikasjonssystem,
    Korrespondansepart,
    Mappe,
    Merknad,
    NoarkWriteError,
    PackageBuilder,
    Registrering,
    Saksmappe,
    Skjerming,
    Uttrekksinfo,
    stable_uuid,
)
from noark.validate import validate_package
from ringebu_journal import killpoints
from ringebu_journal.app import App
from ringebu_journal.db.tables import AuditEvent, Delivery, Export, Judgment, Message, ModeratorDecision
from ringebu_journal.errors import ProblemsFound, UsageError

from .documents import plan_documents
from .mapping import (
    SYSTEM,
    UNNTATT,
    ExportPlan,
    Klassifikasjon,
    MappePlan,
    RecordPlan,
    Selection,
    build_plan,
    record_system_id,
    utc,
)
from .render import RenderStats, render_all

AUD = AuditEvent.__table__
MSG = Message.__table__
EXP = Export.__table__
DLV = Delivery.__table__
JUD = Judgment.__table__
DEC = ModeratorDecision.__table__

ARKIVSKAPER_ID = "3439"            # kommunenummer of Ringebu (Innlandet, from 2024)
ARKIVSKAPER_NAVN = "Ringebu kommune"
DECISION_ACTIONS = ("judgment.add", "decision.flag", "decision.confirm", "decision.unflag")
DECISION_TEXT = {"journal": "journalføres", "archive": "arkiveres uten journalføring",
                 "exclude": "avgrenses", "review": "til vurdering"}
REFERANSE_METADATA = "journalføringsvurdering og skjerming"


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


def _skjerming(hjemmel: str | None, metadata: list[str]) -> Skjerming:
    return Skjerming(tilgangsrestriksjon=UNNTATT, skjermingshjemmel=hjemmel or "Offl. § 13 jf. fvl. § 13 første ledd nr. 1",
                     skjermingMetadata=metadata)


def _dokumentbeskrivelser(rec: RecordPlan, rendered: dict[str, Path]) -> list[Dokumentbeskrivelse]:
    out = []
    for n, doc in enumerate(rec.documents, start=1):
        if doc.render_key:
            fil = Dokumentfil(sti=doc.sti, kilde=rendered[doc.render_key], puid=doc.puid)
        elif doc.source is not None:
            fil = Dokumentfil(sti=doc.sti, kilde=doc.source, puid=doc.puid)
        else:
            fil = Dokumentfil(sti=doc.sti, data=doc.data or b"", puid=doc.puid)
        out.append(Dokumentbeskrivelse(
            systemID=stable_uuid("dokumentbeskrivelse", rec.system_id, doc.role, doc.sti),
            dokumenttype=doc.dokumenttype, tittel=doc.tittel,
            beskrivelse="Rådata fra plattformen, UTF-8-tekst" if doc.role == "original" else None,
            opprettetDato=rec.opprettet, opprettetAv=SYSTEM,
            tilknyttetRegistreringSom="Hoveddokument" if doc.role == "hoveddokument" else "Vedlegg",
            dokumentnummer=n, tilknyttetDato=rec.arkivert, tilknyttetAv=SYSTEM,
            dokumentobjekt=[Dokumentobjekt(
                systemID=stable_uuid("dokumentobjekt", rec.system_id, doc.role, doc.sti),
                opprettetDato=rec.opprettet, opprettetAv=SYSTEM, fil=fil,
            )],
        ))
    return out


def registrering_model(rec: RecordPlan, mappe: MappePlan, rendered: dict[str, Path]) -> Registrering:
    m = rec.message
    merknader = [Merknad(merknadstekst=f"Vedlegg ikke med i uttrekket ({u['media_type'] or 'ukjent type'}, "
                                       f"sha256 {u['sha256'] or 'ukjent'}): {u['reason']}",
                         merknadstype="Vedlegg", merknadsdato=rec.arkivert, merknadRegistrertAv=SYSTEM)
                 for u in rec.unsupported]
    common: dict[str, Any] = dict(
        systemID=rec.system_id, opprettetDato=rec.opprettet, opprettetAv=SYSTEM,
        arkivertDato=rec.arkivert, arkivertAv=rec.decision.decided_by,
        dokumentbeskrivelse=_dokumentbeskrivelser(rec, rendered),
        tittel=rec.tittel, offentligTittel=rec.offentlig_tittel, merknad=merknader,
    )
    if not rec.journal:
        if rec.screened:
            common["skjerming"] = _skjerming(rec.decision.hjemmel, ["Skjerming tittel registrering - utvalgte ord"])
        return Registrering(forfatter=[m.get("author_name")] if (m.get("author_name") or "").strip() else [], **common)
    kp_type = rec.korrespondanseparter[0][0]
    if rec.screened:
        common["skjerming"] = _skjerming(rec.decision.hjemmel or mappe.hjemmel, [
            "Skjerming tittel registrering - utvalgte ord",
            "Skjerming navn avsender" if kp_type == "Avsender" else "Skjerming navn mottaker",
        ])
    created = utc(m["created_at"])
    return Journalpost(
        korrespondansepart=[Korrespondansepart(korrespondanseparttype=t, korrespondansepartNavn=n, skjermetNavn=s)
                            for t, n, s in rec.korrespondanseparter],
        journalaar=rec.journalaar, journalsekvensnummer=rec.journalsekvensnummer,
        journalpostnummer=rec.journalpostnummer, journalposttype=rec.journalposttype,
        journalstatus="Arkivert", journaldato=rec.journaldato, dokumentetsDato=created.date(),
        mottattDato=created if kp_type == "Avsender" else None,
        sendtDato=created if kp_type == "Mottaker" else None,
        offentlighetsvurdertDato=rec.journaldato if rec.screened else None,
        antallVedlegg=sum(1 for d in rec.documents if d.role != "hoveddokument"),
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
    journal = [r for r in mp.records if r.journal]
    return Saksmappe(
        saksaar=mp.saksaar, sakssekvensnummer=mp.sakssekvensnummer,
        saksdato=min(r.journaldato for r in journal), administrativEnhet=mp.administrativ_enhet,
        saksansvarlig=journal[0].decision.decided_by, saksstatus="Avsluttet", **common,
    )


# -- endringslogg ------------------------------------------------------------------------------


def _state(decision: str | None, screen: Any) -> str:
    return DECISION_TEXT.get(decision or "", decision or "ikke vurdert") + (", skjermet" if screen else "")


def _parse_at(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def endringer(conn, plan: ExportPlan) -> list[Endring]:
    """One endring per decision change on an exported record, from the audit trail.

    Each judgment.add / decision.flag / decision.confirm / decision.unflag event is replayed per
    message (all its versions) so that tidligereVerdi is the effective state before the event.
    When the audit trail holds none for the exported records (data loaded without the judge or
    moderation commands), the decision rows themselves are replayed the same way.
    """
    keys = {(r.message["platform"], r.message["platform_message_id"]) for r in plan.records()}
    pmids = sorted({k[1] for k in keys})
    version_of: dict[int, str] = {}
    for i in range(0, len(pmids), 900):
        for row in conn.execute(select(MSG.c.id, MSG.c.platform, MSG.c.platform_message_id)
                                .where(MSG.c.platform_message_id.in_(pmids[i:i + 900]))):
            if (row.platform, row.platform_message_id) in keys:
                version_of[row.id] = record_system_id(row.platform, row.platform_message_id)
    ids = sorted(version_of)
    events: list[tuple[Any, str, str, int, dict[str, Any]]] = []   # (order, action, actor, message id, after)
    for i in range(0, len(ids), 900):
        for ev in conn.execute(select(AUD.c.seq, AUD.c.at, AUD.c.action, AUD.c.actor, AUD.c.object_id, AUD.c.after)
                               .where(AUD.c.object_type == "message", AUD.c.action.in_(DECISION_ACTIONS),
                                      AUD.c.object_id.in_([str(x) for x in ids[i:i + 900]]))):
            try:
                after = json.loads(ev.after) or {}
            except ValueError:
                after = {}
            events.append(((ev.seq,), ev.action, ev.actor, int(ev.object_id), {**after, "_at": _parse_at(ev.at)}))
    if not events:
        for i in range(0, len(ids), 900):
            part = ids[i:i + 900]
            for j in conn.execute(select(JUD).where(JUD.c.message_id.in_(part))).mappings():
                scr = j["screening"] if isinstance(j["screening"], dict) else {}
                events.append(((utc(j["judged_at"]), 0, j["id"]), "judgment.add", j["actor"], j["message_id"],
                               {"decision": j["decision"], "screen": bool(scr.get("screen")), "_at": utc(j["judged_at"])}))
            for d in conn.execute(select(DEC).where(DEC.c.message_id.in_(part))).mappings():
                events.append(((utc(d["decided_at"]), 1, d["id"]), f"decision.{d['kind']}", d["actor"], d["message_id"],
                               {"decision": d["decision"], "screen": d["screen"], "_at": utc(d["decided_at"])}))
    events.sort(key=lambda e: e[0])
    judge: dict[str, tuple] = {}
    moderator: dict[str, tuple | None] = {}
    effective: dict[str, tuple] = {}
    out: list[Endring] = []
    for _, action, actor, mid, after in events:
        sid = version_of.get(mid)
        if sid is None:
            continue
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
        if now is None or (now == before and action == "judgment.add"):
            continue
        effective[sid] = now
        out.append(Endring(
            referanseArkivenhet=sid, referanseMetadata=REFERANSE_METADATA, endretDato=after["_at"], endretAv=actor,
            tidligereVerdi=_state(*before) if before else None, nyVerdi=_state(*now),
        ))
    return out


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
                   sel: Selection):
    first, last = plan.first_time, plan.last_time
    arkiv_id = stable_uuid("arkiv", ARKIVSKAPER_ID, "sosiale medier")
    arkivdel_id = stable_uuid("arkivdel", arkiv_id, str(sel.date_from), str(sel.date_to), sel.account or "")
    ks_id = stable_uuid("klassifikasjonssystem", arkivdel_id)
    start = plan.period_start or first.date()
    slutt = plan.period_end or last.date()
    uttrekk = Uttrekksinfo(
        arkivskapere=[ARKIVSKAPER_NAVN], systemnavn=SYSTEM,
        arkivnavn=f"{ARKIVSKAPER_NAVN} – sosiale medier", periodeStart=start, periodeSlutt=slutt,
    )
    with PackageBuilder(folder, uttrekk) as pkg:
        arkiv = Arkiv(systemID=arkiv_id, tittel=f"{ARKIVSKAPER_NAVN} – sosiale medier",
                      opprettetDato=first, opprettetAv=SYSTEM, avsluttetDato=last, avsluttetAv=SYSTEM,
                      arkivskaper=[Arkivskaper(arkivskaperID=ARKIVSKAPER_ID, arkivskaperNavn=ARKIVSKAPER_NAVN)])
        arkivdel = Arkivdel(systemID=arkivdel_id, tittel=f"Sosiale medier {start.isoformat()}–{slutt.isoformat()}"
                            + (f", konto {sel.account}" if sel.account else ""),
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


def export_noark5(app: App, out: str | Path, *, date_from: date | None = None, date_to: date | None = None,
                  account: str | None = None, tar: bool = False, klassifikasjon: Klassifikasjon | None = None,
                  advance: Callable[[int], None] | None = None, workers: int = 2) -> ExportResult:
    """Build, validate and publish one arkivuttrekk of the selection at ``out``."""
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
    with app.db.read() as conn:
        plan = build_plan(conn, sel, klassifikasjon)
        if not plan.mapper:
            raise UsageError(
                "nothing to export in the selection (" + ", ".join(f"{k}: {v}" for k, v in plan.skipped.items())
                + ") — judge and review the messages first, or widen --from/--to/--account")
        endringsliste = endringer(conn, plan)
    jobs = plan_documents(plan, app.data_dir)
    rendered, rstats = render_all(jobs, app.data_dir, workers=workers, advance=advance)
    partial = parent / f".{final.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        try:
            result = _write_package(partial, plan, rendered, endringsliste, sel)
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
    now = datetime.now(timezone.utc)
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
