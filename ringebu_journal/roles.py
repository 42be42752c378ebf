"""Who may run what: the one table that decides.

Every CLI command names its entry here. ``OPEN`` commands need no database and no role
(they only read files the user gives them). A refused attempt exits 3 and is audited.
"""

from __future__ import annotations

ROLES = ("archivist", "moderator", "auditor", "admin")

OPEN = "open"

_ALL = frozenset(ROLES)
_READERS = frozenset({"archivist", "moderator", "auditor", "admin"})

# command name (as typed after `ringebu-journal`) → roles allowed
PERMISSIONS: dict[str, frozenset[str] | str] = {
    # administration
    "init": frozenset({"admin"}),            # on an empty database anyone may bootstrap it
    "users add": frozenset({"admin"}),
    "users list": frozenset({"admin", "auditor"}),
    "users deactivate": frozenset({"admin"}),
    "users set-password": frozenset({"admin"}),
    "serve": frozenset({"admin"}),          # the web workspace checks each page for its user
    "accounts add": frozenset({"admin", "archivist"}),
    "accounts close": frozenset({"admin", "archivist"}),
    "accounts reopen": frozenset({"admin", "archivist"}),
    "accounts list": _READERS,
    # archive staff: import, judge, export
    "harvest facebook": frozenset({"archivist"}),
    "import facebook-dump": frozenset({"archivist"}),
    "import x-archive": frozenset({"archivist"}),
    "import facebook-export": frozenset({"archivist"}),
    "import jsonl": frozenset({"archivist"}),
    "import webhooks": frozenset({"archivist"}),
    "judge": frozenset({"archivist"}),
    "model add": frozenset({"archivist", "admin"}),
    "model use": frozenset({"archivist", "admin"}),
    "model undo": frozenset({"archivist", "admin"}),
    "labels export": frozenset({"archivist", "admin"}),
    "retrain": frozenset({"archivist", "admin"}),
    "rules propose": frozenset({"archivist", "admin", "moderator"}),
    "rules accept": frozenset({"archivist", "admin"}),
    "rules reject": frozenset({"archivist", "admin"}),
    "export noark5": frozenset({"archivist"}),
    "export arkivmelding": frozenset({"archivist"}),
    # moderators
    "flag": frozenset({"moderator"}),
    "confirm": frozenset({"moderator"}),
    "unflag": frozenset({"moderator"}),
    "record-action": frozenset({"moderator"}),
    # reading
    "judgments": frozenset({"archivist", "moderator", "auditor"}),
    "model list": _READERS,
    "queue": frozenset({"moderator", "auditor", "archivist"}),
    "show": frozenset({"moderator", "auditor", "archivist"}),
    "search": frozenset({"moderator", "auditor", "archivist"}),
    "report compliance": frozenset({"auditor", "archivist", "moderator", "admin"}),
    "report journal": frozenset({"auditor", "archivist", "moderator", "admin"}),
    # auditors
    "audit log": frozenset({"auditor", "admin"}),
    "audit verify": frozenset({"auditor", "admin", "archivist"}),
    "audit export": frozenset({"auditor", "admin"}),
    # no database involved
    "evaluate": OPEN,
    "train": OPEN,
    "validate": OPEN,
    "demo": OPEN,
}


def allowed(command: str, role: str | None) -> bool:
    rule = PERMISSIONS[command]
    if rule == OPEN:
        return True
    return role is not None and role in rule


def roles_for(command: str) -> str:
    rule = PERMISSIONS[command]
    if rule == OPEN:
        return "anyone"
    return ", ".join(r for r in ROLES if r in rule)
