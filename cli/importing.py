"""import, harvest: bring social-media conversations into the database."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import click

from ringebu_journal import clock
from ringebu_journal.app import App
from ringebu_journal.errors import ProblemsFound, UsageError
from ringebu_journal.importers import run

from .common import command_app, parse_date, progress, quiet_flag
from .operations import command_line


@click.group("import")
def import_group() -> None:
    """Import conversations from files: Graph API dumps, X archives, Facebook exports, JSON Lines."""


@click.group("harvest")
def harvest_group() -> None:
    """Fetch conversations from a platform's API into a dump (and import it)."""


_again = click.option("--again", is_flag=True,
                      help="Read an input that was imported before once more (messages already stored stay unchanged).")


_dry_run = click.option("--dry-run", is_flag=True,
                        help="Read and check everything and report what an import would do; store nothing.")


def _finish(summary) -> None:
    for line in summary.lines(renderer=command_line):
        click.echo(line)
    if summary.already:
        return
    if summary.rejected:
        where = ("" if summary.dry_run else f" (also in the audit trail, batch {summary.batch_id})"
                 if summary.batch_id else " (also in the audit trail as import.rejected)")
        raise ProblemsFound(f"{summary.rejected} record(s) rejected — see the list above{where}")
    if not summary.stored:
        raise UsageError("the input holds no messages (empty, or no file there that this import reads) — "
                         "nothing imported; check that it is the right file and the right import command")


def _run(app: App, label: str, fn: Callable) -> None:
    with progress(label, None, quiet=quiet_flag()) as advance:
        summary = fn(advance)
    _finish(summary)


@import_group.command("facebook-dump")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=False))
@_again
@_dry_run
@command_app("import facebook-dump")
def import_facebook_dump(paths: tuple[str, ...], again: bool, dry_run: bool, app: App) -> None:
    """Import Graph API dumps (JSON Lines from `harvest facebook`) or files holding one response body.

    PATHS are files or folders (all *.jsonl and *.json files inside are read), or - for standard input.
    """
    _run(app, "importing dump", lambda adv: run.import_facebook_dump(app, list(paths), again=again, advance=adv,
                                                                               dry_run=dry_run))


@import_group.command("x-archive")
@click.argument("path", type=click.Path(exists=False))
@_again
@_dry_run
@command_app("import x-archive")
def import_x_archive(path: str, again: bool, dry_run: bool, app: App) -> None:
    """Import an X (Twitter) "archive of your data" (zip or unpacked folder): tweets, DMs, media."""
    _run(app, "importing X archive", lambda adv: run.import_x_archive(app, path, again=again, advance=adv,
                                                                                   dry_run=dry_run))


@import_group.command("facebook-export")
@click.argument("path", type=click.Path(exists=False))
@_again
@_dry_run
@command_app("import facebook-export")
def import_facebook_export(path: str, again: bool, dry_run: bool, app: App) -> None:
    """Import a Facebook "Download your information" export (zip or folder; JSON format).

    Repairs Facebook's mojibake (UTF-8 escaped byte by byte) where it round-trips and records each repair.
    """
    _run(app, "importing Facebook export", lambda adv: run.import_facebook_export(app, path, again=again,
                                                                                          advance=adv, dry_run=dry_run))


@import_group.command("jsonl")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=False))
@_again
@_dry_run
@command_app("import jsonl")
def import_jsonl(paths: tuple[str, ...], again: bool, dry_run: bool, app: App) -> None:
    """Import the generic JSON Lines format (schemas/generic-import.schema.json; see docs/importing.md)."""
    _run(app, "importing JSON Lines", lambda adv: run.import_jsonl(app, list(paths), again=again, advance=adv,
                                                                          dry_run=dry_run))


@import_group.command("webhooks")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=False))
@_again
@_dry_run
@command_app("import webhooks")
def import_webhooks(paths: tuple[str, ...], again: bool, dry_run: bool, app: App) -> None:
    """Import saved Meta webhook deliveries (page feed, Instagram comments, Messenger): one JSON file each.

    PATHS are files or folders (all *.json files inside are read). A file is a delivery body as
    Meta sent it, or {"headers": {...}, "body": ...} with the headers it came with. The signature
    is not checked for saved files; the stored capture says so. See docs/webhooks.md.
    """
    from ringebu_journal import webhooks

    _run(app, "importing webhook deliveries", lambda adv: webhooks.import_files(app, list(paths), again=again,
                                                                                advance=adv, dry_run=dry_run))


@harvest_group.command("facebook")
@click.option("--page-id", required=True, help="The Facebook page id.")
@click.option("--instagram-user-id", help="The Instagram professional account id linked to the page.")
@click.option("--since", help="Only posts and Instagram media from this date (YYYY-MM-DD); conversations are "
              "always read whole (the API has no time filter for them).")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Dump file to write (JSON Lines; default: "
              "DATA_DIR/harvest/facebook-PAGE-TIME.jsonl). Appended to if it exists.")
@click.option("--import", "do_import", is_flag=True, help="Import the dump when the harvest is done.")
@click.option("--base-url", default="https://graph.facebook.com", show_default=True, envvar="RINGEBU_JOURNAL_GRAPH_URL",
              help="Graph API host (env RINGEBU_JOURNAL_GRAPH_URL); the token is sent to this host only.")
@click.option("--api-version", default="v25.0", show_default=True, help="Graph API version, recorded with every capture.")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds for each request.")
@click.option("--backoff", default=2.0, show_default=True,
              help="First wait in seconds after a throttled or failed request; doubled on each retry, with jitter.")
@click.option("--max-retries", default=8, show_default=True, help="Retries of one request before the harvest stops.")
@command_app("harvest facebook")
def harvest_facebook(page_id: str, instagram_user_id: str | None, since: str | None, out: str | None,
                     do_import: bool, base_url: str, api_version: str, timeout: float, backoff: float,
                     max_retries: int, app: App) -> None:
    """Harvest a page's feed with comments, its Messenger inbox and (optionally) Instagram.

    The page token is read from RINGEBU_JOURNAL_FB_TOKEN; it is never printed, logged or
    written to the dump or the audit trail.
    """
    from ringebu_journal.importers import graph

    token = os.environ.get(graph.TOKEN_ENV, "").strip()
    if not token:
        raise UsageError(f"no access token — set {graph.TOKEN_ENV} to the page access token "
                         "(it is read from the environment only and never stored)")
    since_d = parse_date(since, "--since")
    if out is None:
        stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
        out_path = app.ensure_data_dir() / "harvest" / f"facebook-{page_id}-{stamp}.jsonl"
    else:
        out_path = Path(out)
    cfg = graph.HarvestConfig(base_url=base_url, api_version=api_version, timeout=timeout, backoff_base=backoff,
                              usage_pause=backoff * 2.5, max_retries=max_retries)
    result = graph.harvest(app, token=token, page_id=page_id, instagram_user_id=instagram_user_id, since=since_d,
                           out=out_path, config=cfg, echo=lambda s: click.echo(s, err=True))
    click.echo(f"harvest: {result.responses} responses, {result.attachments} attachments → {out_path}")
    if do_import and result.responses:
        with progress("importing dump", None, quiet=quiet_flag()) as adv:
            summary = run.import_facebook_dump(app, [str(out_path)], advance=adv)
        for line in summary.lines(renderer=command_line):
            click.echo(line)
        result.raise_stop()
        if summary.rejected:
            raise ProblemsFound(f"{summary.rejected} record(s) rejected — see the list above")
    result.raise_stop()


COMMANDS = (import_group, harvest_group)
