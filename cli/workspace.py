"""serve: the web workspace (queue, messages, search, audit trail, reports) for the browser, on the
same library as the other commands (ringebu_journal/web/, docs/web.md)."""

from __future__ import annotations

import click

from ringebu_journal import app as appmod

from .common import command_app


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


COMMANDS = (serve,)
