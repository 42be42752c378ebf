"""queue, show, search, flag, confirm, unflag, record-action: the moderators' commands."""

from __future__ import annotations

import json
from typing import Any

import click

from ringebu_journal import search as search_lib
from ringebu_journal.app import App
from ringebu_journal.errors import UsageError, render_text

from . import render
from .common import (command_app, echo_err, emit_rows, exclusive_flags, format_option, json_default,
                     listing_options, open_output, parse_date, read_id_file)
from .lazy import lazy
from .operations import command_line

moderation = lazy("ringebu_journal.moderation")
queries = lazy("ringebu_journal.queries")


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
            emit_rows([it.as_dict() for it in items], QUEUE_COLUMNS, fmt, out=fh)
            return
        for line in render.queue_items(items):
            fh.write(line + "\n")


# -- show --------------------------------------------------------------------------------------------


@click.command()
@click.argument("message")
@format_option("text", "json", default="text")
@command_app("show")
def show(message: str, fmt: str, app: App) -> None:
    """One message with its thread, versions, attachments, judgments, decisions, actions and audit events.

    MESSAGE is the internal id, the platform's message id, or platform:id.
    """
    view = queries.show(app, message)
    if fmt == "json":
        _dump(view.as_dict())
        return
    for line in render.message_view(view):
        click.echo(line)


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
    click.echo(f"recorded {res.action} on message {res.message_id} by {res.actor} (status now {res.status})")


COMMANDS = (queue, show, search, flag, confirm, unflag, record_action)
