"""init and setup-roles: create or upgrade the database; least privilege on PostgreSQL (docs/security.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ringebu_journal.errors import UsageError

from .common import Options, command_app
from .lazy import lazy

if TYPE_CHECKING:
    from ringebu_journal.app import App

appmod = lazy("ringebu_journal.app")
privileges = lazy("ringebu_journal.db.privileges")


@click.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the database, or upgrade it to this program's schema.

    On an empty database the actor running init becomes its first admin, and the identity
    running it (database role or operating-system user) may act under every name.
    """
    app = ctx.find_object(Options).app()
    app.asked_by = "init"
    res = appmod.init_database(app)
    if res.before is None:
        click.echo(f"created database {app.db.display_url} (schema {res.after})")
    elif res.before != res.after:
        click.echo(f"upgraded database {app.db.display_url} from schema {res.before} to {res.after}")
    else:
        click.echo(f"database {app.db.display_url} is up to date (schema {res.after})")
    if res.made_admin:
        click.echo(f"{res.actor} is its first admin; add others with `ringebu-journal users add NAME --role ROLE`")
    if not app.db.is_sqlite or app._sqlite_file() is None:
        if res.data_dir:
            click.echo(f"data folder for attachments: {res.data_dir}")
        else:
            click.echo("no data folder for attachments yet — run `ringebu-journal --data-dir DIR init` with DIR a "
                       "folder every user of the database reaches (imports and exports are refused until then)")


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


COMMANDS = (init, setup_roles)
