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
* **In bulk, as if one at a time.** Under that lock nothing else numbers, so a call reads the
  highest saks- and journal number of each year it needs and the highest journalpostnummer of
  each existing case once, counts on in memory in the call's order, and inserts the new cases and
  then the journalposts with one executemany each: the numbers, dates and row ids are those that
  numbering the messages one at a time in that order gives (tests/judging/test_numbering_batch.py).
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


def _max_by(conn: Connection, value, group, keys: Iterable) -> dict:
    """``max(value)`` per ``group`` for the given group keys, one query per chunk of keys."""
    keys = list(set(keys))
    out: dict = {}
    for i in range(0, len(keys), _CHUNK):
        part = keys[i:i + _CHUNK]
        for g, m in conn.execute(select(group, func.max(value)).where(group.in_(part)).group_by(group)):
            out[g] = int(m or 0)
    return out


def _existing_cases(conn: Connection, keys: Iterable[str]) -> dict[str, dict]:
    keys = list(set(keys))
    out: dict[str, dict] = {}
    for i in range(0, len(keys), _CHUNK):
        part = keys[i:i + _CHUNK]
        for r in conn.execute(select(CASES.c.id, CASES.c.case_key, CASES.c.saksaar, CASES.c.sakssekvensnummer)
                              .where(CASES.c.case_key.in_(part))).mappings():
            out[r["case_key"]] = dict(r)
    return out


def _assign_all(conn: Connection, todo: Sequence[tuple[datetime, dict]], actor: str,
                zone: ZoneInfo) -> list[Assigned]:
    """Number ``todo`` ((decision time, message row) pairs) in their order, in bulk.

    Gives exactly what numbering them one at a time gives (each number "the highest so far + 1"
    at that moment): the caller holds the write lock, so the highest numbers are read once per
    year and per case and counted on in memory; the new cases are inserted in order of their
    first message (so their ids are the same as one insert at a time), then every journalpost in
    one executemany."""
    items: list[tuple[datetime, date, str, dict]] = []
    for at, row in todo:
        at = utc(at)
        items.append((at, local_day(at, zone), _case_key(row["platform"], row["thread_key"], row["platform_message_id"]),
                      row))
    if not items:
        return []
    cases = _existing_cases(conn, [k for _, _, k, _ in items])
    # new cases: saks numbers per year, counted on from the year's highest
    new_cases: list[dict] = []
    years = {day.year for _, day, key, _ in items if key not in cases}
    saks_next = {y: m + 1 for y, m in _max_by(conn, CASES.c.sakssekvensnummer, CASES.c.saksaar, years).items()}
    opened: dict[str, dict] = {}
    for at, day, key, row in items:
        if key in cases or key in opened:
            continue
        seq = saks_next.get(day.year, 1)
        saks_next[day.year] = seq + 1
        case = dict(case_key=key, platform=row["platform"], thread_id=row["thread_id"], saksaar=day.year,
                    sakssekvensnummer=seq, saksdato=day, assigned_at=at, assigned_by=actor)
        opened[key] = case
        new_cases.append(case)
    if new_cases:
        conn.execute(CASES.insert(), new_cases)
        for key, c in _existing_cases(conn, opened).items():
            opened[key]["id"] = c["id"]
    # journal numbers per year and journalpost numbers per case, counted on from the highest
    journal_next = {y: m + 1 for y, m in _max_by(conn, NUMBERS.c.journalsekvensnummer, NUMBERS.c.journalaar,
                                                 {day.year for _, day, _, _ in items}).items()}
    post_next = {c: m + 1 for c, m in _max_by(conn, NUMBERS.c.journalpostnummer, NUMBERS.c.case_id,
                                              [int(c["id"]) for c in cases.values()]).items()}
    inserts: list[dict] = []
    out: list[Assigned] = []
    new_seen: set[str] = set()
    for at, day, key, row in items:
        if key in cases:
            c, new_case = cases[key], False
        else:
            c, new_case = opened[key], key not in new_seen
            new_seen.add(key)
        case_id = int(c["id"])
        jseq = journal_next.get(day.year, 1)
        journal_next[day.year] = jseq + 1
        jpnr = post_next.get(case_id, 1)
        post_next[case_id] = jpnr + 1
        inserts.append(dict(
            platform=row["platform"], platform_message_id=row["platform_message_id"], message_id=row["id"],
            case_id=case_id, journalaar=day.year, journalsekvensnummer=jseq, journalpostnummer=jpnr,
            journaldato=day, assigned_at=at, assigned_by=actor,
        ))
        out.append(Assigned(row["id"], int(c["saksaar"]), int(c["sakssekvensnummer"]), day.year, jseq, jpnr, day,
                            new_case))
    conn.execute(NUMBERS.insert(), inserts)
    return out


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
    return _assign_all(conn, [(at, r) for r in rows], actor, organisation.read(conn).zone)


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
    return _assign_all(conn, todo, actor, organisation.read(conn).zone)


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
