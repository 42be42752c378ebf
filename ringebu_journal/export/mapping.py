"""From stored conversations to Noark 5: what becomes what.

* a thread with a numbered journalpost (``ringebu_journal.registry``) → one **saksmappe** with the
  registry's saksår/sakssekvensnummer, in the klasse of its first case category; each numbered
  message → a **journalpost** («Inngående dokument» from a citizen, «Utgående dokument» from the
  municipality) with the registry's numbers and journaldato; one whose decision is no longer
  journal keeps its number and gets journalstatus «Utgår» (documents only while it is still
  archived); the thread's messages that are only to be archived go into the same saksmappe as
  plain **registreringer**;
* a thread with only archive messages → **registreringer** in a **mappe per account and month**;
* excluded, unjudged and still-to-review messages without a number are not exported.

Everything the XML holds is derived from stored data, never from the clock: systemIDs are uuid5
of platform ids; numbers, journaldato, saksdato and the dates of journalposts and saksmapper come
from the registry, which never changes a row, so a moderator's later decision moves none of them.
Dates a person reads (dokumentetsDato, journaldato, saksdato, the date in titles, ``--from/--to``)
are days in the organisation profile's time zone (Europe/Oslo by default); timestamps are UTC. Exporting the same data twice gives the same
arkivstruktur.xml, byte for byte.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Connection

from noark import stable_uuid
from ringebu_journal import organisation
from ringebu_journal.clock import utc
from ringebu_journal.db.tables import Account, Attachment, Capture, Message, MessageAction
from ringebu_journal.errors import InputError, UsageError
from ringebu_journal.organisation import DEFAULTS as DEFAULT_ORGANISATION
from ringebu_journal.organisation import Organisation
from ringebu_journal.registry import Number, local_day, numbers
from ringebu_journal.textfold import drop_format

from .decisions import ExportDecision, export_decisions
from .masking import (
    HJEMMEL_13, Screening, json_strings, mask_words, name_spans, public_title, screen_identity_numbers, screening_of,
    thread_words, without_identity_numbers,
)

MSG = Message.__table__
CAP = Capture.__table__
ATT = Attachment.__table__
ACC = Account.__table__
ACT = MessageAction.__table__

SYSTEM = "ringebu-journal"
ANONYM = "Anonym / ukjent"
INNGAAENDE = "Inngående dokument"
UTGAAENDE = "Utgående dokument"
UNNTATT = "Unntatt offentlighet"
INTERN_AVSENDER = "Intern avsender"
ARKIVERT = "Arkivert"
UTGAAR = "Utgår"
#: recorded actions that close an incoming journalpost → avskrivningsmåte (Noark M619)
AVSKRIVNING = {"referred_post": "Tatt til etterretning", "replied": "Besvart med brev"}
#: the namespace of ringebu-journal's virksomhetsspesifikkeMetadata (documented in docs/export.md): the
#: product's schema name, the same for every organisation that uses it (not the organisation profile)
VSM_NS = "https://ringebu.kommune.no/ringebu-journal/noark5/virksomhetsspesifikke/1"
VSM_PREFIX = "rj"

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

_WS = re.compile(r"\s+")
_URL = re.compile(r"https?://\S+")
TITLE_MAX = 70
# words after which a full stop does not end a sentence (Norwegian abbreviations)
_ABBREV = {"f", "nr", "ca", "kl", "jf", "jfr", "dvs", "evt", "bl.a", "m.m", "mv", "osv", "pga", "iflg", "tlf",
           "st", "ref", "vedr", "mht", "ang", "gnr", "bnr", "pkt", "s", "d", "e.l", "f.eks", "el", "o.l"}
_GREETING = re.compile(r"^(?:hei(?:sann|\s+igjen)?|hallo|god\s+(?:morgen|dag|kveld)|heisann|morn)"
                       r"(?:\s+(?:alle|dere|kommune|[A-ZÆØÅ][\wæøåÆØÅ-]*))?\s*[,!.:;]+\s*|^(?:hei|hallo)\s+",
                       re.IGNORECASE)
# spans a title is never cut inside: dates, times, parentheses and quotations
_PROTECTED = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}\.\s?\d{1,2}\.\s?\d{2,4}\b"
    r"|\b\d{1,2}\.?\s(?:jan|feb|mar|apr|mai|jun|jul|aug|sep|okt|nov|des)[a-zæøå]*\.?(?:\s\d{4})?"
    r"|\bkl\.?\s?\d{1,2}[.:]\d{2}|\([^()]*\)|«[^«»]*»|\"[^\"]*\"", re.IGNORECASE)
_MIN_WORDS = 3


def _sentences(text: str) -> list[str]:
    """Split at a full stop, ! or ? followed by a capital letter, unless it ends an abbreviation
    or a number (so «f. 12.03.1980» and «kl. 10» stay whole), and at line breaks."""
    out: list[str] = []
    for line in re.split(r"\n+", text):
        start = 0
        for m in re.finditer(r"[.!?]+(?=\s+[«\"(]?[A-ZÆØÅ])", line):
            before = line[start:m.start()].rsplit(None, 1)
            word = before[-1].lower() if before else ""
            if m.group() == "." and (word in _ABBREV or (len(word) == 1 and not word.isdigit())):
                continue
            out.append(line[start:m.end()])
            start = m.end()
        out.append(line[start:])
    return [x.strip() for x in out if x.strip()]


def _cut(text: str, limit: int) -> str:
    """``text`` cut at a word boundary at most ``limit`` characters long, never inside a date, a
    time, a parenthesis or a quotation."""
    if len(text) <= limit:
        return text
    cut = limit
    for m in _PROTECTED.finditer(text):
        if m.start() < cut < m.end():
            cut = m.start()
    head = text[:cut]
    if cut < len(text) and not text[cut].isspace():
        head = head.rsplit(" ", 1)[0] if " " in head else ""
    head = head.rstrip(",;:–-( ")
    return (head or text[:limit].rsplit(" ", 1)[0]) + "…"


def summary_of(text: str, limit: int = TITLE_MAX) -> str:
    """A short summary of ``text`` for a title: without links and greetings, whole sentences
    until it says something (at least three words), cut at a word boundary. Empty when the text
    says nothing of its own («Samme her», «Takk!»)."""
    text = _URL.sub("", text or "").strip()
    text = _GREETING.sub("", text, count=1).strip()
    parts: list[str] = []
    for sentence in _sentences(text):
        parts.append(sentence)
        if len(" ".join(parts).split()) >= _MIN_WORDS + 2:
            break
    summary = _WS.sub(" ", " ".join(parts)).strip().rstrip(".!?:;, ")
    if len(summary.split()) < _MIN_WORDS:
        return ""
    summary = _cut(summary, limit)
    return summary[:1].upper() + summary[1:]


def channel_label(platform: str, kind: str, when: datetime, zone: ZoneInfo = DEFAULT_ORGANISATION.zone) -> str:
    """E.g. «Facebook-kommentar 2026-03-02» (the day in the organisation's time zone)."""
    return (f"{PLATFORM_LABEL.get(platform, platform.capitalize())}-{KIND_LABEL.get(kind, kind)} "
            f"{local_day(when, zone).isoformat()}")


def category_label(categories: Iterable[str]) -> str:
    for c in categories:
        if c in CATEGORY_LABEL:
            return CATEGORY_LABEL[c]
    return "Henvendelse"


def matter_of(m: dict[str, Any], categories: Iterable[str]) -> str:
    """The kind of matter a records manager names a journalpost by."""
    label = category_label(categories)
    if not m.get("author_is_municipality"):
        return label
    if m.get("parent_platform_id") or m.get("conversation_id"):
        return "Svar" if label == "Henvendelse" else f"Svar på {label[:1].lower() + label[1:]}"
    return "Kunngjøring fra kommunen" if label == "Henvendelse" else label


def record_title(m: dict[str, Any], categories: Iterable[str], case_summary: str = "",
                 zone: ZoneInfo = DEFAULT_ORGANISATION.zone) -> str:
    """«Klage: Jeg klager på avslaget om skoleskyss for datteren min – Facebook-kommentar 2026-03-02».
    A message that says nothing of its own is named by its matter and, in a case, the case."""
    label = channel_label(m["platform"], m["kind"], utc(m["created_at"]), zone)
    matter = matter_of(m, categories)
    summary = summary_of(without_identity_numbers(m["text"]))
    if summary:
        return f"{matter}: {summary} – {label}"
    if case_summary:
        return f"{matter}: innspill i saken «{case_summary}» – {label}"
    return f"{matter} – {label}"


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
    journalstatus: str = ARKIVERT
    number: Number | None = None                  # the registry's row (journalposts)
    korrespondanseparter: list[tuple[str, str, bool]] = field(default_factory=list)
    parter: list[dict[str, Any]] = field(default_factory=list)   # platform, handle, id per korrespondansepart
    avskrivning: list[dict[str, Any]] = field(default_factory=list)
    documents: list[DocPlan] = field(default_factory=list)
    unsupported: list[dict[str, Any]] = field(default_factory=list)
    zone: ZoneInfo = field(default=DEFAULT_ORGANISATION.zone, repr=False)   # the organisation's days

    @property
    def journaldato(self) -> date:
        return self.number.journaldato if self.number else local_day(self.arkivert, self.zone)

    @property
    def dokumentets_dato(self) -> date:
        return local_day(self.message["created_at"], self.zone)


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
    administrativ_enhet: str = DEFAULT_ORGANISATION.name
    thread_id: int | None = None
    saksdato: date | None = None
    saksansvarlig: str | None = None
    saksstatus: str = "Avsluttet"
    case_opened: datetime | None = None          # saksmappe: the registry's time the case was opened
    case_closed: datetime | None = None          # saksmappe: its last journalpost's registry time

    @property
    def opprettet(self) -> datetime:
        if self.case_opened is not None:
            return self.case_opened
        return min(r.opprettet for r in self.records)

    @property
    def avsluttet(self) -> datetime:
        if self.case_closed is not None:
            return self.case_closed
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
    unnumbered: list[int] = field(default_factory=list)   # journal now, but stored without the registry
    organisation: Organisation = DEFAULT_ORGANISATION      # the profile the plan was made with

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


def record_system_id(platform: str, platform_message_id: str) -> str:
    """The registrering/journalpost systemID of a platform message (stable across versions)."""
    return stable_uuid("registrering", platform, platform_message_id)


def saksmappe_system_id(platform: str, thread_key: str) -> str:
    return stable_uuid("saksmappe", platform, thread_key)


def _light_rows(conn: Connection) -> list[dict[str, Any]]:
    cols = [MSG.c.id, MSG.c.platform, MSG.c.platform_message_id, MSG.c.thread_id, MSG.c.created_at,
            MSG.c.account_platform_id, MSG.c.author_is_municipality, MSG.c.imported_at]
    return [dict(r) for r in conn.execute(select(*cols).where(MSG.c.is_current.is_(True))).mappings()]


def _in_selection(row: dict[str, Any], sel: Selection, zone: ZoneInfo) -> bool:
    day = local_day(row["created_at"], zone)
    if sel.date_from and day < sel.date_from:
        return False
    if sel.date_to and day > sel.date_to:
        return False
    if sel.account and row["account_platform_id"] != sel.account:
        return False
    return True


def _arkivert(row: dict[str, Any], number: Number | None) -> datetime:
    """A journalpost is archived when it was numbered; any other registrering when it was stored."""
    imported = utc(row["imported_at"])
    return max(imported, number.assigned_at) if number else imported


def _fetch(conn: Connection, table, column, ids: Iterable[Any]) -> list[dict[str, Any]]:
    ids = list(dict.fromkeys(ids))
    out: list[dict[str, Any]] = []
    for i in range(0, len(ids), 900):
        out.extend(dict(r) for r in conn.execute(select(table).where(column.in_(ids[i:i + 900]))).mappings())
    return out


def _thread_key(r: dict[str, Any]) -> Any:
    return r["thread_id"] if r["thread_id"] is not None else ("solo", r["id"])


def _actions(conn: Connection, rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The recorded actions of the given messages (every version), by (platform, platform id)."""
    rows = list(rows)
    key_of = {r["id"]: (r["platform"], r["platform_message_id"]) for r in rows}
    pmids = sorted({k[1] for k in key_of.values()})
    for i in range(0, len(pmids), 900):
        for v in conn.execute(select(MSG.c.id, MSG.c.platform, MSG.c.platform_message_id)
                              .where(MSG.c.platform_message_id.in_(pmids[i:i + 900]))):
            key_of.setdefault(v.id, (v.platform, v.platform_message_id))
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in _fetch(conn, ACT, ACT.c.message_id, list(key_of)):
        out.setdefault(key_of[a["message_id"]], []).append(a)
    for lst in out.values():
        lst.sort(key=lambda a: (utc(a["recorded_at"]), a["id"]))
    return out


def build_plan(conn: Connection, sel: Selection, klassifikasjon: Klassifikasjon | None = None) -> ExportPlan:
    """Decide what the selection becomes. Numbers and their dates come from the registry, so an
    export of one month shows the same saks- and journal numbers as an export of the year, and an
    export after a moderator's change shows the same numbers and dates as the one before it.

    The steps, in order: select the messages (:func:`_select`), load their threads, captures and
    attachments (:func:`_load_context`), screen identity numbers wherever they appear
    (:func:`_screen_identity_numbers`), group the records into saksmapper and monthly mapper
    (:func:`_group_mapper`) and date the arkivdel (:func:`_period`)."""
    klassifikasjon = klassifikasjon or Klassifikasjon.default()
    org = organisation.read(conn)
    light = _light_rows(conn)
    decisions = export_decisions(conn, [r["id"] for r in light])
    registry = numbers(conn)
    selected, skipped, unnumbered = _select(light, sel, decisions, registry, org.zone)
    ctx = _load_context(conn, selected, decisions)
    _screen_identity_numbers(ctx, decisions)
    mapper = _group_mapper(conn, selected, ctx, decisions, registry, klassifikasjon, org)
    start, end = _period(sel, selected, mapper, org.zone)
    return ExportPlan(
        mapper=mapper, threads=ctx.threads, captures=ctx.captures, attachments=ctx.attachments,
        period_start=start, period_end=end,
        skipped=skipped, klassifikasjon=klassifikasjon,
        excluded_ids={r["id"] for r in ctx.context_rows if decisions[r["id"]].decision == "exclude"},
        context_decisions={i: decisions[i] for i in ctx.by_id},
        unnumbered=unnumbered, organisation=org,
    )


def _select(light: list[dict[str, Any]], sel: Selection, decisions: dict[int, ExportDecision],
            registry: dict[tuple[str, str], Number], zone: ZoneInfo
            ) -> tuple[list[dict[str, Any]], dict[str, int], list[int]]:
    """The selection's messages that are exported (journal, archive, or numbered before), the
    count of those left out by decision, and the journal ones stored without a number."""
    skipped = {"exclude": 0, "review": 0, "not_judged": 0}
    unnumbered: list[int] = []
    selected: list[dict[str, Any]] = []
    for r in light:
        if not _in_selection(r, sel, zone):
            continue
        d = decisions[r["id"]].decision
        if d == "journal" and (r["platform"], r["platform_message_id"]) not in registry:
            unnumbered.append(r["id"])
        if d in ("journal", "archive") or (r["platform"], r["platform_message_id"]) in registry:
            selected.append(r)
        elif d in ("exclude", "review"):
            skipped[d] += 1
        else:
            skipped["not_judged"] += 1
    return selected, skipped, unnumbered


@dataclass
class _Context:
    """The selected messages' full rows and what surrounds them."""

    context_rows: list[dict[str, Any]]            # every current message of the selected threads
    by_id: dict[int, dict[str, Any]]              # those, and each selected message without a thread
    threads: dict[int, list[dict[str, Any]]]      # thread id → its current messages, in time order
    captures: dict[int, dict[str, Any]]
    attachments: dict[int, list[dict[str, Any]]]


def _load_context(conn: Connection, selected: list[dict[str, Any]],
                  decisions: dict[int, ExportDecision]) -> _Context:
    """Threads, captures and attachments of the selection; the decisions of context messages are
    added to ``decisions`` (to leave excluded ones out of the renderings)."""
    thread_ids = sorted({r["thread_id"] for r in selected if r["thread_id"] is not None})
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
    missing = [r["id"] for r in context_rows if r["id"] not in decisions]
    if missing:
        decisions.update(export_decisions(conn, missing))
    captures = {c["id"]: c for c in _fetch(conn, CAP, CAP.c.id, [r["capture_id"] for r in by_id.values() if r["capture_id"]])}
    attachments: dict[int, list[dict[str, Any]]] = {}
    for a in _fetch(conn, ATT, ATT.c.message_id, list(by_id)):
        attachments.setdefault(a["message_id"], []).append(a)
    for lst in attachments.values():
        lst.sort(key=lambda a: a["id"])
    return _Context(context_rows, by_id, threads, captures, attachments)


def _screen_identity_numbers(ctx: _Context, decisions: dict[int, ExportDecision]) -> None:
    """An identity number in a message — its text, its author's name, an attachment's file name,
    its Originaldata — screens it (offl. § 26 femte ledd), whatever was decided. Names and file
    names are then used with the number masked everywhere (titles, parties, documents); only the
    Originaldata, screened whole, keeps it."""
    for r in ctx.by_id.values():
        atts = ctx.attachments.get(r["id"], [])
        decisions[r["id"]] = screen_identity_numbers(
            decisions[r["id"]], r["text"], r.get("author_name"), r.get("author_id"), *(a.get("filename") for a in atts),
            *json_strings(r.get("raw")), *json_strings(json.dumps(r.get("extra") or {}, ensure_ascii=False)))
        for k in ("author_name", "author_id"):
            if r.get(k):
                r[k] = without_identity_numbers(r[k])
        for a in atts:
            if a.get("filename"):
                a["filename"] = without_identity_numbers(a["filename"])


def _group_mapper(conn: Connection, selected: list[dict[str, Any]], ctx: _Context,
                  decisions: dict[int, ExportDecision], registry: dict[tuple[str, str], Number],
                  klassifikasjon: Klassifikasjon, org: Organisation) -> list[MappePlan]:
    """A saksmappe for each thread with a numbered message; the other selected messages in a
    mappe per platform, account and month; in klasse, saksnummer and mappeID order."""
    units = {a["platform_id"]: a for a in conn.execute(select(ACC)).mappings()}
    actions = _actions(conn, ctx.by_id.values())
    case_journalposts: dict[int, list[Number]] = {}
    for n in registry.values():
        case_journalposts.setdefault(n.case_id, []).append(n)

    mapper: list[MappePlan] = []
    sel_by_thread: dict[Any, list[dict[str, Any]]] = {}
    for r in selected:
        sel_by_thread.setdefault(_thread_key(r), []).append(ctx.by_id[r["id"]])

    archive_months: dict[tuple[str, str, str], list[RecordPlan]] = {}
    for key, rows in sel_by_thread.items():
        rows.sort(key=lambda m: (utc(m["created_at"]), m["platform_message_id"]))
        context = ctx.threads.get(key, rows) if not isinstance(key, tuple) else rows
        if any((m["platform"], m["platform_message_id"]) in registry for m in rows):
            mapper.append(_saksmappe(key, rows, context, decisions, registry, case_journalposts, units,
                                     klassifikasjon, actions, org))
        else:
            for m in rows:
                rec = _record(m, context, decisions[m["id"]], None, thread_screening=None, units=units, org=org)
                month = local_day(m["created_at"], org.zone).strftime("%Y-%m")
                archive_months.setdefault((m["platform"], m["account_platform_id"] or "ukjent", month), []).append(rec)
    mapper.extend(_archive_mapper(archive_months, units, klassifikasjon, org))
    mapper.sort(key=lambda m: (m.klasse.klasseID, m.saksaar or 0, m.sakssekvensnummer or 0, m.mappeID))
    return mapper


def _archive_mapper(archive_months: dict[tuple[str, str, str], list[RecordPlan]], units: dict[str, Any],
                    klassifikasjon: Klassifikasjon, org: Organisation) -> list[MappePlan]:
    """One mappe per platform, account and month for the records archived without journalføring."""
    out: list[MappePlan] = []
    for (platform, account, month), recs in sorted(archive_months.items()):
        recs.sort(key=lambda r: (utc(r.message["created_at"]), r.message["platform_message_id"]))
        acc = units.get(account)
        name = (acc["name"] if acc and acc["name"] else account)
        out.append(MappePlan(
            kind="mappe",
            system_id=stable_uuid("mappe", platform, account, month),
            mappeID=f"{platform}-{account}-{month}",
            tittel=f"{PLATFORM_LABEL.get(platform, platform)} – {name} – arkivert uten journalføring – {month}",
            offentlig_tittel=None,
            klasse=klassifikasjon.arkivering,
            records=recs,
            administrativ_enhet=org.name,
        ))
    return out


def numbered_plan(db, sel: Selection, klassifikasjon: Klassifikasjon | None = None) -> ExportPlan:
    """:func:`build_plan`, after numbering journal decisions that were stored around the registry
    (written into the tables by another tool) — by their decision time, as migration 0005_numbers
    does. A no-op in normal work: the judge and the moderators number in their own transaction."""
    from ringebu_journal.registry import assign_missing

    with db.read() as conn:
        plan = build_plan(conn, sel, klassifikasjon)
    if not plan.unnumbered:
        return plan
    with db.write() as conn:
        assign_missing(conn, actor=SYSTEM, message_ids=plan.unnumbered)
    with db.read() as conn:
        return build_plan(conn, sel, klassifikasjon)


def _period(sel: Selection, selected: list[dict[str, Any]], mapper: list[MappePlan],
            zone: ZoneInfo) -> tuple[date | None, date | None]:
    """The arkivdel period: the selected messages' days (Oslo; ``--from/--to`` when given), widened
    to every journaldato and saksdato in the package — a message is journalført after it is
    written, and a case may have been opened before the selection — so no journalpost or saksmappe
    falls outside its arkivdel."""
    days = [local_day(r["created_at"], zone) for r in selected]
    start = sel.date_from or (min(days) if days else None)
    end = sel.date_to or (max(days) if days else None)
    dated = [r.journaldato for m in mapper for r in m.records if r.journal]
    dated += [m.saksdato for m in mapper if m.saksdato is not None]
    if dated:
        start = min([start] + dated) if start else min(dated)
        end = max([end] + dated) if end else max(dated)
    return start, end


def _case_subject(first: dict[str, Any], categories: list[str], screened: bool, mask: list[str]) -> str:
    """The case's summary: what the first citizen (else the first) journalpost of the case says."""
    return summary_of(without_identity_numbers(first["text"]), 60)


def _saksmappe(key, rows, context, decisions, registry, case_journalposts, units, klassifikasjon, actions,
               org: Organisation) -> MappePlan:
    numbered = [m for m in rows if (m["platform"], m["platform_message_id"]) in registry]
    # A citizen whose message is screened under offl. § 13 keeps the name screened in every
    # journalpost of the case that has the person as its party (the reply names the person it
    # answers). Offl. § 26 femte ledd (the number only) screens no name.
    people: dict[str, str | None] = {}
    for c in context:
        scr = screening_of(decisions[c["id"]]) if c["id"] in decisions else None
        if scr is not None and scr.masks_names and not c["author_is_municipality"] and (c.get("author_name") or "").strip():
            people.setdefault(c["author_name"].strip(), scr.hjemmel)
    names = list(people)
    # the words the judge masked in a message screened under § 13 are masked where another message
    # of the case repeats them (a reply quotes the child's name or the diagnosis)
    words = thread_words(context, decisions)
    case_id = registry[(numbered[0]["platform"], numbered[0]["platform_message_id"])].case_id
    case_numbers = sorted(case_journalposts[case_id], key=lambda n: n.journalpostnummer)
    case = case_numbers[0]
    by_key = {(m["platform"], m["platform_message_id"]): m for m in context}
    by_key.update({(m["platform"], m["platform_message_id"]): m for m in rows})
    in_case = [by_key[(n.platform, n.platform_message_id)] for n in case_numbers
               if (n.platform, n.platform_message_id) in by_key]
    first = next((m for m in in_case if not m["author_is_municipality"]), in_case[0] if in_case else numbered[0])
    d_first = decisions.get(first["id"]) or decisions[numbered[0]["id"]]
    categories = [c for m in in_case for c in (decisions[m["id"]].categories if m["id"] in decisions else ())]
    categories = [c for c in d_first.categories] + categories
    matter = category_label(categories)
    subject = _case_subject(first, categories, False, list(d_first.mask))
    records: list[RecordPlan] = []
    for m in rows:
        d = decisions[m["id"]]
        number = registry.get((m["platform"], m["platform_message_id"]))
        party_row = _recipient(m, context) if m["author_is_municipality"] else m
        pname = ((party_row or {}).get("author_name") or "").strip()
        by_name = Screening(True, people[pname]) if pname in people else None
        records.append(_record(m, context, d, number, thread_screening=by_name, names=names, units=units,
                               case_summary=subject, words=words, org=org))
    _avskriv(records, actions, org.zone)
    # The case is screened when a journalpost in it screens names (offl. § 13): its title may
    # name the person; the number of § 26 never reaches a title.
    name_posts = [r for r in records if r.journal and r.screened and r.masks_names]
    thread_screened = bool(name_posts)
    tid = key if not isinstance(key, tuple) else None
    hjemmel = name_posts[0].screening_hjemmel if name_posts else None
    acc = units.get(first["account_platform_id"] or "")
    klasse = klassifikasjon.for_categories(categories)
    label = channel_label(first["platform"], first["kind"], utc(first["created_at"]), org.zone)
    tittel = f"{matter} – {subject}" if subject else f"{matter} – {label}"
    spans = tuple(sp for m in rows for sp in decisions[m["id"]].mask)
    offentlig: str | None = mask_words(public_title(tittel, Screening(thread_screened, hjemmel, spans), names),
                                       [*name_spans(names), *words])
    if offentlig == tittel and not thread_screened:
        offentlig = None
    journal = [r for r in records if r.journal]
    return MappePlan(
        kind="saksmappe", system_id=saksmappe_system_id(first["platform"], case.case_key.split(":", 2)[2]),
        mappeID=f"{case.saksaar}/{case.sakssekvensnummer}", tittel=tittel, offentlig_tittel=offentlig, klasse=klasse,
        records=records, screened=thread_screened, hjemmel=hjemmel, saksaar=case.saksaar,
        sakssekvensnummer=case.sakssekvensnummer,
        administrativ_enhet=(acc["unit"] if acc and acc["unit"] else org.name),
        thread_id=tid, saksdato=case.saksdato,
        saksansvarlig=min(case_numbers, key=lambda n: n.journalpostnummer).assigned_by,
        saksstatus=UTGAAR if journal and all(r.journalstatus == UTGAAR for r in journal) else "Avsluttet",
        case_opened=case.case_assigned_at, case_closed=max(n.assigned_at for n in case_numbers),
    )


def _avskriv(records: list[RecordPlan], actions: dict[tuple[str, str], list[dict[str, Any]]], zone: ZoneInfo) -> None:
    """Avskrivning of incoming journalposts the page closed: a recorded ``referred_post`` or
    ``replied`` on the message itself, or on the municipality's answer to it (whose journalpost,
    when there is one, is referanseAvskrivesAvJournalpost)."""
    for rec in records:
        m = rec.message
        if not rec.journal or rec.journalstatus != ARKIVERT or m["author_is_municipality"]:
            continue
        found: list[tuple[Any, dict[str, Any], RecordPlan | None]] = []
        for a in actions.get((m["platform"], m["platform_message_id"]), []):
            if a["action"] in AVSKRIVNING:
                found.append((utc(a["recorded_at"]), a, None))
        for other in records:
            o = other.message
            if o["author_is_municipality"] and o.get("parent_platform_id") == m["platform_message_id"]:
                for a in actions.get((o["platform"], o["platform_message_id"]), []):
                    if a["action"] in AVSKRIVNING:
                        found.append((utc(a["recorded_at"]), a, other if other.journal else None))
        if not found:
            continue
        at, a, answer = min(found, key=lambda f: (f[0], f[1]["id"]))
        rec.avskrivning = [{
            "avskrivningsdato": local_day(at, zone), "avskrevetAv": a["actor"], "avskrivningsmaate": AVSKRIVNING[a["action"]],
            "referanseAvskrivesAvJournalpost": answer.system_id if answer is not None and answer.journalstatus == ARKIVERT else None,
        }]


def _handle(m: dict[str, Any]) -> str | None:
    extra = m.get("extra") if isinstance(m.get("extra"), dict) else {}
    for k in ("username", "handle", "screen_name"):
        v = extra.get(k)
        if isinstance(v, str) and v.strip():
            return v.strip().lstrip("@")
    if m["platform"] == "instagram" and (m.get("author_name") or "").strip():
        return m["author_name"].strip().lstrip("@")      # Instagram gives the username, never a name
    return None


def party(m: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The korrespondansepart's name and what identifies the person on the platform.

    The name is the person's name when the platform gave one; otherwise the platform's handle or
    id, said as such («Instagram-bruker @kari_n», «X-bruker 1234567»); «Anonym / ukjent» only when
    nothing is known."""
    handle = _handle(m)
    name = (m.get("author_name") or "").strip()
    pid = (m.get("author_id") or "").strip() or None
    label = PLATFORM_LABEL.get(m["platform"], m["platform"].capitalize())
    if name and (handle is None or name.lstrip("@") != handle):
        shown = without_identity_numbers(name)
    elif handle:
        shown = f"{label}-bruker @{handle}"
    elif pid:
        shown = f"{label}-bruker {pid}"
    else:
        shown = ANONYM
    return shown, {"plattform": m["platform"], "brukernavn": handle, "brukerID": pid}


def _recipient(m: dict[str, Any], context: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Whom a municipality reply answers: the parent's author, else the thread's first citizen."""
    by_pid = {c["platform_message_id"]: c for c in context}
    parent = by_pid.get(m.get("parent_platform_id") or "")
    if parent is not None and not parent["author_is_municipality"]:
        return parent
    for c in context:
        if not c["author_is_municipality"] and c["created_at"] <= m["created_at"]:
            return c
    return None


def _record(m: dict[str, Any], context: list[dict[str, Any]], d: ExportDecision, number: Number | None, *,
            thread_screening: Screening | None, units: dict[str, Any], names: list[str] | None = None,
            case_summary: str = "", words: list[str] | None = None,
            org: Organisation = DEFAULT_ORGANISATION) -> RecordPlan:
    journal = number is not None
    own = screening_of(d)
    if not own.screen and journal and thread_screening is not None:
        own = Screening(True, thread_screening.hjemmel, own.spans)    # names screened for the case
    case_words = [*name_spans(names or []), *(words or [])]
    if not own.screen and case_words and not m["author_is_municipality"] \
            and mask_words(m["text"] or "", case_words) != drop_format(m["text"] or ""):
        # a message that names a person screened under § 13 in the case, or repeats what was masked
        # in another message (the child's name, the diagnosis), is screened on the same ground
        own = Screening(True, HJEMMEL_13, own.spans)
    screened = own.screen
    tittel = record_title(m, d.categories, case_summary, org.zone)
    people = list(names or [])
    if own.masks_names and not m["author_is_municipality"]:
        people.append(m.get("author_name") or "")
    # offentligTittel: the record's own screening, then the names screened under § 13 in the case
    # and the words masked in other messages of the case, in every title of the case, screened or not
    offentlig: str | None = mask_words(public_title(tittel, own, people), [*name_spans(names or []), *(words or [])])
    if offentlig == tittel and not screened:
        offentlig = None
    rec = RecordPlan(
        message=m, decision=d, system_id=record_system_id(m["platform"], m["platform_message_id"]),
        journal=journal, tittel=tittel, offentlig_tittel=offentlig, screened=screened,
        opprettet=utc(m["imported_at"]), arkivert=_arkivert(m, number),
        screening_hjemmel=own.hjemmel if screened else None, masks_names=own.masks_names, zone=org.zone,
    )
    if number is not None:
        rec.number = number
        rec.journalaar, rec.journalsekvensnummer = number.journalaar, number.journalsekvensnummer
        rec.journalpostnummer = number.journalpostnummer
        rec.journalstatus = ARKIVERT if d.decision == "journal" else UTGAAR
        if m["author_is_municipality"]:
            rec.journalposttype = UTGAAENDE
            answered = _recipient(m, context) if (m.get("parent_platform_id") or m.get("conversation_id")) else None
            if answered is not None:
                name, meta = party(answered)
                rec.korrespondanseparter = [("Mottaker", name, own.masks_names)]
                rec.parter = [dict(meta, korrespondanseparttype="Mottaker")]
            elif m.get("parent_platform_id") or m.get("conversation_id"):
                rec.korrespondanseparter = [("Mottaker", ANONYM, own.masks_names)]
                rec.parter = [{"korrespondanseparttype": "Mottaker", "plattform": m["platform"]}]
            else:
                # the municipality's own public post has no recipient: its sender is the unit
                acc = units.get(m.get("account_platform_id") or "")
                unit = (acc["unit"] if acc and acc["unit"] else None) or (acc["name"] if acc and acc["name"] else None)
                rec.korrespondanseparter = [(INTERN_AVSENDER, unit or org.name, False)]
                rec.parter = [{"korrespondanseparttype": INTERN_AVSENDER, "plattform": m["platform"],
                               "brukerID": m.get("author_id")}]
        else:
            rec.journalposttype = INNGAAENDE
            name, meta = party(m)
            rec.korrespondanseparter = [("Avsender", name, own.masks_names)]
            rec.parter = [dict(meta, korrespondanseparttype="Avsender")]
    return rec
