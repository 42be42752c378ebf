"""What the exporter needs to know about each message's decision, in one place.

The effective decision (latest moderator decision, else latest judgment) comes from
``ringebu_journal.moderation.effective_decisions``. The exporter also needs what only the latest
judgment carries: the categories (for the klassifikasjon), the spans to mask in the public
journal and the proposed skjermingshjemmel. :func:`export_decisions` joins the two; a screening
that names no hjemmel gets the organisation profile's default hjemmel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ringebu_journal import organisation
from ringebu_journal.db.tables import Judgment, ModeratorDecision
from ringebu_journal.moderation import effective_decisions

JUD = Judgment.__table__
DEC = ModeratorDecision.__table__


@dataclass(frozen=True)
class ExportDecision:
    """The effective decision of one message plus the judge's details the export uses."""

    message_id: int
    decision: str | None            # journal | archive | exclude | review | None (not judged)
    screen: bool
    hjemmel: str
    decided_by: str
    decided_at: datetime | None
    source: str | None              # "moderator" | "judge" | None
    categories: tuple[str, ...] = ()
    mask: tuple[str, ...] = field(default_factory=tuple)


def _chunks(seq: Sequence[int], n: int = 900) -> Iterable[Sequence[int]]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def _latest_judgments(conn: Connection, ids: Sequence[int]) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for part in _chunks(list(ids)):
        latest = (select(JUD.c.message_id, func.max(JUD.c.id).label("jid"))
                  .where(JUD.c.message_id.in_(part)).group_by(JUD.c.message_id).subquery())
        rows = conn.execute(
            select(JUD.c.message_id, JUD.c.categories, JUD.c.screening)
            .join(latest, JUD.c.id == latest.c.jid)
        ).mappings()
        for r in rows:
            out[r["message_id"]] = dict(r)
    return out


def export_decisions(conn: Connection, message_ids: Iterable[int]) -> dict[int, ExportDecision]:
    """Effective decision, categories, mask spans and hjemmel for each message id given."""
    ids = list(dict.fromkeys(int(i) for i in message_ids))
    out: dict[int, ExportDecision] = {}
    default_hjemmel = organisation.read(conn).default_hjemmel
    for part in _chunks(ids):
        eff = effective_decisions(conn, part)
        judged = _latest_judgments(conn, part)
        # A new version that was not judged again still has the effective decision of an older
        # version's judgment: take the categories and mask spans from that judgment.
        older = {eff[m].judgment_id: m for m in part if m not in judged and eff[m].judgment_id}
        if older:
            for r in conn.execute(select(JUD.c.id, JUD.c.categories, JUD.c.screening)
                                  .where(JUD.c.id.in_(list(older)))).mappings():
                judged[older[r["id"]]] = dict(r)
        for mid in part:
            e = eff[mid]
            j = judged.get(mid) or {}
            screening = j.get("screening") if isinstance(j.get("screening"), dict) else {}
            mask = tuple(s for s in (screening.get("mask") or []) if isinstance(s, str) and s.strip())
            out[mid] = ExportDecision(
                message_id=mid,
                decision=e.decision,
                screen=bool(e.screen),
                hjemmel=(e.hjemmel or screening.get("hjemmel") or default_hjemmel),
                decided_by=e.decided_by or "ringebu-journal",
                decided_at=e.decided_at,
                source=e.source,
                categories=tuple(c for c in (j.get("categories") or []) if isinstance(c, str)),
                mask=mask,
            )
    return out
