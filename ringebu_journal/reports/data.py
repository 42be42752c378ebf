"""What the reports read: the current version of each message with its thread, its effective
decision, the guideline's actions recorded against it and what was delivered to the archive.

Judgments, moderator decisions, actions and deliveries may point at any version of a message;
they are gathered over all versions of the same (platform, platform message id). Times are
aware UTC datetimes (the tables' type returns them so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection

from .. import moderation
from ..accounts import account_key
from ..db.tables import Account, Attachment, Delivery, Export, Judgment, Message, MessageAction

MSG = Message.__table__
ACC = Account.__table__
JUD = Judgment.__table__
ACT = MessageAction.__table__
DEL = Delivery.__table__
EXP = Export.__table__
ATT = Attachment.__table__

REMOVED_STATUSES = ("hidden", "deleted", "not_retrievable")
UNKNOWN_ACCOUNT = "(no account)"


@dataclass
class Msg:
    id: int                                  # internal id of the current version
    platform: str
    platform_message_id: str
    thread_id: int | None
    kind: str
    parent_platform_id: str | None
    conversation_id: str | None
    account: str                             # platform:platform_id of the account, or UNKNOWN_ACCOUNT
    account_platform_id: str | None
    municipal: bool
    author_name: str | None
    text: str
    created_at: datetime
    permalink: str | None
    status: str
    extra: dict[str, Any]
    in_period: bool = False
    version_ids: list[int] = field(default_factory=list)
    removed_seen_at: datetime | None = None  # imported_at of the first version seen hidden/deleted after one seen up
    attachment_urls: list[str] = field(default_factory=list)
    judgment: dict[str, Any] | None = None   # latest judgment over all versions
    decision: str | None = None              # effective decision (moderator, else judge)
    screen: bool = False                     # effective screening proposal
    actions: list[tuple[str, datetime, str | None]] = field(default_factory=list)  # recorded actions
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def categories(self) -> list[str]:
        return list((self.judgment or {}).get("categories") or [])

    @property
    def proposed_actions(self) -> list[str]:
        return list((self.judgment or {}).get("actions") or [])

    def recorded(self, *names: str) -> list[datetime]:
        return sorted(at for a, at, _ in self.actions if a in names)


@dataclass
class Period:
    start: datetime | None
    end: datetime | None    # exclusive

    @classmethod
    def of(cls, from_date: date | None, to_date: date | None) -> "Period":
        start = datetime.combine(from_date, time.min, timezone.utc) if from_date else None
        end = datetime.combine(to_date + timedelta(days=1), time.min, timezone.utc) if to_date else None
        return cls(start, end)

    def contains(self, t: datetime) -> bool:
        return (self.start is None or t >= self.start) and (self.end is None or t < self.end)


def _parts(seq: list, n: int = 500) -> Iterable[list]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def load_accounts(conn: Connection) -> dict[str, dict[str, Any]]:
    """Own and registered accounts by ``platform:platform_id``."""
    rows = conn.execute(select(ACC).where(or_(ACC.c.own.is_(True), ACC.c.registered.is_(True)))).all()
    return {f"{r.platform}:{r.platform_id}": dict(r._mapping) for r in rows}


_COLS = [MSG.c.id, MSG.c.platform, MSG.c.platform_message_id, MSG.c.thread_id, MSG.c.kind,
         MSG.c.parent_platform_id, MSG.c.conversation_id, MSG.c.account_platform_id,
         MSG.c.author_is_municipality, MSG.c.author_name, MSG.c.text, MSG.c.created_at, MSG.c.permalink,
         MSG.c.status, MSG.c.extra]


def _msg(r: Any, in_period: bool) -> Msg:
    key = account_key(r.platform, r.account_platform_id) if r.account_platform_id else UNKNOWN_ACCOUNT
    return Msg(
        id=r.id, platform=r.platform, platform_message_id=r.platform_message_id, thread_id=r.thread_id,
        kind=r.kind, parent_platform_id=r.parent_platform_id, conversation_id=r.conversation_id,
        account=key, account_platform_id=r.account_platform_id, municipal=bool(r.author_is_municipality),
        author_name=r.author_name, text=r.text or "", created_at=r.created_at, permalink=r.permalink,
        status=r.status, extra=getattr(r, "extra", None) or {}, in_period=in_period, version_ids=[r.id],
    )


def load_messages(conn: Connection, period: Period, accounts: set[str] | None = None) -> list[Msg]:
    """Current messages written in the period, and every current message of their threads
    (the municipality's replies may come after the period), with everything the reports need.

    ``accounts``: restrict to these ``platform:platform_id`` keys.
    """
    cond = [MSG.c.is_current.is_(True)]
    if period.start is not None:
        cond.append(MSG.c.created_at >= period.start)
    if period.end is not None:
        cond.append(MSG.c.created_at < period.end)
    if accounts is not None:
        pids = sorted({k.split(":", 1)[1] for k in accounts})
        cond.append(MSG.c.account_platform_id.in_(pids))
    in_period = select(MSG.c.id).where(and_(*cond))
    threads = select(MSG.c.thread_id).where(and_(*cond), MSG.c.thread_id.is_not(None)).distinct()
    period_ids = {r[0] for r in conn.execute(in_period)}
    rows = conn.execute(
        select(*_COLS).where(MSG.c.is_current.is_(True), or_(MSG.c.id.in_(in_period), MSG.c.thread_id.in_(threads)))
        .order_by(MSG.c.created_at, MSG.c.id)
    ).all()
    msgs: dict[int, Msg] = {}
    for r in rows:
        m = _msg(r, r.id in period_ids)
        if accounts is not None and m.account not in accounts:
            continue
        msgs[r.id] = m
    _attach_versions(conn, msgs)
    _attach_judgments(conn, msgs)
    _attach_actions(conn, msgs)
    _attach_deliveries(conn, msgs)
    _attach_attachments(conn, msgs)
    return list(msgs.values())


def load_for_duties(conn: Connection, ids: Iterable[int],
                    judgments: dict[int, dict[str, Any]] | None = None) -> list[Msg]:
    """The current messages ``ids`` (marked in period) with what their duties depend on — the
    latest judgment's categories and actions, recorded actions, removals seen by later captures —
    and the municipality's current messages in their threads (the replies that meet a duty).

    A lighter :func:`load_messages` for the moderators' queue: no effective decisions,
    deliveries, attachments or ``extra``, and of the threads only the municipality's messages.
    ``judgments`` (message id → latest judgment row, as the caller already read them) saves
    reading them again.
    """
    cols = [c for c in _COLS if c.key != "extra"]
    wanted = sorted(set(int(i) for i in ids))
    msgs: dict[int, Msg] = {}
    thread_ids: set[int] = set()
    for part in _parts(wanted):
        for r in conn.execute(select(*cols).where(MSG.c.id.in_(part), MSG.c.is_current.is_(True))):
            msgs[r.id] = _msg(r, True)
            if r.thread_id is not None:
                thread_ids.add(r.thread_id)
    for part in _parts(sorted(thread_ids)):
        for r in conn.execute(select(*cols).where(MSG.c.thread_id.in_(part), MSG.c.is_current.is_(True),
                                                   MSG.c.author_is_municipality.is_(True))):
            if r.id not in msgs:
                msgs[r.id] = _msg(r, False)
    _attach_versions(conn, msgs)
    if judgments is None:
        _attach_judgments(conn, msgs, decisions=False)
    else:
        for m in msgs.values():
            j = judgments.get(m.id)
            m.judgment = None if j is None else {k: j.get(k) for k in ("id", "decision", "categories", "actions",
                                                                      "screening")}
    _attach_actions(conn, msgs)
    return sorted(msgs.values(), key=lambda m: (m.created_at, m.id))


def _attach_versions(conn: Connection, msgs: dict[int, Msg]) -> None:
    by_key = {(m.platform, m.platform_message_id): m for m in msgs.values()}
    # the platforms too, so that the (platform, platform_message_id) index is used, not a scan
    platforms = sorted({k[0] for k in by_key})
    for part in _parts(sorted({k[1] for k in by_key})):
        rows = conn.execute(
            select(MSG.c.id, MSG.c.platform, MSG.c.platform_message_id, MSG.c.status, MSG.c.imported_at,
                   MSG.c.version, MSG.c.is_current)
            .where(MSG.c.platform.in_(platforms), MSG.c.platform_message_id.in_(part)).order_by(MSG.c.version)
        ).all()
        seen_up: set[int] = set()
        for r in rows:
            m = by_key.get((r.platform, r.platform_message_id))
            if m is None:
                continue
            if not r.is_current:
                m.version_ids.append(r.id)
            if r.status not in REMOVED_STATUSES:
                seen_up.add(m.id)
            elif m.id in seen_up and m.removed_seen_at is None:
                # an import saw it up, a later one saw it gone: removed by this capture at the latest
                m.removed_seen_at = r.imported_at


def _owners(msgs: dict[int, Msg]) -> dict[int, Msg]:
    return {vid: m for m in msgs.values() for vid in m.version_ids}


def _attach_judgments(conn: Connection, msgs: dict[int, Msg], *, decisions: bool = True) -> None:
    """The latest judgment's categories and actions (over all versions), and (``decisions``) the
    effective decision and screening as moderation defines them."""
    owner = _owners(msgs)
    latest: dict[int, tuple[int, dict[str, Any]]] = {}
    for part in _parts(sorted(owner)):
        for r in conn.execute(select(JUD.c.id, JUD.c.message_id, JUD.c.decision, JUD.c.categories, JUD.c.actions,
                                     JUD.c.screening).where(JUD.c.message_id.in_(part))):
            m = owner[r.message_id]
            if m.id not in latest or r.id > latest[m.id][0]:
                latest[m.id] = (r.id, {"id": r.id, "decision": r.decision, "categories": r.categories or [],
                                       "actions": r.actions or [], "screening": r.screening or {}})
    effective = moderation.effective_decisions(conn, list(msgs)) if decisions else {}
    for m in msgs.values():
        m.judgment = latest.get(m.id, (None, None))[1]
        eff = effective.get(m.id)
        if eff is not None:
            m.decision, m.screen = eff.decision, bool(eff.screen)


def _attach_actions(conn: Connection, msgs: dict[int, Msg]) -> None:
    owner = _owners(msgs)
    for part in _parts(sorted(owner)):
        for r in conn.execute(select(ACT.c.message_id, ACT.c.action, ACT.c.recorded_at, ACT.c.note)
                              .where(ACT.c.message_id.in_(part)).order_by(ACT.c.recorded_at, ACT.c.id)):
            owner[r.message_id].actions.append((r.action, r.recorded_at, r.note))


def _attach_deliveries(conn: Connection, msgs: dict[int, Msg]) -> None:
    owner = _owners(msgs)
    for part in _parts(sorted(owner)):
        rows = conn.execute(
            select(DEL.c.message_id, DEL.c.kind, DEL.c.delivered_at, DEL.c.system_id, EXP.c.package_id)
            .select_from(DEL.join(EXP, EXP.c.id == DEL.c.export_id))
            .where(DEL.c.message_id.in_(part)).order_by(DEL.c.delivered_at, DEL.c.id)
        ).all()
        for r in rows:
            owner[r.message_id].deliveries.append(
                {"kind": r.kind, "delivered_at": r.delivered_at, "system_id": r.system_id, "package_id": r.package_id})


def _attach_attachments(conn: Connection, msgs: dict[int, Msg]) -> None:
    owner = {m.id: m for m in msgs.values() if m.municipal}
    for part in _parts(sorted(owner)):
        for r in conn.execute(select(ATT.c.message_id, ATT.c.source_url, ATT.c.filename, ATT.c.note)
                              .where(ATT.c.message_id.in_(part))):
            owner[r.message_id].attachment_urls.extend(v for v in (r.source_url, r.filename, r.note) if v)
