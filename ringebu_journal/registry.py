"""The registry of numbers: saks- and journal numbers given once, in the transaction that decides.

Invariants:

* **Given once.** When a message's effective decision (``moderation.effective_decisions``)
  becomes *journal* and it has no number yet, :func:`register` gives it, in the same transaction
  as the judgment or moderator decision that made it journal: journalår and journalsekvensnummer
  (the next in that year), the case it belongs to (a thread is one case; a message without a
  thread is its own case) with saksår and sakssekvensnummer when the case is new,
  journalpostnummer (the next in the case) and journaldato. Nothing ever changes or removes a
  row: a journalpost whose decision is later reversed keeps its number, and the export shows it
  with journalstatus «Utgår» (``ringebu_journal.export.mapping``).
* **Dates are the decision's, read in the organisation's time zone** (``organisation.py``;
  Europe/Oslo by default). journaldato, saksdato, journalår and saksår are the local day and
  year of the decision time that made the message journal; ``assigned_at``
  keeps that time in UTC. A later decision never moves them.
* **Serialised.** Numbers are "the highest so far + 1", read and written under the database's
  write lock: ``BEGIN IMMEDIATE`` on SQLite (every write transaction, ``db/engine.py``), and on
  PostgreSQL the same transaction-scoped advisory lock the audit trail takes, so two processes
  deciding at once never draw the same number (the unique constraints are the last guard).
* **One hook.** The judge (``judging.judge_stored``) and the moderators (``moderation._store_one``)
  call :func:`register` right after storing their row and before the audit event; nothing else
  assigns numbers during normal work. :func:`assign_missing` numbers journal messages that were
  stored without the hook (databases from before the registry, migration ``0005_numbers``) in a
  deterministic order: by decision time, then creation time, platform and platform id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection

from . import organisation
from .clock import utc
from .db.tables import CaseNumber, JournalNumber, Message, Thread

MSG = Message.__table__
THR = Thread.__table__
CASES = CaseNumber.__table__
NUMBERS = JournalNumber.__table__

# The audit trail's pg_advisory_xact_lock key ("RJAU"): one lock for every numbered write.
_PG_LOCK_KEY = 0x524A4155
_CHUNK = 500


def local_day(dt: datetime, zone: ZoneInfo) -> date:
    """The day a person in the organisation reads for a stored (UTC) time."""
    return utc(dt).astimezone(zone).date()


@dataclass(frozen=True)
class Assigned:
    message_id: int
    saksaar: int
    sakssekvensnummer: int
    journalaar: int
    journalsekvensnummer: int
    journalpostnummer: int
    journaldato: date
    new_case: bool


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def _case_key(platform: str, thread_key: str | None, platform_message_id: str) -> str:
    if thread_key is not None:
        return f"thread:{platform}:{thread_key}"
    return f"message:{platform}:{platform_message_id}"


def _rows(conn: Connection, ids: Sequence[int]) -> list[dict]:
    out: list[dict] = []
    for i in range(0, len(ids), _CHUNK):
        part = list(ids[i:i + _CHUNK])
        stmt = (select(MSG.c.id, MSG.c.platform, MSG.c.platform_message_id, MSG.c.thread_id, MSG.c.created_at,
                       MSG.c.imported_at, THR.c.thread_key)
                .select_from(MSG.outerjoin(THR, THR.c.id == MSG.c.thread_id))
                .where(MSG.c.id.in_(part)))
        out.extend(dict(r) for r in conn.execute(stmt).mappings())
    return out


def _numbered(conn: Connection, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    keys = list(set(keys))
    found: set[tuple[str, str]] = set()
    for i in range(0, len(keys), _CHUNK):
        pmids = [k[1] for k in keys[i:i + _CHUNK]]
        for r in conn.execute(select(NUMBERS.c.platform, NUMBERS.c.platform_message_id)
                              .where(NUMBERS.c.platform_message_id.in_(pmids))):
            found.add((r.platform, r.platform_message_id))
    return found & set(keys)


def _next(conn: Connection, column, where) -> int:
    return int(conn.execute(select(func.coalesce(func.max(column), 0)).where(where)).scalar() or 0) + 1


def _assign_one(conn: Connection, row: dict, at: datetime, actor: str, zone: ZoneInfo) -> Assigned:
    at = utc(at)
    day = local_day(at, zone)
    key = _case_key(row["platform"], row["thread_key"], row["platform_message_id"])
    case = conn.execute(select(CASES).where(CASES.c.case_key == key)).mappings().first()
    new_case = case is None
    if new_case:
        seq = _next(conn, CASES.c.sakssekvensnummer, CASES.c.saksaar == day.year)
        case_id = int(conn.execute(CASES.insert().values(
            case_key=key, platform=row["platform"], thread_id=row["thread_id"], saksaar=day.year,
            sakssekvensnummer=seq, saksdato=day, assigned_at=at, assigned_by=actor,
        )).inserted_primary_key[0])
        saksaar, sakssekvens = day.year, seq
    else:
        case_id, saksaar, sakssekvens = int(case["id"]), int(case["saksaar"]), int(case["sakssekvensnummer"])
    jseq = _next(conn, NUMBERS.c.journalsekvensnummer, NUMBERS.c.journalaar == day.year)
    jpnr = _next(conn, NUMBERS.c.journalpostnummer, NUMBERS.c.case_id == case_id)
    conn.execute(NUMBERS.insert().values(
        platform=row["platform"], platform_message_id=row["platform_message_id"], message_id=row["id"],
        case_id=case_id, journalaar=day.year, journalsekvensnummer=jseq, journalpostnummer=jpnr,
        journaldato=day, assigned_at=at, assigned_by=actor,
    ))
    return Assigned(row["id"], saksaar, sakssekvens, day.year, jseq, jpnr, day, new_case)


def register(conn: Connection, message_ids: Iterable[int], *, at: datetime, actor: str,
             effective: dict[int, str | None] | None = None) -> list[Assigned]:
    """Number every message of ``message_ids`` whose effective decision is now journal and that has
    no number yet. Call it inside the write transaction that stored the decision, with the
    decision's time ``at`` and the actor who made it. ``effective`` (message id → effective
    decision) spares the lookup when the caller has just computed it."""
    from .moderation import effective_decisions

    ids = list(dict.fromkeys(int(i) for i in message_ids))
    if not ids:
        return []
    if effective is None:
        effective = {i: e.decision for i, e in effective_decisions(conn, ids).items()}
    journal = [i for i in ids if effective.get(i) == "journal"]
    if not journal:
        return []
    _lock(conn)
    rows = _rows(conn, journal)
    done = _numbered(conn, [(r["platform"], r["platform_message_id"]) for r in rows])
    rows = [r for r in rows if (r["platform"], r["platform_message_id"]) not in done]
    rows.sort(key=lambda r: (utc(r["created_at"]), r["platform"], r["platform_message_id"]))
    zone = organisation.read(conn).zone
    return [_assign_one(conn, r, at, actor, zone) for r in rows]


def assign_missing(conn: Connection, actor: str = "ringebu-journal",
                   message_ids: Iterable[int] | None = None) -> list[Assigned]:
    """Number the current messages that are journal but were stored without :func:`register`.

    Deterministic: ordered by the effective decision's time (not before the import), then creation
    time, platform and platform id; each gets the local day of that decision time as journaldato.
    ``message_ids`` limits the search to those messages (the exporter's safety net).
    """
    from .moderation import effective_decisions

    if message_ids is None:
        ids = [int(r[0]) for r in conn.execute(select(MSG.c.id).where(MSG.c.is_current.is_(True)).order_by(MSG.c.id))]
    else:
        ids = sorted(set(int(i) for i in message_ids))
    todo: list[tuple[datetime, dict]] = []
    for i in range(0, len(ids), _CHUNK):
        part = ids[i:i + _CHUNK]
        eff = effective_decisions(conn, part)
        journal = [m for m in part if eff[m].decision == "journal"]
        if not journal:
            continue
        rows = _rows(conn, journal)
        done = _numbered(conn, [(r["platform"], r["platform_message_id"]) for r in rows])
        for r in rows:
            if (r["platform"], r["platform_message_id"]) in done:
                continue
            decided = eff[r["id"]].decided_at
            at = max(utc(r["imported_at"]), utc(decided)) if decided else utc(r["imported_at"])
            todo.append((at, r))
    if not todo:
        return []
    _lock(conn)
    todo.sort(key=lambda t: (t[0], utc(t[1]["created_at"]), t[1]["platform"], t[1]["platform_message_id"]))
    zone = organisation.read(conn).zone
    return [_assign_one(conn, r, at, actor, zone) for at, r in todo]


@dataclass(frozen=True)
class Number:
    """What the registry holds for one journalpost (with its case)."""

    platform: str
    platform_message_id: str
    case_id: int
    case_key: str
    saksaar: int
    sakssekvensnummer: int
    saksdato: date
    case_assigned_at: datetime
    journalaar: int
    journalsekvensnummer: int
    journalpostnummer: int
    journaldato: date
    assigned_at: datetime
    assigned_by: str


def numbers(conn: Connection) -> dict[tuple[str, str], Number]:
    """Every journal number, by (platform, platform message id)."""
    stmt = (select(NUMBERS, CASES.c.case_key, CASES.c.saksaar, CASES.c.sakssekvensnummer, CASES.c.saksdato,
                   CASES.c.assigned_at.label("case_assigned_at"))
            .join(CASES, CASES.c.id == NUMBERS.c.case_id))
    out: dict[tuple[str, str], Number] = {}
    for r in conn.execute(stmt).mappings():
        out[(r["platform"], r["platform_message_id"])] = Number(
            platform=r["platform"], platform_message_id=r["platform_message_id"], case_id=int(r["case_id"]),
            case_key=r["case_key"], saksaar=int(r["saksaar"]), sakssekvensnummer=int(r["sakssekvensnummer"]),
            saksdato=r["saksdato"], case_assigned_at=utc(r["case_assigned_at"]), journalaar=int(r["journalaar"]),
            journalsekvensnummer=int(r["journalsekvensnummer"]), journalpostnummer=int(r["journalpostnummer"]),
            journaldato=r["journaldato"], assigned_at=utc(r["assigned_at"]), assigned_by=r["assigned_by"],
        )
    return out
