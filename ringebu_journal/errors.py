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

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_PERMISSION = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130     # 128 + SIGINT, the shells' convention


class RingebuError(Exception):
    """Base class: a problem the user can act on."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(RingebuError):
    """Bad input or usage: a missing file, an invalid value, an unknown id."""

    exit_code = EXIT_USAGE


class InputError(UsageError):
    """A problem in an input file, with its place."""

    def __init__(self, path: str, place: str | None, reason: str, hint: str | None = None):
        where = f"{path}:{place}" if place else path
        msg = f"{where}: {reason}"
        if hint:
            msg += f" — {hint}"
        super().__init__(msg)
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
