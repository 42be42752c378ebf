"""What the web pages read beyond the CLI's own functions: plain data, no web framework.

* ``journal_status`` — a message's journal number (saksnummer, journalpostnummer) from the
  registry and what was delivered to the archive about it (Noark 5 packages, arkivmeldinger and
  their receipts), for every version of the message.
* ``version_diff`` — the difference between two versions' texts, word by word, as segments
  ``(op, text)`` with op ``same`` / ``removed`` / ``added``; joining the ``same`` and ``removed``
  segments gives the old text back, ``same`` and ``added`` the new one.
* ``archive_status`` — import batches, exports and arkivmelding receipts, newest first
  (read-only, for archive staff).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from sqlalchemy import func, select

from ..app import App
from ..db.tables import CaseNumber, Delivery, Export, ImportBatch, JournalNumber, Message, OutboxMessage

MSG = Message.__table__
JN = JournalNumber.__table__
CN = CaseNumber.__table__
DLV = Delivery.__table__
EXP = Export.__table__
BATCH = ImportBatch.__table__
OUT = OutboxMessage.__table__

_TOKENS = re.compile(r"\s+|[^\s]+")


def journal_status(app: App, message: dict[str, Any], version_ids: list[int]) -> dict[str, Any]:
    """The journal number and deliveries of the message (``message``: its current row)."""
    with app.db.read() as conn:
        num = conn.execute(
            select(JN.c.journalaar, JN.c.journalsekvensnummer, JN.c.journalpostnummer, JN.c.journaldato,
                   JN.c.assigned_at, JN.c.assigned_by, CN.c.saksaar, CN.c.sakssekvensnummer)
            .select_from(JN.join(CN, CN.c.id == JN.c.case_id))
            .where(JN.c.platform == message["platform"], JN.c.platform_message_id == message["platform_message_id"])
        ).mappings().first()
        deliveries = [dict(r) for r in conn.execute(
            select(DLV.c.kind, DLV.c.system_id, DLV.c.delivered_at, EXP.c.package_id, EXP.c.created_at)
            .select_from(DLV.join(EXP, EXP.c.id == DLV.c.export_id))
            .where(DLV.c.message_id.in_(version_ids)).order_by(DLV.c.id)).mappings()]
        outbox = [dict(r) for r in conn.execute(
            select(OUT.c.seq, OUT.c.type, OUT.c.melding_id, OUT.c.created_at, OUT.c.receipt, OUT.c.receipt_at,
                   OUT.c.receipt_detail)
            .where(OUT.c.message_id.in_(version_ids)).order_by(OUT.c.seq)).mappings()]
    number = None
    if num is not None:
        number = dict(num)
        number["saksnummer"] = f"{num['saksaar']}/{num['sakssekvensnummer']}"
        number["journalnummer"] = f"{num['journalaar']}/{num['journalsekvensnummer']}"
    return {"number": number, "deliveries": deliveries, "outbox": outbox}


def version_diff(old: str, new: str) -> list[tuple[str, str]]:
    """Word-level difference of two texts (see the module docstring)."""
    a = _TOKENS.findall(old or "")
    b = _TOKENS.findall(new or "")
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("removed", "".join(a[i1:i2])))
        if j2 > j1:
            out.append(("added", "".join(b[j1:j2])))
    return out


def archive_status(app: App, limit: int = 100) -> dict[str, Any]:
    """Imports and exports with their status, newest first; arkivmelding receipts counted."""
    with app.db.read() as conn:
        batches = [dict(r) for r in conn.execute(
            select(BATCH.c.id, BATCH.c.importer, BATCH.c.input_desc, BATCH.c.status, BATCH.c.counts,
                   BATCH.c.actor, BATCH.c.started_at, BATCH.c.finished_at)
            .order_by(BATCH.c.id.desc()).limit(limit)).mappings()]
        exports = [dict(r) for r in conn.execute(
            select(EXP.c.id, EXP.c.kind, EXP.c.package_id, EXP.c.path, EXP.c.summary, EXP.c.actor, EXP.c.created_at)
            .order_by(EXP.c.id.desc()).limit(limit)).mappings()]
        delivered = {int(k): int(n) for k, n in conn.execute(
            select(DLV.c.export_id, func.count()).group_by(DLV.c.export_id))}
        receipts = {r: int(n) for r, n in conn.execute(select(OUT.c.receipt, func.count()).group_by(OUT.c.receipt))}
        failed = [dict(r) for r in conn.execute(
            select(OUT.c.seq, OUT.c.type, OUT.c.folder, OUT.c.receipt_at, OUT.c.receipt_detail)
            .where(OUT.c.receipt == "failed").order_by(OUT.c.seq.desc()).limit(limit)).mappings()]
    for e in exports:
        e["delivered"] = delivered.get(e["id"], 0)
    return {"batches": batches, "exports": exports,
            "receipts": {k: receipts.get(k, 0) for k in ("pending", "confirmed", "failed")}, "failed": failed}
