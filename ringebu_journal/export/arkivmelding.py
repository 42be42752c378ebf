"""``export arkivmelding``: the conversation with the archive system through KS Fiks Arkiv.

Every journalpost and every saksmappe has a stored lifecycle (``arkivmelding_keys``), keyed by
its stable systemID — the message's (uuid5 of platform and platform id, the same for every
version), the case's (uuid5 of platform and thread key):

    created ─(receipt confirms)→ delivered ─(a correction)→ updated (n) ─(reversed)→ cancelled

* the first journalpost of a case is sent as ``arkivmelding.opprett`` **with** its saksmappe;
  every later one references that saksmappe (``referanseForelderMappe``: systemID + external key);
* a correction of something sent — the message edited on the platform (a new version), a
  changed decision or skjerming, new titles — goes as ``arkivmelding.oppdater`` for the same key,
  a new version of a document as ``dokumentobjekt.opprett``; never a second ``opprett``;
* an inngående journalpost answered by an utgående one in the same case gets an
  ``avskrivning.opprett`` (avskrivningsmåte BU, referanseAvskrivesAvJournalpost = the answer);
* a journal decision reversed (exclude or archive-only) sets journalstatus «U» (Utgår) by
  ``arkivmelding.oppdater``; the record is never deleted from the archive.

The messages go into an append-only outbox (:mod:`noark.arkivmelding_outbox`): one new folder per
message, numbered, never modified or deleted, listed in ``index.jsonl`` with SHA-256. The folder
is published first and recorded in the database right after; a crash in between is repaired by
the next export, which reads the outbox's index and records what the database lacks (each
folder carries its own ``melding.json`` with everything the record needs), so every message is
sent exactly once. Receipts dropped in the inbox folder (``OUTBOX/inbox`` unless told) are
validated against the kvittering XSDs and recorded per message.

One export reads one snapshot: the plan, the decisions, the lifecycle and the last audit sequence
are read in a single transaction (REPEATABLE READ on PostgreSQL; SQLite's read transaction is a
snapshot), and that sequence is recorded in the export's audit event. Every message's
``melding.json`` (and its line in ``index.jsonl``) carries that sequence and the hash of that
event (``meta.audit_seq``, ``meta.audit_head``): an anchor of the audit trail outside the
database (``audit verify --against OUTBOX``, see :mod:`ringebu_journal.anchors`). A decision committed after
the snapshot goes in the next export.

The domain only maps (``RecordPlan`` → :mod:`noark.arkivmelding` objects); writing and
validating the XML is the Noark library's.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy import select

from noark import stable_uuid
from noark import arkivmelding as am
from noark.arkivmelding_outbox import Outbox, OutboxBusy, OutboxEntry, PayloadError
from noark.errors import NoarkWriteError
from ringebu_journal import anchors
from ringebu_journal.app import App
from ringebu_journal.db.tables import (
    ArkivmeldingKey,
    AuditEvent,
    Delivery,
    Export,
    Message,
    OutboxMessage,
)
from ringebu_journal.errors import ConflictError, ProblemsFound, UsageError

from .decisions import export_decisions
from .documents import has_redacted_variant, plan_documents
from .masking import SKJERMET_VARIANT, UNNTATT, tilgangskode
from ringebu_journal.clock import now as clock_now

from .mapping import SYSTEM, UTGAAR, ExportPlan, Klassifikasjon, MappePlan, RecordPlan, Selection, build_plan, utc
from .render import render_all

FAGSYSTEM = "ringebu-journal"
KILL_ENV = "RINGEBU_JOURNAL_KILL_AT"          # e.g. "outbox.published:2": SIGKILL at the 2nd time
EXP = Export.__table__
DLV = Delivery.__table__
KEYS = ArkivmeldingKey.__table__
OUTM = OutboxMessage.__table__
AUD = AuditEvent.__table__
MSG = Message.__table__

JOURNALPOSTTYPE = {"Inngående dokument": ("I", "Inngående dokument"), "Utgående dokument": ("U", "Utgående dokument")}
PARTTYPE = {"Avsender": ("EA", "Avsender"), "Mottaker": ("EM", "Mottaker"), "Intern avsender": ("IA", "Intern avsender")}
FORMAT_CODE = {"pdf": "PDF", "txt": "TXT", "json": "JSON", "jpg": "JPEG", "png": "PNG"}
MIME = {"pdf": "application/pdf", "txt": "text/plain; charset=utf-8", "json": "application/json",
        "jpg": "image/jpeg", "png": "image/png"}
DOKUMENTTYPE = {"hoveddokument": "SOME", "original": "ORIG", "vedlegg": "BILDE"}
# The Fiks code list has no «answered in social media»; BU is a written answer, and the
# answering journalpost is named in referanseAvskrivesAvJournalpost.
AVSKRIVNINGSMAATE = ("BU", "Besvart med utgående dokument i sosiale medier")
DECISION_LABEL = {"exclude": "ikke arkivverdig (ekskludert)", "archive": "arkiveres uten journalføring",
                  None: "meldingen finnes ikke lenger i fagsystemet"}


def validate_arkivmelding(path: str | Path) -> list[str]:
    """Every schema error of one payload file (empty when valid): the Noark library's validator."""
    return am.validate_file(path)[1]


# -- kill points (tests) ---------------------------------------------------------------------------

_hits: dict[str, int] = {}


def checkpoint(name: str) -> None:
    """Kill this process with SIGKILL at a counted point when ``RINGEBU_JOURNAL_KILL_AT`` names it
    (``NAME:N`` — the N-th time NAME is reached). For crash tests; never set in production."""
    spec = os.environ.get(KILL_ENV)
    if not spec:
        return
    want, _, nth = spec.partition(":")
    if want != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


# -- keys and states -------------------------------------------------------------------------------


def journalpost_noekkel(rec: RecordPlan) -> am.Noekkel:
    return am.Noekkel(FAGSYSTEM, f"{rec.message['platform']}:{rec.message['platform_message_id']}")


def saksmappe_noekkel(mp: MappePlan) -> am.Noekkel:
    platform = mp.records[0].message["platform"] if mp.records else "ukjent"
    return am.Noekkel(FAGSYSTEM, f"{platform}:{mp.system_id}")


def part_id(system_id: str, rolle: str) -> str:
    return stable_uuid("korrespondansepart", system_id, rolle)


def _hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")).hexdigest()


def journalpost_state(rec: RecordPlan) -> dict[str, Any]:
    """What a journalpost's arkivmelding says that can change after it was sent."""
    return {"tittel": rec.tittel, "offentligTittel": rec.offentlig_tittel, "screened": rec.screened,
            "hjemmel": rec.screening_hjemmel if rec.screened else None,
            "parter": [[t, n, bool(s)] for t, n, s in rec.korrespondanseparter],
            "content": rec.message.get("content_hash")}


def saksmappe_state(mp: MappePlan) -> dict[str, Any]:
    return {"tittel": mp.tittel, "offentligTittel": mp.offentlig_tittel, "screened": mp.screened,
            "hjemmel": mp.hjemmel if mp.screened else None}


# -- the snapshot ----------------------------------------------------------------------------------


@dataclass
class Snapshot:
    audit_seq: int
    plan: ExportPlan
    keys: dict[tuple[str, str], dict[str, Any]]
    gone: dict[str, dict[str, Any]]          # journalpost systemID → the current decision of a key no longer journal
    audit_head: str | None = None            # the hash of event audit_seq (None on an empty trail)


@contextmanager
def _snapshot_conn(app: App) -> Iterator[Any]:
    if app.db.is_sqlite:
        with app.db.read() as conn:
            yield conn
        return
    with app.db._translate():
        with app.db.engine.connect().execution_options(isolation_level="REPEATABLE READ", ringebu_readonly=True) as conn:
            with conn.begin():
                yield conn


def take_snapshot(app: App, klassifikasjon: Klassifikasjon | None,
                  on_snapshot: Callable[[], None] | None = None) -> Snapshot:
    """One snapshot of decisions, numbers and keys. Journal decisions stored around the number
    registry (written into the tables by another tool) are numbered first, as
    ``mapping.numbered_plan`` does, and the snapshot is taken again."""
    snap = _take_snapshot(app, klassifikasjon, on_snapshot)
    if snap.plan.unnumbered:
        from ringebu_journal.registry import assign_missing

        with app.db.write() as conn:
            assign_missing(conn, actor=SYSTEM, message_ids=snap.plan.unnumbered)
        snap = _take_snapshot(app, klassifikasjon, None)
    return snap


def live(rec: RecordPlan) -> bool:
    """A journalpost the archive system should hold: journal now (a reversed one keeps its number
    with journalstatus «Utgår» and is sent as a cancellation of its key)."""
    return rec.journal and rec.journalstatus != UTGAAR


def _take_snapshot(app: App, klassifikasjon: Klassifikasjon | None,
                   on_snapshot: Callable[[], None] | None) -> Snapshot:
    with _snapshot_conn(app) as conn:
        head = anchors.current_head(conn)
        audit_seq = head.seq if head else 0
        if on_snapshot is not None:
            on_snapshot()
        plan = build_plan(conn, Selection(), klassifikasjon)
        keys = {(r["kind"], r["system_id"]): dict(r) for r in conn.execute(select(KEYS)).mappings()}
        journal = {r.system_id for r in plan.records() if live(r)}
        gone: dict[str, dict[str, Any]] = {}
        for (kind, sid), k in keys.items():
            if kind != "journalpost" or sid in journal or k["state"] == "cancelled":
                continue
            row = conn.execute(select(MSG.c.id).where(MSG.c.platform == k["platform"],
                                                      MSG.c.platform_message_id == k["platform_message_id"],
                                                      MSG.c.is_current.is_(True))).first()
            if row is None:
                gone[sid] = {"decision": None, "message_id": None, "decided_by": SYSTEM, "decided_at": None}
                continue
            d = export_decisions(conn, [row.id])[row.id]
            gone[sid] = {"decision": d.decision, "message_id": row.id, "decided_by": d.decided_by,
                         "decided_at": d.decided_at}
    return Snapshot(audit_seq, plan, keys, gone, head.hash if head else None)


# -- what to send ----------------------------------------------------------------------------------


@dataclass
class Pending:
    type: str
    key_kind: str
    key: str
    keys: dict[str, Any]
    meta: dict[str, Any]
    build: Callable[[], tuple[bytes, list[tuple[str, bytes | Path]], dict[str, Any]]]   # payload, files, meta


def _skjerming(screened: bool, hjemmel: str | None) -> am.Skjerming | None:
    """tilgangsrestriksjon follows the hjemmel (``masking.tilgangskode``: «26» for § 26 alone, else «13»)."""
    return am.Skjerming(hjemmel, (tilgangskode(hjemmel), UNNTATT)) if screened and hjemmel else None


def _parter(rec: RecordPlan) -> list[am.Korrespondansepart]:
    return [am.Korrespondansepart(part_id(rec.system_id, typ), PARTTYPE.get(typ, (typ, typ)), navn, bool(skjermet))
            for typ, navn, skjermet in rec.korrespondanseparter]


def _saksmappe(mp: MappePlan, rec: RecordPlan) -> am.Saksmappe:
    return am.Saksmappe(
        system_id=mp.system_id, tittel=mp.tittel, offentlig_tittel=mp.offentlig_tittel, noekkel=saksmappe_noekkel(mp),
        opprettet=mp.opprettet, opprettet_av=SYSTEM, saksdato=mp.saksdato or rec.journaldato,
        administrativ_enhet=mp.administrativ_enhet, saksansvarlig=mp.saksansvarlig or rec.decision.decided_by,
        skjerming=_skjerming(mp.screened, mp.hjemmel), klassifikasjonssystem="EMNE",
        klasse_id=mp.klasse.klasseID, klasse_tittel=mp.klasse.tittel)


def _doc_files(rec: RecordPlan, rendered: dict[str, Path]) -> list[tuple[Any, str, str, bytes | Path]]:
    """(doc, dokumentbeskrivelse systemID, file name, source) of each document of ``rec``."""
    out = []
    for n, doc in enumerate(rec.documents, start=1):
        ext = doc.sti.rsplit(".", 1)[-1]
        src: bytes | Path = rendered[doc.render_key] if doc.render_key else (doc.source or (doc.data or b""))
        out.append((doc, stable_uuid("dokumentbeskrivelse", rec.system_id, doc.role, doc.sti), f"{n:02d}-{doc.role}.{ext}", src))
    return out


def _sha_size(src: bytes | Path) -> tuple[str, int]:
    data = src.read_bytes() if isinstance(src, Path) else src
    return hashlib.sha256(data).hexdigest(), len(data)


def _objekt(rec: RecordPlan, doc, dok_sid: str, fname: str, src: bytes | Path, versjon: int) -> am.Dokumentobjekt:
    ext = doc.sti.rsplit(".", 1)[-1]
    sha, size = _sha_size(src)
    return am.Dokumentobjekt(
        system_id=stable_uuid("dokumentobjekt", rec.system_id, doc.role, doc.sti, str(versjon)) if versjon > 1
        else stable_uuid("dokumentobjekt", rec.system_id, doc.role, doc.sti),
        filnavn=fname, format=(FORMAT_CODE.get(ext, ext.upper()), doc.puid), format_detaljer=doc.puid,
        mime=MIME.get(ext), sjekksum=sha, filstoerrelse=size, versjonsnummer=versjon)


def _journalpost(rec: RecordPlan, mp: MappePlan, rendered: dict[str, Path]) -> tuple[am.Journalpost, list, dict]:
    msg = rec.message
    files = []
    docs: dict[str, dict[str, Any]] = {}
    dokumenter = []
    for n, (doc, dok_sid, fname, src) in enumerate(_doc_files(rec, rendered), start=1):
        obj = _objekt(rec, doc, dok_sid, fname, src, 1)
        varianter = []
        if doc.redacted_render_key:
            # the redacted variant (variantformat O) beside the full one, as in the Noark 5 package
            ext = doc.sti.rsplit(".", 1)[-1]
            rname, rsrc = f"{n:02d}-{doc.role}-skjermet.{ext}", rendered[doc.redacted_render_key]
            rsha, rsize = _sha_size(rsrc)
            varianter.append(am.Dokumentobjekt(
                system_id=stable_uuid("dokumentobjekt", rec.system_id, doc.role, doc.redacted_sti or rname),
                filnavn=rname, format=(FORMAT_CODE.get(ext, ext.upper()), doc.puid), format_detaljer=doc.puid,
                mime=MIME.get(ext), sjekksum=rsha, filstoerrelse=rsize, variantformat=("O", SKJERMET_VARIANT)))
            files.append((rname, rsrc))
        dokumenter.append(am.Dokument(
            system_id=dok_sid, tittel=doc.tittel, dokumenttype=(DOKUMENTTYPE.get(doc.role, "BILDE"), doc.dokumenttype),
            hoveddokument=doc.role == "hoveddokument", nummer=n, objekt=obj, tilknyttet=rec.arkivert, tilknyttet_av=SYSTEM,
            skjerming=_skjerming(True, rec.screening_hjemmel) if doc.skjerming_dokument else None, varianter=varianter))
        files.append((fname, src))
        docs[dok_sid] = {"role": doc.role, "sti": doc.sti, "versjon": 1, "sha256": obj.sjekksum}
    innkommende = rec.journalposttype == "Inngående dokument"
    jp = am.Journalpost(
        system_id=rec.system_id, tittel=rec.tittel, offentlig_tittel=rec.offentlig_tittel,
        noekkel=journalpost_noekkel(rec), forelder=am.Referanse(mp.system_id, saksmappe_noekkel(mp)),
        journalposttype=JOURNALPOSTTYPE[rec.journalposttype], opprettet=rec.opprettet, opprettet_av=SYSTEM,
        arkivert=rec.arkivert, arkivert_av=rec.decision.decided_by, journaldato=rec.journaldato,
        dokumentets_dato=rec.dokumentets_dato,
        mottatt=utc(msg["created_at"]) if innkommende else None, sendt=None if innkommende else utc(msg["created_at"]),
        skjerming=_skjerming(rec.screened, rec.screening_hjemmel),
        offentlighetsvurdert=rec.journaldato if rec.screened else None,
        dokumenter=dokumenter, parter=_parter(rec),
        merknader=[am.Merknad(f"Vedlegg ikke overført ({u['media_type'] or 'ukjent type'}): {u['reason']}",
                              rec.arkivert, SYSTEM) for u in rec.unsupported])
    return jp, files, docs


def _change_text(before: dict[str, Any], after: dict[str, Any], version: int | None) -> str:
    parts = []
    if before.get("content") != after.get("content"):
        parts.append(f"meldingen er endret på plattformen (versjon {version})" if version else "meldingen er endret")
    if before.get("screened") != after.get("screened"):
        parts.append("skjermet etter ny vurdering" if after.get("screened") else "skjerming opphevet etter ny vurdering")
    elif before.get("hjemmel") != after.get("hjemmel"):
        parts.append("ny skjermingshjemmel")
    if before.get("tittel") != after.get("tittel") or before.get("offentligTittel") != after.get("offentligTittel"):
        parts.append("ny tittel")
    if before.get("parter") != after.get("parter"):
        parts.append("korrespondansepart endret")
    return "Oppdatering: " + ("; ".join(parts) if parts else "ny vurdering")


def decide(snap: Snapshot, paths: dict[str, Path]) -> tuple[list[Pending], list[RecordPlan], int]:
    """The messages to send for ``snap``, in order; the records whose documents must be
    rendered; how many journalposts are unchanged. ``paths`` (render key → PDF) is filled by
    the caller after rendering, before the messages are built."""
    pend: list[Pending] = []
    to_render: list[RecordPlan] = []
    unchanged = 0
    created_mapper: set[str] = set()
    created_jp: set[str] = set()

    def rendered() -> dict[str, Path]:
        return paths

    for mp in snap.plan.mapper:
        journal = [r for r in mp.records if live(r)]
        if not journal:
            continue
        mkey = snap.keys.get(("saksmappe", mp.system_id))
        mstate = saksmappe_state(mp)
        if mkey is not None and mkey["state_hash"] != _hash(mstate):
            before = (mkey["sent"] or {}).get("state", {})
            first = journal[0]
            endring = am.SaksmappeEndring(
                ref=am.Referanse(mp.system_id, saksmappe_noekkel(mp)), tittel=mp.tittel,
                offentlig_tittel=mp.offentlig_tittel, skjerming=_skjerming(mp.screened, mp.hjemmel),
                merknad=am.Merknad(_change_text(before, mstate, None), max(r.arkivert for r in journal),
                                   first.decision.decided_by))
            pend.append(Pending(am.OPPDATER, "saksmappe", mp.system_id,
                                {"saksmappe": mp.system_id, "noekkel": saksmappe_noekkel(mp).noekkel},
                                {"kind": "saksmappe", "state_hash": _hash(mstate), "state": mstate},
                                lambda e=endring: (am.oppdater_saksmappe(e), [], {})))
        for rec in journal:
            key = snap.keys.get(("journalpost", rec.system_id))
            state = journalpost_state(rec)
            shash = _hash(state)
            base_keys = {"journalpost": rec.system_id, "noekkel": journalpost_noekkel(rec).noekkel,
                         "saksmappe": mp.system_id}
            common = {"message_id": rec.message["id"], "platform": rec.message["platform"],
                      "platform_message_id": rec.message["platform_message_id"]}
            if key is None:
                to_render.append(rec)
                with_mappe = mkey is None and mp.system_id not in created_mapper
                created_mapper.add(mp.system_id)
                created_jp.add(rec.system_id)

                def build_opprett(rec=rec, mp=mp, with_mappe=with_mappe):
                    jp, files, docs = _journalpost(rec, mp, rendered())
                    return am.opprett(SYSTEM, jp, _saksmappe(mp, rec) if with_mappe else None), files, {"docs": docs}

                meta = {**common, "kind": "journalpost", "state_hash": shash, "state": state,
                        "mappe_created": with_mappe, "mappe_noekkel": saksmappe_noekkel(mp).noekkel,
                        "mappe_state_hash": _hash(mstate), "mappe_state": mstate}
                pend.append(Pending(am.OPPRETT, "journalpost", rec.system_id,
                                    {**base_keys, "saksmappe_created": with_mappe}, meta, build_opprett))
                continue
            before = (key["sent"] or {}).get("state", {})
            content_changed = before.get("content") != state["content"]
            reinstate = key["state"] == "cancelled"
            if key["state_hash"] == shash and not reinstate:
                unchanged += 1
                continue
            text = _change_text(before, state, rec.message.get("version"))
            if reinstate:
                text = "Journalposten gjeninnføres: vurderingen er igjen «journalføres». " + text
            endring = am.JournalpostEndring(
                ref=am.Referanse(rec.system_id, journalpost_noekkel(rec)), tittel=rec.tittel,
                offentlig_tittel=rec.offentlig_tittel, skjerming=_skjerming(rec.screened, rec.screening_hjemmel),
                parter=_parter(rec), merknad=am.Merknad(text, rec.arkivert, rec.decision.decided_by),
                offentlighetsvurdert=rec.journaldato if rec.screened else None)
            pend.append(Pending(am.OPPDATER, "journalpost", rec.system_id, base_keys,
                                {**common, "kind": "journalpost", "state_hash": shash, "state": state,
                                 "reinstate": reinstate},
                                lambda e=endring: (am.oppdater_journalpost(e), [], {})))
            sent_docs = (key["sent"] or {}).get("documents", {})
            if content_changed:
                to_render.append(rec)
                for role in ("hoveddokument", "original"):
                    pend.append(_dokumentobjekt_pending(rec, role, sent_docs, rendered, common))
            newly_screened = rec.screened and not before.get("screened")
            if (newly_screened or (rec.screened and content_changed)) and has_redacted_variant(rec):
                # screened after delivery: the archive gets the redacted variant beside the delivered document
                if rec not in to_render:
                    to_render.append(rec)
                pend.append(_redacted_pending(rec, sent_docs, rendered, common))
        # avskrivning: an inngående journalpost answered by an utgående one of the same case
        by_pid = {r.message["platform_message_id"]: r for r in journal}
        for rec in journal:
            if rec.journalposttype != "Utgående dokument":
                continue
            parent = by_pid.get(rec.message.get("parent_platform_id") or "")
            if parent is None:
                earlier = [r for r in journal if r.journalposttype == "Inngående dokument"
                           and utc(r.message["created_at"]) <= utc(rec.message["created_at"])]
                parent = earlier[-1] if earlier and rec.message.get("conversation_id") else None
            if parent is None or parent.journalposttype != "Inngående dokument":
                continue
            pkey = snap.keys.get(("journalpost", parent.system_id))
            if pkey is not None and (pkey["avskrevet"] or pkey["state"] == "cancelled"):
                continue
            if pkey is None and parent.system_id not in created_jp:
                continue
            if any(p.type == am.AVSKRIVNING and p.key == parent.system_id for p in pend):
                continue
            xml = am.avskrivning_opprett(
                am.Referanse(parent.system_id, journalpost_noekkel(parent)), part_id(parent.system_id, "Avsender"),
                dato=rec.journaldato, av=rec.decision.decided_by, maate=AVSKRIVNINGSMAATE,
                avskrives_av=am.Referanse(rec.system_id, journalpost_noekkel(rec)))
            pend.append(Pending(am.AVSKRIVNING, "journalpost", parent.system_id,
                                {"journalpost": parent.system_id, "avskrives_av": rec.system_id,
                                 "noekkel": journalpost_noekkel(parent).noekkel},
                                {"kind": "avskrivning", "message_id": parent.message["id"]},
                                lambda xml=xml: (xml, [], {})))
    for sid, g in sorted(snap.gone.items()):
        if g["decision"] not in ("exclude", "archive", None):
            continue                       # still to review: wait for the decision
        key = snap.keys[("journalpost", sid)]
        ref = am.Referanse(sid, am.Noekkel(FAGSYSTEM, key["noekkel"]))
        state = dict((key["sent"] or {}).get("state", {}))
        when = utc(g["decided_at"]) if g["decided_at"] else utc(key["updated_at"])
        endring = am.JournalpostEndring(
            ref=ref, tittel=state.get("tittel") or "Journalpost", offentlig_tittel=state.get("offentligTittel"),
            skjerming=_skjerming(bool(state.get("screened")), state.get("hjemmel")),
            parter=[am.Korrespondansepart(part_id(sid, t), PARTTYPE.get(t, (t, t)), n, bool(s))
                    for t, n, s in state.get("parter", [])],
            merknad=am.Merknad(f"Journalposten utgår: vurderingen er endret til «{DECISION_LABEL[g['decision']]}»",
                               when, g["decided_by"]),
            journalstatus=am.UTGAAR, offentlighetsvurdert=None)
        pend.append(Pending(am.OPPDATER, "journalpost", sid,
                            {"journalpost": sid, "noekkel": key["noekkel"], "saksmappe": key["mappe_system_id"]},
                            {"kind": "journalpost", "cancel": True, "message_id": g["message_id"],
                             "decision": g["decision"]},
                            lambda e=endring: (am.oppdater_journalpost(e), [], {})))
    return pend, to_render, unchanged


def _redacted_pending(rec: RecordPlan, sent_docs: dict[str, Any], rendered, common) -> Pending:
    """A ``dokumentobjekt.opprett`` carrying the hoveddokument's redacted variant (variantformat O,
    «Dokument hvor deler av innholdet er skjermet»): for a journalpost screened after its delivery.
    It adds a variant, not a version: the delivered document's versjon is not changed."""
    def build():
        for doc, dok_sid, fname, src in _doc_files(rec, rendered()):
            if doc.role != "hoveddokument" or not doc.redacted_render_key:
                continue
            versjon = int(sent_docs.get(dok_sid, {}).get("versjon", 1))
            ext = doc.sti.rsplit(".", 1)[-1]
            rsrc = rendered()[doc.redacted_render_key]
            rsha, rsize = _sha_size(rsrc)
            name = f"hoveddokument-v{versjon}-skjermet.{ext}"
            obj = am.Dokumentobjekt(
                system_id=stable_uuid("dokumentobjekt", rec.system_id, doc.role, doc.redacted_sti or name, rsha),
                filnavn=name, format=(FORMAT_CODE.get(ext, ext.upper()), doc.puid), format_detaljer=doc.puid,
                mime=MIME.get(ext), sjekksum=rsha, filstoerrelse=rsize, versjonsnummer=versjon,
                variantformat=("O", SKJERMET_VARIANT))
            return (am.dokumentobjekt_opprett(am.Referanse(dok_sid), obj), [(name, rsrc)],
                    {"variant_of": dok_sid, "variant_sha256": rsha})
        raise NoarkWriteError(f"journalpost {rec.system_id} has no redacted variant")

    dok_sid = next((sid for sid, d in sent_docs.items() if d.get("role") == "hoveddokument"), None)
    return Pending(am.DOKUMENTOBJEKT, "dokument", rec.system_id,
                   {"journalpost": rec.system_id, "variant_of": dok_sid, "role": "hoveddokument"},
                   {**common, "kind": "dokument", "role": "hoveddokument", "variant": "O"}, build)


def _dokumentobjekt_pending(rec: RecordPlan, role: str, sent_docs: dict[str, Any], rendered, common) -> Pending:
    def build():
        for doc, dok_sid, fname, src in _doc_files(rec, rendered()):
            if doc.role != role:
                continue
            versjon = int(sent_docs.get(dok_sid, {}).get("versjon", 1)) + 1
            ext = doc.sti.rsplit(".", 1)[-1]
            name = f"{role}-v{versjon}.{ext}"
            obj = _objekt(rec, doc, dok_sid, name, src, versjon)
            return (am.dokumentobjekt_opprett(am.Referanse(dok_sid), obj), [(name, src)],
                    {"versjon": versjon, "sha256": obj.sjekksum, "dokument": dok_sid})
        raise NoarkWriteError(f"journalpost {rec.system_id} has no {role}")

    dok_sid = next((sid for sid, d in sent_docs.items() if d.get("role") == role), None)
    return Pending(am.DOKUMENTOBJEKT, "dokument", rec.system_id,
                   {"journalpost": rec.system_id, "dokument": dok_sid, "role": role},
                   {**common, "kind": "dokument", "role": role}, build)


# -- recording ------------------------------------------------------------------------------------


def apply_entry(conn, outbox: Path, entry: OutboxEntry) -> None:
    """Record one published message and its lifecycle step. The same for a message just written
    and for one found in the outbox after a crash: everything comes from its index line."""
    now = clock_now()
    m = entry.meta
    k = entry.keys
    sid = k.get("journalpost") or k.get("saksmappe")
    conn.execute(OUTM.insert().values(
        seq=entry.seq, outbox=str(outbox), folder=entry.folder, type=entry.type,
        key_kind=m.get("kind", "journalpost"), system_id=sid, melding_id=entry.melding_id,
        sha256=entry.files[0]["sha256"], message_id=m.get("message_id"), audit_seq=m.get("audit_seq"),
        created_at=now, receipt="pending"))

    def key_row(kind: str, system_id: str) -> dict[str, Any] | None:
        r = conn.execute(select(KEYS).where(KEYS.c.kind == kind, KEYS.c.system_id == system_id)).mappings().first()
        return dict(r) if r else None

    if entry.type == am.OPPRETT:
        if k.get("saksmappe_created"):
            conn.execute(KEYS.insert().values(
                kind="saksmappe", system_id=k["saksmappe"], noekkel=m["mappe_noekkel"], platform=m.get("platform"),
                state="created", updates=0, state_hash=m["mappe_state_hash"], sent={"state": m["mappe_state"]},
                avskrevet=False, first_seq=entry.seq, last_seq=entry.seq, updated_at=now))
        conn.execute(KEYS.insert().values(
            kind="journalpost", system_id=k["journalpost"], noekkel=k["noekkel"], platform=m.get("platform"),
            platform_message_id=m.get("platform_message_id"), mappe_system_id=k.get("saksmappe"), state="created",
            updates=0, state_hash=m["state_hash"], sent={"state": m["state"], "documents": m.get("docs", {})},
            avskrevet=False, first_seq=entry.seq, last_seq=entry.seq, updated_at=now))
    elif entry.type == am.OPPDATER:
        kind = m.get("kind", "journalpost")
        row = key_row(kind, sid)
        if row is None:
            raise ProblemsFound(f"outbox message {entry.folder} updates {kind} {sid}, which this database never "
                                "created — the outbox belongs to another database; give its own --out")
        sent = dict(row["sent"] or {})
        values: dict[str, Any] = {"updates": row["updates"] + 1, "last_seq": entry.seq, "updated_at": now}
        if m.get("cancel"):
            values["state"] = "cancelled"
        else:
            values.update(state="updated", state_hash=m["state_hash"])
            sent["state"] = m["state"]
        values["sent"] = sent
        conn.execute(KEYS.update().where(KEYS.c.id == row["id"]).values(**values))
    elif entry.type == am.AVSKRIVNING:
        row = key_row("journalpost", sid)
        if row is not None:
            conn.execute(KEYS.update().where(KEYS.c.id == row["id"]).values(avskrevet=True, last_seq=entry.seq,
                                                                           updated_at=now))
    elif entry.type == am.DOKUMENTOBJEKT:
        row = key_row("journalpost", sid)
        if row is not None:
            sent = dict(row["sent"] or {})
            docs = dict(sent.get("documents") or {})
            dok = k.get("dokument")
            if dok:
                d = dict(docs.get(dok, {"role": k.get("role")}))
                d["versjon"] = int(m.get("versjon") or d.get("versjon", 1) + 1)
                d["sha256"] = m.get("sha256")
                docs[dok] = d
            sent["documents"] = docs
            conn.execute(KEYS.update().where(KEYS.c.id == row["id"]).values(sent=sent, last_seq=entry.seq,
                                                                           updated_at=now))


def adopt_outbox(app: App, box: Outbox) -> list[OutboxEntry]:
    """Record the outbox's messages the database lacks (published, then the process died)."""
    with app.db.read() as conn:
        known = {r.seq for r in conn.execute(select(OUTM.c.seq))}
    missing = [e for e in box.entries() if e.seq not in known]
    for e in missing:
        with app.db.write() as conn:
            apply_entry(conn, box.path, e)
    return missing


# -- receipts ---------------------------------------------------------------------------------------


@dataclass
class ReceiptResult:
    recorded: list[tuple[str, str, str]] = field(default_factory=list)    # (file, folder, confirmed|failed)
    problems: list[str] = field(default_factory=list)


def read_receipts(app: App, box: Outbox, inbox: Path | None = None) -> ReceiptResult:
    """Read the receipts in ``inbox`` (default ``OUTBOX/inbox``) not read before.

    A receipt's file name begins with the message's folder name or its melding_id, then a dot:
    ``000001-arkivmelding.opprett-<systemID>.kvittering.xml``. A kvittering or feilmelding XML is
    validated against its XSD; an empty ``<folder>.kvittering`` confirms a message type whose
    kvittering has no payload (oppdater, avskrivning). A receipt that is not valid is reported,
    not recorded."""
    res = ReceiptResult()
    inbox = Path(inbox) if inbox is not None else box.path / "inbox"
    if not inbox.is_dir():
        return res
    with app.db.read() as conn:
        rows = [dict(r) for r in conn.execute(select(OUTM)).mappings()]
    seen = {r["receipt_file"] for r in rows if r["receipt_file"]}
    by_prefix = {}
    for r in rows:
        by_prefix[r["folder"]] = r
        by_prefix[r["melding_id"]] = r
    updates = []
    confirmed_by = {r["seq"]: r["receipt_file"] for r in rows if r["receipt"] == "confirmed" and r["receipt_file"]}
    for f in sorted(p for p in inbox.iterdir() if not p.name.startswith(".")):
        if f.name in seen:
            continue
        if f.is_symlink():
            res.problems.append(f"{f}: a symbolic link, not read — put the receipt itself in the inbox")
            continue
        if not f.is_file():
            continue
        target = next((r for pfx, r in by_prefix.items() if f.name.startswith(pfx + ".")), None)
        if target is None:
            res.problems.append(f"{f}: names no message of the outbox — a receipt is named "
                                "<message folder>.kvittering.xml (or <melding_id>.…)")
            continue
        if target["seq"] in confirmed_by:
            # a confirmed delivery stays confirmed: a later receipt (a retry's serverfeil) changes nothing
            res.problems.append(f"{f}: {target['folder']} is already confirmed by {confirmed_by[target['seq']]}; "
                                "this later receipt is not recorded")
            continue
        data = f.read_bytes()
        if not data.strip():
            if target["type"] in (am.OPPDATER, am.AVSKRIVNING) and ".kvittering" in f.name:
                updates.append((f, target, "confirmed", "kvittering (uten innhold)"))
            else:
                res.problems.append(f"{f}: empty, but a {target['type']} receipt carries a kvittering XML")
            continue
        try:
            r = am.read_receipt(data)
        except PayloadError as exc:
            res.problems.append(f"{f}: {exc} — ask the receiver for a valid receipt")
            continue
        ok, detail = r.ok, r.detail
        if ok and r.kind == "kvittering" and r.system_ids and target["type"] in (am.OPPRETT, am.OPPDATER) \
                and target["system_id"] and target["system_id"] not in r.system_ids:
            ok, detail = False, f"the kvittering names {', '.join(r.system_ids)}, the message sent {target['system_id']}"
        updates.append((f, target, "confirmed" if ok else "failed", detail))
        if ok:
            confirmed_by[target["seq"]] = f.name
    if updates:
        now = clock_now()
        with app.db.write() as conn:
            for f, target, status, detail in updates:
                conn.execute(OUTM.update().where(OUTM.c.seq == target["seq"]).values(
                    receipt=status, receipt_file=f.name, receipt_at=now, receipt_detail=detail[:2000]))
                if status == "confirmed" and target["type"] == am.OPPRETT:
                    conn.execute(KEYS.update().where(KEYS.c.first_seq == target["seq"], KEYS.c.state == "created")
                                 .values(state="delivered", updated_at=now))
                res.recorded.append((f.name, target["folder"], status))
            app.audit(conn, "export.kvittering", "outbox", str(box.path),
                      after={"receipts": [{"file": a, "message": b, "status": c} for a, b, c in res.recorded]})
    return res


# -- the export ------------------------------------------------------------------------------------


@dataclass
class ArkivmeldingResult:
    export_id: int | None
    created: list[str] = field(default_factory=list)      # folders: arkivmelding.opprett
    updated: list[str] = field(default_factory=list)      # folders: arkivmelding.oppdater (not cancellations)
    cancelled: list[str] = field(default_factory=list)    # folders: oppdater with journalstatus «Utgår»
    avskrivninger: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)    # folders: dokumentobjekt.opprett
    recovered: list[str] = field(default_factory=list)    # published by an interrupted export, recorded now
    unchanged: int = 0
    audit_seq: int = 0
    receipts: ReceiptResult = field(default_factory=ReceiptResult)
    summary: dict[str, Any] = field(default_factory=dict)


def _database_id(app: App) -> str:
    with app.db.read() as conn:
        row = conn.execute(select(AUD.c.hash).where(AUD.c.seq == 1)).first()
    return row.hash if row else "empty"


def _claim_outbox(app: App, box: Outbox) -> None:
    """An outbox is one continuous sequence of one database: refuse another folder or database."""
    with app.db.read() as conn:
        last = conn.execute(select(OUTM.c.outbox).order_by(OUTM.c.seq.desc()).limit(1)).first()
    if last is not None and Path(last.outbox) != box.path:
        raise UsageError(f"the arkivmelding outbox of this database is {last.outbox} — give --out {last.outbox} "
                         "(an outbox is one numbered sequence; a second one would send opprett twice)")
    marker = box.path / "outbox.json"
    dbid = _database_id(app)
    if marker.is_file():
        try:
            owner = json.loads(marker.read_text(encoding="utf-8")).get("database")
        except (OSError, ValueError):
            raise UsageError(f"{marker}: not readable JSON — restore it from the backup of the outbox") from None
        if owner != dbid:
            raise UsageError(f"{box.path} is the outbox of another database — give this database's own outbox or a new folder")
        return
    if box.index_path.is_file() or box.published_folders():
        raise UsageError(f"{box.path} holds messages but no outbox.json — give an empty folder or the database's own outbox")
    box.path.mkdir(parents=True, exist_ok=True)
    tmp = box.path / ".outbox.json.tmp"
    tmp.write_text(json.dumps({"database": dbid, "fagsystem": FAGSYSTEM}) + "\n", encoding="utf-8")
    os.replace(tmp, marker)


def export_arkivmelding(app: App, out: str | Path, *, klassifikasjon: Klassifikasjon | None = None,
                        advance: Callable[[int], None] | None = None, workers: int = 2,
                        inbox: str | Path | None = None,
                        on_snapshot: Callable[[], None] | None = None) -> ArkivmeldingResult:
    """Send what changed since the last export into the outbox ``out``; read the receipts first.

    ``on_snapshot`` is called inside the snapshot transaction, right after the audit sequence
    was read (tests use it to commit a decision concurrently)."""
    app.require("export.run")
    box = Outbox(out)
    try:
        try:
            box.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create {box.path}: {exc.strerror} — give a writable --out folder") from None
        _claim_outbox(app, box)
        with box.lock():
            result = ArkivmeldingResult(export_id=None)
            box.recover()
            result.recovered = [e.folder for e in adopt_outbox(app, box)]
            result.receipts = read_receipts(app, box, Path(inbox) if inbox else None)
            snap = take_snapshot(app, klassifikasjon, on_snapshot)
            result.audit_seq = snap.audit_seq
            paths: dict[str, Path] = {}
            pend, to_render, result.unchanged = decide(snap, paths)
            paths.update(_render(app, snap.plan, to_render, workers, advance))
            for p in pend:
                payload, files, extra = p.build()
                meta = {**p.meta, **extra, "audit_seq": snap.audit_seq}
                if snap.audit_head:
                    meta["audit_head"] = snap.audit_head
                keys = dict(p.keys)
                if extra.get("dokument"):
                    keys["dokument"] = extra["dokument"]
                entry = box.append(p.type, p.key, payload, files, keys=keys, meta=meta, checkpoint=checkpoint)
                with app.db.write() as conn:
                    apply_entry(conn, box.path, entry)
                checkpoint("outbox.recorded")
                bucket = {am.OPPRETT: result.created, am.AVSKRIVNING: result.avskrivninger,
                          am.DOKUMENTOBJEKT: result.documents}.get(p.type)
                if bucket is None:
                    bucket = result.cancelled if p.meta.get("cancel") else result.updated
                bucket.append(entry.folder)
            result.export_id = _finish(app, box, snap.audit_seq, result)
            return result
    except OutboxBusy as exc:
        raise ConflictError(str(exc)) from None
    except NoarkWriteError as exc:
        raise ProblemsFound(f"{exc} — nothing half-written; please report this") from None
    except PayloadError as exc:
        raise ProblemsFound(f"{exc}") from None
    except OSError as exc:
        raise ProblemsFound(f"cannot write into {box.path}: {exc.strerror or exc} — free space or fix the folder; "
                            "run the export again (what was published stays, nothing is sent twice)") from None


def _render(app: App, plan: ExportPlan, records: list[RecordPlan], workers: int,
            advance: Callable[[int], None] | None) -> dict[str, Path]:
    if not records:
        return {}
    wanted = {id(r) for r in records}
    sub = ExportPlan(mapper=[MappePlan(**{**mp.__dict__, "records": [r for r in mp.records if id(r) in wanted]})
                             for mp in plan.mapper if any(id(r) in wanted for r in mp.records)],
                     threads=plan.threads, captures=plan.captures, attachments=plan.attachments,
                     period_start=None, period_end=None, skipped=plan.skipped, klassifikasjon=plan.klassifikasjon,
                     excluded_ids=plan.excluded_ids, context_decisions=plan.context_decisions)
    jobs = plan_documents(sub, app.data_dir)
    rendered, _ = render_all(jobs, app.data_dir, workers=workers, advance=advance)
    return rendered


def _finish(app: App, box: Outbox, audit_seq: int, result: ArkivmeldingResult) -> int | None:
    """One ``exports`` row and one ``export.arkivmelding`` audit event for every message not yet
    covered by one (this run's and any an interrupted run published)."""
    now = clock_now()
    with app.db.write() as conn:
        rows = [dict(r) for r in conn.execute(select(OUTM).where(OUTM.c.export_id.is_(None)).order_by(OUTM.c.seq)).mappings()]
        if not rows:
            return None
        by_type: dict[str, int] = {}
        for r in rows:
            by_type[r["type"]] = by_type.get(r["type"], 0) + 1
        summary = {"outbox": str(box.path), "messages": len(rows), "by_type": by_type,
                   "first_seq": rows[0]["seq"], "last_seq": rows[-1]["seq"], "audit_seq": audit_seq,
                   "created": len(result.created), "updated": len(result.updated), "cancelled": len(result.cancelled),
                   "avskrivninger": len(result.avskrivninger), "documents": len(result.documents),
                   "recovered": len(result.recovered), "unchanged": result.unchanged,
                   "folders": [r["folder"] for r in rows]}
        batch_id = stable_uuid("arkivmelding", str(box.path), str(rows[0]["seq"]), str(rows[-1]["seq"]))
        export_id = conn.execute(EXP.insert().values(kind="arkivmelding", package_id=batch_id, path=str(box.path),
                                                     summary=summary, actor=app.actor, created_at=now)).inserted_primary_key[0]
        conn.execute(OUTM.update().where(OUTM.c.export_id.is_(None)).values(export_id=export_id))
        keys = {(r["kind"], r["system_id"]): dict(r) for r in conn.execute(select(KEYS)).mappings()}
        dl = []
        for r in rows:
            if r["type"] in (am.OPPRETT, am.OPPDATER) and r["key_kind"] == "journalpost" and r["message_id"] \
                    and keys.get(("journalpost", r["system_id"]), {}).get("state") != "cancelled":
                dl.append({"message_id": r["message_id"], "kind": "arkivmelding", "export_id": export_id,
                           "system_id": r["system_id"], "state_hash": keys[("journalpost", r["system_id"])]["state_hash"],
                           "delivered_at": now})
        if dl:
            conn.execute(DLV.insert(), dl)
        app.audit(conn, "export.arkivmelding", "export", batch_id,
                  after={k: v for k, v in summary.items() if k != "folders"} | {"export_id": export_id})
    result.summary = summary
    return export_id
