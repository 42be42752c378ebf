"""One exception tree for the whole product.

Every error a user can cause is a ``RingebuError`` with a one-line message that says what
went wrong, where (file, line, entry) and what to do. The CLI turns them into that line and
the exit code below; nothing else is shown to the user (no tracebacks).

Exit codes: 0 ok · 1 the command ran and found problems · 2 bad input or usage ·
3 permission refused · 4 internal error (a bug: please report it) · 130 interrupted (Ctrl-C,
SIGINT: what finished is kept, nothing half-written is, and running the same command again
resumes).
"""

from __future__ import annotations

from typing import Callable, Mapping

#: renders a step (see permissions.STEPS) with its arguments, e.g. as a command line
StepRenderer = Callable[[str, Mapping[str, str]], str]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_PERMISSION = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130     # 128 + SIGINT, the shells' convention


class Hint:
    """What to do next, pointing to a step of the product (``permissions.STEPS``).

    ``text`` holds ``{step}`` where the step goes (``{step2}`` for a second one, given in
    ``also``). The domain never spells a front end's command: a front end renders each step its
    own way (the CLI as the exact command line, filled with ``args``); without one, the step's
    product words are shown.
    """

    def __init__(self, text: str, step: str, *, also: str | None = None, **args: str):
        self.text = text
        self.step = step
        self.also = also
        self.args = args

    def steps(self) -> list[str]:
        return [self.step] + ([self.also] if self.also else [])

    def render(self, renderer: StepRenderer | None = None) -> str:
        if renderer is None:
            from .permissions import STEPS

            def renderer(step: str, _args: Mapping[str, str]) -> str:
                return STEPS[step].say()

        shown = {"step": renderer(self.step, self.args)}
        if self.also:
            shown["step2"] = renderer(self.also, self.args)
        return self.text.format(**shown)


class Note(str):
    """A text that is not an error (a warning, a rejection, a finding, a conflict) with a hint.

    It *is* its words form (``base`` + ``sep`` + the hint in product words), so it is stored,
    audited and compared as plain text; a front end that knows it calls ``render`` (or
    :func:`render_text`) to show the hint its own way.
    """

    base: str
    hint: Hint
    sep: str

    def __new__(cls, base: str, hint: Hint, sep: str = " — ") -> "Note":
        obj = super().__new__(cls, f"{base}{sep}{hint.render()}")
        obj.base, obj.hint, obj.sep = base, hint, sep
        return obj

    def __getnewargs__(self) -> tuple[str, Hint, str]:       # copy and pickle keep the hint
        return self.base, self.hint, self.sep

    def render(self, renderer: StepRenderer | None = None) -> str:
        return f"{self.base}{self.sep}{self.hint.render(renderer)}"


def render_text(text: str, renderer: StepRenderer | None = None) -> str:
    """``text`` as a front end shows it: a :class:`Note`'s hint rendered with ``renderer``."""
    return text.render(renderer) if isinstance(text, Note) else str(text)


class RingebuError(Exception):
    """Base class: a problem the user can act on.

    ``message`` is the whole line in the product's words; ``render(renderer)`` gives the line
    with the hint's step rendered by a front end (the CLI passes its command renderer).
    """

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: Hint | None = None):
        self.base = message
        self.hint = hint
        full = self.render()
        super().__init__(full)
        self.message = full

    def render(self, renderer: StepRenderer | None = None) -> str:
        if self.hint is None:
            return self.base
        return f"{self.base} — {self.hint.render(renderer)}"

    def __str__(self) -> str:
        return self.message


class UsageError(RingebuError):
    """Bad input or usage: a missing file, an invalid value, an unknown id."""

    exit_code = EXIT_USAGE


class InputError(UsageError):
    """A problem in an input file, with its place."""

    def __init__(self, path: str, place: str | None, reason: str, hint: str | Hint | None = None):
        where = f"{path}:{place}" if place else path
        msg = f"{where}: {reason}"
        if isinstance(hint, str) and hint:
            msg += f" — {hint}"
        super().__init__(msg, hint if isinstance(hint, Hint) else None)
        self.path = path
        self.place = place
        self.reason = reason


class DatabaseError(RingebuError):
    """The database cannot be reached or has the wrong schema."""

    exit_code = EXIT_USAGE


class PermissionRefused(RingebuError):
    exit_code = EXIT_PERMISSION


class ConflictError(RingebuError):
    """Another moderator changed the same message first (optimistic locking)."""

    exit_code = EXIT_PROBLEMS


class ProblemsFound(RingebuError):
    """The command ran and found problems (failed verify, rejected records, invalid package)."""

    exit_code = EXIT_PROBLEMS


class HarvestError(RingebuError):
    """The Graph API refused or failed in a way that stops the harvest (e.g. expired token)."""

    exit_code = EXIT_USAGE
