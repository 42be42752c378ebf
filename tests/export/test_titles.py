"""Titles a records manager would write, and parties named as the platform knows them."""

from __future__ import annotations

from datetime import datetime, timezone

from ringebu_journal.export.mapping import ANONYM, party, record_title, summary_of


def _m(text: str, **kw) -> dict:
    base = {"platform": "facebook", "kind": "comment", "text": text, "author_is_municipality": False,
            "parent_platform_id": "p", "conversation_id": None, "author_name": None, "author_id": None,
            "created_at": datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc), "extra": {}}
    base.update(kw)
    return base


def test_no_greeting_or_empty_reaction_titles():
    assert summary_of("Hei! Samme her") == ""
    assert summary_of("Takk!") == ""
    assert summary_of("Hei Per, send klagen til postmottak så blir den behandlet.") == \
        "Send klagen til postmottak så blir den behandlet"
    assert record_title(_m("Samme her"), ["klage"], "Avslag på barnehageplass") == \
        "Klage: innspill i saken «Avslag på barnehageplass» – Facebook-kommentar 2026-03-02"


def test_never_cut_inside_a_date_or_a_parenthesis():
    s = summary_of("Mor (f. 12.03.1980) har fått avslag på barnehageplass i Fåvang og lurer på hvorfor det skjedde")
    assert s.startswith("Mor (f. 12.03.1980) har fått avslag") and s.endswith("…")
    s = summary_of("Søknaden om skoleskyss ble sendt inn lenge før fristen, nærmere bestemt 12. mars 2026 til kommunen")
    assert "12. mars 2026" in s or "12." not in s
    assert not s.rstrip("…").endswith(("12", "12.", "mars"))
    long = "Jeg klager på vedtaket " + "om skoleskyss " * 10
    cut = summary_of(long)
    assert len(cut) <= 71 and cut.endswith("…") and not cut[:-1].endswith(" ")


def test_titles_name_the_matter_and_the_oslo_day():
    t = record_title(_m("Jeg klager på avslaget om skoleskyss for datteren min. Vedtaket er feil."), ["klage"])
    assert t == "Klage: Jeg klager på avslaget om skoleskyss for datteren min – Facebook-kommentar 2026-03-02"
    reply = _m("Hei Per, send klagen til postmottak så blir den behandlet.", author_is_municipality=True)
    assert record_title(reply, ["klage"]).startswith("Svar på klage: Send klagen til postmottak")


def test_parties_from_platform_identity():
    assert party(_m("x", platform="x", author_id="1234567"))[0] == "X-bruker 1234567"
    name, meta = party(_m("x", platform="x", author_id="1234567", extra={"screen_name": "kari_n"}))
    assert name == "X-bruker @kari_n" and meta == {"plattform": "x", "brukernavn": "kari_n", "brukerID": "1234567"}
    name, meta = party(_m("x", platform="instagram", author_name="kari.nordby", author_id="178"))
    assert name == "Instagram-bruker @kari.nordby" and meta["brukernavn"] == "kari.nordby"
    assert party(_m("x", author_name="Kari Nordby", author_id="55"))[0] == "Kari Nordby"
    assert party(_m("x"))[0] == ANONYM
