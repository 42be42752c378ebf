"""Learning from moderators: their decisions as labelled cases, retraining with a side-by-side
evaluation, and policy rules proposed from repeated overrides.

Invariants:
- Every message a moderator flagged or confirmed is one labelled case, in the corpus format
  (``ringebu_journal.judge.evaluate``): its current text, the thread context the judge saw, the
  moderator's decision as ``journal`` and their screening as ``screen``; the actions are the
  judge's proposal made consistent with the moderator's decision, plus the actions moderators
  recorded (replied, referred, hidden or deleted). Files are written whole (temporary file
  renamed) and sorted by case id, so the same decisions give the same file.
- The exported file holds personal data and unscreened text: it is internal, like the database.
- Retraining never puts a model in use: it stores the new model and shows both models' figures on
  the same held-out cases; ``model use`` (audited, undoable) switches.
- The held-out share of moderator cases is chosen by a hash of the case id, so a case stays on
  the same side in every retraining.
- A proposed rule is a phrase that moderators moved the same way at least ``min_count`` times and
  that never occurs in a message moved the other way. Accepting one appends a rule to a policy
  file that staff name and checks that the file still loads; rejecting one is remembered. Both
  are audited.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy import func, select, tuple_

from . import clock
from .app import App
from .db.tables import Judgment, Message, MessageAction, ModeratorDecision, Setting
from .errors import Hint, InputError, UsageError
from .files import write_atomic
from .judge.engine import normalise
from .judge.evaluate import LabelledCase, evaluate_cases
from .judging import context_for
from .moderation import effective_decisions

MSG = Message.__table__
JUD = Judgment.__table__
DEC = ModeratorDecision.__table__
ACT = MessageAction.__table__
SETTINGS = Setting.__table__

REJECTED_KEY = "judge.rejected_phrases"
_RECORDED = {"replied": "reply", "referred_post": "refer_post", "referred_political": "refer_political",
             "hidden": "remove", "deleted": "remove"}
_ACTIONS = ("reply", "thank", "refer_post", "refer_political", "remove")


def moderator_cases(app: App) -> list[dict[str, Any]]:
    """Every message with a moderator decision in effect, as labelled cases (sorted by id)."""
    with app.db.read() as conn:
        decided = [r.message_id for r in conn.execute(select(DEC.c.message_id).distinct())]
        if not decided:
            return []
        eff = effective_decisions(conn, decided)
        keys = {(r.platform, r.platform_message_id) for r in conn.execute(
            select(MSG.c.platform, MSG.c.platform_message_id).where(MSG.c.id.in_(decided)))}
        rows = []
        for chunk in _chunks(sorted(keys), 300):
            rows += [dict(r) for r in conn.execute(
                select(MSG.c.id, MSG.c.platform, MSG.c.platform_message_id, MSG.c.thread_id, MSG.c.kind,
                       MSG.c.text, MSG.c.author_is_municipality, MSG.c.parent_platform_id, MSG.c.post_platform_id,
                       MSG.c.conversation_id, MSG.c.created_at)
                .where(MSG.c.is_current.is_(True), tuple_(MSG.c.platform, MSG.c.platform_message_id).in_(chunk))
            ).mappings()]
        ctx = context_for(conn, rows)
        versions: dict[tuple[str, str], list[int]] = {}
        for r in conn.execute(select(MSG.c.id, MSG.c.platform, MSG.c.platform_message_id)
                              .where(MSG.c.id.in_(decided) | MSG.c.id.in_([r["id"] for r in rows]))):
            versions.setdefault((r.platform, r.platform_message_id), []).append(r.id)
        all_ids = [i for ids in versions.values() for i in ids]
        recorded: dict[int, set[str]] = {}
        for r in conn.execute(select(ACT.c.message_id, ACT.c.action).where(ACT.c.message_id.in_(all_ids))):
            recorded.setdefault(r.message_id, set()).add(r.action)
        judged: dict[int, list[str]] = {}
        latest = (select(JUD.c.message_id, func.max(JUD.c.id).label("jid"))
                  .where(JUD.c.message_id.in_(all_ids)).group_by(JUD.c.message_id).subquery())
        for r in conn.execute(select(JUD.c.message_id, JUD.c.actions).join(latest, JUD.c.id == latest.c.jid)):
            judged[r.message_id] = list(r.actions or [])
    out = []
    by_key = {}
    for mid, e in eff.items():
        if e.source == "moderator" and e.decision in ("journal", "archive", "exclude"):
            by_key[next(k for k, ids in versions.items() if mid in ids)] = e
    for r in rows:
        key = (r["platform"], r["platform_message_id"])
        e = by_key.get(key)
        if e is None:
            continue
        ids = versions.get(key, [r["id"]])
        acts = set(judged.get(max(ids), []))
        for i in ids:
            acts |= {_RECORDED[a] for a in recorded.get(i, ()) if a in _RECORDED}
        if e.decision == "journal":
            acts.add("refer_post")
            acts -= {"thank", "remove"}
        else:
            acts.discard("refer_post")
        out.append({
            "id": f"{r['platform']}:{r['platform_message_id']}", "platform": r["platform"],
            "kind": "message" if r["conversation_id"] else ("post" if r["kind"] == "post" else "comment"),
            "author": "municipality" if r["author_is_municipality"] else "citizen", "text": r["text"],
            "context": [{"text": c.text, "author": "municipality" if c.author_is_municipality else "citizen",
                         "relation": c.relation} for c in ctx.get(r["id"], [])],
            "journal": e.decision == "journal", "screen": bool(e.screen),
            "actions": [a for a in _ACTIONS if a in acts], "hard": False,
        })
    out.sort(key=lambda c: c["id"])
    return out


def _chunks(seq: Sequence, n: int):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def write_jsonl(cases: Sequence[dict[str, Any]], out: str | Path) -> Path:
    out = Path(out)
    try:
        write_atomic(out, "".join(json.dumps(c, ensure_ascii=False, sort_keys=True) + "\n" for c in cases))
    except OSError as e:
        raise InputError(str(out), None, f"cannot write: {e.strerror}", "choose a folder you can write to") from None
    return out


def export_labels(app: App, out: str | Path) -> int:
    """Write the moderators' decisions as labelled JSON Lines; audited as ``labels.export``."""
    app.require("model.manage")
    cases = moderator_cases(app)
    write_jsonl(cases, out)
    with app.db.write() as conn:
        app.audit(conn, "labels.export", "labels", str(out),
                  after={"cases": len(cases), "journal": sum(c["journal"] for c in cases)})
    return len(cases)


def held_out(case_id: str, share: float = 0.2) -> bool:
    """Whether a moderator case is kept for evaluation (stable across retrainings)."""
    h = int(hashlib.sha256(case_id.encode("utf-8")).hexdigest()[:8], 16)
    return h < share * 0x100000000


@dataclass
class Retraining:
    old_hash: str
    new_hash: str
    new_bytes: bytes
    train_cases: int
    held_out_cases: int
    old: dict[str, float] = field(default_factory=dict)
    new: dict[str, float] = field(default_factory=dict)

    def table(self) -> str:
        keys = ["journal_recall", "journal_precision", "review_load", "screening_recall", "recall_remove",
                "recall_refer_political", "recall_reply", "recall_thank", "channel_consistency"]
        lines = [f"{'figure':<24} {'in use ' + self.old_hash[:8]:>18} {'new ' + self.new_hash[:8]:>18}"]
        for k in keys:
            if k in self.old:
                lines.append(f"{k:<24} {self.old[k]:>18.3f} {self.new[k]:>18.3f}")
        return "\n".join(lines)


def retrain(app: App, labelled: Sequence[str | Path], *, shipped: bool = True,
            extra_held_out: Sequence[str | Path] = (), share: float = 0.2, workdir: str | Path) -> Retraining:
    """Train a new model on the shipped corpora, the given files and the moderators' cases outside
    the held-out share; evaluate the model in use and the new one on the held-out cases."""
    app.require("model.manage")
    from .judge import Judge, load_policy
    from .judge.evaluate import read_labelled
    from .judge.model import load_model, parse_model
    from .judge.training import shipped_corpora, train
    from .judge_models import active_model

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    cases = moderator_cases(app)
    train_part = [c for c in cases if not held_out(c["id"], share)]
    test_part = [c for c in cases if held_out(c["id"], share)]
    files = [str(p) for p in labelled] + ([str(p) for p in shipped_corpora()] if shipped else [])
    if train_part:
        files.append(str(write_jsonl(train_part, work / "moderator-decisions.jsonl")))
    data = train(files)
    held: list[LabelledCase] = []
    if test_part:
        held += read_labelled(write_jsonl(test_part, work / "moderator-held-out.jsonl"))
    for p in extra_held_out:
        held += read_labelled(p)
    if not held:
        raise UsageError("retrain: no held-out cases to compare on — give --held-out FILE, or let moderators "
                         "decide more messages first")
    policy = load_policy()
    old_model = active_model(app) or load_model(policy.model["file"] or None)
    new_model = parse_model(data, "new model")
    old_rep = evaluate_cases(held, Judge(policy, model=old_model))
    new_rep = evaluate_cases(held, Judge(policy, model=new_model))
    return Retraining(old_hash=old_model.sha256, new_hash=new_model.sha256, new_bytes=data,
                      train_cases=len(train_part), held_out_cases=len(held),
                      old=old_rep.metrics(), new=new_rep.metrics())


# -- proposed rules -----------------------------------------------------------------------------

_WORDS = re.compile(r"[^\W\d_]+")
_STOP = frozenset("""og i på at er det som en et til av for med har jeg eg vi me de dei du dere dykk han ho hun
 den ikke ikkje om så men kan vil skal må var blir ble fra frå eller sin sitt sine min mi mitt mine vår våre
 hei takk the a an to of and is in it for you on this that""".split())


@dataclass(frozen=True)
class Proposal:
    phrase: str
    direction: str            # "journal": moderators keep making it a case; "archive": keep taking it out
    count: int
    examples: tuple[str, ...]

    def pattern(self) -> str:
        return r"\b" + r"\s+".join(re.escape(w) for w in self.phrase.split()) + r"\b"


def _phrases(text: str) -> set[str]:
    words = _WORDS.findall(normalise(text))
    out = set()
    for n in (1, 2, 3):
        for i in range(len(words) - n + 1):
            gram = words[i:i + n]
            if all(w in _STOP for w in gram) or (n == 1 and (gram[0] in _STOP or len(gram[0]) < 4)):
                continue
            out.add(" ".join(gram))
    return out


def overrides(app: App) -> list[tuple[str, str, str]]:
    """(text, judge's decision, moderator's decision) for every flag that changed the judge's call
    between journal and not journal."""
    with app.db.read() as conn:
        decided = [r.message_id for r in conn.execute(select(DEC.c.message_id).where(DEC.c.kind == "flag").distinct())]
        if not decided:
            return []
        eff = effective_decisions(conn, decided)
        jids = [e.judgment_id for e in eff.values() if e.judgment_id]
        judged = {r.id: r.decision for r in conn.execute(select(JUD.c.id, JUD.c.decision).where(JUD.c.id.in_(jids)))}
        texts = {r.id: r.text for r in conn.execute(select(MSG.c.id, MSG.c.text).where(MSG.c.id.in_(decided)))}
    out = []
    for mid, e in sorted(eff.items()):
        if e.source != "moderator" or e.kind != "flag" or not e.judgment_id:
            continue
        before = judged.get(e.judgment_id)
        if before is None or (before == "journal") == (e.decision == "journal"):
            continue
        out.append((texts.get(mid, ""), before, e.decision))
    return out


def rejected(app: App) -> set[tuple[str, str]]:
    with app.db.read() as conn:
        row = conn.execute(select(SETTINGS.c.value).where(SETTINGS.c.key == REJECTED_KEY)).first()
    return {(p, d) for p, d in json.loads(row.value)} if row else set()


def propose_rules(app: App, min_count: int = 3, limit: int = 20) -> list[Proposal]:
    """Phrases moderators keep moving the same way (see the module invariants)."""
    app.require("rules.propose")
    moved = overrides(app)
    to_journal = [t for t, _, after in moved if after == "journal"]
    from_journal = [t for t, _, after in moved if after != "journal"]
    skip = rejected(app)
    proposals = []
    for direction, group, other in (("journal", to_journal, from_journal), ("archive", from_journal, to_journal)):
        counts: Counter[str] = Counter()
        examples: dict[str, list[str]] = {}
        for t in group:
            for p in _phrases(t):
                counts[p] += 1
                examples.setdefault(p, []).append(t)
        against = set().union(*(_phrases(t) for t in other)) if other else set()
        for phrase, n in counts.items():
            if n >= min_count and phrase not in against and (phrase, direction) not in skip:
                proposals.append(Proposal(phrase, direction, n, tuple(examples[phrase][:3])))
    # the longest phrase of equal support says most; a phrase inside a longer one with the same
    # count adds nothing
    proposals.sort(key=lambda p: (-p.count, -len(p.phrase.split()), p.phrase, p.direction))
    kept: list[Proposal] = []
    for p in proposals:
        if any(q.direction == p.direction and q.count == p.count and f" {p.phrase} " in f" {q.phrase} "
               for q in kept):
            continue
        kept.append(p)
    return kept[:limit]


def _rule_id(phrase: str, direction: str) -> str:
    slug = re.sub(r"[^a-z0-9æøå]+", "_", phrase.lower()).strip("_")[:40] or "frase"
    return f"moderator.{direction}.{slug}"


def accept_rule(app: App, phrase: str, direction: str, policy_file: str | Path) -> str:
    """Append a rule for a proposed phrase to a policy file staff keep; the file must still load."""
    app.require("rules.decide")
    from .judge.policy import load_policy

    if direction not in ("journal", "archive"):
        raise UsageError("direction must be journal or archive")
    prop = next((p for p in propose_rules(app, min_count=1, limit=10_000)
                 if p.phrase == phrase and p.direction == direction), None)
    if prop is None:
        raise UsageError(f"{phrase!r} ({direction}) is not among the proposals", Hint("see {step}", "rules.propose"))
    path = Path(policy_file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), None, "policy file not found",
                         "copy the shipped policy first (python -m ringebu_journal.judge.policy_doc shows it)") from None
    rid = _rule_id(phrase, direction)
    evidence = 2.0 if direction == "journal" else -2.0
    desc = (f"Moderatorer gjorde «{phrase}» til en sak {prop.count} ganger" if direction == "journal"
            else f"Moderatorer tok «{phrase}» ut av journalen {prop.count} ganger")
    block = (f"\n[[rule]]\nid = \"{rid}\"\ndescription = \"{desc}\"\npatterns = ['{prop.pattern()}']\n"
             f"evidence = {evidence}\n" + ("category = \"anmodning\"\n" if direction == "journal" else "category = \"kommunal\"\n"))
    new_text = text.rstrip("\n") + "\n" + block
    try:
        write_atomic(path, new_text, check=load_policy)
    except InputError as e:
        raise InputError(str(path), None, f"the accepted rule would break the policy: {e.reason}") from None
    except OSError as e:
        raise InputError(str(path), None, f"cannot write: {e.strerror}", "choose a policy file you can write to") from None
    with app.db.write() as conn:
        app.audit(conn, "rule.accept", "policy_rule", rid,
                  after={"phrase": phrase, "direction": direction, "count": prop.count, "policy_file": str(path)})
    return rid


def reject_rule(app: App, phrase: str, direction: str) -> None:
    """Remember that staff do not want this proposal; it is not proposed again."""
    app.require("rules.decide")
    if direction not in ("journal", "archive"):
        raise UsageError("direction must be journal or archive")
    now = clock.now()
    with app.db.write() as conn:
        row = conn.execute(select(SETTINGS.c.value).where(SETTINGS.c.key == REJECTED_KEY)).first()
        items = json.loads(row.value) if row else []
        if [phrase, direction] not in items:
            items.append([phrase, direction])
        value = json.dumps(sorted(items), ensure_ascii=False)
        if row is None:
            conn.execute(SETTINGS.insert().values(key=REJECTED_KEY, value=value, updated_at=now, updated_by=app.actor))
        else:
            conn.execute(SETTINGS.update().where(SETTINGS.c.key == REJECTED_KEY)
                         .values(value=value, updated_at=now, updated_by=app.actor))
        app.audit(conn, "rule.reject", "policy_rule", _rule_id(phrase, direction),
                  after={"phrase": phrase, "direction": direction})
