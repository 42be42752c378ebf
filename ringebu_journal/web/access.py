"""Who may open which page: every route names one operation, and one function checks it.

The operations are those of the shared permission table (``message.read``, ``message.decide``,
``audit.read`` …). Until that table is keyed by operation, :func:`authorize` asks the role table
of today (``ringebu_journal.roles``) under the CLI command of the same rights, through
``App.authorize`` — so a refused page is audited exactly like a refused command
(``command.refused``) and answered with 403. ``OPERATION_COMMAND`` is the only place that knows
the command spellings.
"""

from __future__ import annotations

from .. import roles
from ..app import App

#: route name → operation
ROUTE_OPERATION: dict[str, str] = {
    "queue": "message.read",
    "decide": "message.decide",
    "record_action": "action.record",
    "message": "message.read",
    "search": "message.read",
    "audit": "audit.read",
    "audit_verify": "audit.verify",
    "compliance": "report.read",
    "archive": "import.run",
}

#: operation → the CLI command whose rights it has today
OPERATION_COMMAND: dict[str, str] = {
    "message.read": "show",
    "message.decide": "flag",
    "action.record": "record-action",
    "audit.read": "audit log",
    "audit.verify": "audit verify",
    "report.read": "report compliance",
    "import.run": "import jsonl",
}


def authorize(app: App, operation: str) -> None:
    """Check ``app.actor``'s role for ``operation``; PermissionRefused (audited) when not allowed."""
    app.authorize(OPERATION_COMMAND[operation], check_schema=False)


def may(role: str | None, operation: str) -> bool:
    """Whether a role has an operation (for what the navigation shows; the check is :func:`authorize`)."""
    return roles.allowed(OPERATION_COMMAND[operation], role)


def route_may(role: str | None, route: str) -> bool:
    return may(role, ROUTE_OPERATION[route])
