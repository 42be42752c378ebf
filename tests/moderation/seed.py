"""Realistic conversations for the moderation tests, written straight into the tables.

A Facebook post by Ringebu kommune about renovasjon with a complaint under it, the
municipality's answer, a political question, a comment with health details about a child,
chatter; a Messenger conversation with the library and a barnehage notice; an Instagram comment
that is edited after a moderator decided it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import insert

from ringebu_journal.app import App
from ringebu_journal.db.tables import Account, Judgment, Message, Thread

MSG = Message.__table__
JUD = Judgment.__table__
THR = Thread.__table__
ACC = Account.__table__

T0 = datetime(2026, 3, 2, 8, 0, 0, tzinfo=timezone.utc)
PAGE = "871234567890123"
POST = f"{PAGE}_100"


def _sha(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def _reason(rule: str, description: str, matched: str = "", effect: str = "") -> dict[str, str]:
    return {"rule": rule, "description": description, "matched": matched, "effect": effect}


#: key → (platform, id, kind, parent, post, conversation, author, municipality, minutes after T0, text)
MESSAGES: dict[str, tuple] = {
    "post": ("facebook", POST, "post", None, None, None, "Ringebu kommune", True, 0,
             "Fra 1. april endres tømmedagene for restavfall i Fåvang og Venabygd. "
             "Les mer på https://www.ringebu.kommune.no/renovasjon"),
    "klage": ("facebook", f"{POST}_201", "comment", POST, POST, None, "Kari Haugen", False, 30,
              "Jeg klager herved på vedtaket om økt renovasjonsgebyr for hytta vår i Venabygd. "
              "Gebyret for 2026 er regnet ut feil, vi har bare ett tømmekort."),
    "svar": ("facebook", f"{POST}_202", "reply", f"{POST}_201", POST, None, "Ringebu kommune", True, 45,
             "Hei Kari! Takk for at du sier fra. En klage på gebyret må sendes skriftlig til "
             "postmottak@ringebu.kommune.no, så blir den registrert og behandlet."),
    "politisk": ("facebook", f"{POST}_203", "reply", f"{POST}_201", POST, None, "Ola Nordmann", False, 50,
                 "Samme her. Hvem i kommunestyret stemte for dette? Ordføreren bør svare for seg."),
    "ppt": ("facebook", f"{POST}_204", "comment", POST, POST, None, "Per Bakken", False, 70,
            "Off topic, men sønnen min på Ringebu skole har fått ADHD-diagnose og PPT har ennå ikke "
            "fulgt opp etter et halvt år. Vi ber om at saken tas opp."),
    "prat": ("facebook", f"{POST}_205", "comment", POST, POST, None, "Siri Moen", False, 90,
             "Fint bilde av Venabygdsfjellet 😊"),
    "bibliotek": ("messenger", "m_mid.9001.1", "message", None, None, "t_9001", "Ingrid Lien", False, 120,
                  "Hei! Når er biblioteket i Ringebu åpent i påsken?"),
    "bibliotek_svar": ("messenger", "m_mid.9001.2", "message", None, None, "t_9001", "Ringebu kommune", True, 135,
                       "Hei Ingrid! Biblioteket har stengt skjærtorsdag til og med 2. påskedag. God påske!"),
    "oppsigelse": ("messenger", "m_mid.9001.3", "message", None, None, "t_9001", "Ingrid Lien", False, 140,
                   "Takk! Jeg vil også si opp barnehageplassen til datteren min på Fåvang barnehage fra 1. mai."),
    "insta": ("instagram", "17890000000000001", "comment", "17890000000000000", "17890000000000000", None,
              "hytteeier_kvitfjell", False, 160,
              "Hvorfor er veien opp til Kvitfjell ikke brøytet? Vi har betalt for brøyting."),
}

#: key → (decision, confidence, categories, actions, screen, reasons)
JUDGMENTS: dict[str, tuple] = {
    "post": ("archive", 0.95, ["kommunal"], [], False,
             [_reason("egen_post", "the municipality's own post on its page", "", "archive")]),
    "klage": ("journal", 0.9, ["klage"], ["refer_post", "reply"], False,
              [_reason("klage.vedtak", "complaint about a decision that affects the sender", "klager herved på vedtaket",
                       "journal"),
               _reason("gebyr", "about a fee the sender pays", "renovasjonsgebyr", "")]),
    "svar": ("archive", 0.9, ["kommunal"], [], False,
             [_reason("egen_svar", "the municipality's reply in a public thread", "", "archive")]),
    "politisk": ("review", 0.45, ["politisk", "kritikk"], ["refer_political"], False,
                 [_reason("politisk", "a question to the political level", "kommunestyret", "refer_political"),
                  _reason("uklart", "no case of its own, but part of a complaint thread", "", "review")]),
    "ppt": ("journal", 0.8, ["bekymringsmelding", "sensitivt"], ["refer_post"], True,
            [_reason("helse", "health information about a named child", "ADHD-diagnose", "skjerming"),
             _reason("anmodning", "asks the municipality to act", "ber om at saken tas opp", "journal")]),
    "prat": ("exclude", 0.9, ["prat"], ["thank"], False,
             [_reason("prat", "chatter that does not concern the municipality", "Fint bilde", "exclude")]),
    "bibliotek": ("archive", 0.85, ["tjenestesporsmal"], ["reply"], False,
                  [_reason("sporsmal.tjeneste", "a question whose answer is public information", "åpent", "archive")]),
    "bibliotek_svar": ("archive", 0.9, ["kommunal"], [], False,
                       [_reason("egen_svar", "the municipality's reply", "", "archive")]),
    "oppsigelse": ("journal", 0.92, ["oppsigelse"], ["refer_post"], False,
                   [_reason("oppsigelse", "ends a service (barnehageplass)", "si opp barnehageplassen", "journal")]),
    "insta": ("journal", 0.7, ["klage"], ["reply"], False,
              [_reason("klage.tjeneste", "complaint about a paid service", "ikke brøytet", "journal")]),
}

HJEMMEL = "Offl. § 13 jf. fvl. § 13 første ledd nr. 1"


def _message_row(key: str, spec: tuple, thread_id: int | None, version: int = 1, previous: int | None = None,
                 text: str | None = None, is_current: bool = True, imported: datetime | None = None) -> dict[str, Any]:
    platform, pid, kind, parent, post, conv, author, muni, minutes, default_text = spec
    text = default_text if text is None else text
    raw = json.dumps({"id": pid, "message": text}, ensure_ascii=False)
    return {
        "platform": platform, "platform_message_id": pid, "version": version, "previous_id": previous,
        "is_current": is_current, "thread_id": thread_id, "kind": kind, "parent_platform_id": parent,
        "post_platform_id": post, "conversation_id": conv,
        "account_platform_id": PAGE if platform in ("facebook", "messenger") else "ringebukommune",
        "author_id": "muni" if muni else f"u_{key}", "author_name": author, "author_is_municipality": muni,
        "text": text, "created_at": T0 + timedelta(minutes=minutes), "permalink": None, "status": "active",
        "content_hash": _sha(text), "raw": raw, "raw_sha256": _sha(raw), "capture_id": None, "batch_id": None,
        "extra": {}, "imported_at": imported or (T0 + timedelta(days=1)), "lock_version": 0,
    }


def seed(app: App, *, judge: bool = True) -> dict[str, int]:
    """Insert the conversations (and judgments); return key → internal message id."""
    ids: dict[str, int] = {}
    with app.db.write() as conn:
        conn.execute(insert(ACC).values(platform="facebook", platform_id=PAGE, name="Ringebu kommune", own=True,
                                        registered=True, created_at=T0))
        threads = {}
        for key, thread_key, platform, kind in (("fb", POST, "facebook", "post"),
                                                 ("ms", "t_9001", "messenger", "conversation"),
                                                 ("ig", "17890000000000000", "instagram", "post")):
            res = conn.execute(insert(THR).values(platform=platform, thread_key=thread_key, kind=kind,
                                                  account_platform_id=PAGE, created_at=T0))
            threads[platform] = int(res.inserted_primary_key[0])
        for key, spec in MESSAGES.items():
            res = conn.execute(insert(MSG).values(**_message_row(key, spec, threads[spec[0]])))
            ids[key] = int(res.inserted_primary_key[0])
        if judge:
            for key, spec in JUDGMENTS.items():
                add_judgment(conn, ids[key], *spec)
    return ids


def add_judgment(conn, message_id: int, decision: str, confidence: float = 0.9, categories=(), actions=(),
                 screen: bool = False, reasons=(), actor: str = "arkivar") -> int:
    screening = {"screen": screen, "mask": [], "hjemmel": HJEMMEL if screen else None, "reasons": []}
    res = conn.execute(insert(JUD).values(
        message_id=message_id, decision=decision, confidence=confidence, categories=list(categories),
        actions=list(actions), screening=screening, reasons=list(reasons), policy_version="test-1",
        policy_hash="0" * 64, context_hash="", judged_at=T0 + timedelta(days=1), actor=actor,
    ))
    return int(res.inserted_primary_key[0])


def new_version(app: App, message_id: int, text: str) -> int:
    """What the importer does when a message is edited: retire the row, add version n+1."""
    from sqlalchemy import select, update

    with app.db.write() as conn:
        old = dict(conn.execute(select(MSG).where(MSG.c.id == message_id)).mappings().one())
        key = next(k for k, s in MESSAGES.items() if s[1] == old["platform_message_id"])
        conn.execute(update(MSG).where(MSG.c.id == message_id).values(is_current=False))
        row = _message_row(key, MESSAGES[key], old["thread_id"], version=old["version"] + 1, previous=message_id,
                           text=text, imported=datetime.now(timezone.utc))
        return int(conn.execute(insert(MSG).values(**row)).inserted_primary_key[0])
