"""What moderators and auditors read: the review queue and one message's whole story.

``queue`` is the moderators' to-do list, oldest first. Decisions: the judge's ``review``
decisions, journal and skjerming proposals nobody has confirmed yet, and messages edited (a new
version imported) after a moderator decided them. Duties: every message with a duty the guideline
puts on the municipality that is not done yet (reply, thank, remove, refer_post, refer_political),
as ``reports.compliance.open_duties`` defines it — the same definition the compliance report's
findings use, so a finding there is always work in the queue. The decision shown is the effective
one (``moderation._combine``), the judge's latest proposal beside it; a decision few messages could
have is filtered in SQL by the same rule (``moderation.effective_decision_sql``) before the
windows are read, so it does not walk the whole table. ``show`` gives one message with its thread, every version, its
attachments, every judgment, every moderator decision and recorded action, and every audit event
about any of its versions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection

from . import messages as msgs
from .app import App
from .audit import SHOWN as AUDIT_SHOWN
from .db.tables import Account, Attachment, AuditEvent, Judgment, Message, MessageAction, ModeratorDecision
from .errors import UsageError
from .moderation import (EffectiveDecision, _combine, _latest_ids, _rows_by_id, effective_decision,
                         effective_decision_sql, few_may_have_decision, moderation_status, reason_line)
from .reports.compliance import Threads, may_have_duties, open_duties
from .reports.data import load_for_duties

MSG = Message.__table__
JUD = Judgment.__table__
DEC = ModeratorDecision.__table__
ACT = MessageAction.__table__
ATT = Attachment.__table__
ACC = Account.__table__
AUDIT = AuditEvent.__table__

SNIPPET = 110

#: why an item is in the queue
WHY_REVIEW = "review"
WHY_JOURNAL = "journal not confirmed"
WHY_SCREEN = "skjerming not confirmed"
WHY_EDITED = "edited after decision"
WHY_DUTY = "to do"

#: the record-action flag that marks a duty done
DUTY_RECORD = {"reply": "replied", "thank": "replied", "remove": "hidden --note TEXT", "refer_post": "referred-post",
               "refer_political": "referred-political"}


_WINDOW = 2000
#: up to this many messages that could have a decision: filtered in SQL up front; more: in Python
_FEW = 5000


def snippet(text: str | None, n: int = SNIPPET) -> str:
    s = re.sub(r"\s+", " ", text or "").strip()
    return s if len(s) <= n else s[: n - 1] + "…"


def _ref(row: Any) -> str:
    return f"{row['platform']}:{row['platform_message_id']}"


@dataclass
class QueueFilter:
    decision: str | None = None
    category: str | None = None
    action: str | None = None
    account: str | None = None          # the account's platform id or its name
    since: date | None = None           # message created on or after
    until: date | None = None           # message created on or before (inclusive)
    limit: int | None = None


def _account_ids(conn: Connection, account: str) -> list[str]:
    named = [r[0] for r in conn.execute(select(ACC.c.platform_id).where(
        or_(ACC.c.name == account, ACC.c.platform_id == account)))]
    return sorted(set(named) | {account})


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=timezone.utc)


def queue(app: App, f: QueueFilter | None = None) -> list[QueueItem]:
    """The moderators' to-do list (decisions and open duties), oldest message first."""
    app.require("message.read")
    f = f or QueueFilter()
    if f.action and f.action.replace("-", "_") not in DUTY_RECORD:
        raise UsageError(f"--action {f.action!r} is not a duty — use one of: {', '.join(DUTY_RECORD)}")
    if f.since and f.until and f.since > f.until:
        raise UsageError(f"--since {f.since} is after --until {f.until} — swap them")
    with app.db.read() as conn:
        base = (select(*[c for c in MSG.c if c.key not in ("raw", "extra")])
                .where(MSG.c.is_current.is_(True)).order_by(MSG.c.created_at, MSG.c.id))
        if f.account:
            base = base.where(MSG.c.account_platform_id.in_(_account_ids(conn, f.account)))
        if f.since:
            base = base.where(MSG.c.created_at >= _midnight(f.since))
        if f.until:
            base = base.where(MSG.c.created_at < _midnight(f.until + timedelta(days=1)))
        # a decision few messages could have is applied in SQL by the effective-decision rule
        # before anything is read, so only the messages that have it are read; a common one is
        # left to the Python rule below (a page fills after the first windows)
        if f.decision and few_may_have_decision(conn, f.decision, _FEW):
            eff_ids = effective_decision_sql(f.decision).subquery("eff_ids")
            base = base.where(MSG.c.id.in_(select(eff_ids.c.id)))
        items: list[QueueItem] = []
        last: tuple[datetime, int] | None = None
        # window after window of the oldest current messages (keyset on created_at, id), so that
        # --limit reads only as far as it needs and nothing holds the whole table in memory; a
        # small --limit starts with a small window, which grows while it finds too little
        size = min(_WINDOW, max(4 * f.limit, 100)) if f.limit else _WINDOW
        while True:
            stmt = base if last is None else base.where(or_(
                MSG.c.created_at > last[0], and_(MSG.c.created_at == last[0], MSG.c.id > last[1])))
            result = conn.execute(stmt.limit(size))
            keys = list(result.keys())
            page = [dict(zip(keys, r)) for r in result]
            if not page:
                break
            size = min(_WINDOW, size * 4)
            last = (page[-1]["created_at"], page[-1]["id"])
            ids = [r["id"] for r in page]
            latest_j = _latest_ids(conn, JUD, ids)
            latest_d = _latest_ids(conn, DEC, ids)
            window = []
            for r in page:
                r["jid"], r["did"] = latest_j.get(r["id"]), latest_d.get(r["id"])
                if r["jid"] is not None or r["did"] is not None:
                    window.append(r)
            if not window:
                continue
            jrows = _rows_by_id(conn, JUD, [r["jid"] for r in window if r["jid"]])
            drows = _rows_by_id(conn, DEC, [r["did"] for r in window if r["did"]])
            decided_on = sorted({d["message_id"] for d in drows.values()})
            decided_versions = {i: v for i, v in conn.execute(
                select(MSG.c.id, MSG.c.version).where(MSG.c.id.in_(decided_on)))} if decided_on else {}
            latest = {r["id"]: jrows[r["jid"]] for r in window if r["jid"] in jrows}
            duties = _open_duties(conn, {mid: j for mid, j in latest.items()
                                         if may_have_duties(j.get("categories") or [], j.get("actions") or [])})
            for r in window:
                j = jrows.get(r["jid"])
                d = drows.get(r["did"])
                eff = _combine(r["id"], j, d, r["lock_version"])
                todo = duties.get(r["id"], [])
                why = _why(eff, r, d, decided_versions) or (f"{WHY_DUTY}: {', '.join(todo)}" if todo else None)
                if why is None or not _matches(f, eff, j, todo):
                    continue
                items.append(_queue_item(conn, r, eff, j, why, todo))
                if f.limit and len(items) >= f.limit:
                    return items
    return items


def _open_duties(conn: Connection, latest: dict[int, dict[str, Any]]) -> dict[int, list[str]]:
    """Current message id → its open duties, for the current messages in ``latest`` (id → its
    latest judgment)."""
    msgs = load_for_duties(conn, latest, judgments=latest)
    threads = Threads(msgs)
    out: dict[int, list[str]] = {}
    for m in msgs:
        if m.in_period:
            todo = open_duties(m, threads)
            if todo:
                out[m.id] = todo
    return out


def _why(eff, row: dict[str, Any], d: dict[str, Any] | None, decided_versions: dict[int, int]) -> str | None:
    if eff.source == "moderator":
        if d is not None and decided_versions.get(d["message_id"], row["version"]) < row["version"]:
            return WHY_EDITED
        return None
    if eff.source == "judge":
        if eff.decision == "review":
            return WHY_REVIEW
        if eff.decision == "journal":
            return WHY_JOURNAL
        if eff.screen:
            return WHY_SCREEN
    return None


def _matches(f: QueueFilter, eff, j: dict[str, Any] | None, todo: list[str]) -> bool:
    if f.decision and eff.decision != f.decision:
        return False
    if f.category and f.category not in ((j or {}).get("categories") or []):
        return False
    if f.action and f.action.replace("-", "_") not in todo:
        return False
    return True


@dataclass(frozen=True)
class QueueItem:
    """One item of the moderators' queue: the message, why it is there, the decision in effect
    beside the judge's latest proposal, the open duties, and the thread context it answers."""

    id: int
    ref: str
    lock_version: int                  # what --expect-version takes
    version: int
    created_at: datetime
    platform: str
    kind: str
    account: str | None
    author: str | None
    author_is_municipality: bool
    text: str | None
    why: str
    duties: list[str]
    decision: str | None
    screen: bool
    source: str | None                 # moderator | judge
    decided_by: str | None             # the moderator, when the decision is a moderator's
    judgment_id: int | None
    judge_decision: str | None
    judge_screen: bool
    confidence: float | None
    categories: list[str]
    actions: list[str]
    hjemmel: str | None
    reasons: list[str]
    context: list[dict[str, Any]]      # short_context: the post and the comment it answers

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _queue_item(conn: Connection, r: dict[str, Any], eff, j: dict[str, Any] | None, why: str,
                todo: list[str]) -> QueueItem:
    screening = (j or {}).get("screening") or {}
    return QueueItem(
        id=r["id"], ref=_ref(r), lock_version=r["lock_version"], version=r["version"],
        created_at=r["created_at"], platform=r["platform"], kind=r["kind"],
        account=r["account_platform_id"], author=r["author_name"] or r["author_id"],
        author_is_municipality=r["author_is_municipality"], text=r["text"],
        why=why, duties=list(todo), decision=eff.decision, screen=eff.screen, source=eff.source,
        decided_by=eff.decided_by if eff.source == "moderator" else None,
        judgment_id=j["id"] if j else None, judge_decision=j["decision"] if j else None,
        judge_screen=bool(screening.get("screen")), confidence=j["confidence"] if j else None,
        categories=(j or {}).get("categories") or [], actions=(j or {}).get("actions") or [],
        hjemmel=screening.get("hjemmel"),
        reasons=[reason_line(x) for x in ((j or {}).get("reasons") or []) if isinstance(x, dict)],
        context=short_context(conn, r),
    )


# -- thread context --------------------------------------------------------------------------------


def _current_by_pid(conn: Connection, platform: str, pid: str | None) -> dict[str, Any] | None:
    if not pid:
        return None
    row = conn.execute(select(MSG).where(MSG.c.platform == platform, MSG.c.platform_message_id == pid,
                                         MSG.c.is_current.is_(True))).mappings().first()
    return dict(row) if row else None


def _ctx(role: str, row: dict[str, Any]) -> dict[str, Any]:
    return {"role": role, "id": row["id"], "ref": _ref(row), "kind": row["kind"],
            "author": row["author_name"] or row["author_id"], "municipality": row["author_is_municipality"],
            "created_at": row["created_at"], "text": row["text"]}


def short_context(conn: Connection, r: dict[str, Any]) -> list[dict[str, Any]]:
    """The post and the comment a message answers; in a conversation, the message before it."""
    out: list[dict[str, Any]] = []
    if r["kind"] == "message" or (r["conversation_id"] and r["kind"] != "post"):
        prev = conn.execute(
            select(MSG).where(MSG.c.platform == r["platform"], MSG.c.conversation_id == r["conversation_id"],
                              MSG.c.is_current.is_(True),
                              or_(MSG.c.created_at < r["created_at"],
                                  and_(MSG.c.created_at == r["created_at"], MSG.c.id < r["id"])))
            .order_by(MSG.c.created_at.desc(), MSG.c.id.desc()).limit(1)
        ).mappings().first() if r["conversation_id"] else None
        if prev:
            out.append(_ctx("answers", dict(prev)))
        return out
    post = None
    if r["kind"] != "post" and r["post_platform_id"] and r["post_platform_id"] != r["platform_message_id"]:
        post = _current_by_pid(conn, r["platform"], r["post_platform_id"])
        if post:
            out.append(_ctx("post", post))
    parent_pid = r["parent_platform_id"]
    if parent_pid and parent_pid != r["post_platform_id"] and parent_pid != r["platform_message_id"]:
        parent = _current_by_pid(conn, r["platform"], parent_pid)
        if parent:
            out.append(_ctx("answers", parent))
    elif parent_pid and post is None:
        parent = _current_by_pid(conn, r["platform"], parent_pid)
        if parent:
            out.append(_ctx("post" if parent["kind"] == "post" else "answers", parent))
    return out


def _replies(conn: Connection, r: dict[str, Any], limit: int = 50) -> list[dict[str, Any]]:
    if r["kind"] == "message" or (r["conversation_id"] and r["kind"] != "post"):
        if not r["conversation_id"]:
            return []
        later = conn.execute(
            select(MSG).where(MSG.c.platform == r["platform"], MSG.c.conversation_id == r["conversation_id"],
                              MSG.c.is_current.is_(True),
                              or_(MSG.c.created_at > r["created_at"],
                                  and_(MSG.c.created_at == r["created_at"], MSG.c.id > r["id"])))
            .order_by(MSG.c.created_at, MSG.c.id).limit(limit)
        ).mappings().all()
        return [_ctx("reply", dict(x)) for x in later]
    direct = conn.execute(
        select(MSG).where(MSG.c.platform == r["platform"], MSG.c.parent_platform_id == r["platform_message_id"],
                          MSG.c.is_current.is_(True))
        .order_by(MSG.c.created_at, MSG.c.id).limit(limit)
    ).mappings().all()
    return [_ctx("reply", dict(x)) for x in direct]


# -- show ------------------------------------------------------------------------------------------


def _plain_row(row: Any, drop: Sequence[str] = ()) -> dict[str, Any]:
    return {k: v for k, v in dict(row).items() if k not in drop}


@dataclass(frozen=True)
class ThreadView:
    """Around one message: the post, the comment it answers, the replies to it."""

    post: dict[str, Any] | None
    answers: dict[str, Any] | None
    replies: list[dict[str, Any]]

    @property
    def municipality_replies(self) -> list[dict[str, Any]]:
        return [x for x in self.replies if x["municipality"]]

    def as_dict(self) -> dict[str, Any]:
        return {"post": self.post, "answers": self.answers, "replies": self.replies,
                "municipality_replies": self.municipality_replies}


@dataclass(frozen=True)
class MessageView:
    """Everything about one message (:func:`show`): the current version, its status and the
    decision in effect, its thread, and every version, attachment, judgment, moderator decision,
    recorded action and audit event of any of its versions (rows, oldest first)."""

    message: dict[str, Any]            # the current version's row, without the raw payload
    ref: str                           # platform:platform_message_id
    lock_version: int
    status: dict[str, Any]             # moderation.moderation_status
    effective: EffectiveDecision
    thread: ThreadView
    versions: list[dict[str, Any]]
    attachments: list[dict[str, Any]]
    judgments: list[dict[str, Any]]    # each with "reason_lines"
    decisions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    audit: list[dict[str, Any]]        # before/after decoded

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (`show --format json`)."""
        return {
            "message": self.message, "ref": self.ref, "lock_version": self.lock_version,
            "status": self.status, "effective": self.effective.as_dict(), "effective_line": self.effective.line(),
            "thread": self.thread.as_dict(), "versions": self.versions, "attachments": self.attachments,
            "judgments": self.judgments, "decisions": self.decisions, "actions": self.actions, "audit": self.audit,
        }


def show(app: App, ref: str) -> MessageView:
    """Everything about one message, for a moderator or an auditor."""
    app.require("message.read")
    mid = msgs.resolve(app, ref)
    with app.db.read() as conn:
        cur = dict(conn.execute(select(MSG).where(MSG.c.id == mid)).mappings().one())
        versions = [dict(v) for v in conn.execute(
            select(MSG).where(MSG.c.platform == cur["platform"],
                              MSG.c.platform_message_id == cur["platform_message_id"]).order_by(MSG.c.version)
        ).mappings()]
        ids = [v["id"] for v in versions]
        attachments = [dict(a) for a in conn.execute(
            select(ATT).where(ATT.c.message_id.in_(ids)).order_by(ATT.c.message_id, ATT.c.id)).mappings()]
        judgments = [dict(j) for j in conn.execute(
            select(JUD).where(JUD.c.message_id.in_(ids)).order_by(JUD.c.id)).mappings()]
        for j in judgments:
            j["reason_lines"] = [reason_line(x) for x in (j.get("reasons") or []) if isinstance(x, dict)]
        decisions = [dict(d) for d in conn.execute(
            select(DEC).where(DEC.c.message_id.in_(ids)).order_by(DEC.c.id)).mappings()]
        actions = [dict(a) for a in conn.execute(
            select(ACT).where(ACT.c.message_id.in_(ids)).order_by(ACT.c.id)).mappings()]
        events = [dict(e) for e in conn.execute(
            select(*AUDIT_SHOWN).where(AUDIT.c.object_type == "message", AUDIT.c.object_id.in_([str(i) for i in ids]))
            .order_by(AUDIT.c.seq)).mappings()]
        for e in events:
            e["before"] = json.loads(e["before"])
            e["after"] = json.loads(e["after"])
        context = short_context(conn, cur)
        replies = _replies(conn, cur)
        eff = effective_decision(conn, mid)
        status = moderation_status(conn, mid)
    thread = ThreadView(post=next((c for c in context if c["role"] == "post"), None),
                        answers=next((c for c in context if c["role"] == "answers"), None), replies=replies)
    return MessageView(
        message=_plain_row(cur, drop=("raw",)), ref=_ref(cur), lock_version=cur["lock_version"], status=status,
        effective=eff, thread=thread, versions=[_plain_row(v, drop=("raw", "extra")) for v in versions],
        attachments=attachments, judgments=judgments, decisions=decisions, actions=actions, audit=events,
    )
