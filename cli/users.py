"""users: who may do what (admins add, deactivate and list users and their roles, and give them a
password for the web workspace)."""

from __future__ import annotations

import click

from ringebu_journal import app as appmod
from ringebu_journal.permissions import ROLES

from .common import command_app, emit_rows, listing_options, open_output


@click.group()
def users() -> None:
    """Manage users and their roles (admins)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(list(ROLES)), required=True,
              help="archivist: import, judge, export · moderator: review · auditor: read history · admin: users")
@command_app("users add")
def users_add(name: str, role: str, app: appmod.App) -> None:
    """Add a user, or change an existing user's role."""
    res = appmod.add_user(app, name, role)
    if res.changed:
        click.echo(f"{name} is now {role}")
    else:
        click.echo(f"{name} was already {role}; nothing changed")


@users.command("deactivate")
@click.argument("name")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@command_app("users deactivate")
def users_deactivate(name: str, reason: str, app: appmod.App) -> None:
    """Take a user's rights away (the user stays in the history)."""
    appmod.deactivate_user(app, name, reason)
    click.echo(f"{name} is deactivated")


@users.command("list")
@listing_options()
@command_app("users list")
def users_list(fmt: str, out: str | None, app: appmod.App) -> None:
    """List users and roles."""
    rows = [u.as_dict() for u in appmod.list_users(app)]
    with open_output(out) as fh:
        emit_rows(rows, ["name", "role", "active", "created_at", "created_by"], fmt, out=fh)


@users.command("set-password")
@click.argument("name")
@command_app("users set-password")
def users_set_password(name: str, app: appmod.App) -> None:
    """Give a user a password for the web workspace (asked for twice, never shown).

    Only an argon2id hash is stored; the user's browser sessions end.
    """
    from ringebu_journal.web import auth

    password = click.prompt(f"New password for {name}", hide_input=True, confirmation_prompt=True,
                            prompt_suffix=": ", err=True)
    res = auth.set_password(app, name, password)
    line = f"{name} has a new password for the web workspace"
    if res["sessions_ended"]:
        line += f"; {res['sessions_ended']} signed-in session(s) ended"
    if not res["active"]:
        line += f" (the user is deactivated: ask an admin to run `ringebu-journal users add {name} --role ROLE`)"
    click.echo(line)


@users.command("delegate")
@click.argument("name")
@click.argument("identity")
@click.option("--until", "until", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M"]), default=None,
              metavar="DATE", help="The delegation ends at this moment (UTC; a date alone: its midnight).")
@click.option("--reason", default=None, help="Why (kept in the audit trail).")
@command_app("users delegate")
def users_delegate(name: str, identity: str, until, reason: str | None, app: appmod.App) -> None:
    """Let IDENTITY (a database role, an operating-system user, a web sign-in) act as NAME.

    NAME is a registered user, or '*' for every name. Without a delegation a person can act only
    under their own identity.
    """
    res = appmod.delegate(app, name, identity, until=until, reason=reason)
    end = f" until {res['until']:%Y-%m-%d %H:%M} UTC" if res["until"] else ""
    who = "every name" if name == appmod.EVERY_NAME else name
    click.echo(f"{identity} may act as {who}{end}")


@users.command("undelegate")
@click.argument("name")
@click.argument("identity")
@command_app("users undelegate")
def users_undelegate(name: str, identity: str, app: appmod.App) -> None:
    """Withdraw the delegation letting IDENTITY act as NAME."""
    who = "every name" if name == appmod.EVERY_NAME else name
    if appmod.undelegate(app, name, identity):
        click.echo(f"{identity} may no longer act as {who}")
    else:
        click.echo(f"{identity} had no delegation to act as {who}; nothing changed")


@users.command("delegations")
@listing_options()
@command_app("users delegations")
def users_delegations(fmt: str, out: str | None, app: appmod.App) -> None:
    """List who may act under which name."""
    rows = appmod.list_delegations(app)
    with open_output(out) as fh:
        emit_rows(rows, ["name", "identity", "until", "created_at", "created_by", "created_identity"], fmt, out=fh)


COMMANDS = (users,)
