"""init: create the database, or upgrade it to this program's schema."""

from __future__ import annotations

import click

from ringebu_journal import app as appmod

from .common import Options


@click.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the database, or upgrade it to this program's schema.

    On an empty database the actor running init becomes its first admin.
    """
    app = ctx.find_object(Options).app()
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


COMMANDS = (init,)
