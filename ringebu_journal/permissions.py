"""Who may do what: the one table that decides, keyed by operation.

An *operation* is a thing the product does (``message.decide``, ``import.run``, ``audit.read``),
independent of how it is asked for. Every front end (the CLI today, the web workspace later)
maps its commands or routes to operations and nothing else; the domain's entry points check
their operation themselves (``App.require``), so a caller that skips the front end meets the
same check and the audit trail records the role that was checked.

Invariants:
- ``PERMISSIONS`` is the only place that says which roles may run an operation; there is no
  second table (the CLI's command map names operations, never roles).
- Every operation has a one-line description, used in refusals and in the role table in the
  documentation (``role_table_markdown``, tested against docs/roles.md).
- ``OPEN`` is not an operation: a front-end command that needs no database maps to it.

*Steps* (``STEPS``) are what an error message may point a user to next ("register the
account", "look the message up"): each names an operation, an optional variant, and what it
is in the product's words. The domain writes its hints with steps; the CLI renders a step as
its exact command line, other callers as the product words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

ROLES = ("archivist", "moderator", "auditor", "admin")

#: front-end commands that need no database and no role map to this instead of an operation
OPEN = "open"

_ALL = frozenset(ROLES)


@dataclass(frozen=True)
class Operation:
    name: str
    roles: frozenset[str]
    description: str


def _op(name: str, roles: Iterable[str], description: str) -> tuple[str, Operation]:
    return name, Operation(name, frozenset(roles), description)


#: operation → the roles allowed to run it (the one table)
PERMISSIONS: dict[str, Operation] = dict([
    # administration
    _op("database.init", {"admin"}, "upgrade or re-initialise an existing database (anyone may create a new one)"),
    _op("user.manage", {"admin"}, "add users, change their role, deactivate them; delegate names"),
    _op("user.read", {"admin", "auditor"}, "list users and their roles"),
    _op("account.manage", {"admin", "archivist"}, "register, close and reopen the municipality's accounts"),
    _op("account.read", _ALL, "list the registered accounts"),
    _op("settings.read", _ALL, "show the organisation's settings"),
    _op("settings.manage", {"admin"}, "change the organisation's settings"),
    _op("workspace.serve", {"admin"}, "run the web workspace (each page then checks its own operation for the signed-in user)"),
    # archive staff
    _op("import.run", {"archivist"}, "import conversations (files, harvests, webhooks)"),
    _op("judge.run", {"archivist"}, "judge stored messages"),
    _op("model.manage", {"archivist", "admin"}, "store, choose and retrain the judge's model; export labels"),
    _op("model.read", _ALL, "list the judge's models"),
    _op("rules.propose", {"archivist", "admin", "moderator"}, "propose rules learnt from moderators' decisions"),
    _op("rules.decide", {"archivist", "admin"}, "accept or reject a proposed rule"),
    _op("export.run", {"archivist"}, "export Noark 5 packages and arkivmeldinger"),
    # moderators
    _op("message.decide", {"moderator"}, "flag, confirm or unflag a message's decision"),
    _op("action.record", {"moderator"}, "record an action taken on a message (hidden, deleted, replied …)"),
    # reading
    _op("message.read", {"archivist", "moderator", "auditor"}, "read messages, the queue and judgments"),
    _op("report.read", _ALL, "compliance and journal reports"),
    # auditors
    _op("audit.read", {"auditor", "admin"}, "read and export the audit trail"),
    _op("audit.verify", {"auditor", "admin", "archivist"}, "verify the audit trail's hash chain"),
    _op("audit.checkpoint", {"auditor", "admin"}, "sign the audit trail's head outside the database"),
])


def known(operation: str) -> bool:
    return operation in PERMISSIONS


#: services that prove who they are by other means than a user's role, and the operations that
#: proof grants: the Meta webhook signs each delivery (X-Hub-Signature-256 with the app secret),
#: and a delivery with a good signature may only import. Their events carry role "service".
SERVICES: dict[str, frozenset[str]] = {
    "meta-webhook": frozenset({"import.run"}),
}
SERVICE_ROLE = "service"


def allowed(operation: str, role: str | None) -> bool:
    """Whether ``role`` may run ``operation`` (KeyError for an unknown operation: a bug)."""
    return role is not None and role in PERMISSIONS[operation].roles


def roles_for(operation: str) -> str:
    """The allowed roles in the order of ``ROLES``, e.g. ``"archivist, admin"``."""
    return ", ".join(r for r in ROLES if r in PERMISSIONS[operation].roles)


def require_known(mapping: Mapping[str, str]) -> list[str]:
    """Problems with a front end's map (command or route → operation or ``OPEN``), one line each.

    The CLI's command map and the web workspace's route table are both checked with it: every
    value must be ``OPEN`` or an operation of ``PERMISSIONS``.
    """
    return [f"{key!r} maps to {op!r}, which is not an operation of ringebu_journal.permissions"
            for key, op in mapping.items() if op != OPEN and op not in PERMISSIONS]


def role_table_markdown() -> str:
    """The role table as the documentation shows it (docs/roles.md holds it verbatim)."""
    head = "| operation | what | " + " | ".join(ROLES) + " |"
    rule = "|" + "---|" * (2 + len(ROLES))
    rows = [f"| `{op.name}` | {op.description} | " + " | ".join("yes" if r in op.roles else "" for r in ROLES) + " |"
            for op in PERMISSIONS.values()]
    return "\n".join([head, rule, *rows]) + "\n"


# -- steps a message may point to ------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    operation: str        # an operation of PERMISSIONS, or OPEN
    words: str            # the step in the product's words (a noun phrase), for callers without a command line

    def say(self) -> str:
        return self.words if self.operation == OPEN else f"{self.words} ({self.operation})"


#: step name → what it is; a front end renders each as its own command (the CLI: cli/operations.py)
STEPS: dict[str, Step] = {
    "database.init": Step("database.init", "the database initialisation"),
    "database.init:data-dir": Step("database.init", "the database initialisation with its data folder"),
    "user.manage:add": Step("user.manage", "adding the user with a role"),
    "user.manage:delegate": Step("user.manage", "a delegation letting your identity act under that name"),
    "user.read": Step("user.read", "the list of users"),
    "account.manage:add": Step("account.manage", "the account registration (platform, id, name and unit)"),
    "account.manage:register": Step("account.manage", "the account registration"),
    "account.manage:add-notified": Step("account.manage", "the account registration with the date the rådmann "
                                                          "was notified"),
    "account.manage:close": Step("account.manage", "closing the account with a notice and a reopening date"),
    "account.read": Step("account.read", "the list of registered accounts"),
    "import.run:facebook-dump": Step("import.run", "the Graph API dump import"),
    "import.run:facebook-dump-stdin": Step("import.run", "the Graph API dump import reading standard input"),
    "import.run:jsonl": Step("import.run", "the JSON Lines import"),
    "judge.run": Step("judge.run", "the judge"),
    "message.read:queue": Step("message.read", "the moderation queue"),
    "message.read:show": Step("message.read", "the message's page"),
    "message.decide:flag": Step("message.decide", "a moderator's flag"),
    "message.decide:flag-choice": Step("message.decide", "a moderator's flag (journal, archive or exclude, with a "
                                                         "reason)"),
    "model.manage:add": Step("model.manage", "storing the model"),
    "model.manage:undo": Step("model.manage", "going back to the previous model"),
    "model.train": Step(OPEN, "the model training (a model JSON file)"),
    "rules.propose": Step("rules.propose", "the rule proposals"),
    "audit.read:export": Step("audit.read", "the trail file written by the audit export"),
    "audit.read:action": Step("audit.read", "the audit log of this action"),
    "audit.verify:against": Step("audit.verify", "the audit verification against the latest package or a signed "
                                                 "checkpoint"),
}
