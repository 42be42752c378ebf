"""`export noark5` and `export arkivmelding`: thin commands over ringebu_journal.export."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from ringebu_journal.errors import ProblemsFound

from .common import command_app, echo_err, format_option, json_default, parse_date, progress, quiet_flag
from .lazy import lazy

if TYPE_CHECKING:
    from ringebu_journal.export.mapping import Klassifikasjon

arkivmelding = lazy("ringebu_journal.export.arkivmelding")
mapping = lazy("ringebu_journal.export.mapping")
noark5 = lazy("ringebu_journal.export.noark5")

_SUMMARY_LINES = (
    ("saksmapper", "saksmapper"), ("mapper", "mapper in all"), ("journalposter", "journalposter"),
    ("registreringer", "registreringer in all"), ("documents", "document files"), ("screened", "screened records"),
    ("endringer", "endringer in endringslogg"),
)


def _klassifikasjon(path: str | None) -> Klassifikasjon | None:
    return mapping.Klassifikasjon.load(path) if path else None


@click.group("export")
def export_group() -> None:
    """Deliver to the archive: a Noark 5 arkivuttrekk or Fiks Arkiv arkivmeldinger."""


@export_group.command("noark5")
@click.option("--out", "out", required=True, type=click.Path(file_okay=True, dir_okay=True),
              help="The package folder to create (must not exist or be empty).")
@click.option("--from", "date_from", metavar="DATE", help="First day (YYYY-MM-DD, in the organisation's time zone) of messages to include.")
@click.option("--to", "date_to", metavar="DATE", help="Last day (YYYY-MM-DD, in the organisation's time zone) of messages to include.")
@click.option("--account", metavar="ID", help="Only this account's (page's) platform id.")
@click.option("--tar", is_flag=True, help="Publish one OUT.tar instead of a folder.")
@click.option("--classification", "classification", type=click.Path(exists=True, dir_okay=False),
              help="TOML file with the klassifikasjon key (categories → klasser).")
@format_option("table", "json")
@command_app("export noark5")
def noark5_cmd(app, out, date_from, date_to, account, tar, classification, fmt) -> None:
    """Export the archive's records as a validated Noark 5 v5.0 arkivuttrekk (atomic)."""
    frm, to = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    klasser = _klassifikasjon(classification)
    with progress("rendering archive copies", quiet=quiet_flag()) as advance:
        try:
            result = noark5.export_noark5(app, out, date_from=frm, date_to=to, account=account, tar=tar,
                                   klassifikasjon=klasser, advance=advance)
        except noark5.InvalidPackage as exc:
            echo_err(exc.report.to_text())
            raise
    for note in result.notes:
        echo_err(note)
    s = result.summary
    if fmt == "json":
        click.echo(json.dumps(s, ensure_ascii=False, indent=2, default=json_default))
        return
    click.echo(f"Noark 5 arkivuttrekk {result.package_id} written to {result.path}")
    for key, label in _SUMMARY_LINES:
        click.echo(f"  {label:<28} {s[key]}")
    click.echo(f"  {'validation':<28} {s['validation']} (XSD and Arkade controls)")
    skipped = s["not_exported"]
    click.echo(f"  {'not exported':<28} excluded {skipped['exclude']}, to review {skipped['review']}, "
               f"not judged {skipped['not_judged']}")
    r = s["rendered"]
    click.echo(f"  {'archive copies':<28} {r['rendered']} rendered, {r['cached']} from cache ({r['seconds']} s)")
    for u in s["unsupported_attachments"]:
        click.echo(f"  attachment not exported: message {u['message_id']} {u['media_type'] or ''} "
                   f"{u['sha256'] or ''}: {u['reason']}")


@export_group.command("arkivmelding")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, dir_okay=True),
              help="The outbox folder: one numbered sub-folder per message, index.jsonl (append-only).")
@click.option("--inbox", "inbox", type=click.Path(file_okay=False, dir_okay=True),
              help="Folder of the archive system's receipts (default: OUT/inbox).")
@click.option("--classification", "classification", type=click.Path(exists=True, dir_okay=False),
              help="TOML file with the klassifikasjon key (categories → klasser).")
@format_option("table", "json")
@command_app("export arkivmelding")
def arkivmelding_cmd(app, out, inbox, classification, fmt) -> None:
    """Send to the archive system what changed: opprett once per journalpost (with its saksmappe
    for a new case), oppdater for corrections, avskrivning, cancellation; read receipts."""
    with progress("rendering archive copies", quiet=quiet_flag()) as advance:
        result = arkivmelding.export_arkivmelding(app, out, klassifikasjon=_klassifikasjon(classification), advance=advance,
                                     inbox=inbox)
    rec = result.receipts
    if fmt == "json":
        click.echo(json.dumps({**result.summary, "unchanged": result.unchanged, "audit_seq": result.audit_seq,
                               "receipts": [{"file": f, "message": m, "status": s} for f, m, s in rec.recorded],
                               "receipt_problems": rec.problems},
                              ensure_ascii=False, indent=2, default=json_default))
    else:
        click.echo(f"outbox {out}: {len(result.created)} opprett, {len(result.updated)} oppdater, "
                   f"{len(result.cancelled)} cancelled, {len(result.avskrivninger)} avskrivning, "
                   f"{len(result.documents)} new document versions; {result.unchanged} journalposter unchanged "
                   f"(snapshot at audit event {result.audit_seq})")
        for label, folders in (("recovered", result.recovered), ("opprett", result.created),
                               ("oppdater", result.updated), ("utgår", result.cancelled),
                               ("avskriv", result.avskrivninger), ("dokument", result.documents)):
            for folder in folders:
                click.echo(f"  {label:<9} {folder}")
        for f, m, s in rec.recorded:
            click.echo(f"  receipt   {f}: {s} ({m})")
    for line in rec.problems:
        echo_err(f"receipt not recorded: {line}")
    if rec.problems:
        raise ProblemsFound(f"{len(rec.problems)} receipt(s) in the inbox could not be recorded (listed above); "
                            "the messages were exported")


COMMANDS = (export_group,)
