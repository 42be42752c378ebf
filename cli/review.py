"""queue, show, search, flag, confirm, unflag, record-action: the moderators' commands."""

from __future__ import annotations

import json
from typing import Any

import click

from ringebu_journal import moderation, queries
from ringebu_journal import search as search_lib
from ringebu_journal.app import App
from ringebu_journal.errors import UsageError, render_text

from .common import (command_app, echo_err, emit_rows, exclusive_flags, format_option, json_default,
                     listing_options, open_output, parse_date, read_id_file)
from .operations import command_line


def register(cli: click.Group) -> None:
    for cmd in (queue, show, search, flag, confirm, unflag, record_action):
        cli.add_command(cmd)


def _t(v: Any) -> str:
    if v is None:
        return "?"
    return v.strftime("%Y-%m-%d %H:%M") if hasattr(v, "strftime") else str(v)


def _dump(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=json_default))


# -- queue -------------------------------------------------------------------------------------------


QUEUE_COLUMNS = ["id", "ref", "lock_version", "created_at", "kind", "author", "why", "decision", "screen",
                 "judge_decision", "duties", "categories", "actions", "text"]


@click.command()
@click.option("--decision", type=click.Choice(["journal", "archive", "exclude", "review"]),
              help="Only items whose current decision (or proposal) is this.")
@click.option("--category", metavar="NAME", help="Only items the judge put in this category (e.g. klage, soknad).")
@click.option("--action", "action_name", metavar="ACTION",
              help="Only items with this duty still to do (reply, thank, remove, refer_post, refer_political).")
@click.option("--account", metavar="ACCOUNT", help="Only messages on this account (its platform id or name).")
@click.option("--since", metavar="DATE", help="Only messages written on or after this date (YYYY-MM-DD).")
@click.option("--until", metavar="DATE", help="Only messages written on or before this date (YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many items.")
@listing_options()
@command_app("queue")
def queue(decision, category, action_name, account, since, until, limit, fmt, out, app: App) -> None:
    """The moderators' to-do list, oldest first: decisions and duties.

    Decisions: the judge's review decisions, journal and skjerming proposals nobody has confirmed,
    and messages edited after a moderator decided them. Duties: what the guideline asks of the
    municipality and nobody has done yet (reply, thank, remove, refer_post, refer_political) —
    record them with `record-action`. Each item shows the lock version to pass as
    --expect-version to flag, confirm or unflag.
    """
    f = queries.QueueFilter(decision=decision, category=category, action=action_name, account=account,
                            since=parse_date(since, "--since"), until=parse_date(until, "--until"), limit=limit)
    items = queries.queue(app, f)
    with open_output(out) as fh:
        if fmt != "table":
            emit_rows(items, QUEUE_COLUMNS, fmt, out=fh)
            return
        _print_queue(items, fh)


def _print_queue(items: list[dict[str, Any]], fh: Any) -> None:
    def echo(line: str) -> None:
        fh.write(line + "\n")

    if not items:
        echo("the queue is empty: nothing needs a person")
        return
    for it in items:
        scr = " +skjerming" if it["screen"] else ""
        who = f"{it['author']}{' (kommunen)' if it['author_is_municipality'] else ''}"
        judge = ""
        if it["source"] == "moderator" and it["judge_decision"] and it["judge_decision"] != it["decision"]:
            judge = f" (judge now proposes {it['judge_decision']})"
        echo(f"#{it['id']}  {it['ref']}  lock {it['lock_version']}  {_t(it['created_at'])}  "
             f"{it['kind']} by {who}  → {it['decision']}{scr}{judge}  [{it['why']}]")
        for c in it["context"]:
            label = "post" if c["role"] == "post" else "answers"
            echo(f"    {label}: {c['author'] or '?'}: «{queries.snippet(c['text'], 90)}»")
        echo(f"    text: «{queries.snippet(it['text'])}»")
        if it["categories"] or it["actions"]:
            echo(f"    categories: {', '.join(it['categories']) or '-'}   actions: "
                 f"{', '.join(it['actions']) or '-'}")
        if it["duties"]:
            flags = list(dict.fromkeys(queries.DUTY_RECORD[d] for d in it["duties"]))
            how = " · ".join(f"`ringebu-journal record-action {it['id']} --{f}`" for f in flags)
            echo(f"    to do: {', '.join(it['duties'])} — when done, record it: {how}")
        if it["decided_by"] and it["why"].startswith(queries.WHY_EDITED):
            echo(f"    decided by {it['decided_by']} before the message was edited (now v{it['version']}); "
                 "`confirm` keeps that decision, `flag` changes it")
        for line in it["reasons"]:
            echo(f"    - {line}")
    echo(f"{len(items)} item(s); decide with `ringebu-journal flag|confirm MESSAGE --expect-version N`")


# -- show --------------------------------------------------------------------------------------------


@click.command()
@click.argument("message")
@format_option("text", "json", default="text")
@command_app("show")
def show(message: str, fmt: str, app: App) -> None:
    """One message with its thread, versions, attachments, judgments, decisions, actions and audit events.

    MESSAGE is the internal id, the platform's message id, or platform:id.
    """
    data = queries.show(app, message)
    if fmt == "json":
        _dump(data)
        return
    _print_show(data)


def _print_show(d: dict[str, Any]) -> None:
    m = d["message"]
    st = d["status"]
    echo = click.echo
    echo(f"message {m['id']}  {d['ref']}  ({m['kind']}, version {m['version']}, lock {d['lock_version']})")
    echo(f"  author:   {m['author_name'] or m['author_id'] or '?'}{' (kommunen)' if m['author_is_municipality'] else ''}")
    echo(f"  written:  {_t(m['created_at'])}   account: {m['account_platform_id'] or '-'}")
    if m.get("permalink"):
        echo(f"  link:     {m['permalink']}")
    status = st["status"]
    if st["removed_by"]:
        status += f" by {st['removed_by']} at {_t(st['removed_at'])} — «{st['removal_reason']}»"
        status += f" (platform status: {st['platform_status']}; the captured content is kept)"
    echo(f"  status:   {status}")
    echo(f"  decision: {d['effective_line']}")
    if d["effective"].get("reason"):
        echo(f"            why: {d['effective']['reason']}")
    echo("")
    echo("  " + (m["text"] or "(no text)").replace("\n", "\n  "))
    t = d["thread"]
    echo("\nthread:")
    if t["post"]:
        echo(f"  post #{t['post']['id']} {t['post']['author'] or '?'}: «{queries.snippet(t['post']['text'])}»")
    if t["answers"]:
        a = t["answers"]
        echo(f"  answers #{a['id']} {a['author'] or '?'}: «{queries.snippet(a['text'])}»")
    for r in t["replies"]:
        mark = " (kommunen)" if r["municipality"] else ""
        echo(f"  reply #{r['id']} {r['author'] or '?'}{mark}: «{queries.snippet(r['text'])}»")
    if not (t["post"] or t["answers"] or t["replies"]):
        echo("  (no other messages in this thread)")
    echo(f"\nversions ({len(d['versions'])}):")
    for v in d["versions"]:
        cur = " current" if v["is_current"] else ""
        echo(f"  v{v['version']} #{v['id']}{cur}  imported {_t(v['imported_at'])}  status {v['status']}  "
             f"sha256 {v['raw_sha256'][:16]}…  «{queries.snippet(v['text'], 80)}»")
    if d["attachments"]:
        echo(f"\nattachments ({len(d['attachments'])}):")
        for a in d["attachments"]:
            echo(f"  #{a['id']} (version #{a['message_id']}) {a['kind'] or ''} {a['media_type'] or ''} "
                 f"{a['filename'] or a['source_url'] or ''} sha256 {a['sha256'] or '-'}"
                 f"{'  ' + a['note'] if a['note'] else ''}")
    echo(f"\njudgments ({len(d['judgments'])}):")
    for j in d["judgments"]:
        scr = (j.get("screening") or {})
        s = f" +skjerming ({scr.get('hjemmel')})" if scr.get("screen") else ""
        echo(f"  #{j['id']} on #{j['message_id']} {_t(j['judged_at'])} {j['decision']}{s} "
             f"confidence {j['confidence']:.2f}  policy {j['policy_version']}  by {j['actor']}")
        if j.get("categories") or j.get("actions"):
            echo(f"      categories: {', '.join(j.get('categories') or []) or '-'}   actions: "
                 f"{', '.join(j.get('actions') or []) or '-'}")
        for line in j["reason_lines"]:
            echo(f"      - {line}")
    echo(f"\nmoderator decisions ({len(d['decisions'])}):")
    for x in d["decisions"]:
        what = x["kind"] + (f" {x['decision']}" if x["decision"] else "")
        if x["screen"] is not None:
            what += " +skjerming" if x["screen"] else " no skjerming"
        if x["judgment_id"]:
            what += f" (judgment {x['judgment_id']})"
        echo(f"  #{x['id']} {_t(x['decided_at'])} {x['actor']}: {what}"
             f"{' — «' + x['reason'] + '»' if x['reason'] else ''}  → lock {x['lock_version']}")
    echo(f"\nrecorded actions ({len(d['actions'])}):")
    for a in d["actions"]:
        echo(f"  #{a['id']} {_t(a['recorded_at'])} {a['actor']}: {a['action']}"
             f"{' — «' + a['note'] + '»' if a['note'] else ''}")
    echo(f"\naudit events ({len(d['audit'])}):")
    for e in d["audit"]:
        echo(f"  {e['seq']} {e['at']} {e['actor']} ({e['role']}) {e['action']}"
             f"{' — «' + e['reason'] + '»' if e['reason'] else ''}")


# -- search ------------------------------------------------------------------------------------------


SEARCH_COLUMNS = ["id", "ref", "created_at", "platform", "kind", "author", "status", "decision", "screen",
                  "snippet"]


@click.command()
@click.argument("words", nargs=-1, metavar="[WORD]...")
@click.option("--author", metavar="NAME", help="Only messages by this author: words of the name (each at its "
                                                "start, any case), or the author's platform id.")
@click.option("--platform", type=click.Choice(list(search_lib.PLATFORMS)), help="Only messages on this platform.")
@click.option("--since", metavar="DATE", help="Only messages written on or after this date (YYYY-MM-DD, UTC).")
@click.option("--until", metavar="DATE", help="Only messages written on or before this date (YYYY-MM-DD, UTC).")
@click.option("--decision", type=click.Choice(list(search_lib.DECISIONS)),
              help="Only messages whose effective decision (the moderator's, else the judge's) is this.")
@click.option("--limit", type=click.IntRange(min=1, max=search_lib.MAX_LIMIT), default=50, show_default=True,
              help="At most this many messages.")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True,
              help="Skip this many messages first (the next page).")
@listing_options()
@command_app("search")
def search(words, author, platform, since, until, decision, limit, offset, fmt, out, app: App) -> None:
    """Find messages by words of their text, author, platform, date and decision, newest first.

    Every WORD must occur in the message, matched at its start (`brøyt` finds `brøyting`); case
    does not matter, and quotes and operators are plain characters. Only the current version of
    each message is searched; a message deleted on the platform is still found.
    """
    res = search_lib.search(app, " ".join(words) if words else None, author=author, platform=platform,
                            since=parse_date(since, "--since"), until=parse_date(until, "--until"),
                            decision=decision, limit=limit, offset=offset)
    rows = [_search_row(h) for h in res.hits]
    with open_output(out) as fh:
        emit_rows(rows, SEARCH_COLUMNS, fmt, out=fh)
        if fmt == "table" and res.more:
            fh.write(f"more messages match — see the next ones with --offset {offset + limit}\n")


def _search_row(h: search_lib.SearchHit) -> dict[str, Any]:
    d = h.as_dict()
    d["id"] = h.message_id
    d.pop("message_id")
    return d


# -- decisions ---------------------------------------------------------------------------------------


def _refs(messages: tuple[str, ...], from_file: str | None) -> list[str]:
    refs = list(messages)
    if from_file:
        refs += read_id_file(from_file)
    if not refs:
        raise UsageError("no message given — name one or more messages, or --from-file FILE (one id per line)")
    return refs


def _report(outcomes: list[moderation.Outcome]) -> None:
    for o in outcomes:
        if o.stored:
            eff = o.effective
            scr = " +skjerming" if eff.get("screen") else ""
            what = (f"now {eff.get('decision')}{scr} (source {eff.get('source')})" if eff.get("source")
                    else "now not judged")
            click.echo(f"{o.kind} stored for message {o.message_id} ({o.ref}): {what}; lock {o.lock_version}")
        elif len(outcomes) > 1:
            echo_err(render_text(o.conflict or "conflict", command_line))
    moderation.raise_for_conflicts(outcomes)


_messages_arg = click.argument("messages", nargs=-1, metavar="MESSAGE...")
_from_file = click.option("--from-file", type=click.Path(dir_okay=False), metavar="FILE",
                          help="Also decide the messages listed in FILE (one id per line, # comments).")
_expect = click.option("--expect-version", type=click.IntRange(min=0), metavar="N",
                       help="The lock version you saw in `queue` or `show`; the decision is refused as a "
                            "conflict if someone else changed the message since. Default: the version read "
                            "when the command starts.")


@click.command()
@_messages_arg
@exclusive_flags("decision", [("--journal", "journal", "Journalfør: a case document."),
                              ("--archive", "archive", "Arkiver, not journalført."),
                              ("--exclude", "exclude", "Avgrens: not a record.")])
@click.option("--reason", metavar="TEXT", help="Why (required; kept in the audit trail).")
@exclusive_flags("screen", [("--screen", True, "Skjerm in the public journal."),
                            ("--no-screen", False, "Do not skjerm. Default (neither): as the judge proposes.")])
@_expect
@_from_file
@command_app("flag")
def flag(messages, decision, reason, screen, expect_version, from_file, app: App) -> None:
    """Decide a message yourself, overriding the judge, with a reason."""
    if decision is None:
        raise UsageError("flag needs a decision: --journal, --archive or --exclude")
    if reason is None or not reason.strip():
        raise UsageError("flag needs --reason TEXT: say why, it is kept in the audit trail for the auditors")
    _report(moderation.flag(app, _refs(messages, from_file), decision, reason, screen=screen,
                            expect_version=expect_version))


@click.command()
@_messages_arg
@click.option("--reason", metavar="TEXT", help="An optional note kept with the confirmation.")
@_expect
@_from_file
@command_app("confirm")
def confirm(messages, reason, expect_version, from_file, app: App) -> None:
    """Confirm the decision as the queue shows it (decision and skjerming).

    That is the judge's proposal when no moderator has decided; after a moderator's decision (for
    instance on a message edited since), it is that decision — never a proposal you were not shown.
    """
    _report(moderation.confirm(app, _refs(messages, from_file), reason=reason, expect_version=expect_version))


@click.command()
@_messages_arg
@click.option("--reason", metavar="TEXT", help="Why (required; kept in the audit trail).")
@_expect
@_from_file
@command_app("unflag")
def unflag(messages, reason, expect_version, from_file, app: App) -> None:
    """Withdraw the moderator decision: the judge's latest proposal counts again."""
    if reason is None or not reason.strip():
        raise UsageError("unflag needs --reason TEXT: say why, it is kept in the audit trail for the auditors")
    _report(moderation.unflag(app, _refs(messages, from_file), reason, expect_version=expect_version))


# -- actions -----------------------------------------------------------------------------------------


@click.command("record-action")
@click.argument("message")
@exclusive_flags("action", [
    ("--hidden", "hidden", "The comment was hidden on the platform."),
    ("--deleted", "deleted", "The comment was deleted on the platform."),
    ("--replied", "replied", "The municipality replied (or thanked)."),
    ("--referred-post", "referred_post", "The sender was referred to ordinary post for case handling."),
    ("--referred-political", "referred_political", "The sender was referred to the political level."),
])
@click.option("--note", metavar="TEXT", help="Why, or what was done (required for --hidden and --deleted).")
@command_app("record-action")
def record_action(message, action, note, app: App) -> None:
    """Record an action the guideline requires, against a message (who, when, why)."""
    if action is None:
        raise UsageError("record-action needs one of --hidden, --deleted, --replied, --referred-post, "
                         "--referred-political")
    if action in moderation.REMOVALS and not (note and note.strip()):
        raise UsageError(f"--{action} needs --note TEXT saying why it was {action} (kept with the archived message)")
    res = moderation.record_action(app, message, action, note)
    click.echo(f"recorded {res['action']} on message {res['message_id']} by {res['actor']}"
               f" (status now {res['status']})")

