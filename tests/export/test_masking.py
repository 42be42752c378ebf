"""The masking rules (ringebu_journal/export/masking.py), one hjemmel at a time, on real text."""

from __future__ import annotations

from dataclasses import dataclass

from ringebu_journal.export.masking import (
    HJEMMEL_13,
    HJEMMEL_26,
    MASK,
    Screening,
    context_view,
    identity_numbers,
    is_number_only,
    public_title,
    screen_identity_numbers,
    screening_of,
    tilgangskode,
    without_identity_numbers,
)

FNR = "15076500565"
DNR = "51076500340"


@dataclass(frozen=True)
class Decision:
    decision: str | None = "journal"
    screen: bool = False
    hjemmel: str | None = None
    mask: tuple[str, ...] = ()


def test_identity_numbers_are_found_as_written_and_never_left_in_a_title():
    text = f"Fnr {FNR[:6]} {FNR[6:]}, D-nummer {DNR}, kontonr 1503.32.12345, sak 2026/12345"
    assert identity_numbers(text) == [f"{FNR[:6]} {FNR[6:]}", DNR]
    assert without_identity_numbers(text) == f"Fnr {MASK}, D-nummer {MASK}, kontonr 1503.32.12345, sak 2026/12345"
    assert identity_numbers("01017012345") == []              # check digits wrong: not a number to mask


def test_section_26_masks_the_number_only():
    scr = Screening(True, HJEMMEL_26, (FNR,))
    assert scr.number_only and not scr.masks_names and tilgangskode(HJEMMEL_26) == "26"
    text = f"Kari Nordby her, fødselsnummeret mitt er {FNR}, jeg har søkt barnehageplass."
    assert scr.open_text(text, ["Kari Nordby"]) == f"Kari Nordby her, fødselsnummeret mitt er {MASK}, jeg har søkt barnehageplass."
    assert scr.open_name("Kari Nordby") == "Kari Nordby"


def test_section_13_masks_sensitive_words_and_names_not_the_sentence():
    scr = Screening(True, HJEMMEL_13, ("demens",))
    assert scr.masks_names and tilgangskode(HJEMMEL_13) == "13"
    text = "Mora mi har demens, og naboen Ola Berg hjelper oss. Kan Kari ringe meg?"
    shown = scr.open_text(text, ["Kari Nordby"])
    assert shown == f"Mora mi har {MASK}, og {MASK} {MASK} {MASK} hjelper oss. Kan {MASK} ringe meg?"
    assert scr.open_name("Kari Nordby") == MASK
    # the title keeps its channel label and the words that are not screened
    assert public_title("Mora mi har demens – Facebook-kommentar 2026-03-02", scr) == \
        f"Mora mi har {MASK} – Facebook-kommentar 2026-03-02"


def test_both_grounds_mask_as_section_13():
    both = f"{HJEMMEL_26}; {HJEMMEL_13}"
    assert not is_number_only(both) and tilgangskode(both) == "13"
    assert is_number_only(HJEMMEL_26) and not is_number_only(None)


def test_a_missed_identity_number_screens_on_section_26():
    d = screen_identity_numbers(Decision("archive"), f"Her er D-nummeret mitt: {DNR}")
    assert (d.screen, d.hjemmel, d.mask) == (True, HJEMMEL_26, (DNR,))
    kept = screen_identity_numbers(Decision("journal", True, HJEMMEL_13, ("ADHD",)), f"{FNR} og ADHD")
    assert (kept.hjemmel, kept.mask) == (HJEMMEL_13, ("ADHD", FNR))
    same = Decision("archive")
    assert screen_identity_numbers(same, "ingen nummer her") is same


def test_context_view_leaves_out_what_may_not_be_shown_and_masks_the_rest():
    msg = {"author_name": "Tor Vik", "author_is_municipality": False, "text": "Sønnen vår Emil har ADHD."}
    assert context_view(msg, Decision("review"), []).reason == "undecided"
    assert context_view(msg, Decision(None), []).reason == "undecided"
    assert context_view(msg, Decision("exclude"), []).reason == "excluded"
    whole = context_view(msg, Decision("journal", True, HJEMMEL_13), [])       # no words to mask
    assert not whole.show and whole.reason == "screened"
    view = context_view(msg, Decision("journal", True, HJEMMEL_13, ("ADHD",)), [])
    assert view.show and view.author == MASK and view.text == f"Sønnen vår {MASK} har {MASK}."
    # an open message does not name a person screened elsewhere in the thread
    reply = {"author_name": "Ringebu kommune", "author_is_municipality": True, "text": "Hei Tor, vi ringer deg."}
    open_view = context_view(reply, Decision("journal"), ["Tor Vik"])
    assert open_view.text == f"Hei {MASK}, vi ringer deg." and open_view.author == "Ringebu kommune"
    assert screening_of(Decision("journal", False, HJEMMEL_13)).hjemmel is None
