"""From stored conversations to Noark 5: what becomes what.

* a thread with a message to be journalført → one **saksmappe** in the klasse of its first case
  category; each such message → a **journalpost** («Inngående dokument» from a citizen,
  «Utgående dokument» from the municipality) with a korrespondansepart; the thread's messages that
  are only to be archived go into the same saksmappe as plain **registreringer**;
* a thread with only archive messages → **registreringer** in a **mappe per account and month**;
* excluded, unjudged and still-to-review messages are not exported.

Everything the XML holds is derived from the data, never from the clock: systemIDs are uuid5 of
platform ids, journal and case numbers are ranks over every journal-worthy message in the
database, and every date is a stored time (imported_at, the decision time, created_at). Exporting
the same data twice therefore gives the same arkivstruktur.xml, byte for byte.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.engine import Connection

from noark import stable_uuid
from ringebu_journal.db.tables import Account, Attachment, Capture, Message, Thread
from ringebu_journal.errors import InputError, UsageError

from .decisions import ExportDecision, export_decisions
from .masking import Screening, public_title, screen_identity_numbers, screening_of, without_identity_numbers

MSG = Message.__table__
THR = Thread.__table__
CAP = Capture.__table__
ATT = Attachment.__table__
ACC = Account.__table__

SYSTEM = "ringebu-journal"
ANONYM = "Anonym / ukjent"
INNGAAENDE = "Inngående dokument"
UTGAAENDE = "Utgående dokument"
UNNTATT = "Unntatt offentlighet"

PLATFORM_LABEL = {
    "facebook": "Facebook", "messenger": "Messenger", "instagram": "Instagram", "x": "X",
    "linkedin": "LinkedIn", "tiktok": "TikTok", "email": "E-post", "other": "Sosiale medier",
}
KIND_LABEL = {"post": "innlegg", "comment": "kommentar", "reply": "svar", "message": "melding"}
CATEGORY_LABEL = {
    "soknad": "Søknad", "klage": "Klage", "innsynskrav": "Innsynskrav", "varsling": "Varsling",
    "bekymringsmelding": "Bekymringsmelding", "krav": "Krav", "oppsigelse": "Oppsigelse",
    "oppfolging": "Oppfølging av sak", "personvern": "Personvernhenvendelse", "anmodning": "Anmodning",
    "melding": "Melding", "tjenestesporsmal": "Spørsmål om tjenester", "faktafeil": "Faktafeil",
    "politisk": "Politisk henvendelse", "kritikk": "Kritikk", "ros": "Ros",
}


# -- klassifikasjon ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KlasseDef:
    klasseID: str
    tittel: str


DEFAULT_CLASSES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("010", "Søknader", ("soknad",)),
    ("020", "Klager", ("klage",)),
    ("030", "Innsynskrav", ("innsynskrav",)),
    ("040", "Varsling", ("varsling",)),
    ("050", "Bekymringsmeldinger", ("bekymringsmelding",)),
    ("060", "Krav og erstatning", ("krav",)),
    ("070", "Oppsigelse og endring av tjenester", ("oppsigelse",)),
    ("080", "Oppfølging av saker", ("oppfolging",)),
    ("090", "Personvern", ("personvern",)),
    ("100", "Anmodninger og meldinger til kommunen", ("anmodning", "melding")),
    ("110", "Spørsmål om tjenester og faktafeil", ("tjenestesporsmal", "faktafeil")),
    ("120", "Politiske henvendelser", ("politisk",)),
    ("190", "Andre henvendelser", ()),
    ("900", "Sosiale medier – arkivert uten journalføring", ()),
)


@dataclass
class Klassifikasjon:
    """The subject classes: the judge's categories → klasse, plus the two fallback classes."""

    tittel: str
    by_category: dict[str, KlasseDef]
    standard: KlasseDef        # a journalpost whose categories map to no klasse
    arkivering: KlasseDef      # the account/month mapper of archive-only threads
    order: list[KlasseDef] = field(default_factory=list)

    @classmethod
    def default(cls) -> "Klassifikasjon":
        return cls._from_rows("Emneklasser for henvendelser i sosiale medier", DEFAULT_CLASSES, "190", "900", "default")

    @classmethod
    def _from_rows(cls, tittel: str, rows, standard: str, arkivering: str, where: str) -> "Klassifikasjon":
        by_id: dict[str, KlasseDef] = {}
        by_cat: dict[str, KlasseDef] = {}
        for kid, ktitle, cats in rows:
            k = KlasseDef(str(kid), str(ktitle))
            if k.klasseID in by_id:
                raise InputError(where, f"klasse {kid}", "klasseID given twice", "give each klasse once")
            by_id[k.klasseID] = k
            for c in cats:
                by_cat.setdefault(str(c), k)
        for role, kid in (("standard", standard), ("arkivering", arkivering)):
            if kid not in by_id:
                raise InputError(where, role, f"names klasse {kid!r}, which is not defined",
                                 "define it under [klasse.ID] or name an existing one")
        return cls(tittel, by_cat, by_id[standard], by_id[arkivering], sorted(by_id.values(), key=lambda k: k.klasseID))

    @classmethod
    def load(cls, path: str | Path) -> "Klassifikasjon":
        """Read a TOML key::

            tittel = "Emneklasser"
            standard = "190"          # journalposter whose categories map to no klasse
            arkivering = "900"        # mapper of archive-only threads
            [klasse.020]
            tittel = "Klager"
            kategorier = ["klage"]
        """
        p = str(path)
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"{p}: cannot read the klassifikasjon key ({exc.strerror}) — give a TOML file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(p, None, f"not valid TOML ({exc})", "fix the file") from None
        klasser = data.get("klasse")
        if not isinstance(klasser, dict) or not klasser:
            raise InputError(p, "klasse", "no [klasse.ID] tables", "define at least the standard and arkivering classes")
        rows = []
        for kid, spec in klasser.items():
            if not isinstance(spec, dict) or not isinstance(spec.get("tittel"), str) or not spec["tittel"].strip():
                raise InputError(p, f"klasse.{kid}", "needs a non-empty tittel", 'add tittel = "…"')
            cats = spec.get("kategorier", [])
            if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
                raise InputError(p, f"klasse.{kid}.kategorier", "must be a list of category names", 'e.g. ["klage"]')
            rows.append((kid, spec["tittel"].strip(), tuple(cats)))
        return cls._from_rows(str(data.get("tittel") or "Emneklasser"), rows,
                              str(data.get("standard", "")), str(data.get("arkivering", "")), p)

    def for_categories(self, categories: Iterable[str]) -> KlasseDef:
        for c in categories:
            k = self.by_category.get(c)
            if k is not None:
                return k
        return self.standard


# -- titles ----------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WS = re.compile(r"\s+")
_URL = re.compile(r"https?://\S+")
TITLE_MAX = 70


def summary_of(text: str, limit: int = TITLE_MAX) -> str:
    """The first sentence of ``text``, without links, cut at a word boundary."""
    text = _URL.sub("", text or "").strip()
    first = _SENTENCE_END.split(text, maxsplit=1)[0] if text else ""
    first = _WS.sub(" ", first).strip().rstrip(".!?:;, ")
    if len(first) > limit:
        cut = first[:limit].rsplit(" ", 1)[0].rstrip(",;:– -")
        first = (cut or first[:limit]) + "…"
    return first


def channel_label(platform: str, kind: str, when: datetime) -> str:
    """E.g. «Facebook-kommentar 2026-03-02»."""
    return f"{PLATFORM_LABEL.get(platform, platform.capitalize())}-{KIND_LABEL.get(kind, kind)} {when.date().isoformat()}"


def category_label(categories: Iterable[str]) -> str:
    for c in categories:
        if c in CATEGORY_LABEL:
            return CATEGORY_LABEL[c]
    return "Henvendelse"


# -- the plan ------------------------------------------------------------------------------------


@dataclass
class DocPlan:
    """One document of a registrering, before it is stored in the package."""

    role: str                   # hoveddokument | vedlegg | original
    tittel: str
    dokumenttype: str
    sti: str                    # path below DOKUMENT/
    puid: str
    data: bytes | None = None
    source: Path | None = None
    render_key: str | None = None   # hoveddokument: content hash of the rendered thread
    skjerming_dokument: str | None = None      # M503, when the document holds screened text
    redacted_render_key: str | None = None     # the variant with the screened parts masked
    redacted_sti: str | None = None


@dataclass
class RecordPlan:
    """One message that becomes a journalpost or a registrering."""

    message: dict[str, Any]
    decision: ExportDecision
    system_id: str
    journal: bool
    tittel: str
    offentlig_tittel: str | None
    screened: bool
    opprettet: datetime
    arkivert: datetime
    journalposttype: str | None = None
    journalaar: int | None = None
    journalsekvensnummer: int | None = None
    journalpostnummer: int | None = None
    screening_hjemmel: str | None = None   # the ground the record is screened on (its own, or its case's)
    masks_names: bool = False              # offl. § 13: the parties' names are screened
    korrespondanseparter: list[tuple[str, str, bool]] = field(default_factory=list)
    documents: list[DocPlan] = field(default_factory=list)
    unsupported: list[dict[str, Any]] = field(default_factory=list)

    @property
    def journaldato(self) -> date:
        return self.arkivert.date()


@dataclass
class MappePlan:
    kind: str                   # saksmappe | mappe
    system_id: str
    mappeID: str
    tittel: str
    offentlig_tittel: str | None
    klasse: KlasseDef
    records: list[RecordPlan]
    screened: bool = False
    hjemmel: str | None = None
    saksaar: int | None = None
    sakssekvensnummer: int | None = None
    administrativ_enhet: str = "Ringebu kommune"
    thread_id: int | None = None

    @property
    def opprettet(self) -> datetime:
        return min(r.opprettet for r in self.records)

    @property
    def avsluttet(self) -> datetime:
        return max(r.arkivert for r in self.records)


@dataclass
class ExportPlan:
    mapper: list[MappePlan]
    threads: dict[int, list[dict[str, Any]]]          # thread id → its current messages (context)
    captures: dict[int, dict[str, Any]]
    attachments: dict[int, list[dict[str, Any]]]
    period_start: date | None
    period_end: date | None
    skipped: dict[str, int]
    klassifikasjon: Klassifikasjon
    excluded_ids: set[int] = field(default_factory=set)   # context messages left out of renderings
    context_decisions: dict[int, ExportDecision] = field(default_factory=dict)   # every thread message's

    def records(self) -> Iterator[RecordPlan]:
        for m in self.mapper:
            yield from m.records

    @property
    def first_time(self) -> datetime:
        return min(m.opprettet for m in self.mapper)

    @property
    def last_time(self) -> datetime:
        return max(m.avsluttet for m in self.mapper)


@dataclass(frozen=True)
class Selection:
    date_from: date | None = None
    date_to: date | None = None
    account: str | None = None


def utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def record_system_id(platform: str, platform_message_id: str) -> str:
    """The registrering/journalpost systemID of a platform message (stable across versions)."""
    return stable_uuid("registrering", platform, platform_message_id)


def saksmappe_system_id(platform: str, thread_key: str) -> str:
    return stable_uuid("saksmappe", platform, thread_key)


def _light_rows(conn: Connection) -> list[dict[str, Any]]:
    cols = [MSG.c.id, MSG.c.platform, MSG.c.platform_message_id, MSG.c.thread_id, MSG.c.created_at,
            MSG.c.account_platform_id, MSG.c.author_is_municipality, MSG.c.imported_at]
    return [dict(r) for r in conn.execute(select(*cols).where(MSG.c.is_current.is_(True))).mappings()]


def _in_selection(row: dict[str, Any], sel: Selection) -> bool:
    day = utc(row["created_at"]).date()
    if sel.date_from and day < sel.date_from:
        return False
    if sel.date_to and day > sel.date_to:
        return False
    if sel.account and row["account_platform_id"] != sel.account:
        return False
    return True


def _arkivert(row: dict[str, Any], d: ExportDecision) -> datetime:
    imported = utc(row["imported_at"])
    decided = utc(d.decided_at) if d.decided_at else imported
    return max(imported, decided)


def _fetch(conn: Connection, table, column, ids: Iterable[Any]) -> list[dict[str, Any]]:
    ids = list(dict.fromkeys(ids))
    out: list[dict[str, Any]] = []
    for i in range(0, len(ids), 900):
        out.extend(dict(r) for r in conn.execute(select(table).where(column.in_(ids[i:i + 900]))).mappings())
    return out


def build_plan(conn: Connection, sel: Selection, klassifikasjon: Klassifikasjon | None = None) -> ExportPlan:
    """Decide what the selection becomes. Numbers are ranks over the whole database, so an
    export of one month gives the same saks- and journal numbers as an export of the year."""
    klassifikasjon = klassifikasjon or Klassifikasjon.default()
    light = _light_rows(conn)
    decisions = export_decisions(conn, [r["id"] for r in light])
    skipped = {"exclude": 0, "review": 0, "not_judged": 0}

    # Journal numbers: rank every journal-worthy message of the database within its year.
    journal_rows = [r for r in light if decisions[r["id"]].decision == "journal"]
    journal_rows.sort(key=lambda r: (_arkivert(r, decisions[r["id"]]), utc(r["created_at"]), r["platform"], r["platform_message_id"]))
    journal_no: dict[int, tuple[int, int]] = {}
    per_year: dict[int, int] = {}
    first_journal_of_thread: dict[Any, tuple] = {}
    for r in journal_rows:
        year = _arkivert(r, decisions[r["id"]]).year
        per_year[year] = per_year.get(year, 0) + 1
        journal_no[r["id"]] = (year, per_year[year])
        tkey = r["thread_id"] if r["thread_id"] is not None else ("solo", r["id"])
        first_journal_of_thread.setdefault(tkey, (year, per_year[year]))
    # Case numbers: threads ranked by their first journalpost within its year.
    sak_no: dict[Any, tuple[int, int]] = {}
    per_year = {}
    for tid, (year, seq) in sorted(first_journal_of_thread.items(), key=lambda kv: kv[1]):
        per_year[year] = per_year.get(year, 0) + 1
        sak_no[tid] = (year, per_year[year])

    selected: list[dict[str, Any]] = []
    for r in light:
        if not _in_selection(r, sel):
            continue
        d = decisions[r["id"]].decision
        if d in ("journal", "archive"):
            selected.append(r)
        elif d in ("exclude", "review"):
            skipped[d] += 1
        else:
            skipped["not_judged"] += 1

    thread_ids = sorted({r["thread_id"] for r in selected if r["thread_id"] is not None})
    threads_meta = {t["id"]: t for t in _fetch(conn, THR, THR.c.id, thread_ids)}
    context_rows = [r for r in _fetch(conn, MSG, MSG.c.thread_id, thread_ids) if r["is_current"]]
    by_id = {r["id"]: r for r in context_rows}
    # A message without a thread is its own context.
    for r in _fetch(conn, MSG, MSG.c.id, [r["id"] for r in selected if r["thread_id"] is None]):
        by_id[r["id"]] = r
    threads: dict[int, list[dict[str, Any]]] = {}
    for r in context_rows:
        threads.setdefault(r["thread_id"], []).append(r)
    for rows in threads.values():
        rows.sort(key=lambda m: (utc(m["created_at"]), m["platform_message_id"]))
    # decisions of context messages (for leaving out excluded ones in the rendering)
    missing = [r["id"] for r in context_rows if r["id"] not in decisions]
    if missing:
        decisions.update(export_decisions(conn, missing))
    # An identity number in a message screens it (offl. § 26 femte ledd), whatever was decided.
    for r in by_id.values():
        decisions[r["id"]] = screen_identity_numbers(decisions[r["id"]], r["text"])
    captures = {c["id"]: c for c in _fetch(conn, CAP, CAP.c.id, [r["capture_id"] for r in by_id.values() if r["capture_id"]])}
    attachments: dict[int, list[dict[str, Any]]] = {}
    for a in _fetch(conn, ATT, ATT.c.message_id, list(by_id)):
        attachments.setdefault(a["message_id"], []).append(a)
    for lst in attachments.values():
        lst.sort(key=lambda a: a["id"])
    units = {a["platform_id"]: a for a in conn.execute(select(ACC)).mappings()}

    mapper: list[MappePlan] = []
    sel_by_thread: dict[Any, list[dict[str, Any]]] = {}
    for r in selected:
        sel_by_thread.setdefault(r["thread_id"] if r["thread_id"] is not None else ("solo", r["id"]), []).append(by_id[r["id"]])

    archive_months: dict[tuple[str, str, str], list[RecordPlan]] = {}
    for key, rows in sel_by_thread.items():
        rows.sort(key=lambda m: (utc(m["created_at"]), m["platform_message_id"]))
        context = threads.get(key, rows) if not isinstance(key, tuple) else rows
        has_journal = any(decisions[m["id"]].decision == "journal" for m in rows)
        if has_journal:
            mapper.append(_saksmappe(key, rows, context, decisions, journal_no, sak_no, threads_meta, units, klassifikasjon))
        else:
            for m in rows:
                rec = _record(m, context, decisions[m["id"]], journal=False, thread_screening=None)
                month = utc(m["created_at"]).strftime("%Y-%m")
                archive_months.setdefault((m["platform"], m["account_platform_id"] or "ukjent", month), []).append(rec)
    for (platform, account, month), recs in sorted(archive_months.items()):
        recs.sort(key=lambda r: (utc(r.message["created_at"]), r.message["platform_message_id"]))
        acc = units.get(account)
        name = (acc["name"] if acc and acc["name"] else account)
        mapper.append(MappePlan(
            kind="mappe",
            system_id=stable_uuid("mappe", platform, account, month),
            mappeID=f"{platform}-{account}-{month}",
            tittel=f"{PLATFORM_LABEL.get(platform, platform)} – {name} – arkivert uten journalføring – {month}",
            offentlig_tittel=None,
            klasse=klassifikasjon.arkivering,
            records=recs,
        ))
    mapper.sort(key=lambda m: (m.klasse.klasseID, m.saksaar or 0, m.sakssekvensnummer or 0, m.mappeID))
    days = [utc(r["created_at"]).date() for r in selected]
    return ExportPlan(
        mapper=mapper, threads=threads, captures=captures, attachments=attachments,
        period_start=sel.date_from or (min(days) if days else None),
        period_end=sel.date_to or (max(days) if days else None),
        skipped=skipped, klassifikasjon=klassifikasjon,
        excluded_ids={r["id"] for r in context_rows if decisions[r["id"]].decision == "exclude"},
        context_decisions={i: decisions[i] for i in by_id},
    )


def _saksmappe(key, rows, context, decisions, journal_no, sak_no, threads_meta, units, klassifikasjon) -> MappePlan:
    journal_msgs = [m for m in rows if decisions[m["id"]].decision == "journal"]
    # A citizen whose message is screened under offl. § 13 keeps the name screened in every
    # journalpost of the case that has the person as its party (the reply names the person it
    # answers). Offl. § 26 femte ledd (the number only) screens no name.
    people: dict[str, str | None] = {}
    for c in context:
        scr = screening_of(decisions[c["id"]]) if c["id"] in decisions else None
        if scr is not None and scr.masks_names and not c["author_is_municipality"] and (c.get("author_name") or "").strip():
            people.setdefault(c["author_name"].strip(), scr.hjemmel)
    names = list(people)
    first = journal_msgs[0]
    records: list[RecordPlan] = []
    number = 0
    for m in rows:
        d = decisions[m["id"]]
        party = _recipient(m, context) if m["author_is_municipality"] else _author(m)
        by_name = Screening(True, people[party]) if party in people else None
        rec = _record(m, context, d, journal=d.decision == "journal", thread_screening=by_name, names=names)
        if rec.journal:
            number += 1
            rec.journalaar, rec.journalsekvensnummer = journal_no[m["id"]]
            rec.journalpostnummer = number
        records.append(rec)
    # The case is screened when a journalpost in it screens names (offl. § 13): its title may
    # name the person; the number of § 26 never reaches a title.
    name_posts = [r for r in records if r.journal and r.screened and r.masks_names]
    thread_screened = bool(name_posts)
    tid = key if not isinstance(key, tuple) else None
    thread_key = threads_meta[tid]["thread_key"] if tid in threads_meta else first["platform_message_id"]
    saksaar, sakssekvens = sak_no[key]
    hjemmel = name_posts[0].screening_hjemmel if name_posts else None
    acc = units.get(first["account_platform_id"] or "")
    categories = [c for m in journal_msgs for c in decisions[m["id"]].categories]
    klasse = klassifikasjon.for_categories(categories)
    label = channel_label(first["platform"], first["kind"], utc(first["created_at"]))
    summary = summary_of(without_identity_numbers(first["text"]))
    tittel = f"{summary} – {label}" if summary else label
    spans = tuple(sp for m in rows for sp in decisions[m["id"]].mask)
    offentlig: str | None = public_title(tittel, Screening(thread_screened, hjemmel, spans), names)
    if offentlig == tittel and not thread_screened:
        offentlig = None
    return MappePlan(
        kind="saksmappe", system_id=saksmappe_system_id(first["platform"], thread_key),
        mappeID=f"{saksaar}/{sakssekvens}", tittel=tittel, offentlig_tittel=offentlig, klasse=klasse,
        records=records, screened=thread_screened, hjemmel=hjemmel, saksaar=saksaar,
        sakssekvensnummer=sakssekvens,
        administrativ_enhet=(acc["unit"] if acc and acc["unit"] else "Ringebu kommune"),
        thread_id=tid,
    )


def _author(m: dict[str, Any]) -> str:
    name = (m.get("author_name") or "").strip()
    return name or ANONYM


def _recipient(m: dict[str, Any], context: list[dict[str, Any]]) -> str:
    """Whom a municipality reply answers: the parent's author, else the thread's first citizen."""
    by_pid = {c["platform_message_id"]: c for c in context}
    parent = by_pid.get(m.get("parent_platform_id") or "")
    if parent is not None and not parent["author_is_municipality"]:
        return _author(parent)
    for c in context:
        if not c["author_is_municipality"] and c["created_at"] <= m["created_at"]:
            return _author(c)
    return ANONYM


def _record(m: dict[str, Any], context: list[dict[str, Any]], d: ExportDecision, *, journal: bool,
            thread_screening: Screening | None, names: list[str] | None = None) -> RecordPlan:
    created = utc(m["created_at"])
    label = channel_label(m["platform"], m["kind"], created)
    own = screening_of(d)
    if not own.screen and journal and thread_screening is not None:
        own = Screening(True, thread_screening.hjemmel, own.spans)    # names screened for the case
    screened = own.screen
    summary = summary_of(without_identity_numbers(m["text"]))
    tittel = f"{summary} – {label}" if summary else label
    people = list(names or [])
    if own.masks_names and not m["author_is_municipality"]:
        people.append(m.get("author_name") or "")
    offentlig: str | None = public_title(tittel, own, people) if (screened or d.mask) else None
    if offentlig == tittel and not screened:
        offentlig = None
    rec = RecordPlan(
        message=m, decision=d, system_id=record_system_id(m["platform"], m["platform_message_id"]),
        journal=journal, tittel=tittel, offentlig_tittel=offentlig, screened=screened,
        opprettet=utc(m["imported_at"]), arkivert=_arkivert(m, d),
        screening_hjemmel=own.hjemmel if screened else None, masks_names=own.masks_names,
    )
    if journal:
        if m["author_is_municipality"]:
            rec.journalposttype = UTGAAENDE
            rec.korrespondanseparter = [("Mottaker", _recipient(m, context), own.masks_names)]
        else:
            rec.journalposttype = INNGAAENDE
            rec.korrespondanseparter = [("Avsender", _author(m), own.masks_names)]
    return rec
