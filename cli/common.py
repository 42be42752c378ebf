"""What every command shares: the app context, role checks, output formats, progress.

Commands stay thin: parse arguments, call one library function, print. Library errors
(``RingebuError``) become one line on stderr and an honest exit code in ``cli.main.main``.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import sys
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence, TextIO

import click

from ringebu_journal.errors import UsageError
from ringebu_journal.files import replacing

from .operations import operation_of

if TYPE_CHECKING:
    from ringebu_journal.app import App


class Options:
    """Global options, resolved lazily so that `--help` never touches the database."""

    def __init__(self, db: str | None, actor: str | None, data_dir: str | None, quiet: bool):
        self.db = db
        self.actor = actor
        self.data_dir = data_dir
        self.quiet = quiet
        self._app: App | None = None

    def app(self) -> App:
        if self._app is None:
            from ringebu_journal.app import App

            self._app = App.open(self.db, self.actor, self.data_dir)
        return self._app


_CURRENT: dict[str, str] = {}


def current_command() -> str | None:
    """The spelling of the command running now, as in cli/operations.py (for the line an interruption prints)."""
    return _CURRENT.get("command")


def command_app(command: str) -> Callable:
    """Decorator: open the app, check the operation `command` maps to (cli/operations.py), pass `app=`.

    The command's spelling is kept for messages and the refusal's audit event; the domain
    function the command calls checks the same operation again (cached, no second query).
    """
    operation = operation_of(command)

    def deco(fn: Callable) -> Callable:
        @click.pass_context
        @functools.wraps(fn)
        def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
            _CURRENT["command"] = command
            opts: Options = ctx.find_object(Options)
            app = opts.app()
            app.asked_by = command
            app.require(operation)
            return ctx.invoke(fn, *args, app=app, **kwargs)

        wrapper.__ringebu_command__ = command  # type: ignore[attr-defined]
        wrapper.__ringebu_operation__ = operation  # type: ignore[attr-defined]
        return wrapper

    return deco


def quiet_flag(ctx: click.Context | None = None) -> bool:
    ctx = ctx or click.get_current_context()
    opts = ctx.find_object(Options)
    return bool(opts and opts.quiet)


# -- options that exclude each other ---------------------------------------------------------


def exclusive_flags(dest: str, flags: Sequence[tuple[str, Any, str]], *, default: Any = None) -> Callable:
    """Flags of which at most one may be given; the command receives ``dest=`` the chosen value.

    ``flags`` are (option, value, help). Two different ones on one command line are a usage error
    (exit 2) naming both, never "the last one wins": in a legal record a contradictory command
    must not store either meaning.
    """
    def pname(opt: str) -> str:
        return f"_{dest}__{opt.lstrip('-').replace('-', '_')}"

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            given = [(opt, value) for opt, value, _ in flags if kwargs.pop(pname(opt), False)]
            if len(given) > 1:
                raise UsageError(f"{' and '.join(o for o, _ in given)} cannot be used together — choose one")
            kwargs[dest] = given[0][1] if given else default
            return fn(*args, **kwargs)

        for opt, _value, help_ in reversed(flags):
            wrapper = click.option(opt, pname(opt), is_flag=True, default=False, help=help_)(wrapper)
        return wrapper

    return deco


def check_exclusive(**given: Any) -> None:
    """Options taking values that exclude each other: at most one of them may be set."""
    named = [name for name, value in given.items() if value is not None and value is not False]
    if len(named) > 1:
        raise UsageError(f"{' and '.join('--' + n.replace('_', '-') for n in named)} cannot be used together "
                         "— choose one")


# -- output -------------------------------------------------------------------------------

#: the formats every listing command offers (some add one of their own, e.g. html)
LIST_FORMATS = ("table", "json", "jsonl", "csv")


def format_option(*choices: str, default: str = "table") -> Callable:
    return click.option(
        "--format", "fmt", type=click.Choice(list(choices)), default=default, show_default=True,
        help="Output format.",
    )


def listing_options(*extra: str) -> Callable:
    """The options every listing command shares: ``--format table|json|jsonl|csv`` and ``--out``."""
    fmt = format_option(*LIST_FORMATS, *extra)
    out = click.option("--out", "out", metavar="FILE",
                       help="Write to this file instead of standard output ('-' is standard output); "
                            "the file appears whole or not at all.")

    def deco(fn: Callable) -> Callable:
        return fmt(out(fn))

    return deco


def is_stdout(out: str | None) -> bool:
    return out is None or out == "-"


@contextmanager
def open_output(out: str | None) -> Iterator[TextIO]:
    """Standard output for no ``--out`` or ``-``; else the file, written beside it and renamed
    into place at the end (an interrupted command leaves the old file, or none, never half a one)."""
    if is_stdout(out):
        yield sys.stdout
        return
    path = Path(out)  # type: ignore[arg-type]
    if path.is_dir():
        raise UsageError(f"--out {out} is a folder — give a file name")
    if not path.parent.is_dir():
        raise UsageError(f"--out {out}: folder {path.parent} does not exist — create it or choose another file")
    with replacing(path) as tmp:
        try:
            fh = open(tmp, "w", encoding="utf-8", newline="")
        except OSError as exc:
            raise UsageError(f"--out {out}: cannot write ({exc.strerror}) — choose another file") from None
        with fh:
            yield fh


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=timezone.utc)
        return v.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return ", ".join(str(_plain(x)) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False, default=str)
    return v


def json_default(v: Any) -> Any:
    if isinstance(v, (datetime, date)):
        return _plain(v)
    if hasattr(v, "model_dump"):
        return v.model_dump(mode="json")
    return str(v)


def emit_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], fmt: str, *,
              title: str | None = None, out: Any = None) -> None:
    out = out or sys.stdout
    if fmt == "json":
        out.write(json.dumps(list(rows), ensure_ascii=False, indent=2, default=json_default) + "\n")
    elif fmt == "jsonl":
        for r in rows:
            out.write(json.dumps(r, ensure_ascii=False, default=json_default) + "\n")
    elif fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow([_plain(r.get(c)) if r.get(c) is not None else "" for c in columns])
        out.write(buf.getvalue())
    else:
        emit_table(rows, columns, title=title, out=out)


def emit_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], *, title: str | None = None,
               out: Any = None) -> None:
    """A plain aligned table (readable in a terminal, a pipe and a log file alike)."""
    out = out or sys.stdout
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [len(c) for c in columns]
    for row in cells:
        for i, v in enumerate(row):
            widths[i] = min(max(widths[i], len(v)), 80)
    if title:
        out.write(title + "\n")
    out.write("  ".join(c.ljust(widths[i]) for i, c in enumerate(columns)).rstrip() + "\n")
    out.write("  ".join("-" * widths[i] for i in range(len(columns))) + "\n")
    for row in cells:
        out.write("  ".join(_clip(v, widths[i]).ljust(widths[i]) for i, v in enumerate(row)).rstrip() + "\n")
    if not rows:
        out.write("(none)\n")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    return printable(str(_plain(v)).replace("\n", " "), newlines=False)


def _clip(s: str, width: int) -> str:
    return s if len(s) <= width else s[: width - 1] + "…"


# -- terminal-safe text ---------------------------------------------------------------------
#
# Stored text stays verbatim; what reaches a terminal must not be able to move the cursor,
# rewrite or hide lines, or reorder what is shown. Every character below is written as a
# visible backslash-u escape of four hex digits (\u001b) — the escape JSON uses, so JSON text keeps
# its meaning.

#: C0 controls (but line feed and tab, which only lay text out), DEL, C1 controls, the bidi
#: embeddings, overrides, isolates and marks, and the Unicode line/paragraph separators
UNSAFE = frozenset([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0),
                    *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C, 0x2028, 0x2029])
_ESCAPES = {c: f"\\u{c:04x}" for c in UNSAFE}
_ESCAPES_NO_NEWLINE = {**_ESCAPES, 0x0A: "\\u000a", 0x09: "\\u0009"}
# a quick test first: most text has none of them, and is then returned as it is
_ANY_UNSAFE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(UNSAFE)) + "]")
_ANY_UNSAFE_OR_LAYOUT = re.compile("[\n\t" + "".join(re.escape(chr(c)) for c in sorted(UNSAFE)) + "]")


def printable(text: str, *, newlines: bool = True) -> str:
    """``text`` with every control, DEL, C1 and bidi control written as a visible backslash-u escape
    of four hex digits (``\\u001b`` for ESC, ``\\u000d`` for a carriage return, ``\\u202e`` for a right-to-left
    override). ``newlines=False`` escapes line feeds and tabs too (for one-line fields)."""
    if newlines:
        return text.translate(_ESCAPES) if _ANY_UNSAFE.search(text) else text
    return text.translate(_ESCAPES_NO_NEWLINE) if _ANY_UNSAFE_OR_LAYOUT.search(text) else text


class SafeStream:
    """A text stream that passes everything written through :func:`printable` (installed on
    standard output and standard error by ``cli.main.main``); the binary ``buffer`` stays raw."""

    def __init__(self, raw: TextIO):
        self.raw = raw

    def write(self, s: str) -> int:
        self.raw.write(printable(s) if isinstance(s, str) else s)
        return len(s)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":        # no way around the escaping (click would write bytes there)
            raise AttributeError(name)
        return getattr(self.raw, name)


def raw_stream(stream: Any) -> Any:
    """The stream below a :class:`SafeStream` (for progress bars, which draw with escapes)."""
    return stream.raw if isinstance(stream, SafeStream) else stream


# -- progress -----------------------------------------------------------------------------


@contextmanager
def progress(description: str, total: int | None = None, *, quiet: bool = False) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal; silent when stderr is not a terminal or with --quiet.

    Yields ``advance(n)``.
    """
    if quiet or not raw_stream(sys.stderr).isatty():
        yield lambda n=1: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), transient=True, console=_stderr_console()) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


def _stderr_console():
    from rich.console import Console

    return Console(file=raw_stream(sys.stderr))


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date — write it as YYYY-MM-DD") from None


def read_id_file(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as fh:
            return [ln.strip() for ln in fh if ln.strip() and not ln.lstrip().startswith("#")]
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror}) — give a file with one message id per line") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text — give a file with one message id per line") from None


def echo_err(msg: str) -> None:
    click.echo(msg, err=True)


def iter_nonempty(items: Iterable[str]) -> list[str]:
    return [i for i in items if i]
