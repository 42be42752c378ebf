"""organisation: the profile of who keeps this record (ringebu_journal/organisation.py)."""

from __future__ import annotations

import click

from ringebu_journal import organisation as orgmod
from ringebu_journal.app import App

from .common import command_app, emit_rows, listing_options, open_output


@click.group()
def organisation() -> None:
    """The organisation profile: name, kommunenummer, organisasjonsnummer, domains, hjemmel, time zone."""


@organisation.command("show")
@listing_options()
@command_app("organisation show")
def organisation_show(fmt: str, out: str | None, app: App) -> None:
    """Show the profile (a value never set shows its default)."""
    values = orgmod.show(app).as_dict()
    rows = [{"key": k, "value": values[k], "meaning": orgmod.DESCRIPTIONS[k]} for k in orgmod.KEYS]
    with open_output(out) as fh:
        emit_rows(rows, ["key", "value", "meaning"], fmt, out=fh)


@organisation.command("set")
@click.argument("key")
@click.argument("value")
@command_app("organisation set")
def organisation_set(key: str, value: str, app: App) -> None:
    """Set KEY of the profile to VALUE (admins; audited as setting.change).

    KEY is one of name, kommunenummer, organisasjonsnummer, own_domains (comma-separated),
    default_hjemmel, time_zone.
    """
    change = orgmod.set_value(app, key, value)
    if change.changed:
        click.echo(f"{key}: {change.before} → {change.after}")
    else:
        click.echo(f"{key} was already {change.after}; nothing changed")


COMMANDS = (organisation,)
