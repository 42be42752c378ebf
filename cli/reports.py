"""report: the guideline's duties (compliance) and what was journalført (journal)."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Callable

import click

from ringebu_journal.app import App
from ringebu_journal.errors import render_text
from ringebu_journal.reports.settings import SETTINGS, ComplianceSettings

from .common import command_app, emit_rows, emit_table, is_stdout, json_default, listing_options, open_output, parse_date
from .lazy import lazy
from .operations import command_line

if TYPE_CHECKING:
    from ringebu_journal.reports.compliance import Finding

compmod = lazy("ringebu_journal.reports.compliance")
html_report = lazy("ringebu_journal.reports.html")
journal_report = lazy("ringebu_journal.reports.journal")


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


def _finding_row(f: Finding) -> dict[str, Any]:
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
            fh.write(html_report.render_html(rep, renderer=command_line))
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
    rep = journal_report.build_journal_report(app, from_date=parse_date(from_, "--from"), to_date=parse_date(to, "--to"))
    with open_output(out) as fh:
        if detail:
            emit_rows(rep.messages, journal_report.DETAIL_COLUMNS, fmt, out=fh)
        else:
            emit_rows(rep.summary, journal_report.SUMMARY_COLUMNS, fmt, out=fh)
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


COMMANDS = (report,)
