"""Building realistic conversations straight into the tables (SQLAlchemy Core), with times
relative to a base so that deadlines are measured against the real clock."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from ringebu_journal.app import App
from ringebu_journal.db.tables import (Account, Attachment, Delivery, Export, Judgment, Message, MessageAction,
                                       ModeratorDecision, Thread)

ACC = Account.__table__
THR = Thread.__table__
MSG = Message.__table__
JUD = Judgment.__table__
MOD = ModeratorDecision.__table__
ACT = MessageAction.__table__
EXP = Export.__table__
DEL = Delivery.__table__
ATT = Attachment.__table__


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


@dataclass
class World:
    app: App
    base: datetime
    ids: dict[str, int] = field(default_factory=dict)        # name → internal message id
    pmids: dict[str, str] = field(default_factory=dict)      # name → platform message id
    threads: dict[str, int] = field(default_factory=dict)
    _export_id: int | None = None

    def at(self, hours: float) -> datetime:
        return self.base + timedelta(hours=hours)

    def account(self, platform: str, pid: str, name: str, *, own: bool = True, registered: bool = False,
                unit: str | None = None, notified: Any = None) -> None:
        with self.app.db.write() as conn:
            conn.execute(ACC.insert().values(platform=platform, platform_id=pid, name=name, unit=unit, own=own,
                                             registered=registered, notified_date=notified, closed=False,
                                             created_at=utcnow()))

    def msg(self, name: str, text: str, hours: float, *, account: str, platform: str = "facebook",
            kind: str = "comment", municipal: bool = False, parent: str | None = None, post: str | None = None,
            conversation: str | None = None, author: str | None = None, status: str = "active",
            extra: dict | None = None) -> int:
        pmid = self.pmids.get(name) or f"{account}_{int(_sha(name)[:12], 16) % 10**15:015d}"
        if kind == "message":
            pmid = f"m_{int(_sha(name)[:12], 16) % 10**15:015d}"
        self.pmids[name] = pmid
        parent_id = self.pmids[parent] if parent else None
        post_id = self.pmids[post] if post else (pmid if kind == "post" else None)
        thread_key = conversation or post_id
        author = author or ("Ringebu kommune" if municipal else "Innbygger")
        with self.app.db.write() as conn:
            tid = self.threads.get(thread_key)
            if tid is None:
                tid = conn.execute(THR.insert().values(
                    platform=platform, thread_key=thread_key, kind="conversation" if conversation else "post",
                    account_platform_id=account, created_at=self.at(hours)).returning(THR.c.id)).scalar_one()
                self.threads[thread_key] = tid
            link = (f"https://www.facebook.com/{pmid}" if platform != "messenger"
                    else f"https://www.facebook.com/messages/t/{conversation}")
            mid = conn.execute(MSG.insert().values(
                platform=platform, platform_message_id=pmid, version=1, is_current=True, thread_id=tid, kind=kind,
                parent_platform_id=parent_id, post_platform_id=post_id, conversation_id=conversation,
                account_platform_id=account, author_id=_sha(author)[:12], author_name=author,
                author_is_municipality=municipal, text=text, created_at=self.at(hours), permalink=link,
                status=status, content_hash=_sha(text), raw=json.dumps({"message": text}), raw_sha256=_sha(text),
                extra=extra or {}, imported_at=self.at(hours + 0.5),
            ).returning(MSG.c.id)).scalar_one()
        self.ids[name] = mid
        return mid

    def new_version(self, name: str, *, status: str, hours: float) -> int:
        """A later capture of the message (e.g. seen hidden), which becomes the current version."""
        old = self.ids[name]
        with self.app.db.write() as conn:
            row = conn.execute(select(MSG).where(MSG.c.id == old)).mappings().one()
            conn.execute(MSG.update().where(MSG.c.id == old).values(is_current=False))
            values = {k: v for k, v in row.items() if k != "id"}
            values.update(version=row["version"] + 1, previous_id=old, is_current=True, status=status,
                          imported_at=self.at(hours), content_hash=_sha(row["text"] + status))
            mid = conn.execute(MSG.insert().values(**values).returning(MSG.c.id)).scalar_one()
        self.ids[name] = mid
        return mid

    def judge(self, name: str, decision: str, categories: tuple = (), actions: tuple = (), *,
              screen: bool = False, version: int | None = None) -> int:
        mid = version or self.ids[name]
        with self.app.db.write() as conn:
            return conn.execute(JUD.insert().values(
                message_id=mid, decision=decision, confidence=0.9, categories=list(categories),
                actions=list(actions), screening={"screen": screen, "mask": [], "hjemmel": None, "reasons": []},
                reasons=[], policy_version="test", policy_hash="0" * 64, judged_at=utcnow(), actor="judge",
            ).returning(JUD.c.id)).scalar_one()

    def flag(self, name: str, decision: str, reason: str) -> None:
        with self.app.db.write() as conn:
            conn.execute(MOD.insert().values(message_id=self.ids[name], kind="flag", decision=decision, screen=None,
                                             reason=reason, judgment_id=None, lock_version=1, actor="kari",
                                             decided_at=utcnow()))

    def action(self, name: str, action: str, hours: float, note: str | None = None) -> None:
        with self.app.db.write() as conn:
            conn.execute(ACT.insert().values(message_id=self.ids[name], action=action, note=note, actor="kari",
                                             recorded_at=self.at(hours)))

    def attach(self, name: str, url: str) -> None:
        with self.app.db.write() as conn:
            conn.execute(ATT.insert().values(message_id=self.ids[name], kind="link", source_url=url))

    def deliver(self, name: str, hours: float) -> None:
        with self.app.db.write() as conn:
            if self._export_id is None:
                self._export_id = conn.execute(EXP.insert().values(
                    kind="noark5", package_id="pkg-2025-001", path="/tmp/pkg", summary={}, actor="arkivar",
                    created_at=self.at(hours)).returning(EXP.c.id)).scalar_one()
            conn.execute(DEL.insert().values(message_id=self.ids[name], kind="noark5", export_id=self._export_id,
                                             system_id=f"sys-{name}", state_hash="0" * 64,
                                             delivered_at=self.at(hours)))
