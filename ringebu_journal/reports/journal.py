"""The journal report for archive staff: what was journalført (delivered to the archive) and
what is waiting, per account and category.

A message counts when its effective decision is ``journal``; it is journalført when a
``deliveries`` row exists for any of its versions. Its category is the first case category
the judge gave it (søknad before klage …), else its first category.

The arkivmelding columns show the message's lifecycle in the archive system (``arkivmelding_keys``,
keyed by the message, not its version): ``created``, ``delivered`` (the receipt of its opprett
confirmed), ``updated (n)``, ``cancelled``; and what the receiver answered to the messages sent
about it: ``confirmed`` (every one), ``failed`` (a feilmelding or a failed kvittering — the
detail names it), ``missing`` (a message without a receipt yet). A message whose journal
decision was reversed after delivery is listed too (state ``cancelled``) until the cancellation
is confirmed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import select

from .. import clock
from ..app import App
from ..db.tables import ArkivmeldingKey, OutboxMessage
from ..errors import UsageError
from .data import Msg, Period, load_messages

# The order in which a message with several categories is counted under one.
CASE_ORDER = ("soknad", "klage", "innsynskrav", "varsling", "bekymringsmelding", "krav", "oppsigelse",
              "oppfolging", "personvern", "anmodning", "melding")

SUMMARY_COLUMNS = ["account", "category", "journalfort", "waiting", "oldest_waiting_days", "receipt_failed",
                   "receipt_missing"]
DETAIL_COLUMNS = ["account", "category", "state", "platform", "platform_message_id", "created_at", "age_days",
                  "delivered_at", "package_id", "arkivmelding", "receipt", "receipt_detail", "permalink"]
KEYS = ArkivmeldingKey.__table__
OUTM = OutboxMessage.__table__


def arkivmelding_status(conn) -> dict[tuple[str, str], dict[str, Any]]:
    """(platform, platform message id) → lifecycle word and receipt status of its journalpost."""
    receipts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in conn.execute(select(OUTM.c.system_id, OUTM.c.key_kind, OUTM.c.seq, OUTM.c.folder, OUTM.c.receipt,
                                 OUTM.c.receipt_detail).order_by(OUTM.c.seq)).mappings():
        receipts[r["system_id"]].append(dict(r))
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for k in conn.execute(select(KEYS).where(KEYS.c.kind == "journalpost")).mappings():
        state = k["state"] + (f" ({k['updates']})" if k["state"] == "updated" else "")
        # its own messages, and the updates of its saksmappe (a failed one concerns every journalpost in it)
        msgs = receipts.get(k["system_id"], []) + [m for m in receipts.get(k["mappe_system_id"] or "", [])
                                                   if m["key_kind"] == "saksmappe"]
        failed = [m for m in msgs if m["receipt"] == "failed"]
        missing = [m for m in msgs if m["receipt"] == "pending"]
        receipt = "failed" if failed else "missing" if missing else "confirmed" if msgs else None
        detail = "; ".join(f"{m['folder']}: {m['receipt_detail']}" for m in failed) or (
            "; ".join(f"{m['folder']}: no receipt" for m in missing) or None)
        out[(k["platform"], k["platform_message_id"])] = {"arkivmelding": state, "receipt": receipt,
                                                          "receipt_detail": detail, "cancelled": k["state"] == "cancelled"}
    return out


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
    app.require("report.read")
    if from_date and to_date and to_date < from_date:
        raise UsageError(f"--to {to_date} is before --from {from_date} — give a period that runs forward")
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=timezone.utc)
    as_of = as_of or clock.now()
    with app.db.read() as conn:
        msgs = load_messages(conn, Period.of(from_date, to_date))
        status = arkivmelding_status(conn)
    rows = []
    groups: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"journalfort": 0, "waiting": 0, "oldest_waiting_days": None, "receipt_failed": 0,
                 "receipt_missing": 0})
    for m in msgs:
        am = status.get((m.platform, m.platform_message_id), {})
        if not m.in_period or (m.decision != "journal" and not (am.get("cancelled") and am.get("receipt") != "confirmed")):
            continue
        cat = primary_category(m)
        reversed_ = m.decision != "journal"        # cancelled in the archive, receipt not yet confirmed
        delivered = m.deliveries[0] if m.deliveries else None
        age = round((as_of - m.created_at).total_seconds() / 86400, 1)
        rows.append({
            "account": m.account, "category": cat,
            "state": "cancelled" if reversed_ else "journalført" if delivered else "waiting",
            "platform": m.platform, "platform_message_id": m.platform_message_id, "created_at": m.created_at,
            "age_days": None if delivered else age,
            "delivered_at": delivered["delivered_at"] if delivered else None,
            "package_id": delivered["package_id"] if delivered else None,
            "arkivmelding": am.get("arkivmelding"), "receipt": am.get("receipt"),
            "receipt_detail": am.get("receipt_detail"), "permalink": m.permalink,
        })
        g = groups[(m.account, cat)]
        if am.get("receipt") == "failed":
            g["receipt_failed"] += 1
        elif am.get("receipt") == "missing":
            g["receipt_missing"] += 1
        if reversed_:
            continue
        if delivered:
            g["journalfort"] += 1
        else:
            g["waiting"] += 1
            if g["oldest_waiting_days"] is None or age > g["oldest_waiting_days"]:
                g["oldest_waiting_days"] = age
    rows.sort(key=lambda r: (r["account"], r["category"], r["state"] != "waiting", r["created_at"]))
    summary = [{"account": a, "category": c, **g} for (a, c), g in sorted(groups.items())]
    return JournalReport(as_of, rows, summary)
