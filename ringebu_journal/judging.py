"""Judging stored messages: the judge (``ringebu_journal.judge``) applied to the database.

Streams the current version of each message in batches, gives the judge the thread context
(the message it answers and the thread's first post, or the previous message in a private
conversation), stores one ``judgments`` row per message and writes one ``judgment.add`` audit
event each, in the same transaction. A judgment is never overwritten: judging again with a
changed policy, or after the thread context changed, adds a new judgment. A message whose
effective decision becomes journal through a judgment gets its numbers from the registry
(``registry.register``) in the same transaction; the effective decision it needs is the new
judgment's own unless a moderator has decided on the message (``moderation.effective_after_judging``).
Each batch is judged with one ``Judge.judge_many`` (the same results as judging its messages one
at a time) and stores its judgments, numbers and audit events with one executemany each (the
judgments and events at the driver level, ``db/bulk.py``: stored exactly as SQLAlchemy Core
stores them). The cyclic garbage collector is off while a batch is judged and stored and runs
once after each committed batch (``db.batches.collect_per_batch``).

The thread context of a batch is read by index only (parents and posts by their ids, per platform;
the siblings in the batch's time span per parent; the latest earlier sibling per parent by walking
the parent index down), so a batch costs the same however long its threads and the table already
are (``tests/judging/test_context_cost.py`` counts SQLite's steps).
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from . import audit, clock, killpoints, organisation, registry
from .app import App
from .db.batches import batch_done, collect_per_batch
from .db.bulk import insert_rows
from .db.tables import Judgment, Message
from .judge import ContextItem, Judge, load_policy
from .moderation import effective_after_judging
from .models import Reason, ScreeningProposal

MSG = Message.__table__
JUD = Judgment.__table__

BATCH = 1000
#: the judgment columns, in the order of the rows ``judge_stored`` writes
_JUDGMENT_COLUMNS = ("message_id", "decision", "confidence", "categories", "actions", "screening", "reasons",
                     "policy_version", "policy_hash", "model_hash", "context_hash", "judged_at", "actor")


@dataclass
class JudgeSummary:
    examined: int = 0
    judged: int = 0
    unchanged: int = 0
    by_decision: dict[str, int] = field(default_factory=dict)
    policy_version: str = ""
    policy_hash: str = ""
    model_hash: str = ""

    def line(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.by_decision.items()))
        model = f"; model {self.model_hash[:12]}" if self.model_hash else "; no model"
        return (f"judged {self.judged} messages ({parts or 'none'}); {self.unchanged} unchanged since their "
                f"last judgment; policy {self.policy_version} ({self.policy_hash[:12]}){model}")


def make_judge(app: App, policy_path: str | Path | None = None) -> Judge:
    """The judge with the policy and the model in use: the model staff put in use
    (``model use``), else the policy's own (``[model] file`` or the shipped one)."""
    from .judge_models import active_model

    policy = load_policy(policy_path)
    domain = organisation.profile(app).domain
    model = active_model(app) if policy.model["enabled"] else None
    if model is None:
        return Judge(policy, own_domain=domain)
    return Judge(policy, own_domain=domain, model=model)


_REP = MSG.alias("rep")
_SIB = MSG.alias("sib")


def _latest_before(first: datetime):
    """The id of the latest current message (by created_at, then id) under the parent of
    ``_REP``'s row that was created before ``first`` (NULL when there is none), as a correlated
    scalar subquery that reads the parent's index from ``first`` down."""
    return (select(_SIB.c.id)
            .where(_SIB.c.platform == _REP.c.platform, _SIB.c.parent_platform_id == _REP.c.parent_platform_id,
                   _SIB.c.parent_platform_id.isnot(None), _SIB.c.created_at < first, _SIB.c.is_current.is_(True))
            .order_by(_SIB.c.created_at.desc(), _SIB.c.id.desc()).limit(1).scalar_subquery())


def _per_platform(pairs: Iterable[tuple[str, str]], size: int = 500) -> Iterator[tuple[str, list[str]]]:
    """(platform, up to ``size`` of its ids) for (platform, id) pairs, in a stable order."""
    ids: dict[str, list[str]] = {}
    for plat, pid in pairs:
        ids.setdefault(plat, []).append(pid)
    for plat in sorted(ids):
        group = ids[plat]
        for i in range(0, len(group), size):
            yield plat, group[i:i + size]


def context_for(conn: Connection, rows: list[dict[str, Any]]) -> dict[int, list[ContextItem]]:
    """Thread context for a batch of messages, with a few queries for the whole batch (per 500
    parents), reading only the messages that can be context of a row of the batch."""
    wanted: set[tuple[str, str]] = set()
    convo_threads: set[int] = set()
    for r in rows:
        if r["conversation_id"]:
            convo_threads.add(r["thread_id"])
            continue
        if r["parent_platform_id"]:
            wanted.add((r["platform"], r["parent_platform_id"]))
        if r["post_platform_id"] and r["post_platform_id"] not in (r["parent_platform_id"], r["platform_message_id"]):
            wanted.add((r["platform"], r["post_platform_id"]))
    by_pid: dict[tuple[str, str], tuple[str, bool]] = {}
    # Facebook and Instagram return replies flat under the top-level comment, so the message a
    # reply really answers is often the reply just before it under the same parent (a sibling):
    # "Ja, registrer det som en klage" answers the municipality's question, not the complaint.
    # Only the siblings that can be "just before" a row of the batch are read: those created within
    # the batch's span, and under each parent the latest ones created before it (a batch of a long
    # thread no longer reads the whole thread).
    replies = [r for r in rows if r["parent_platform_id"] and not r["conversation_id"]]
    # one reply of the batch per parent: the row the earlier-sibling lookup starts from
    first_reply: dict[tuple[str, str], int] = {}
    for r in replies:
        first_reply.setdefault((r["platform"], r["parent_platform_id"]), r["id"])
    siblings: dict[tuple[str, str], list[tuple[datetime, int, str, bool]]] = {}
    # The queries name one platform and a list of ids: SQLite then reads its indexes once per id,
    # where a list of (platform, id) pairs made it scan the whole table (or, for the siblings, every
    # message in the batch's time span), each batch costing more as the table grew.
    if replies:
        first, last = min(r["created_at"] for r in replies), max(r["created_at"] for r in replies)
        sib_cols = (MSG.c.platform, MSG.c.parent_platform_id, MSG.c.created_at, MSG.c.id, MSG.c.text,
                    MSG.c.author_is_municipality)
        earlier: list[int] = []
        for plat, chunk in _per_platform(first_reply):
            # the parent index (partial: its rows have a parent, which "IN" implies) per parent
            under = [MSG.c.platform == plat, MSG.c.parent_platform_id.in_(chunk), MSG.c.is_current.is_(True)]
            for _, parent, created, mid, text, muni in conn.execute(
                    select(*sib_cols).where(*under, MSG.c.created_at >= first, MSG.c.created_at <= last)):
                siblings.setdefault((plat, parent), []).append((created, mid, text, muni))
            # under each parent, the latest current sibling created before the batch's span (the
            # only earlier one that can be just before a row of the batch): found by walking the
            # parent's index down from the span's start to the first current one (a GROUP BY max()
            # read every earlier sibling, so each batch of a long thread cost more than the last)
            reps = [first_reply[(plat, parent)] for parent in chunk]
            earlier.extend(m[0] for m in conn.execute(
                select(_latest_before(first)).where(_REP.c.id.in_(reps))) if m[0] is not None)
        for i in range(0, len(earlier), 500):
            for plat, parent, created, mid, text, muni in conn.execute(
                    select(*sib_cols).where(MSG.c.id.in_(earlier[i:i + 500]))):
                siblings.setdefault((plat, parent), []).append((created, mid, text, muni))
    for plat, chunk in _per_platform(wanted):
        for _, pid, text, muni in conn.execute(
            select(MSG.c.platform, MSG.c.platform_message_id, MSG.c.text, MSG.c.author_is_municipality)
            .where(MSG.c.platform == plat, MSG.c.platform_message_id.in_(chunk), MSG.c.is_current.is_(True))
        ):
            by_pid[(plat, pid)] = (text, muni)
    convo: dict[int, list[tuple[datetime, int, str, bool]]] = {}
    if convo_threads:
        for m in conn.execute(
            select(MSG.c.thread_id, MSG.c.created_at, MSG.c.id, MSG.c.text, MSG.c.author_is_municipality)
            .where(MSG.c.thread_id.in_(list(convo_threads)), MSG.c.is_current.is_(True))
            .order_by(MSG.c.thread_id, MSG.c.created_at, MSG.c.id)
        ):
            convo.setdefault(m.thread_id, []).append((m.created_at, m.id, m.text, m.author_is_municipality))
    # Each group sorted once; the message just before a row is found by bisection, so a thread of
    # n messages costs n log n, not n² (every reply used to scan and sort all its siblings).
    for group in siblings.values():
        group.sort(key=lambda c: (c[0], c[1]))
    sibling_keys = {k: [(c[0], c[1]) for c in g] for k, g in siblings.items()}
    convo_keys = {k: [(c[0], c[1]) for c in g] for k, g in convo.items()}

    def just_before(group: list, keys: list, row: dict[str, Any]):
        i = bisect.bisect_left(keys, (row["created_at"], row["id"]))
        return group[i - 1] if i else None

    # a message that is the parent or root of many rows gets one (immutable) item per relation
    shared: dict[tuple[str, str, str], ContextItem] = {}

    def item_of(key: tuple[str, str], relation: str) -> ContextItem | None:
        item = shared.get((*key, relation))
        if item is None:
            found = by_pid.get(key)
            if found is None:
                return None
            item = shared[(*key, relation)] = ContextItem(text=found[0], author_is_municipality=found[1],
                                                          relation=relation)  # type: ignore[arg-type]
        return item

    out: dict[int, list[ContextItem]] = {}
    for r in rows:
        items: list[ContextItem] = []
        if r["conversation_id"]:
            prev = just_before(convo.get(r["thread_id"], []), convo_keys.get(r["thread_id"], []), r)
            if prev:
                _, _, t, muni = prev
                items.append(ContextItem(text=t, author_is_municipality=muni, relation="parent"))
        else:
            parent_id = r["parent_platform_id"]
            if parent_id:
                key = (r["platform"], parent_id)
                parent = item_of(key, "parent")
                if parent is not None:
                    items.append(parent)
                prev = just_before(siblings.get(key, []), sibling_keys.get(key, []), r)
                if prev:
                    _, _, t, muni = prev
                    items.append(ContextItem(text=t, author_is_municipality=muni, relation="sibling"))
            root_id = r["post_platform_id"]
            if root_id and root_id not in (parent_id, r["platform_message_id"]):
                root = item_of((r["platform"], root_id), "root")
                if root is not None:
                    items.append(root)
        out[r["id"]] = items
    return out


def context_hash(text: str, author_is_municipality: bool, ctx: Iterable[ContextItem]) -> str:
    h = hashlib.sha256()
    h.update(b"M" if author_is_municipality else b"C")
    h.update(text.encode("utf-8", "surrogatepass"))
    for c in ctx:
        h.update(b"\x1e" + c.relation.encode() + (b"M" if c.author_is_municipality else b"C"))
        h.update(c.text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def screening_json(s: ScreeningProposal) -> dict[str, Any]:
    """The stored form of a screening proposal: what ``model_dump(mode="json")`` gives, built
    directly (the judge's results are valid by construction; dumping through pydantic cost more
    than storing)."""
    return {"screen": s.screen, "mask": list(s.mask), "hjemmel": s.hjemmel, "reasons": list(s.reasons)}


def reasons_json(reasons: Iterable[Reason]) -> list[dict[str, Any]]:
    """The stored form of the reasons: each as ``model_dump(mode="json")`` with its ``line``."""
    return [{"rule": x.rule, "description": x.description, "matched": x.matched, "effect": x.effect,
             "line": x.line()} for x in reasons]


def judge_stored(app: App, *, everything: bool = False, policy_path: str | Path | None = None,
                 message_ids: list[int] | None = None,
                 advance: Callable[[int], None] | None = None) -> JudgeSummary:
    """Judge the current version of stored messages.

    ``everything=False`` (``--pending``): messages without any judgment.
    ``everything=True`` (``--all``): every message; a new judgment is stored where the policy,
    the model or the thread context differ from its latest judgment (same inputs give the same result,
    so nothing identical is stored twice).
    """
    app.require("judge.run")
    judge = make_judge(app, policy_path)
    policy = judge.policy
    summary = JudgeSummary(policy_version=policy.version, policy_hash=policy.sha256, model_hash=judge.model_hash)
    last_id = 0
    # the judge is built: it is part of the frozen heap the collector no longer walks
    with collect_per_batch():
        while True:
            with app.db.write() as conn:
                done = _judge_batch(app, conn, judge, summary, last_id, everything, message_ids)
                if done is None:
                    break
                last_id, examined = done
                killpoints.reached("judge.batch")           # written, not yet committed
            killpoints.reached("judge.committed")
            batch_done()        # the batch's judgments, rows and events are gone by now
            if advance:
                advance(examined)
    return summary


_COLS = [MSG.c.id, MSG.c.platform, MSG.c.platform_message_id, MSG.c.thread_id, MSG.c.text,
         MSG.c.author_is_municipality, MSG.c.parent_platform_id, MSG.c.post_platform_id,
         MSG.c.conversation_id, MSG.c.created_at]


def _judge_batch(app: App, conn: Connection, judge: Judge, summary: JudgeSummary, last_id: int, everything: bool,
                 message_ids: list[int] | None) -> tuple[int, int] | None:
    """Judge and store the next batch after ``last_id`` in the caller's transaction: (the last id
    examined, how many were examined), or None when no message is left."""
    policy = judge.policy
    stmt = select(*_COLS).where(MSG.c.is_current.is_(True), MSG.c.id > last_id)
    if message_ids is not None:
        stmt = stmt.where(MSG.c.id.in_(message_ids))
    result = conn.execute(stmt.order_by(MSG.c.id).limit(BATCH))
    keys = tuple(result.keys())
    rows = [dict(zip(keys, r)) for r in result]     # plain rows, zipped (a RowMapping per row cost more)
    if not rows:
        return None
    summary.examined += len(rows)
    latest = _latest_judgments(conn, [r["id"] for r in rows])
    if not everything:
        rows_to_judge = [r for r in rows if r["id"] not in latest]
        summary.unchanged += len(rows) - len(rows_to_judge)
    else:
        rows_to_judge = rows
    ctx = context_for(conn, rows_to_judge)
    now = clock.now()
    todo = []
    for r in rows_to_judge:
        items = ctx.get(r["id"], [])
        chash = context_hash(r["text"], r["author_is_municipality"], items)
        prev = latest.get(r["id"])
        if (prev is not None and prev["policy_hash"] == policy.sha256 and prev["context_hash"] == chash
                and prev["model_hash"] == judge.model_hash):
            summary.unchanged += 1
            continue
        todo.append((r, items, chash, prev))
    results = judge.judge_many([(r["text"], r["author_is_municipality"], items) for r, items, _, _ in todo])
    inserts, events = [], []
    actor, identity, role = app.actor, app.identity, app.role or "none"
    version, phash, mhash = policy.version, policy.sha256, judge.model_hash
    # equal category lists, action lists and screenings are one object each in the batch: the
    # bulk insert serialises each object once (most messages are not screened and share a few lists)
    shared: dict[tuple, Any] = {}

    def one(key: tuple, make: Callable[[], Any]) -> Any:
        value = shared.get(key)
        if value is None:
            value = shared[key] = make()
        return value

    for (r, _, chash, prev), res in zip(todo, results):
        decision = res.decision.value
        categories = one(("c", *res.categories), lambda: list(res.categories))
        action_key = ("a", *(a.value for a in res.actions))
        actions = one(action_key, lambda: list(action_key[1:]))
        s = res.screening
        screening = one(("s", s.screen, s.hjemmel, tuple(s.mask), tuple(s.reasons)), lambda: screening_json(s))
        inserts.append((r["id"], decision, res.confidence, categories, actions, screening,
                        reasons_json(res.reasons), version, phash, mhash, chash, now, actor))
        events.append({
            "actor": actor, "identity": identity, "role": role, "action": "judgment.add",
            "object_type": "message", "object_id": r["id"],
            "before": ({"decision": prev["decision"], "policy_hash": prev["policy_hash"]} if prev else None),
            "after": {"decision": decision, "confidence": res.confidence,
                      "categories": categories, "actions": actions,
                      "screen": res.screening.screen, "policy_version": version,
                      "policy_hash": phash, "model_hash": mhash},
            "reason": "; ".join(x.rule for x in res.reasons)[:1000] or None,
        })
        summary.by_decision[decision] = summary.by_decision.get(decision, 0) + 1
    if inserts:
        insert_rows(conn, JUD, _JUDGMENT_COLUMNS, inserts)
        # messages that became journal get their numbers in this same transaction
        judged = {r[0]: r[1] for r in inserts}
        registry.register(conn, list(judged), at=now, actor=app.actor,
                          effective=effective_after_judging(conn, judged))
        audit.append_many(conn, events)
        summary.judged += len(inserts)
    return rows[-1]["id"], len(rows)


def _latest_judgments(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    sub = (select(JUD.c.message_id, func.max(JUD.c.id).label("jid"))
           .where(JUD.c.message_id.in_(ids)).group_by(JUD.c.message_id).subquery())
    rows = conn.execute(
        select(JUD.c.message_id, JUD.c.decision, JUD.c.policy_hash, JUD.c.context_hash, JUD.c.model_hash)
        .join(sub, and_(JUD.c.id == sub.c.jid))
    ).mappings()
    return {r["message_id"]: dict(r) for r in rows}


def count_current(app: App) -> int:
    with app.db.read() as conn:
        return conn.execute(select(func.count()).select_from(MSG).where(MSG.c.is_current.is_(True))).scalar() or 0


def iter_judgments(app: App, *, latest_only: bool = True, decision: str | None = None) -> Iterator[dict[str, Any]]:
    """Judgments with their message's ids and the decision that counts, for `ringebu-journal judgments`.

    ``decision`` is the effective decision (``moderation.effective_decisions``: the moderator's,
    else the judge's) — what the exporter and the queue use; ``judge_decision`` is this judgment's
    own proposal beside it. The ``decision`` filter is on the effective decision.
    """
    app.require("message.read")
    from .moderation import effective_decisions

    stmt = (select(JUD, MSG.c.platform, MSG.c.platform_message_id, MSG.c.version.label("message_version"))
            .join(MSG, MSG.c.id == JUD.c.message_id))
    if latest_only:
        sub = select(func.max(JUD.c.id)).group_by(JUD.c.message_id)
        stmt = stmt.where(JUD.c.id.in_(sub), MSG.c.is_current.is_(True))
    with app.db.read() as conn:
        result = conn.execute(stmt.order_by(JUD.c.id)).mappings()
        while True:
            part = [dict(r) for r in result.fetchmany(500)]
            if not part:
                break
            effective = effective_decisions(conn, [d["message_id"] for d in part])
            for d in part:
                eff = effective[d["message_id"]]
                if decision and eff.decision != decision:
                    continue
                yield {
                    "message_id": d["message_id"],
                    "platform": d["platform"], "platform_message_id": d["platform_message_id"],
                    "message_version": d["message_version"],
                    "decision": eff.decision, "screen": eff.screen, "source": eff.source,
                    "decided_by": eff.decided_by if eff.source == "moderator" else None,
                    "judgment_id": d["id"], "judge_decision": d["decision"],
                    "judge_screen": bool((d["screening"] or {}).get("screen")),
                    "confidence": d["confidence"],
                    "categories": d["categories"], "actions": d["actions"], "screening": d["screening"],
                    "reasons": [x.get("line") or x.get("rule") for x in d["reasons"]],
                    "policy_version": d["policy_version"], "policy_hash": d["policy_hash"],
                    "model_hash": d["model_hash"], "judged_at": d["judged_at"], "judged_by": d["actor"],
                }
