"""init, users: setting up the database and who may do what."""

from __future__ import annotations

import click

from ringebu_journal import app as appmod
from ringebu_journal.permissions import ROLES

from .common import Options, command_app, emit_rows, listing_options, open_output


def register(cli: click.Group) -> None:
    cli.add_command(init)
    cli.add_command(users)
    cli.add_command(serve)


@click.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the database, or upgrade it to this program's schema.

    On an empty database the actor running init becomes its first admin.
    """
    app = ctx.find_object(Options).app()
    app.asked_by = "init"
    res = appmod.init_database(app)
    if res["before"] is None:
        click.echo(f"created database {app.db.display_url} (schema {res['after']})")
    elif res["before"] != res["after"]:
        click.echo(f"upgraded database {app.db.display_url} from schema {res['before']} to {res['after']}")
    else:
        click.echo(f"database {app.db.display_url} is up to date (schema {res['after']})")
    if res["made_admin"]:
        click.echo(f"{res['actor']} is its first admin; add others with `ringebu-journal users add NAME --role ROLE`")
    if not app.db.is_sqlite or app._sqlite_file() is None:
        if res["data_dir"]:
            click.echo(f"data folder for attachments: {res['data_dir']}")
        else:
            click.echo("no data folder for attachments yet — run `ringebu-journal --data-dir DIR init` with DIR a "
                       "folder every user of the database reaches (imports and exports are refused until then)")


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
    if res["changed"]:
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
    rows = appmod.list_users(app)
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


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Keep 127.0.0.1 behind the reverse proxy; see docs/web.md.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--trusted-header", metavar="HEADER", envvar="RINGEBU_JOURNAL_TRUSTED_HEADER",
              help="Single sign-on: sign in the user the reverse proxy names in this header (e.g. X-Remote-User); "
                   "only honoured from --forwarded-allow-ips. Off by default. Env: RINGEBU_JOURNAL_TRUSTED_HEADER.")
@click.option("--forwarded-allow-ips", default="127.0.0.1", show_default=True, metavar="IPS",
              help="Comma-separated addresses of the reverse proxy: X-Forwarded-For/-Proto and the trusted header "
                   "are believed only from these.")
@click.option("--secure-cookies", is_flag=True,
              help="Always mark the session cookie Secure (HTTPS only). Without it the cookie is Secure whenever "
                   "the request came over HTTPS, as the proxy's X-Forwarded-Proto says.")
@command_app("serve")
def serve(host: str, port: int, trusted_header: str | None, forwarded_allow_ips: str, secure_cookies: bool,
          app: appmod.App) -> None:
    """Run the web workspace (queue, messages, search, audit trail, reports) for the browser."""
    import uvicorn

    from ringebu_journal.web.app import WebSettings, create_app

    proxies = tuple(p.strip() for p in forwarded_allow_ips.split(",") if p.strip())
    settings = WebSettings(db_url=app.db.url,
                           data_dir=str(app.data_dir_given) if app.data_dir_given else None,
                           trusted_header=trusted_header or None, trusted_proxies=proxies,
                           secure_cookies=True if secure_cookies else None)
    web = create_app(settings)
    sso = f", single sign-on from header {trusted_header}" if trusted_header else ""
    click.echo(f"web workspace on http://{host}:{port}/ (database {app.db.display_url}{sso}); Ctrl-C stops it",
               err=True)
    # the application reads the proxy headers itself (create_app), keeping the proxy's own address
    uvicorn.run(web, host=host, port=port, proxy_headers=False, server_header=False, log_level="info")
