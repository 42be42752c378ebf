"""How typed results read on a terminal: plain lines, one small function per section.

Nothing here touches the database or decides anything: each function takes a result the library
returned (``queries.MessageView``, queue items) and gives the lines to print, so the same result
can be rendered elsewhere (the JSON form is the result's ``as_dict()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Iterator

from .lazy import lazy

if TYPE_CHECKING:
    from ringebu_journal.queries import MessageView

queries = lazy("ringebu_journal.queries")


def when(v: Any) -> str:
    """A stored time as a moderator reads it (minutes, UTC); "?" when unknown."""
    if v is None:
        return "?"
    return v.strftime("%Y-%m-%d %H:%M") if hasattr(v, "strftime") else str(v)


def _quoted(text: str | None) -> str:
    return f" — «{text}»" if text else ""


# -- show ---------------------------------------------------------------------------------------


def message_view(view: MessageView) -> Iterator[str]:
    """`show`: the message, its thread, then every version, attachment, judgment, decision,
    recorded action and audit event."""
    for section in (_head, _thread, _versions, _attachments, _judgments, _decisions, _actions, _audit):
        yield from section(view)


def _head(view: MessageView) -> Iterator[str]:
    m, st = view.message, view.status
    yield f"message {m['id']}  {view.ref}  ({m['kind']}, version {m['version']}, lock {view.lock_version})"
    yield f"  author:   {m['author_name'] or m['author_id'] or '?'}{' (kommunen)' if m['author_is_municipality'] else ''}"
    yield f"  written:  {when(m['created_at'])}   account: {m['account_platform_id'] or '-'}"
    if m.get("permalink"):
        yield f"  link:     {m['permalink']}"
    status = st["status"]
    if st["removed_by"]:
        status += f" by {st['removed_by']} at {when(st['removed_at'])} — «{st['removal_reason']}»"
        status += f" (platform status: {st['platform_status']}; the captured content is kept)"
    yield f"  status:   {status}"
    yield f"  decision: {view.effective.line()}"
    if view.effective.reason:
        yield f"            why: {view.effective.reason}"
    yield ""
    yield "  " + (m["text"] or "(no text)").replace("\n", "\n  ")


def _thread(view: MessageView) -> Iterator[str]:
    t = view.thread
    yield "\nthread:"
    if t.post:
        yield f"  post #{t.post['id']} {t.post['author'] or '?'}: «{queries.snippet(t.post['text'])}»"
    if t.answers:
        yield f"  answers #{t.answers['id']} {t.answers['author'] or '?'}: «{queries.snippet(t.answers['text'])}»"
    for r in t.replies:
        mark = " (kommunen)" if r["municipality"] else ""
        yield f"  reply #{r['id']} {r['author'] or '?'}{mark}: «{queries.snippet(r['text'])}»"
    if not (t.post or t.answers or t.replies):
        yield "  (no other messages in this thread)"


def _versions(view: MessageView) -> Iterator[str]:
    yield f"\nversions ({len(view.versions)}):"
    for v in view.versions:
        cur = " current" if v["is_current"] else ""
        yield (f"  v{v['version']} #{v['id']}{cur}  imported {when(v['imported_at'])}  status {v['status']}  "
               f"sha256 {v['raw_sha256'][:16]}…  «{queries.snippet(v['text'], 80)}»")


def _attachments(view: MessageView) -> Iterator[str]:
    if not view.attachments:
        return
    yield f"\nattachments ({len(view.attachments)}):"
    for a in view.attachments:
        yield (f"  #{a['id']} (version #{a['message_id']}) {a['kind'] or ''} {a['media_type'] or ''} "
               f"{a['filename'] or a['source_url'] or ''} sha256 {a['sha256'] or '-'}"
               f"{'  ' + a['note'] if a['note'] else ''}")


def _judgments(view: MessageView) -> Iterator[str]:
    yield f"\njudgments ({len(view.judgments)}):"
    for j in view.judgments:
        scr = (j.get("screening") or {})
        s = f" +skjerming ({scr.get('hjemmel')})" if scr.get("screen") else ""
        yield (f"  #{j['id']} on #{j['message_id']} {when(j['judged_at'])} {j['decision']}{s} "
               f"confidence {j['confidence']:.2f}  policy {j['policy_version']}  by {j['actor']}")
        if j.get("categories") or j.get("actions"):
            yield (f"      categories: {', '.join(j.get('categories') or []) or '-'}   actions: "
                   f"{', '.join(j.get('actions') or []) or '-'}")
        for line in j["reason_lines"]:
            yield f"      - {line}"


def _decisions(view: MessageView) -> Iterator[str]:
    yield f"\nmoderator decisions ({len(view.decisions)}):"
    for x in view.decisions:
        what = x["kind"] + (f" {x['decision']}" if x["decision"] else "")
        if x["screen"] is not None:
            what += " +skjerming" if x["screen"] else " no skjerming"
        if x["judgment_id"]:
            what += f" (judgment {x['judgment_id']})"
        yield f"  #{x['id']} {when(x['decided_at'])} {x['actor']}: {what}{_quoted(x['reason'])}  → lock {x['lock_version']}"


def _actions(view: MessageView) -> Iterator[str]:
    yield f"\nrecorded actions ({len(view.actions)}):"
    for a in view.actions:
        yield f"  #{a['id']} {when(a['recorded_at'])} {a['actor']}: {a['action']}{_quoted(a['note'])}"


def _audit(view: MessageView) -> Iterator[str]:
    yield f"\naudit events ({len(view.audit)}):"
    for e in view.audit:
        yield f"  {e['seq']} {e['at']} {e['actor']} ({e['role']}) {e['action']}{_quoted(e['reason'])}"


# -- queue --------------------------------------------------------------------------------------


def queue_items(items: Iterable[Any]) -> Iterator[str]:
    """`queue`: each item with its context, text, duties and the judge's reasons."""
    items = list(items)
    if not items:
        yield "the queue is empty: nothing needs a person"
        return
    for it in items:
        yield from _queue_item(it)
    yield f"{len(items)} item(s); decide with `ringebu-journal flag|confirm MESSAGE --expect-version N`"


def _queue_item(it: Any) -> Iterator[str]:
    scr = " +skjerming" if it.screen else ""
    who = f"{it.author}{' (kommunen)' if it.author_is_municipality else ''}"
    judge = ""
    if it.source == "moderator" and it.judge_decision and it.judge_decision != it.decision:
        judge = f" (judge now proposes {it.judge_decision})"
    yield (f"#{it.id}  {it.ref}  lock {it.lock_version}  {when(it.created_at)}  "
           f"{it.kind} by {who}  → {it.decision}{scr}{judge}  [{it.why}]")
    for c in it.context:
        label = "post" if c["role"] == "post" else "answers"
        yield f"    {label}: {c['author'] or '?'}: «{queries.snippet(c['text'], 90)}»"
    yield f"    text: «{queries.snippet(it.text)}»"
    if it.categories or it.actions:
        yield f"    categories: {', '.join(it.categories) or '-'}   actions: {', '.join(it.actions) or '-'}"
    if it.duties:
        flags = list(dict.fromkeys(queries.DUTY_RECORD[d] for d in it.duties))
        how = " · ".join(f"`ringebu-journal record-action {it.id} --{f}`" for f in flags)
        yield f"    to do: {', '.join(it.duties)} — when done, record it: {how}"
    if it.decided_by and it.why.startswith(queries.WHY_EDITED):
        yield (f"    decided by {it.decided_by} before the message was edited (now v{it.version}); "
               "`confirm` keeps that decision, `flag` changes it")
    for line in it.reasons:
        yield f"    - {line}"
