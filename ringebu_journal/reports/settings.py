"""The compliance report's options, declared once: name, default, help.

The CLI builds its options from :data:`SETTINGS`, the library takes a
:class:`ComplianceSettings`, and ``docs/compliance.md`` lists the same names (a test checks).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str          # the dataclass field; the CLI option is --name-with-dashes
    default: Any
    help: str

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("reply_hours", 48,
            "Hours the municipality has to answer a question about services, a factual error or a "
            "negative comment (and to thank for praise, and to refer a case or a political message)."),
    Setting("domain", "",
            "The municipality's website: its own posts must link there (default: the organisation "
            "profile's first own domain, see `organisation show`)."),
    Setting("virus_hours", 24,
            "Hours a suspected virus or phishing link may stay up before it counts as removed too late."),
    Setting("silent_days", 7,
            "Days without any message from the municipality on an account that make a silent stretch."),
    Setting("silent_min_messages", 3,
            "Citizen messages within such a stretch that make it a finding."),
    Setting("export_overdue_days", 7,
            "Days after which a journal-worthy message not yet delivered to the archive is overdue."),
)


@dataclass(frozen=True)
class ComplianceSettings:
    reply_hours: float = 48
    domain: str = ""                 # empty: the organisation profile's website
    virus_hours: float = 24
    silent_days: float = 7
    silent_min_messages: int = 3
    export_overdue_days: float = 7

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _check_declared() -> None:
    # One place: the declarations and the dataclass defaults must agree.
    declared = {s.name: s.default for s in SETTINGS}
    defaults = ComplianceSettings().as_dict()
    if declared != defaults:  # pragma: no cover - a programming error caught at import
        raise RuntimeError(f"compliance settings out of step: {declared} != {defaults}")


_check_declared()
