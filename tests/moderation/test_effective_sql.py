"""The effective decision in SQL (``moderation.effective_decision_sql``) gives the same answer as
the Python rule (``moderation._combine`` through ``effective_decisions``) for every case: judged
only, confirmed, overridden, overridden twice, unflagged, re-judged after an override (on a new
version, stricter or not; on the same version), decided without a judgment, and no judgment."""

from __future__ import annotations

from sqlalchemy import insert, select

from ringebu_journal import moderation
from ringebu_journal.db.tables import Message

from .seed import MESSAGES, _message_row, add_judgment, new_version

MSG = Message.__table__


def _unjudged(app, key: str, pid: str) -> int:
    """Another message like ``key``'s under a new platform id, never judged."""
    spec = (MESSAGES[key][0], pid) + MESSAGES[key][2:]
    with app.db.write() as conn:
        thread = conn.execute(select(MSG.c.thread_id).where(MSG.c.platform_message_id == MESSAGES[key][1])).scalar()
        return int(conn.execute(insert(MSG).values(**_message_row(key, spec, thread))).inserted_primary_key[0])


def test_sql_and_python_agree_on_every_case(seeded):
    app, ids = seeded.moderator, seeded.ids
    case: dict[str, int] = {"judged only": ids["post"]}
    # confirmed (the judge's journal with its skjerming)
    moderation.confirm(app, [str(ids["ppt"])])
    case["confirmed"] = ids["ppt"]
    # overridden
    moderation.flag(app, [str(ids["svar"])], "exclude", "Bare en hilsen")
    case["overridden"] = ids["svar"]
    # overridden twice, then re-judged on the same version (does not reopen it)
    moderation.flag(app, [str(ids["politisk"])], "journal", "Spørsmål til kommunestyret")
    moderation.flag(app, [str(ids["politisk"])], "archive", "Besvart i kommunestyret")
    with app.db.write() as conn:
        add_judgment(conn, ids["politisk"], "journal", 0.9, ["klage"], screen=True)
    case["overridden twice, re-judged on the same version"] = ids["politisk"]
    # unflagged: the latest judgment counts again
    moderation.flag(app, [str(ids["prat"])], "archive", "Bilde av fjellet")
    moderation.unflag(app, [str(ids["prat"])], "Feil melding")
    case["unflagged"] = ids["prat"]
    # confirmed, then a new version judged stricter (adds skjerming): review
    moderation.confirm(app, [str(ids["klage"])])
    v2 = new_version(app, ids["klage"], "Jeg klager på vedtaket. Min datter Mia går i 3. klasse og har autisme.")
    with app.db.write() as conn:
        add_judgment(conn, v2, "journal", 0.9, ["klage"], screen=True)
    case["confirmed, new version judged with skjerming"] = v2
    # overridden, then a new version judged milder: the moderator's decision holds
    moderation.flag(app, [str(ids["bibliotek"])], "journal", "Ber om svar", screen=False)
    v2 = new_version(app, ids["bibliotek"], "Hei! Når er biblioteket åpent i påsken? Takk.")
    with app.db.write() as conn:
        add_judgment(conn, v2, "archive", 0.9, ["tjenestesporsmal"])
    case["overridden, new version judged milder"] = v2
    # overridden, then a new version judged journal: review
    moderation.flag(app, [str(ids["bibliotek_svar"])], "exclude", "Bare en hilsen")
    v2 = new_version(app, ids["bibliotek_svar"], "Biblioteket er stengt. Klagen din på gebyret er mottatt.")
    with app.db.write() as conn:
        add_judgment(conn, v2, "journal", 0.9, ["klage"])
    case["overridden, new version judged journal"] = v2
    # overridden with skjerming off, a new version judged journal with skjerming: review
    moderation.flag(app, [str(ids["oppsigelse"])], "journal", "Oppsigelse", screen=False)
    v2 = new_version(app, ids["oppsigelse"], "Jeg sier opp plassen, datteren min har fått en diagnose.")
    with app.db.write() as conn:
        add_judgment(conn, v2, "journal", 0.9, ["oppsigelse"], screen=True)
    case["journaled without skjerming, new version judged with skjerming"] = v2
    # a new version not judged yet: the old version's decision and judgment count
    v2 = new_version(app, ids["insta"], "Hvorfor er veien ikke brøytet? Vi har betalt.")
    case["new version not judged"] = v2
    # no judgment at all; decided without a judgment
    case["no judgment"] = _unjudged(app, "prat", f"{MESSAGES['prat'][1]}_9")
    decided = _unjudged(app, "prat", f"{MESSAGES['prat'][1]}_10")
    moderation.flag(app, [str(decided)], "archive", "Lagt inn for hånd")
    case["decided, never judged"] = decided

    with app.db.read() as conn:
        by_sql = {int(i): d for i, d in conn.execute(moderation.effective_decision_sql())}
        current = [int(i) for i in conn.execute(select(MSG.c.id).where(MSG.c.is_current.is_(True))).scalars()]
        by_python = {i: e.decision for i, e in moderation.effective_decisions(conn, current).items()}
        filtered = {d: sorted(int(i) for i, _ in conn.execute(moderation.effective_decision_sql(d)))
                    for d in ("journal", "archive", "exclude", "review")}
    assert by_sql == by_python
    expected = {"judged only": "archive", "confirmed": "journal", "overridden": "exclude",
                "overridden twice, re-judged on the same version": "archive", "unflagged": "exclude",
                "confirmed, new version judged with skjerming": "review",
                "overridden, new version judged milder": "journal",
                "overridden, new version judged journal": "review",
                "journaled without skjerming, new version judged with skjerming": "review",
                "new version not judged": "journal", "no judgment": None, "decided, never judged": "archive"}
    assert {name: by_sql[mid] for name, mid in case.items()} == expected
    for d, got in filtered.items():
        assert got == sorted(i for i, e in by_python.items() if e == d), d
