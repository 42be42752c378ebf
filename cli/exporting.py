"""`export noark5` and `export arkivmelding`: thin commands over ringebu_journal.export."""

from __future__ import annotations

import json

import click

from ringebu_journal.export.arkivmelding import export_arkivmelding
from ringebu_journal.export.mapping import Klassifikasjon
from ringebu_journal.export.noark5 import InvalidPackage, export_noark5

from .common import command_app, echo_err, format_option, json_default, parse_date, progress, quiet_flag

_SUMMARY_LINES = (
    ("saksmapper", "saksmapper"), ("mapper", "mapper in all"), ("journalposter", "journalposter"),
    ("registreringer", "registreringer in all"), ("documents", "document files"), ("screened", "screened records"),
    ("endringer", "endringer in endringslogg"),
)


def _klassifikasjon(path: str | None) -> Klassifikasjon | None:
    return Klassifikasjon.load(path) if path else None


def register(cli: click.Group) -> None:
    @cli.group("export")
    def export_group() -> None:
        """Deliver to the archive: a Noark 5 arkivuttrekk or Fiks Arkiv arkivmeldinger."""

    @export_group.command("noark5")
    @click.option("--out", "out", required=True, type=click.Path(file_okay=True, dir_okay=True),
                  help="The package folder to create (must not exist or be empty).")
    @click.option("--from", "date_from", metavar="DATE", help="First day (YYYY-MM-DD) of messages to include.")
    @click.option("--to", "date_to", metavar="DATE", help="Last day (YYYY-MM-DD) of messages to include.")
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
                result = export_noark5(app, out, date_from=frm, date_to=to, account=account, tar=tar,
                                       klassifikasjon=klasser, advance=advance)
            except InvalidPackage as exc:
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
                  help="Folder for the day's arkivmeldinger (one sub-folder per journalpost).")
    @click.option("--classification", "classification", type=click.Path(exists=True, dir_okay=False),
                  help="TOML file with the klassifikasjon key (categories → klasser).")
    @format_option("table", "json")
    @command_app("export arkivmelding")
    def arkivmelding_cmd(app, out, classification, fmt) -> None:
        """Write a Fiks Arkiv arkivmelding for each new or changed journalpost (never twice)."""
        with progress("rendering archive copies", quiet=quiet_flag()) as advance:
            result = export_arkivmelding(app, out, klassifikasjon=_klassifikasjon(classification), advance=advance)
        if fmt == "json":
            click.echo(json.dumps(result.summary, ensure_ascii=False, indent=2, default=json_default))
            return
        click.echo(f"arkivmeldinger in {out}: {len(result.created)} new, {len(result.updated)} updates, "
                   f"{result.unchanged} already delivered unchanged")
        for folder in result.created:
            click.echo(f"  new     {folder}")
        for folder in result.updated:
            click.echo(f"  update  {folder}")
