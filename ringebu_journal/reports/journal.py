"""The journal report for archive staff: what was journalført (delivered to the archive) and
what is waiting, per account and category.

A message counts when its effective decision is ``journal``; it is journalført when a
``deliveries`` row exists for any of its versions. Its category is the first case category
the judge gave it (søknad before klage …), else its first category.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from ..app import App
from ..errors import UsageError
from .data import Msg, Period, load_messages

# The order in which a message with several categories is counted under one.
CASE_ORDER = ("soknad", "klage", "innsynskrav", "varsling", "bekymringsmelding", "krav", "oppsigelse",
              "oppfolging", "personvern", "anmodning", "melding")

SUMMARY_COLUMNS = ["account", "category", "journalfort", "waiting", "oldest_waiting_days"]
DETAIL_COLUMNS = ["account", "category", "state", "platform", "platform_message_id", "created_at", "age_days",
                  "delivered_at", "package_id", "permalink"]


def primary_category(m: Msg) -> str:
    cats = m.categories
    for c in CASE_ORDER:
        if c in cats:
            return c
    return cats[0] if cats else "(none)"


@dataclass
class JournalReport:
    as_of: datetime
    messages: list[dict[str, Any]]
    summary: list[dict[str, Any]]


def build_journal_report(app: App, *, from_date: date | None = None, to_date: date | None = None,
                         as_of: datetime | None = None) -> JournalReport:
    if from_date and to_date and to_date < from_date:
        raise UsageError(f"--to {to_date} is before --from {from_date} — give a period that runs forward")
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=timezone.utc)
    as_of = as_of or datetime.now(timezone.utc)
    with app.db.read() as conn:
        msgs = load_messages(conn, Period.of(from_date, to_date))
    rows = []
    groups: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"journalfort": 0, "waiting": 0, "oldest_waiting_days": None})
    for m in msgs:
        if not m.in_period or m.decision != "journal":
            continue
        cat = primary_category(m)
        delivered = m.deliveries[0] if m.deliveries else None
        age = round((as_of - m.created_at).total_seconds() / 86400, 1)
        rows.append({
            "account": m.account, "category": cat, "state": "journalført" if delivered else "waiting",
            "platform": m.platform, "platform_message_id": m.platform_message_id, "created_at": m.created_at,
            "age_days": None if delivered else age,
            "delivered_at": delivered["delivered_at"] if delivered else None,
            "package_id": delivered["package_id"] if delivered else None, "permalink": m.permalink,
        })
        g = groups[(m.account, cat)]
        if delivered:
            g["journalfort"] += 1
        else:
            g["waiting"] += 1
            if g["oldest_waiting_days"] is None or age > g["oldest_waiting_days"]:
                g["oldest_waiting_days"] = age
    rows.sort(key=lambda r: (r["account"], r["category"], r["state"] != "waiting", r["created_at"]))
    summary = [{"account": a, "category": c, **g} for (a, c), g in sorted(groups.items())]
    return JournalReport(as_of, rows, summary)
