"""Moderators' decisions: flag, confirm, unflag, recorded actions, and the effective decision.

The rule everything else follows (the exporter, the queue, `judgments` and the reports included):
**the effective decision on a message is its latest moderator decision, unless that is an unflag;
otherwise its latest judgment.** It is computed in one place, :func:`_combine`, and expressed
once more in SQL beside it, :func:`effective_decision_sql`, for filters that must not work out the
effective decision of every message in Python (tests/moderation/test_effective_sql.py holds the two
to the same answers). One exception:
when a newer version of the message was judged after the moderator decided and that judgment is
stricter — it adds skjerming, or it journals what the moderator did not — the effective decision
is ``review``: the new text waits for a moderator and does not go out on the old decision.
Decisions are about the message, not one version of it: a decision made on version 1 still
holds for version 2 (the queue shows such messages again, so a person looks at the new text).

``confirm`` confirms the effective decision — what the queue and `show` put in front of the
moderator — never anything else: the judge's proposal when no moderator has decided, the
moderator decision in effect when one has (e.g. after the message was edited and the judge
proposed something new). If what counts changed between reading and writing, it is a conflict.

Concurrency is optimistic. Every decision bumps ``messages.lock_version`` of the message's
current version row, and is stored only if that number is still the one the moderator's view was
based on::

    UPDATE messages SET lock_version = lock_version + 1
     WHERE id = :id AND lock_version = :seen AND is_current

Zero rows means somebody else decided first (or the message was edited): the transaction is
rolled back, nothing of ours is stored, and the moderator is told who decided what, when and why.
The row lock the UPDATE takes (PostgreSQL) or the write lock of ``BEGIN IMMEDIATE`` (SQLite)
serialises the competitors, so exactly one of two simultaneous decisions wins.

A decision that makes the message journal gives it its saks- and journal numbers
(``registry.register``) in the same transaction; a decision that reverses journal never takes a
number back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import and_, bindparam, case, false, func, literal, or_, select, tuple_, union, update
from sqlalchemy.engine import Connection

from . import messages as msgs
from . import registry
from .app import App
from .clock import now
from .db.tables import Judgment, Message, MessageAction, ModeratorDecision
from .errors import ConflictError, Hint, Note, UsageError
from .models import Decision

MSG = Message.__table__
JUD = Judgment.__table__
DEC = ModeratorDecision.__table__
ACT = MessageAction.__table__

FLAG_DECISIONS = (Decision.journal.value, Decision.archive.value, Decision.exclude.value)

#: the guideline's actions, as stored (front ends spell them their own way)
ACTIONS = ("hidden", "deleted", "replied", "referred_post", "referred_political")
#: actions that change what a reader of the archive must be told about the message
REMOVALS = ("hidden", "deleted")

_CHUNK = 500


def _when(dt: datetime | None) -> str:
    if dt is None:
        return "?"
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC")


# -- the effective decision --------------------------------------------------------------------


@dataclass(frozen=True)
class EffectiveDecision:
    """What counts for a message now, and where it comes from."""

    message_id: int                    # the id asked about (any version)
    decision: str | None               # journal | archive | exclude | review | None (not judged)
    screen: bool                       # skjerming in the public journal
    source: str | None                 # "moderator" | "judge" | None
    decided_by: str | None             # the moderator, or the actor who ran the judge
    decided_at: datetime | None
    reason: str | None                 # the moderator's reason, or the judge's reasons in one line
    judgment_id: int | None            # the latest judgment (for a confirm: the one confirmed)
    decision_id: int | None            # the moderator decision in effect
    kind: str | None = None            # flag | confirm (moderator source only)
    hjemmel: str | None = None         # the judge's skjermingshjemmel, when screened
    lock_version: int | None = None    # the current version's lock (what --expect-version takes)

    def summary(self) -> dict[str, Any]:
        """The compact form kept in audit events (before / after)."""
        return {
            "decision": self.decision, "screen": self.screen, "source": self.source,
            "kind": self.kind, "decided_by": self.decided_by, "judgment_id": self.judgment_id,
            "decision_id": self.decision_id,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        if self.source is None:
            return "not judged yet"
        scr = " with skjerming" if self.screen else ""
        if self.source == "judge":
            return f"{self.decision}{scr} (judge, judgment {self.judgment_id}, not confirmed)"
        verb = "confirmed" if self.kind == "confirm" else "flagged"
        return f"{self.decision}{scr} ({verb} by {self.decided_by} at {_when(self.decided_at)})"


def reason_line(r: dict[str, Any]) -> str:
    """One judge reason as one line: rule «matched»: description → effect."""
    rule = r.get("rule") or "?"
    m = f" «{r['matched']}»" if r.get("matched") else ""
    e = f" → {r['effect']}" if r.get("effect") else ""
    return f"{rule}{m}: {r.get('description') or ''}{e}"


def _screen_of(screening: Any) -> bool:
    return bool(isinstance(screening, dict) and screening.get("screen"))


def _hjemmel_of(screening: Any) -> str | None:
    return screening.get("hjemmel") if isinstance(screening, dict) else None


# Built once: aliasing a wide table is costly, and these run for every decision.
_ASKED = MSG.alias("asked")
_VER = MSG.alias("ver")
_IDS = bindparam("ids", expanding=True)


def _latest_stmt(table):
    return (
        select(_ASKED.c.id, func.max(table.c.id))
        .select_from(
            _ASKED.join(_VER, and_(_VER.c.platform == _ASKED.c.platform,
                                   _VER.c.platform_message_id == _ASKED.c.platform_message_id))
            .join(table, table.c.message_id == _VER.c.id))
        .where(_ASKED.c.id.in_(_IDS))
        .group_by(_ASKED.c.id)
    )


_LATEST = {"judgments": _latest_stmt(JUD), "moderator_decisions": _latest_stmt(DEC)}
_LOCKS = (
    select(_ASKED.c.id, _VER.c.lock_version)
    .select_from(_ASKED.join(_VER, and_(_VER.c.platform == _ASKED.c.platform,
                                        _VER.c.platform_message_id == _ASKED.c.platform_message_id,
                                        _VER.c.is_current.is_(True))))
    .where(_ASKED.c.id.in_(_IDS))
)


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield list(ids[i:i + _CHUNK])


def _latest_ids(conn: Connection, table, ids: Sequence[int]) -> dict[int, int]:
    """For each asked message id: the newest row id in ``table`` over all versions of it."""
    out: dict[int, int] = {}
    for part in _chunks(ids):
        out.update({int(a): int(b) for a, b in conn.execute(_LATEST[table.name], {"ids": part})})
    return out


def _current_locks(conn: Connection, ids: Sequence[int]) -> dict[int, int]:
    """For each asked message id: the lock_version of the message's current version."""
    out: dict[int, int] = {}
    for part in _chunks(ids):
        out.update({int(a): int(b) for a, b in conn.execute(_LOCKS, {"ids": part})})
    return out


_BY_ID = {t.name: select(t).where(t.c.id.in_(_IDS)) for t in (JUD, DEC)}


def _rows_by_id(conn: Connection, table, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = sorted(set(ids))
    out: dict[int, dict[str, Any]] = {}
    stmt = _BY_ID.get(table.name)
    for part in _chunks(ids):
        rows = conn.execute(stmt, {"ids": part}) if stmt is not None else conn.execute(
            select(table).where(table.c.id.in_(part)))
        keys = list(rows.keys())           # once per result: a RowMapping looks its keys up per row
        for r in rows:
            d = dict(zip(keys, r))
            out[d["id"]] = d
    return out


def _states(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[dict | None, dict | None, int | None]]:
    """message id → (latest judgment row, latest moderator decision row, current lock)."""
    latest_j = _latest_ids(conn, JUD, ids)
    latest_d = _latest_ids(conn, DEC, ids)
    locks = _current_locks(conn, ids)
    jrows = _rows_by_id(conn, JUD, latest_j.values())
    drows = _rows_by_id(conn, DEC, latest_d.values())
    return {mid: (jrows.get(latest_j.get(mid, -1)), drows.get(latest_d.get(mid, -1)), locks.get(mid))
            for mid in ids}


def effective_decisions(conn: Connection, message_ids: Iterable[int]) -> dict[int, EffectiveDecision]:
    """The effective decision for many messages at once (for the exporter and the queue).

    Keys are the ids asked for; any version's id may be given and counts for the whole message.
    Messages that are neither judged nor decided get ``source=None``.
    """
    ids = list(dict.fromkeys(int(i) for i in message_ids))
    return {mid: _combine(mid, j, d, lock) for mid, (j, d, lock) in _states(conn, ids).items()}


def effective_after_judging(conn: Connection, judged: dict[int, str]) -> dict[int, str | None]:
    """The effective decision of messages right after the judge stored a judgment for each
    (``judged``: message id → the new judgment's decision), for the registry.

    The new judgment is the newest of its message, so where no version of the message has a
    moderator decision it is the effective decision; only the messages a moderator has decided on
    are looked up in full (:func:`effective_decisions`). One query per chunk instead of five."""
    ids = list(judged)
    decided = _latest_ids(conn, DEC, ids)
    out: dict[int, str | None] = {mid: judged[mid] for mid in ids if mid not in decided}
    if decided:
        out.update({mid: e.decision for mid, e in effective_decisions(conn, list(decided)).items()})
    return out


def effective_decision(conn: Connection, message_id: int) -> EffectiveDecision:
    """The effective decision for one message: the latest moderator decision (an unflag cancels
    it), else the latest judgment."""
    return effective_decisions(conn, [message_id])[int(message_id)]


def _stricter_on_new_version(j: dict[str, Any], d: dict[str, Any], moderator_screen: bool,
                             judge_screen: bool) -> bool:
    """Whether the latest judgment, of a newer version than the one the moderator decided on, is
    stricter than the moderator's decision: it adds skjerming, or it journals what the moderator
    did not journal."""
    if d.get("message_id") is None or j.get("message_id") is None or j["message_id"] <= d["message_id"]:
        return False
    if d.get("judgment_id") is not None and d["judgment_id"] == j["id"]:
        return False
    return (judge_screen and not moderator_screen) or (j["decision"] == "journal" and d["decision"] != "journal")


def _combine(mid: int, j: dict[str, Any] | None, d: dict[str, Any] | None,
             lock: int | None) -> EffectiveDecision:
    judge_screen = _screen_of(j["screening"]) if j else False
    hjemmel = _hjemmel_of(j["screening"]) if j else None
    if d is not None and d["kind"] != "unflag":
        screen = d["screen"] if d["screen"] is not None else judge_screen
        if j is not None and _stricter_on_new_version(j, d, bool(screen), judge_screen):
            # a new version's judgment asks more than the moderator allowed on the old text: it
            # does not go out on the old decision, it waits for a moderator
            reasons = "; ".join(reason_line(r) for r in (j["reasons"] or []) if isinstance(r, dict))
            return EffectiveDecision(
                message_id=mid, decision="review", screen=judge_screen, source="judge",
                decided_by=j["actor"], decided_at=j["judged_at"],
                reason=(f"a new version was judged stricter ({j['decision']}"
                        f"{' with skjerming' if judge_screen else ''}) than the moderator's decision "
                        f"({d['decision']}{' with skjerming' if screen else ''}): waits for a moderator"
                        + (f"; {reasons}" if reasons else "")),
                judgment_id=j["id"], decision_id=None, kind=None, hjemmel=hjemmel if judge_screen else None,
                lock_version=lock,
            )
        if d["kind"] == "confirm" and d["judgment_id"] is not None:
            reason = d["reason"] or f"confirmed the judge's proposal (judgment {d['judgment_id']})"
            jid = d["judgment_id"]
        elif d["kind"] == "confirm":
            reason = d["reason"] or "confirmed the moderator decision in effect"
            jid = j["id"] if j else None
        else:
            reason = d["reason"]
            jid = j["id"] if j else None
        return EffectiveDecision(
            message_id=mid, decision=d["decision"], screen=bool(screen), source="moderator",
            decided_by=d["actor"], decided_at=d["decided_at"], reason=reason, judgment_id=jid,
            decision_id=d["id"], kind=d["kind"], hjemmel=hjemmel if screen else None, lock_version=lock,
        )
    if j is not None:
        reasons = "; ".join(reason_line(r) for r in (j["reasons"] or []) if isinstance(r, dict))
        return EffectiveDecision(
            message_id=mid, decision=j["decision"], screen=judge_screen, source="judge",
            decided_by=j["actor"], decided_at=j["judged_at"], reason=reasons or None, judgment_id=j["id"],
            decision_id=None, kind=None, hjemmel=hjemmel if judge_screen else None, lock_version=lock,
        )
    return EffectiveDecision(mid, None, False, None, None, None, None, None, None, lock_version=lock)


def may_have_decision_sql(decision: str):
    """SQL: (platform, platform_message_id) of the messages with, on some version, a judgment or a
    moderator decision that could make ``decision`` their effective decision — a superset, found
    from the judgments and decisions of that value (indexed). ``review`` also comes from a judgment
    of a new version stricter than a moderator's decision: every message a moderator decided may
    have it."""
    ver = MSG.alias("cand_ver")
    by_judge = (select(ver.c.platform, ver.c.platform_message_id)
                .select_from(JUD.join(ver, ver.c.id == JUD.c.message_id)).where(JUD.c.decision == decision))
    by_moderator = select(ver.c.platform, ver.c.platform_message_id).select_from(
        DEC.join(ver, ver.c.id == DEC.c.message_id))
    if decision != Decision.review.value:
        by_moderator = by_moderator.where(DEC.c.decision == decision)
    return union(by_judge, by_moderator)


def few_may_have_decision(conn: Connection, decision: str, few: int) -> bool:
    """Whether at most ``few`` judgments and moderator decisions could make ``decision`` the
    effective decision of a message (the rows behind :func:`may_have_decision_sql`; read through
    the decision indexes, never more than ``few + 1`` of each), to choose how to filter."""
    by_judge = select(JUD.c.id).where(JUD.c.decision == decision).limit(few + 1).subquery("fj")
    by_moderator = select(DEC.c.id)
    if decision != Decision.review.value:
        by_moderator = by_moderator.where(DEC.c.decision == decision)
    by_moderator = by_moderator.limit(few + 1).subquery("fd")
    n = (conn.execute(select(func.count()).select_from(by_judge)).scalar() or 0) + \
        (conn.execute(select(func.count()).select_from(by_moderator)).scalar() or 0)
    return n <= few


def _latest_by_key(table, keys):
    """SQL: per message (platform, platform_message_id) the newest row id of ``table`` over all
    versions, for the messages in ``keys`` (a select of keys) or all."""
    ver = MSG.alias(f"lv_{table.name}")
    stmt = (select(ver.c.platform.label("platform"), ver.c.platform_message_id.label("pmid"),
                   func.max(table.c.id).label("latest"))
            .select_from(table.join(ver, ver.c.id == table.c.message_id)))
    if keys is not None:
        stmt = stmt.where(tuple_(ver.c.platform, ver.c.platform_message_id).in_(keys))
    return stmt.group_by(ver.c.platform, ver.c.platform_message_id).subquery(f"latest_{table.name}")


def effective_decision_sql(decision: str | None = None):
    """SQL with the rule of :func:`_combine`: ``(id, decision)`` of every current message, its
    effective decision (NULL when neither judged nor decided). With ``decision``: only the current
    messages whose effective decision it is — the latest judgments and decisions are then looked
    up only for the messages that could have it (:func:`may_have_decision_sql`, indexed), so a
    decision few messages have is found without reading the others.

    The same rule, case by case: the latest moderator decision over all versions counts unless it
    is an unflag — except that a judgment of a newer version (not the one a confirm accepted) that
    adds skjerming or journals what the moderator did not makes it ``review``; otherwise the
    latest judgment counts.

    Meant for decisions few messages could have (:func:`few_may_have_decision`): over many
    thousands of candidates the Python rule on the first windows of a page is cheaper."""
    keys = may_have_decision_sql(decision) if decision is not None else None
    cur = MSG.alias("eff_cur")
    lj, ld = _latest_by_key(JUD, keys), _latest_by_key(DEC, keys)
    j, d = JUD.alias("eff_j"), DEC.alias("eff_d")
    judge_screen = func.coalesce(j.c.screening["screen"].as_boolean(), false())
    moderator_screen = case((d.c.screen.is_not(None), d.c.screen), else_=judge_screen)
    moderator_counts = and_(d.c.id.is_not(None), d.c.kind != "unflag")
    stricter = and_(
        j.c.id.is_not(None), j.c.message_id > d.c.message_id,
        or_(d.c.judgment_id.is_(None), d.c.judgment_id != j.c.id),
        or_(and_(judge_screen, ~moderator_screen),
            and_(j.c.decision == Decision.journal.value,
                 func.coalesce(d.c.decision, "") != Decision.journal.value)))
    effective = case(
        (and_(moderator_counts, stricter), literal(Decision.review.value)),
        (moderator_counts, d.c.decision),
        else_=j.c.decision,
    ).label("decision")
    frm = (cur.outerjoin(lj, and_(lj.c.platform == cur.c.platform, lj.c.pmid == cur.c.platform_message_id))
           .outerjoin(ld, and_(ld.c.platform == cur.c.platform, ld.c.pmid == cur.c.platform_message_id))
           .outerjoin(j, j.c.id == lj.c.latest)
           .outerjoin(d, d.c.id == ld.c.latest))
    stmt = select(cur.c.id.label("id"), effective).select_from(frm).where(cur.c.is_current.is_(True))
    if keys is not None:
        stmt = stmt.where(tuple_(cur.c.platform, cur.c.platform_message_id).in_(keys))
    if decision is not None:
        stmt = stmt.where(or_(lj.c.latest.is_not(None), ld.c.latest.is_not(None)), effective == decision)
    return stmt


# -- deciding -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What happened to one decision: stored, or refused because of a conflict."""

    ref: str
    message_id: int
    stored: bool
    kind: str
    decision_id: int | None = None
    lock_version: int | None = None       # after a stored decision: the new lock
    effective: dict[str, Any] = field(default_factory=dict)
    conflict: str | None = None           # the one-line conflict message


@dataclass
class _Target:
    ref: str
    message_id: int
    seen: int                  # the lock_version the decision is based on
    judgment_id: int | None    # confirm: the judgment the moderator accepts (when the judge's view counts)
    effective: EffectiveDecision | None = None   # confirm: what the moderator was shown as counting


def _describe_latest(conn: Connection, message_id: int) -> str:
    """Who changed the message last, for a conflict message."""
    did = _latest_ids(conn, DEC, [message_id]).get(message_id)
    d = _rows_by_id(conn, DEC, [did]).get(did) if did else None
    cur = conn.execute(select(MSG.c.version, MSG.c.imported_at).where(MSG.c.id == message_id)).first()
    edited = ""
    if cur is not None and cur.version > 1 and (d is None or cur.imported_at > d["decided_at"]):
        edited = f"a new version (v{cur.version}) was imported at {_when(cur.imported_at)}"
    if d is None:
        return edited or "the message changed"
    if d["kind"] == "flag":
        scr = "" if d["screen"] is None else (" with skjerming" if d["screen"] else " without skjerming")
        what = f"{d['actor']} flagged it {d['decision']}{scr}"
    elif d["kind"] == "confirm" and d["judgment_id"] is not None:
        what = f"{d['actor']} confirmed the judge's {d['decision']} (judgment {d['judgment_id']})"
    elif d["kind"] == "confirm":
        what = f"{d['actor']} confirmed the moderator decision {d['decision']}"
    else:
        what = f"{d['actor']} unflagged it"
    what += f" at {_when(d['decided_at'])}"
    if d["reason"]:
        what += f" — reason: «{d['reason']}»"
    return f"{what}; {edited}" if edited else what


def _look_again(t: _Target, then: str) -> Hint:
    return Hint("check {step} and " + then, "message.read:show", message=str(t.message_id))


def _conflict_line(conn: Connection, t: _Target, now_lock: int | None) -> Note:
    other = _describe_latest(conn, t.message_id)
    now = f", now {now_lock}" if now_lock is not None else ""
    return Note(f"conflict on message {t.message_id} ({t.ref}): it changed since you saw it (version {t.seen}{now}): "
                f"{other}. Nothing of yours was stored",
                _look_again(t, f"decide again with --expect-version {now_lock if now_lock is not None else '?'}"))


def _ref_is_old_version(conn: Connection, ref: str, current: int) -> bool:
    raw = ref.strip()
    raw = raw[3:] if raw.startswith("id:") else raw
    n = msgs.internal_id(raw)
    if n is None or n == current:
        return False
    return conn.execute(select(MSG.c.id).where(MSG.c.id == n)).scalar() is not None


def _targets(app: App, refs: Sequence[str], expect_version: int | None, kind: str) -> list[tuple[_Target, str | None]]:
    """Resolve every reference before anything is written (a typo stops the whole batch)."""
    refs = [r.strip() for r in refs if r and r.strip()]
    if not refs:
        raise UsageError(f"{kind}: no message given — name one or more messages, or --from-file FILE")
    if expect_version is not None and len(refs) > 1:
        raise UsageError("--expect-version applies to one message — decide several messages without it, "
                         "or one at a time")
    resolved: list[tuple[str, int]] = []
    seen_ids: set[int] = set()
    for r in refs:
        mid = msgs.resolve(app, r)
        if mid in seen_ids:
            continue            # the same message named twice (e.g. by id and platform id) is decided once
        seen_ids.add(mid)
        resolved.append((r, mid))
    out: list[tuple[_Target, str | None]] = []
    with app.db.read() as conn:
        ids = [m for _, m in resolved]
        locks = {mid: lock for mid, lock in conn.execute(
            select(MSG.c.id, MSG.c.lock_version).where(MSG.c.id.in_(ids)))} if ids else {}
        effs = effective_decisions(conn, ids)
        latest_js = _latest_ids(conn, JUD, ids)
        for r, mid in resolved:
            eff = effs[mid]
            now_lock = locks[mid]
            t = _Target(r, mid, expect_version if expect_version is not None else now_lock, latest_js.get(mid), eff)
            if expect_version is not None and (expect_version != now_lock or _ref_is_old_version(conn, r, mid)):
                # the moderator's view is stale: report it, whatever the message's state is now
                out.append((t, _conflict_line(conn, t, now_lock)))
                continue
            if kind == "confirm":
                _check_confirmable(t, eff)
            if kind == "unflag" and eff.source != "moderator":
                raise UsageError(f"message {mid} ({r}) has no moderator decision to undo — it already follows "
                                 f"the judge ({eff.line()})")
            out.append((t, None))
    return out


def _check_confirmable(t: _Target, eff: EffectiveDecision) -> None:
    if eff.source is None:
        raise UsageError(f"message {t.message_id} ({t.ref}) has no judgment to confirm",
                         Hint("run {step} first, or decide it with {step2}", "judge.run",
                                                               also="message.decide:flag"))
    if eff.decision == Decision.review.value:
        raise UsageError(f"message {t.message_id} ({t.ref}): the judge could not decide (review), so there is "
                         "nothing to confirm", Hint("decide it with {step}", "message.decide:flag-choice"))


def _judgment(conn: Connection, judgment_id: int) -> dict[str, Any]:
    return dict(conn.execute(select(JUD).where(JUD.c.id == judgment_id)).mappings().one())


def _decide(app: App, targets: list[tuple[_Target, str | None]], kind: str, *, decision: str | None = None,
            screen: bool | None = None, reason: str | None = None) -> list[Outcome]:
    results: list[Outcome] = []
    for t, early_conflict in targets:
        if early_conflict:
            results.append(Outcome(t.ref, t.message_id, False, kind, conflict=early_conflict))
            continue
        try:
            with app.db.write() as conn:
                results.append(_store_one(app, conn, t, kind, decision, screen, reason))
        except _Lost as lost:
            # rolled back; read what won in a fresh transaction that sees it
            with app.db.read() as conn:
                now_lock = conn.execute(select(MSG.c.lock_version).where(MSG.c.id == t.message_id)).scalar()
                line = lost.line or _conflict_line(conn, t, now_lock)
            results.append(Outcome(t.ref, t.message_id, False, kind, conflict=line))
    return results


class _Lost(Exception):
    """Internal: the optimistic lock was lost; the write transaction is rolled back."""

    def __init__(self, line: str | None = None):
        super().__init__(line or "lost")
        self.line = line


def _store_one(app: App, conn: Connection, t: _Target, kind: str, decision: str | None,
               screen: bool | None, reason: str | None) -> Outcome:
    bumped = conn.execute(
        update(MSG).where(MSG.c.id == t.message_id, MSG.c.lock_version == t.seen, MSG.c.is_current.is_(True))
        .values(lock_version=MSG.c.lock_version + 1)
    ).rowcount
    if bumped != 1:
        raise _Lost()
    # We hold the row now: no other decision on this message can commit until we do.
    j, d, _lock = _states(conn, [t.message_id])[t.message_id]
    before = _combine(t.message_id, j, d, t.seen)
    judgment_id = None
    if kind == "confirm":
        seen = t.effective
        if before.source == "judge" and (j is None or j["id"] != t.judgment_id):
            raise _Lost(Note(
                f"conflict on message {t.message_id} ({t.ref}): the judge made a new judgment "
                f"({j['id'] if j else '?'}, proposes {j['decision'] if j else '?'}) after you looked at judgment "
                f"{t.judgment_id}. Nothing of yours was stored", _look_again(t, "confirm or flag again")))
        if seen is not None and (before.source, before.decision, before.screen, before.decision_id) != (
                seen.source, seen.decision, seen.screen, seen.decision_id):
            raise _Lost(Note(
                f"conflict on message {t.message_id} ({t.ref}): what counts changed since you looked "
                f"(you saw {seen.line()}, now {before.line()}). Nothing of yours was stored",
                _look_again(t, "confirm or flag again")))
        # confirm what the moderator was shown: the effective decision, not the latest proposal
        decision, screen = before.decision, before.screen
        judgment_id = j["id"] if before.source == "judge" and j is not None else None
    if kind == "unflag" and before.source != "moderator":
        raise _Lost()
    new_lock = t.seen + 1
    row = {"message_id": t.message_id, "kind": kind, "decision": decision, "screen": screen, "reason": reason,
           "judgment_id": judgment_id, "lock_version": new_lock, "actor": app.actor, "decided_at": now()}
    did = int(conn.execute(DEC.insert().values(**row)).inserted_primary_key[0])
    after = _combine(t.message_id, j, dict(row, id=did), new_lock)
    # a message that becomes journal through this decision gets its numbers in this transaction
    registry.register(conn, [t.message_id], at=row["decided_at"], actor=app.actor,
                      effective={t.message_id: after.decision})
    app.audit(conn, f"decision.{kind}", "message", t.message_id, before=before.summary(), after=after.summary(),
              reason=reason)
    return Outcome(t.ref, t.message_id, True, kind, decision_id=did, lock_version=new_lock,
                   effective=after.summary())


def _need_reason(reason: str | None, kind: str) -> str:
    if reason is None or not reason.strip():
        raise UsageError(f"{kind} needs --reason TEXT: say why, it is kept in the audit trail for the auditors")
    return reason.strip()


def flag(app: App, refs: Sequence[str], decision: str, reason: str, *, screen: bool | None = None,
         expect_version: int | None = None) -> list[Outcome]:
    """Override the judge: journal, archive or exclude, with a reason (and optionally skjerming).

    ``screen=None`` keeps the judge's screening proposal; True/False decides it.
    """
    app.require("message.decide")
    if decision not in FLAG_DECISIONS:
        raise UsageError(f"flag: {decision!r} is not a decision — use journal, archive or exclude")
    reason = _need_reason(reason, "flag")
    return _decide(app, _targets(app, refs, expect_version, "flag"), "flag",
                   decision=decision, screen=screen, reason=reason)


def confirm(app: App, refs: Sequence[str], *, reason: str | None = None,
            expect_version: int | None = None) -> list[Outcome]:
    """Confirm the effective decision as it stands (decision and screening): the judge's latest
    proposal when no moderator has decided, else the moderator decision in effect."""
    app.require("message.decide")
    reason = reason.strip() if reason and reason.strip() else None
    return _decide(app, _targets(app, refs, expect_version, "confirm"), "confirm", reason=reason)


def unflag(app: App, refs: Sequence[str], reason: str, *, expect_version: int | None = None) -> list[Outcome]:
    """Withdraw the moderator decision: the judge's latest proposal counts again."""
    app.require("message.decide")
    reason = _need_reason(reason, "unflag")
    return _decide(app, _targets(app, refs, expect_version, "unflag"), "unflag", reason=reason)


def raise_for_conflicts(outcomes: Sequence[Outcome]) -> None:
    """One conflict: its line. Several: a summary (the lines were shown one by one)."""
    lost = [o for o in outcomes if not o.stored]
    if not lost:
        return
    if len(outcomes) == 1:
        line = lost[0].conflict or "conflict"
        if isinstance(line, Note):
            raise ConflictError(line.base, line.hint)
        raise ConflictError(line)
    raise ConflictError(f"{len(lost)} of {len(outcomes)} decisions were not stored because of conflicts "
                        "(listed above); the others were stored — look again and decide those again")


# -- recorded actions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedAction:
    """One recorded action (:func:`record_action`) and the message's status after it."""

    message_id: int
    action: str
    action_id: int
    actor: str
    recorded_at: datetime
    note: str | None
    status: str                        # moderation_status after the action: active, hidden, deleted …


def record_action(app: App, ref: str, action: str, note: str | None = None) -> RecordedAction:
    """Record one of the guideline's actions against a message (who, when, why).

    Hiding or deleting does not touch the captured content: the archive keeps the message as it
    was, and tells its reader who removed it from the platform, when and why.
    """
    app.require("action.record")
    if action not in ACTIONS:
        raise UsageError(f"unknown action {action!r} — use one of: {', '.join(ACTIONS)}")
    note = note.strip() if note and note.strip() else None
    if action in REMOVALS and note is None:
        raise UsageError(f"{action} needs a note saying why it was {action} (kept with the archived message)")
    mid = msgs.resolve(app, ref)
    with app.db.write() as conn:
        before = moderation_status(conn, mid)
        at = now()
        res = conn.execute(ACT.insert().values(message_id=mid, action=action, note=note, actor=app.actor,
                                               recorded_at=at))
        aid = int(res.inserted_primary_key[0])
        after = moderation_status(conn, mid)
        app.audit(conn, "action.record", "message", mid,
                  before={"status": before["status"]},
                  after={"action": action, "action_id": aid, "status": after["status"]}, reason=note)
    return RecordedAction(message_id=mid, action=action, action_id=aid, actor=app.actor, recorded_at=at,
                          note=note, status=after["status"])


def _version_ids(conn: Connection, message_id: int) -> list[int]:
    row = conn.execute(select(MSG.c.platform, MSG.c.platform_message_id).where(MSG.c.id == message_id)).first()
    if row is None:
        return []
    return [r[0] for r in conn.execute(
        select(MSG.c.id).where(MSG.c.platform == row.platform, MSG.c.platform_message_id == row.platform_message_id)
        .order_by(MSG.c.version))]


def moderation_status(conn: Connection, message_id: int) -> dict[str, Any]:
    """The message's status as the archive should report it.

    The platform's own status (what the importer captured) combined with the moderators'
    recorded removals: the latest hidden/deleted action says who, when and why.
    """
    ids = _version_ids(conn, message_id)
    if not ids:
        raise UsageError(f"no message with internal id {message_id}")
    platform_status = conn.execute(
        select(MSG.c.status).where(MSG.c.id.in_(ids)).order_by(MSG.c.is_current.desc(), MSG.c.version.desc())
        .limit(1)).scalar() or "active"
    removal = conn.execute(
        select(ACT).where(ACT.c.message_id.in_(ids), ACT.c.action.in_(REMOVALS)).order_by(ACT.c.id.desc()).limit(1)
    ).mappings().first()
    if removal is None:
        return {"status": platform_status, "platform_status": platform_status, "removed_by": None,
                "removed_at": None, "removal_reason": None}
    return {"status": removal["action"], "platform_status": platform_status, "removed_by": removal["actor"],
            "removed_at": removal["recorded_at"], "removal_reason": removal["note"]}
