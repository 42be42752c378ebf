"""accounts, report: the registry of official profiles and the reports on the guideline's duties."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, Callable

import click

from ringebu_journal import accounts as accmod
from ringebu_journal.app import App
from ringebu_journal.errors import render_text
from ringebu_journal.reports import compliance as compmod
from ringebu_journal.reports.html import render_html
from ringebu_journal.reports.journal import DETAIL_COLUMNS, SUMMARY_COLUMNS, build_journal_report
from ringebu_journal.reports.settings import SETTINGS, ComplianceSettings

from .common import command_app, emit_rows, emit_table, is_stdout, json_default, listing_options, open_output, parse_date
from .operations import command_line


def register(cli: click.Group) -> None:
    cli.add_command(accounts)
    cli.add_command(report)


# -- accounts ---------------------------------------------------------------------------------


@click.group()
def accounts() -> None:
    """The registry of official profiles: who answers for each of the municipality's accounts."""


@accounts.command("add")
@click.argument("platform")
@click.argument("account_id", metavar="ID")
@click.option("--name", required=True, help="The profile's name as it shows on the platform.")
@click.option("--unit", required=True, help="The unit (tjenesteenhet) that answers for content and follow-up.")
@click.option("--notified-date", metavar="DATE", help="When the rådmann was notified of the profile (YYYY-MM-DD).")
@command_app("accounts add")
def accounts_add(platform: str, account_id: str, name: str, unit: str, notified_date: str | None, app: App) -> None:
    """Register an official profile (or update its name, unit or notice date)."""
    res = accmod.add_account(app, platform, account_id, name=name, unit=unit,
                             notified_date=parse_date(notified_date, "--notified-date"))
    a = res["account"]
    key = f"{a['platform']}:{a['platform_id']}"
    if res["change"] == "added":
        click.echo(f"registered {key} ({a['name']}), unit {a['unit']}")
    elif res["change"] == "changed":
        click.echo(f"updated {key} ({a['name']}), unit {a['unit']}")
    else:
        click.echo(f"{key} was already registered like this; nothing changed")
    if not a["notified_date"]:
        click.echo("note: the guideline requires that the rådmann is notified — record the date with "
                   f"`ringebu-journal accounts add {a['platform']} {a['platform_id']} --name … --unit … "
                   "--notified-date YYYY-MM-DD`")


@accounts.command("list")
@listing_options()
@command_app("accounts list")
def accounts_list(fmt: str, out: str | None, app: App) -> None:
    """List the municipality's profiles: unit, rådmann notified, closed until."""
    rows = accmod.list_accounts(app)
    with open_output(out) as fh:
        emit_rows(rows, ["platform", "platform_id", "name", "unit", "registered", "rådmann_notified", "status",
                         "closed_notice"], fmt, out=fh)
    if fmt == "table":
        missing = [r for r in rows if not r["registered"]]
        for r in missing:
            click.echo("warning: " + accmod.registration_warning(r["platform"], r["platform_id"], r["name"])
                       .render(command_line), err=True)


@accounts.command("close")
@click.argument("account_id", metavar="ID")
@click.option("--reopens", required=True, metavar="DATE", help="When the page opens again (YYYY-MM-DD).")
@click.option("--notice", required=True, help="The notice shown to users: closed, and when it opens again.")
@click.option("--since", metavar="DATE", help="When the page was closed (default today), for a closure already begun.")
@command_app("accounts close")
def accounts_close(account_id: str, reopens: str, notice: str, since: str | None, app: App) -> None:
    """Close a page that cannot be followed up (holidays), with a notice to its users."""
    res = accmod.close_account(app, account_id, reopens=parse_date(reopens, "--reopens"), notice=notice,
                               since=parse_date(since, "--since"))
    a = res["account"]
    click.echo(f"{a['platform']}:{a['platform_id']} is closed from {res['closed_from']} until {a['reopens_date']}; "
               "post the notice on the page itself")


@accounts.command("reopen")
@click.argument("account_id", metavar="ID")
@command_app("accounts reopen")
def accounts_reopen(account_id: str, app: App) -> None:
    """Reopen a closed page."""
    res = accmod.reopen_account(app, account_id)
    a = res["account"]
    key = f"{a['platform']}:{a['platform_id']}"
    click.echo(f"{key} was not closed; nothing changed" if res["change"] == "unchanged" else f"{key} is open again")


# -- report -----------------------------------------------------------------------------------


@click.group()
def report() -> None:
    """Reports: the guideline's duties (compliance) and what was journalført (journal)."""


def _settings_options(fn: Callable) -> Callable:
    types = {"float": float, "int": int, "str": str}
    annotations = {f.name: f.type for f in fields(ComplianceSettings)}
    for s in reversed(SETTINGS):
        fn = click.option(s.option, s.name, type=types[str(annotations[s.name])], default=s.default,
                          show_default=True, help=s.help)(fn)
    return fn


FINDING_COLUMNS = ["severity", "type", "at", "message", "permalink", "summary"]
CSV_COLUMNS = ["account", "severity", "type", "at", "messages", "permalinks", "summary"]


def _finding_row(f: compmod.Finding) -> dict[str, Any]:
    first = f.messages[0] if f.messages else None
    more = f" (+{len(f.messages) - 1})" if len(f.messages) > 1 else ""
    return {"account": f.account, "severity": f.severity, "type": f.type, "at": f.at,
            "message": (f"{first.platform}:{first.platform_message_id}{more}" if first else ""),
            "permalink": first.permalink if first else "",
            "messages": " ".join(f"{r.platform}:{r.platform_message_id}" for r in f.messages),
            "permalinks": " ".join(r.permalink or "" for r in f.messages).strip(),
            "summary": render_text(f.summary, command_line)}


@report.command("compliance")
@click.option("--from", "from_", metavar="DATE", help="First day of the messages to check (YYYY-MM-DD, UTC).")
@click.option("--to", metavar="DATE", help="Last day of the messages to check (YYYY-MM-DD, UTC, inclusive).")
@click.option("--account", metavar="ID", help="Only this account (platform id or platform:id).")
@listing_options("html")
@_settings_options
@command_app("report compliance")
def report_compliance(from_: str | None, to: str | None, account: str | None, fmt: str, out: str | None,
                      app: App, **settings: Any) -> None:
    """Check the guideline's duties per account; each finding names its messages."""
    rep = compmod.build_report(app, from_date=parse_date(from_, "--from"), to_date=parse_date(to, "--to"),
                               account=account, settings=ComplianceSettings(**settings))
    with open_output(out) as fh:
        if fmt == "html":
            fh.write(render_html(rep, renderer=command_line))
        elif fmt == "json":
            fh.write(json.dumps(rep.as_dict(), ensure_ascii=False, indent=2, default=json_default) + "\n")
        elif fmt == "jsonl":
            emit_rows([f.as_dict() for f in rep.findings], CSV_COLUMNS, "jsonl", out=fh)
        elif fmt == "csv":
            emit_rows([_finding_row(f) for f in rep.findings], CSV_COLUMNS, "csv", out=fh)
        else:
            lines = compmod.summary_lines(rep, command_line)
            fh.write("\n".join(lines) + "\n")
            for a in rep.accounts:
                if a.findings:
                    fh.write("\n")
                    emit_table([_finding_row(f) for f in a.findings], FINDING_COLUMNS,
                               title=f"{a.label} — {len(a.findings)} findings", out=fh)
    if not is_stdout(out):
        n = len(rep.findings)
        click.echo(f"wrote {out}: {len(rep.accounts)} accounts, {n} findings", err=True)


@report.command("journal")
@click.option("--from", "from_", metavar="DATE", help="First day of the messages (YYYY-MM-DD, UTC).")
@click.option("--to", metavar="DATE", help="Last day of the messages (YYYY-MM-DD, UTC, inclusive).")
@click.option("--detail", is_flag=True, help="One row per message instead of counts per account and category.")
@listing_options()
@command_app("report journal")
def report_journal(from_: str | None, to: str | None, detail: bool, fmt: str, out: str | None, app: App) -> None:
    """What was journalført (delivered to the archive) and what is waiting, per account and category."""
    rep = build_journal_report(app, from_date=parse_date(from_, "--from"), to_date=parse_date(to, "--to"))
    with open_output(out) as fh:
        if detail:
            emit_rows(rep.messages, DETAIL_COLUMNS, fmt, out=fh)
        else:
            emit_rows(rep.summary, SUMMARY_COLUMNS, fmt, out=fh)
            if fmt == "table":
                waiting = sum(r["waiting"] for r in rep.summary)
                done = sum(r["journalfort"] for r in rep.summary)
                fh.write(f"\n{done} journalført, {waiting} waiting"
                         + (" — see them with --detail, deliver with `ringebu-journal export noark5`" if waiting else "")
                         + "\n")
                failed = sum(r["receipt_failed"] for r in rep.summary)
                missing = sum(r["receipt_missing"] for r in rep.summary)
                if failed or missing:
                    fh.write(f"arkivmelding receipts: {failed} failed, {missing} missing — see which with --detail "
                             "(columns arkivmelding, receipt, receipt_detail)\n")
