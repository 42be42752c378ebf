"""setup-roles: least privilege on PostgreSQL (see docs/security.md)."""

from __future__ import annotations

import click

from ringebu_journal.app import App
from ringebu_journal.db import privileges
from ringebu_journal.errors import UsageError

from .common import command_app


def register(cli: click.Group) -> None:
    cli.add_command(setup_roles)


@click.command("setup-roles")
@click.option("--owner", required=True, metavar="ROLE",
              help="The PostgreSQL role that owns the tables and the audit triggers and runs `init` (migrations).")
@click.option("--runtime", required=True, metavar="ROLE",
              help="The PostgreSQL role every other command connects as: it may not UPDATE or DELETE audit "
                   "events, nor alter or drop the audit triggers.")
@command_app("setup-roles")
def setup_roles(owner: str, runtime: str, app: App) -> None:
    """Split an initialised PostgreSQL database into an owner role and a runtime role.

    Run once after `init`, connected as a superuser (roles that do not exist are created, with
    LOGIN and no password: set one with ALTER ROLE or use peer/certificate authentication).
    Running it again brings the grants back into line."""
    if app.db.is_sqlite:
        raise UsageError("setup-roles is for PostgreSQL — on SQLite the file's permissions decide who may write")
    with app.db.write() as conn:
        res = privileges.setup_roles(conn, owner, runtime)
        app.audit(conn, "database.roles", "database", app.db.display_url,
                  after={"owner": owner, "runtime": runtime, "created": res["created"]})
    made = f" (created {', '.join(res['created'])})" if res["created"] else ""
    click.echo(f"{owner} owns the {res['tables']} tables and the audit triggers; {runtime} may read and write them "
               f"but only add to the audit trail{made}. Run `init` as {owner}; everything else as {runtime}.")
