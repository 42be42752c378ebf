"""The CLI's one map from commands to operations, and how it spells the steps errors point to.

Every command (as typed after ``ringebu-journal``) maps to exactly one operation of
``ringebu_journal.permissions`` or to ``OPEN`` (no database involved). Roles are never named
here: ``permissions.PERMISSIONS`` decides. tests/foundation/test_operations.py walks the click
command tree and checks that every command is in this map and every entry is a command.

``STEP_COMMANDS`` spells each step of ``permissions.STEPS`` as the command line a user types, so
the domain's hints ("register the account") reach CLI users as the exact command.
"""

from __future__ import annotations

import shlex
from typing import Mapping

from ringebu_journal.permissions import OPEN

PROG = "ringebu-journal"

#: command (as typed after `ringebu-journal`) → operation
COMMANDS: dict[str, str] = {
    "init": "database.init",
    "users add": "user.manage",
    "users set-password": "user.manage",
    "serve": "workspace.serve",
    "users deactivate": "user.manage",
    "users list": "user.read",
    "users delegate": "user.manage",
    "users undelegate": "user.manage",
    "users delegations": "user.read",
    "accounts add": "account.manage",
    "accounts close": "account.manage",
    "accounts reopen": "account.manage",
    "accounts list": "account.read",
    "import webhooks": "import.run",
    "search": "message.read",
    "organisation show": "settings.read",
    "organisation set": "settings.manage",
    "harvest facebook": "import.run",
    "import facebook-dump": "import.run",
    "import x-archive": "import.run",
    "import facebook-export": "import.run",
    "import jsonl": "import.run",
    "judge": "judge.run",
    "model add": "model.manage",
    "model use": "model.manage",
    "model undo": "model.manage",
    "labels export": "model.manage",
    "retrain": "model.manage",
    "model list": "model.read",
    "rules propose": "rules.propose",
    "rules accept": "rules.decide",
    "rules reject": "rules.decide",
    "export noark5": "export.run",
    "export arkivmelding": "export.run",
    "flag": "message.decide",
    "confirm": "message.decide",
    "unflag": "message.decide",
    "record-action": "action.record",
    "judgments": "message.read",
    "queue": "message.read",
    "show": "message.read",
    "report compliance": "report.read",
    "report journal": "report.read",
    "audit log": "audit.read",
    "audit export": "audit.read",
    "audit verify": "audit.verify",
    "audit checkpoint": "audit.checkpoint",
    "setup-roles": "database.init",
    # no database involved
    "evaluate": OPEN,
    "train": OPEN,
    "validate": OPEN,
    "demo": OPEN,
    "audit keygen": OPEN,
}

#: commands of this map that other branches register (the tree test accepts their absence)
PENDING: frozenset[str] = frozenset()

#: step (permissions.STEPS) → the command line, with {name} filled from the hint's arguments
STEP_COMMANDS: dict[str, str] = {
    "database.init": "init",
    "database.init:data-dir": "--data-dir {dir} init",
    "user.manage:add": "users add {name} --role ROLE",
    "user.manage:delegate": "users delegate {name} {identity}",
    "user.read": "users list",
    "account.manage:add": "accounts add {platform} {id} --name {name} --unit {unit}",
    "account.manage:register": "accounts add",
    "account.manage:add-notified": "accounts add {platform} {id} --name … --unit … --notified-date YYYY-MM-DD",
    "account.manage:close": "accounts close {account} --reopens DATE --notice TEXT",
    "account.read": "accounts list",
    "import.run:facebook-dump": "import facebook-dump",
    "import.run:facebook-dump-stdin": "import facebook-dump -",
    "import.run:jsonl": "import jsonl",
    "judge.run": "judge",
    "message.read:queue": "queue",
    "message.read:show": "show {message}",
    "message.decide:flag": "flag",
    "message.decide:flag-choice": "flag --journal|--archive|--exclude --reason TEXT",
    "model.manage:add": "model add FILE",
    "model.manage:undo": "model undo",
    "model.train": "train",
    "rules.propose": "rules propose",
    "audit.read:export": "audit export",
    "audit.read:action": "audit log --action {action} --format json",
    "audit.verify:against": "audit verify --against PACKAGE (or --checkpoint FILE --public-key FILE)",
}


def operation_of(command: str) -> str:
    """The operation (or OPEN) of a command; KeyError names a command missing from the map (a bug)."""
    return COMMANDS[command]


def _arg(value: str) -> str:
    """A value quoted for the shell, so the line can be copied; placeholders (NAME, DIR) stay bare."""
    return value if value.isupper() and value.isalpha() else shlex.quote(value)


def command_line(step: str, args: Mapping[str, str]) -> str:
    """A step as the user types it: `ringebu-journal accounts add facebook 123 --name NAME --unit UNIT`."""
    return f"`{PROG} {STEP_COMMANDS[step].format(**{k: _arg(str(v)) for k, v in args.items()})}`"
