"""`ringebu-journal`: the command line.

Global options come first (`ringebu-journal --db URL --actor NAME COMMAND …`) and each has an
environment variable; one given after the command is named as such, never "did you mean" another.
Exit codes: 0 ok, 1 problems found, 2 bad input or usage, 3 permission refused, 4 internal
error, 130 interrupted (Ctrl-C: one line saying what was kept and how to resume, no traceback).
A reader that closes the pipe early (`… | head -1`) ends the command quietly with the status it
would have had.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click

from ringebu_journal import __version__
from ringebu_journal.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, RingebuError

from . import (accounts, audit, database, demo, exporting, importing, judging, model, organisation, reports, review,
               rules, users, validate, workspace)
from .common import Options, SafeStream, current_command, printable
from .operations import command_line

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: the options of `ringebu-journal` itself, which go before the command
GLOBAL_OPTIONS = {"--db": "URL", "--actor": "NAME", "--data-dir": "DIR", "--quiet": "", "-q": "",
                  "--version": ""}


def version_lines() -> list[str]:
    """What `--version` prints: the program, the judge's policy, the database schema, the model."""
    from ringebu_journal.db.migrate import head_revision
    from ringebu_journal.judge import load_policy

    policy = load_policy()
    settings = getattr(policy, "model", None) or {}
    if settings.get("enabled"):
        from ringebu_journal.judge.model import load_model

        model = load_model(settings.get("file") or None)
        model_line = (f"model sha256 {model.sha256} (the policy's default; a database may have another in use: "
                      "`model list`)")
    else:
        model_line = "model none: the judge applies the policy's rules only"
    return [
        f"ringebu-journal {__version__}",
        f"policy {policy.version} (sha256 {policy.sha256})",
        f"database schema {head_revision()} (alembic head)",
        model_line,
    ]


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    for line in version_lines():
        click.echo(line)
    ctx.exit(0)


class _OutputClosed(Exception):
    """Standard output's reader went away; raised past click, which would turn it into exit 1."""


class _Group(click.Group):
    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:  # --help and --version print while the command line is parsed
            return super().make_context(*args, **kwargs)
        except BrokenPipeError:
            raise _OutputClosed() from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise _OutputClosed() from None


@click.group(cls=_Group, context_settings=CONTEXT_SETTINGS)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the program's version, its judge policy (version and hash), database schema and model.")
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
    # click would strip escape sequences from output that is not a terminal, hiding them; the
    # SafeStream main() installs shows them escaped instead, wherever the output goes
    ctx.color = True


#: one module ("room") per command group, in the order `--help` lists them; each exposes its
#: top-level commands as ``COMMANDS`` and is registered here and nowhere else
ROOMS = (database, users, accounts, organisation, importing, judging, model, rules, review, exporting, reports,
         audit, workspace, validate, demo)

for _room in ROOMS:
    for _command in _room.COMMANDS:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every error into one line and an exit code."""
    debug = os.environ.get("RINGEBU_JOURNAL_DEBUG") == "1"
    if not debug:
        # The database driver logs its own notes when a server goes away mid-transaction; the
        # error reaches the user once, as our one line, so its log is not shown as well.
        driver_log = logging.getLogger("psycopg")
        driver_log.addHandler(logging.NullHandler())
        driver_log.propagate = False
    # every line shown is terminal-safe (controls and bidi overrides escaped) and secret-free
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeStream(sys.stdout), SafeStream(sys.stderr)
    try:
        _run(argv, debug)
    finally:
        sys.stdout, sys.stderr = streams


def _run(argv: list[str] | None, debug: bool) -> None:
    try:
        rv = cli.main(args=argv, prog_name="ringebu-journal", standalone_mode=False)
    except RingebuError as exc:
        _finish_stdout()
        click.echo(f"error: {_safe_line(exc.render(command_line))}", err=True)
        sys.exit(exc.exit_code)
    except click.NoSuchOption as exc:
        if exc.option_name in GLOBAL_OPTIONS and exc.ctx is not None and exc.ctx.parent is not None:
            click.echo(f"error: {_global_option_line(exc.option_name, exc.ctx)}", err=True)
            sys.exit(EXIT_USAGE)
        _show(exc)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        _show(exc)
        sys.exit(exc.exit_code if exc.exit_code else EXIT_USAGE)
    except click.exceptions.Exit as exc:
        _finish_stdout()
        sys.exit(exc.exit_code)
    except click.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt) or isinstance(exc.__context__, KeyboardInterrupt):
            _interrupted()
        click.echo("error: no input (end of file) where an answer was expected — run the command again", err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        _interrupted()
    except (BrokenPipeError, _OutputClosed):
        _quiet_stdout_on_broken_pipe()
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - last line of defence: never a traceback for users
        if debug:
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {_safe_line(_one_line(exc))} — this is a bug in ringebu-journal; "
            "please report it with the command you ran (set RINGEBU_JOURNAL_DEBUG=1 for details)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    code = rv if isinstance(rv, int) else 0
    _finish_stdout()
    sys.exit(code)


def _quiet_stdout_on_broken_pipe() -> None:
    """The reader of standard output went away (`… | head -1`): nothing more can reach it, and
    Python must not complain when it flushes at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a file (e.g. captured by a test): nothing is flushed at exit


def _finish_stdout() -> None:
    """Flush standard output now, so that a closed pipe is seen here and not at interpreter exit."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout_on_broken_pipe()
    except (OSError, ValueError):
        pass


def _global_option_line(name: str, ctx: click.Context) -> str:
    metavar = GLOBAL_OPTIONS[name]
    opt = f"{name} {metavar}" if metavar else name
    path = ctx.command_path.split(" ", 1)
    rest = path[1] if len(path) > 1 else ""
    return (f"{name} is an option of ringebu-journal itself, not of `{rest}` — put it before the command: "
            f"ringebu-journal {opt} {rest} … (or set its environment variable)")


#: what an interrupted command kept, and how to go on (by the command's role-table name)
_RESUME = {
    "import": "the chunks imported so far are kept and the batch stays open — run the same command again to "
              "resume where it stopped",
    "harvest": "the responses fetched so far are kept in the dump file — run the same command again; "
               "import the dump with `ringebu-journal import facebook-dump FILE`",
    "judge": "the judgments stored so far are kept — run `ringebu-journal judge` again to judge the rest",
    "export": "no package or arkivmelding was published (nothing half-written is kept); archive copies "
              "rendered so far stay in the render cache — run the same command again",
    "flag": "decisions already reported as stored are kept, the others were not stored — check with "
            "`ringebu-journal show MESSAGE` and run the command again for the rest",
}


def _interrupted() -> None:
    _finish_stdout()
    command = current_command() or ""
    word = command.split(" ", 1)[0]
    hint = _RESUME.get(word) or _RESUME.get("flag" if word in ("confirm", "unflag") else "") or (
        "nothing half-written was kept — run the same command again")
    click.echo(f"interrupted{' (' + command + ')' if command else ''}: {hint}", err=True)
    sys.exit(EXIT_INTERRUPTED)


def _safe_line(text: str) -> str:
    """An error line as shown: no secret of the database URL, no control or bidi character."""
    from ringebu_journal.db.engine import redact

    return printable(redact(text), newlines=False)


def _show(exc: click.ClickException) -> None:
    """click's usage error (it may quote what was typed, e.g. a --db URL), secret-free."""
    import io

    buf = io.StringIO()
    exc.show(file=buf)
    for line in buf.getvalue().splitlines():
        click.echo(_safe_line(line), err=True)


def _one_line(exc: Any) -> str:
    s = str(exc).strip().splitlines()
    return s[0][:300] if s else ""


if __name__ == "__main__":  # pragma: no cover
    main()
