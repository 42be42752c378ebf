"""accounts: the registry of the municipality's official profiles (pages, accounts), their
units, closures and the date the rådmann was notified."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .common import command_app, emit_rows, listing_options, open_output, parse_date
from .lazy import lazy
from .operations import command_line

if TYPE_CHECKING:
    from ringebu_journal.app import App

accmod = lazy("ringebu_journal.accounts")


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
    a = res.account
    key = f"{a.platform}:{a.platform_id}"
    if res.change == "added":
        click.echo(f"registered {key} ({a.name}), unit {a.unit}")
    elif res.change == "changed":
        click.echo(f"updated {key} ({a.name}), unit {a.unit}")
    else:
        click.echo(f"{key} was already registered like this; nothing changed")
    if not a.notified_date:
        click.echo("note: the guideline requires that the rådmann is notified — record the date with "
                   f"`ringebu-journal accounts add {a.platform} {a.platform_id} --name … --unit … "
                   "--notified-date YYYY-MM-DD`")


@accounts.command("list")
@listing_options()
@command_app("accounts list")
def accounts_list(fmt: str, out: str | None, app: App) -> None:
    """List the municipality's profiles: unit, rådmann notified, closed until."""
    accounts = accmod.list_accounts(app)
    with open_output(out) as fh:
        emit_rows([a.as_dict() for a in accounts], ["platform", "platform_id", "name", "unit", "registered", "rådmann_notified", "status",
                         "closed_notice"], fmt, out=fh)
    if fmt == "table":
        for a in accounts:
            if not a.registered:
                click.echo("warning: " + accmod.registration_warning(a.platform, a.platform_id, a.name)
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
    a = res.account
    click.echo(f"{a.platform}:{a.platform_id} is closed from {res.closed_from} until {a.reopens_date}; "
               "post the notice on the page itself")


@accounts.command("reopen")
@click.argument("account_id", metavar="ID")
@command_app("accounts reopen")
def accounts_reopen(account_id: str, app: App) -> None:
    """Reopen a closed page."""
    res = accmod.reopen_account(app, account_id)
    a = res.account
    key = f"{a.platform}:{a.platform_id}"
    click.echo(f"{key} was not closed; nothing changed" if res.change == "unchanged" else f"{key} is open again")


COMMANDS = (accounts,)
