"""`ringebu-journal`: the command line.

Global options come first (`ringebu-journal --db URL --actor NAME COMMAND …`) and each has an
environment variable. Exit codes: 0 ok, 1 problems found, 2 bad input or usage, 3 permission
refused, 4 internal error.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click

from ringebu_journal import __version__
from ringebu_journal.errors import EXIT_INTERNAL, EXIT_PROBLEMS, EXIT_USAGE, RingebuError

from . import admin, audit_cmds
from .common import Options

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="ringebu-journal")
@click.option("--db", envvar="RINGEBU_JOURNAL_DB", metavar="URL",
              help="Database: a file path or sqlite:///FILE (default ./ringebu-journal.db), or "
                   "postgresql+psycopg://USER@HOST/DB. Env: RINGEBU_JOURNAL_DB.")
@click.option("--actor", envvar="RINGEBU_JOURNAL_ACTOR", metavar="NAME",
              help="Who is running the command (default: the operating-system user). Env: RINGEBU_JOURNAL_ACTOR.")
@click.option("--data-dir", envvar="RINGEBU_JOURNAL_DATA", metavar="DIR",
              help="Folder for attachments and harvest dumps (default: beside the SQLite file). "
                   "Env: RINGEBU_JOURNAL_DATA.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@click.pass_context
def cli(ctx: click.Context, db: str | None, actor: str | None, data_dir: str | None, quiet: bool) -> None:
    """Keep Ringebu kommune's social-media conversations in its legal record.

    Import conversations (harvest, import), judge them on their content (judge), let
    moderators confirm or override (queue, flag, confirm), export to the archive (export),
    and audit every step (audit).
    """
    ctx.obj = Options(db, actor, data_dir, quiet)


admin.register(cli)
audit_cmds.register(cli)


def _register_optional() -> None:
    """Feature modules add their commands here as they are built."""
    from . import features

    features.register(cli)


_register_optional()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every error into one line and an exit code."""
    debug = os.environ.get("RINGEBU_JOURNAL_DEBUG") == "1"
    if not debug:
        # The database driver logs its own notes when a server goes away mid-transaction; the
        # error reaches the user once, as our one line, so its log is not shown as well.
        driver_log = logging.getLogger("psycopg")
        driver_log.addHandler(logging.NullHandler())
        driver_log.propagate = False
    try:
        rv = cli.main(args=argv, prog_name="ringebu-journal", standalone_mode=False)
    except RingebuError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code if exc.exit_code else EXIT_USAGE)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_PROBLEMS)
    except KeyboardInterrupt:
        click.echo("interrupted: nothing half-written was kept; run the command again to resume", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - last line of defence: never a traceback for users
        if debug:
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {_one_line(exc)} — this is a bug in ringebu-journal; "
            "please report it with the command you ran (set RINGEBU_JOURNAL_DEBUG=1 for details)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    code = rv if isinstance(rv, int) else 0
    sys.exit(code)


def _one_line(exc: Any) -> str:
    s = str(exc).strip().splitlines()
    return s[0][:300] if s else ""


if __name__ == "__main__":  # pragma: no cover
    main()
