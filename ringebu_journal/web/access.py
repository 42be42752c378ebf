"""Who may open which page: every route names one operation, and one function checks it.

The operations are those of the one permission table (``ringebu_journal.permissions``:
``message.read``, ``message.decide``, ``audit.read`` …), the same the CLI's commands map to.
:func:`authorize` goes through ``App.authorize``, so a refused page is audited exactly like a
refused command (``command.refused`` with the operation, and the route that asked) and answered
with 403.
"""

from __future__ import annotations

from .. import permissions
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

#: paths open without sign-in: signing in and out, the page that sends each role to its start page,
#: static files, and Meta's webhook (authenticated by its signature, not by a user)
PUBLIC_PATHS: frozenset[str] = frozenset({"/", "/signin", "/signout", "/static", "/webhooks/meta"})


def authorize(app: App, operation: str, route: str | None = None) -> None:
    """Check ``app.actor``'s role for ``operation``; PermissionRefused (audited, naming the route) when not."""
    app.authorize(operation, asked_by=f"web {route}" if route else None, check_schema=False)


def may(role: str | None, operation: str) -> bool:
    """Whether a role has an operation (for what the navigation shows; the check is :func:`authorize`)."""
    return permissions.allowed(operation, role)


def route_may(role: str | None, route: str) -> bool:
    return may(role, ROUTE_OPERATION[route])
