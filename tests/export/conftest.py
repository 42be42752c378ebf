"""A realistic little municipality database for the export tests, written with SQLAlchemy Core.

Three Facebook threads and one Messenger conversation on Ringebu kommune's page:

* a complaint about skoleskyss with the municipality's reply (journal, journal);
* a concern about a child (barnevern) — screened by the judge, confirmed by a moderator — with
  a reply, a photo attachment (JPEG) and a video (not an archive format here);
* a public discussion under the municipality's own post (archive), with spam (exclude);
* a Messenger question about opening hours (archive) and one message still to review.

Judgments and moderator decisions are written with their audit events and numbered by the
registry in the same transaction, as the judge and the moderation commands do.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from ringebu_journal import registry
from ringebu_journal.app import App
from ringebu_journal.db.tables import (
    Account,
    Attachment,
    Capture,
    Judgment,
    Message,
    ModeratorDecision,
    Thread,
)

MSG = Message.__table__
THR = Thread.__table__
CAP = Capture.__table__
ATT = Attachment.__table__
ACC = Account.__table__
JUD = Judgment.__table__
DEC = ModeratorDecision.__table__

T0 = datetime(2026, 3, 2, 8, 15, tzinfo=timezone.utc)
PAGE = "1122334455"
SECRET_NAME = "Kari Nordby"
SECRET_TEXT = "barnevernet må se til gutten til naboen"
SECRET_CHILD = "Ola Nabogutt"
HJEMMEL = "Offl. § 13 jf. fvl. § 13 første ledd nr. 1"


def jpeg_bytes() -> bytes:
    """A tiny but well-formed JFIF 1.01 header (enough for identification and archiving)."""
    return (b"\xff\xd8\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            + b"\xff\xd9")


def png_bytes() -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


class World:
    """Inserts rows and remembers their ids by a short name."""

    def __init__(self, app: App):
        self.app = app
        self.ids: dict[str, int] = {}
        self.threads: dict[str, int] = {}

    def store_blob(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        p = Path(self.app.data_dir) / "attachments" / sha[:2] / sha
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        return sha

    def message(self, conn, name: str, *, thread: str, kind: str, text: str, minutes: int, author: str | None,
                municipality: bool = False, parent: str | None = None, platform: str = "facebook",
                attachments: list[dict[str, Any]] = ()) -> int:
        pid = f"{PAGE}_{name}"
        created = T0 + timedelta(minutes=minutes)
        raw = json.dumps({"id": pid, "message": text, "created_time": created.isoformat(),
                          "from": {"name": author} if author else None}, ensure_ascii=False, sort_keys=True)
        payload = json.dumps({"data": [json.loads(raw)]}, ensure_ascii=False)
        cap_sha = hashlib.sha256(payload.encode()).hexdigest()
        cap_id = conn.execute(CAP.insert().values(
            sha256=cap_sha, source="graph-api v25.0",
            locator=f"https://graph.facebook.com/v25.0/{pid}?fields=message&access_token=SECRET-TOKEN-123",
            entry=None, retrieved_at=created + timedelta(hours=1), size=len(payload), payload=payload,
        )).inserted_primary_key[0]
        if thread not in self.threads:
            self.threads[thread] = conn.execute(THR.insert().values(
                platform=platform, thread_key=f"{PAGE}_{thread}", kind="conversation" if platform == "messenger" else "post",
                account_platform_id=PAGE, created_at=created,
            )).inserted_primary_key[0]
        mid = conn.execute(MSG.insert().values(
            platform=platform, platform_message_id=pid, version=1, is_current=True, thread_id=self.threads[thread],
            kind=kind, parent_platform_id=f"{PAGE}_{parent}" if parent else None,
            post_platform_id=f"{PAGE}_{thread}" if platform == "facebook" else None,
            conversation_id=f"{PAGE}_{thread}" if platform == "messenger" else None,
            account_platform_id=PAGE, author_id=f"u-{author}" if author else None, author_name=author,
            author_is_municipality=municipality, text=text, created_at=created,
            permalink=f"https://facebook.com/{pid}", status="active",
            content_hash=hashlib.sha256(text.encode()).hexdigest(), raw=raw,
            raw_sha256=hashlib.sha256(raw.encode()).hexdigest(), capture_id=cap_id, extra={},
            imported_at=created + timedelta(hours=1), lock_version=0,
        )).inserted_primary_key[0]
        for a in attachments:
            conn.execute(ATT.insert().values(message_id=mid, **a))
        self.ids[name] = mid
        return mid

    def judge(self, conn, name: str, decision: str, categories: list[str], *, screen: bool = False,
              mask: list[str] = (), minutes: int = 200, hjemmel: str = HJEMMEL) -> None:
        mid = self.ids[name]
        at = T0 + timedelta(minutes=minutes)
        screening = {"screen": screen, "mask": list(mask), "hjemmel": hjemmel if screen else None, "reasons": []}
        conn.execute(JUD.insert().values(
            message_id=mid, decision=decision, confidence=0.9, categories=categories, actions=[],
            screening=screening, reasons=[], policy_version="test", policy_hash="0" * 64, context_hash="",
            judged_at=at, actor="arkivar",
        ))
        registry.register(conn, [mid], at=at, actor="arkivar")
        self.app.audit(conn, "judgment.add", "message", mid, after={"decision": decision, "screen": screen,
                                                                    "categories": categories, "policy_version": "test",
                                                                    "policy_hash": "0" * 64})

    def decide(self, conn, name: str, kind: str, decision: str | None, *, screen: bool | None = None,
               minutes: int = 300, actor: str = "moderator") -> None:
        mid = self.ids[name]
        conn.execute(DEC.insert().values(
            message_id=mid, kind=kind, decision=decision, screen=screen, reason="test",
            lock_version=1, actor=actor, decided_at=T0 + timedelta(minutes=minutes),
        ))
        registry.register(conn, [mid], at=T0 + timedelta(minutes=minutes), actor=actor)
        self.app.audit(conn, f"decision.{kind}", "message", mid, after={"decision": decision, "screen": screen})


def build_world(app: App) -> World:
    w = World(app)
    video = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
    with app.db.write() as conn:
        conn.execute(ACC.insert().values(platform="facebook", platform_id=PAGE, name="Ringebu kommune",
                                         unit="Servicetorget", own=True, registered=True, created_at=T0))
        # 1. complaint about school transport, and the municipality's reply
        w.message(conn, "skyss1", thread="skyss", kind="post", minutes=0, author="Ringebu kommune", municipality=True,
                  text="Nye busstider for skoleskyss fra mandag. Se ringebu.kommune.no for detaljer.")
        w.message(conn, "skyss2", thread="skyss", kind="comment", minutes=10, author="Per Hansen", parent="skyss",
                  text="Jeg klager på avslaget om skoleskyss for datteren min. Vedtaket er feil, veien er farlig.")
        w.message(conn, "skyss3", thread="skyss", kind="reply", minutes=30, author="Ringebu kommune",
                  municipality=True, parent="skyss2",
                  text="Hei Per, send klagen til postmottak@ringebu.kommune.no så blir den behandlet.")
        # 2. a concern about a child: screened
        jpg, png = jpeg_bytes(), png_bytes()
        w.message(conn, "bv1", thread="bv", kind="post", minutes=40, author="Ringebu kommune", municipality=True,
                  text="Åpen dag på helsestasjonen torsdag.")
        w.message(conn, "bv2", thread="bv", kind="comment", minutes=50, author=SECRET_NAME, parent="bv",
                  text=f"Jeg er bekymret: {SECRET_TEXT}, {SECRET_CHILD} har det vondt hjemme.",
                  attachments=[
                      {"sha256": w.store_blob(jpg), "media_type": "image/jpeg", "kind": "photo", "filename": "bilde.jpg", "size": len(jpg)},
                      {"sha256": w.store_blob(png), "media_type": "image/png", "kind": "photo", "filename": "skjerm.png", "size": len(png)},
                      {"sha256": w.store_blob(video), "media_type": "video/mp4", "kind": "video", "filename": "film.mp4", "size": len(video)},
                  ])
        w.message(conn, "bv3", thread="bv", kind="reply", minutes=55, author="Ringebu kommune", municipality=True,
                  parent="bv2", text="Takk. Vi har tatt kontakt med deg på telefon.")
        # 3. public discussion and spam
        w.message(conn, "fest1", thread="fest", kind="post", minutes=60, author="Ringebu kommune", municipality=True,
                  text="Velkommen til Ringebu-festivalen i sentrum lørdag!")
        w.message(conn, "fest2", thread="fest", kind="comment", minutes=70, author="Lise Berg", parent="fest",
                  text="Så flott, vi kommer! 🎉")
        w.message(conn, "fest3", thread="fest", kind="comment", minutes=80, author="Crypto King", parent="fest",
                  text="Tjen 5000 kr om dagen: http://spam.example/x")
        # 4. Messenger
        w.message(conn, "dm1", thread="dm", kind="message", minutes=90, author="Nils Dahl", platform="messenger",
                  text="Når har biblioteket åpent i påsken?")
        w.message(conn, "dm2", thread="dm", kind="message", minutes=95, author="Nils Dahl", platform="messenger",
                  text="Og kan jeg låne ut skøyter der?")

        w.judge(conn, "skyss1", "archive", ["kommunal"])
        w.judge(conn, "skyss2", "journal", ["klage"])
        w.judge(conn, "skyss3", "journal", ["klage"])
        w.judge(conn, "bv1", "archive", ["kommunal"])
        w.judge(conn, "bv2", "journal", ["bekymringsmelding"], screen=True, mask=[SECRET_CHILD])
        w.judge(conn, "bv3", "review", [])
        w.judge(conn, "fest1", "archive", ["kommunal"])
        w.judge(conn, "fest2", "archive", ["ros"])
        w.judge(conn, "fest3", "exclude", ["reklame"])
        w.judge(conn, "dm1", "archive", ["tjenestesporsmal"])
        w.judge(conn, "dm2", "review", [])
        w.decide(conn, "bv2", "confirm", "journal", screen=True)
        w.decide(conn, "bv3", "flag", "journal", minutes=310)
    return w


@pytest.fixture(scope="session")
def shared_render_cache(tmp_path_factory) -> Path:
    """Rendering is deterministic, so the tests share one cache and render each document once."""
    return tmp_path_factory.mktemp("render-cache")


@pytest.fixture
def world(make_app, shared_render_cache) -> tuple[App, World]:
    app = make_app("archivist")
    w = build_world(app)
    (Path(app.data_dir) / "render-cache").symlink_to(shared_render_cache, target_is_directory=True)
    return app, w
