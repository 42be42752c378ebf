"""Identity numbers, names and words however they are written (review of the exports, findings 1-6,
9 and 10): detection and masking see one canonical form (``textfold``), masking replaces the raw
characters, and no open PDF, title or party name carries what was screened.

The end-to-end thread is exported as a Noark 5 package and an arkivmelding on both databases; every
PDF is read back with pypdf.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from lxml import etree

from ringebu_journal.export.arkivmelding import export_arkivmelding
from ringebu_journal.export.masking import (
    HJEMMEL_13,
    HJEMMEL_26,
    MASK,
    Screening,
    context_view,
    identity_numbers,
    json_strings,
    name_spans,
    screen_identity_numbers,
    sensitive_words,
    without_identity_numbers,
)
from ringebu_journal.export.noark5 import export_noark5
from ringebu_journal.judge.detectors import find_national_ids
from ringebu_journal.judge.engine import normalise
from ringebu_journal.textfold import fold, raw_span

from conftest import ACC, HJEMMEL, PAGE, T0, World, png_bytes
from pdfcheck import pdf_text, squeezed
from test_masking import Decision

N = "{http://www.arkivverket.no/standarder/noark5/arkivstruktur}"

# Each written form of a valid number (both check digits) the review found undetected or unmasked.
FORMS = {
    "230790  10006": "23079010006",              # two spaces: the judge's mask had one
    "150385\u200b10190": "15038510190",           # zero-width space
    "1503851\u00ad0190": "15038510190",           # soft hyphen
    "150385 1\u200b0190": "15038510190",
    "31 12 99 100 65": "31129910065",             # grouped digits
    "010203 - 10045": "01020310045",              # a run of separators
    "１５０３８５１０１９０": "15038510190",        # fullwidth digits (NFKC)
}


@pytest.mark.parametrize("written", list(FORMS))
def test_every_written_form_is_found_and_masked_on_the_raw_text(written):
    text = f"Fnr {written}, takk."
    assert identity_numbers(text) == [written]
    assert without_identity_numbers(text) == f"Fnr {MASK}, takk."
    # the judge's detector, given its normalised text, finds it too
    assert find_national_ids(normalise(text), text)


@pytest.mark.parametrize("text, number", [
    ("15038510190 2 barn", "15038510190"),                 # another number after a space
    ("f.nr.12051210032", "12051210032"),                   # a dot before it
    ("Jeg klager og ber om endring: 01020310045", "01020310045"),   # «endring» is no «ring»
    ("Hotel 01020310045", "01020310045"),                  # «hotel» is no «tel»
    ("Automobil: 01020310045", "01020310045"),
    ("Siri Dahl 07061510170", "07061510170"),
    ("shots/fnr-45017810077-Kari.png", "45017810077"),
])
def test_numbers_the_old_pattern_missed(text, number):
    assert [re.sub(r"\D", "", n) for n in identity_numbers(text)] == [number]


@pytest.mark.parametrize("text", [
    "kontonr 1503.32.12345", "sak 2026/15038510190", "ring 01020310045", "Tlf: 01020310045", "KID 01020310045",
    "15038510191",                                          # check digit wrong
])
def test_what_is_no_identity_number_stays(text):
    assert identity_numbers(text) == []


def test_fold_maps_canonical_matches_back_to_the_raw_characters():
    raw = "𝐊𝐚𝐫𝐢  Hau\u200bgen"
    canon, idx = fold(raw, lower=True)
    assert canon == "kari haugen"
    a = canon.index("haugen")
    assert raw[slice(*raw_span(idx, a, a + 6))] == "Hau\u200bgen"


def test_judge_mask_with_one_space_masks_the_number_written_with_two():
    scr = Screening(True, HJEMMEL_26, ("230790 10006",))
    shown = scr.open_text("Mitt fødselsnummer er 230790  10006.")
    assert shown == f"Mitt fødselsnummer er {MASK}."


def test_styled_and_bidi_names_are_masked_where_others_write_them_plain():
    bold = "𝐊𝐚𝐫𝐢 𝐇𝐚𝐮𝐠𝐞𝐧"
    scr = Screening(True, HJEMMEL_13, ("ADHD",))
    assert scr.open_text("Kari Haugen her, sønnen har ADHD. Hilsen Kari", [bold]).count("Kari") == 0
    msg = {"author_name": "Per", "author_is_municipality": False, "text": "Enig med Kari Haugen og Live Hausen."}
    view = context_view(msg, Decision("journal"), [bold, "Live\u202e nesuaH"])
    assert "Kari" not in view.text and "Haugen" not in view.text and "Hausen" not in view.text
    assert "Hausen" in name_spans(["Live\u202e nesuaH"])


def test_sensitive_words_with_invisible_characters_inside_are_masked():
    text = "Hun går til psykiat\u200bri og b\u200barnevernet følger opp."
    assert {"psykiatri", "barnevernet"} <= set(sensitive_words(text))
    shown = Screening(True, HJEMMEL_13, ("x",)).open_text(text)
    assert "psykiat" not in shown and "arnevern" not in shown and "\u200b" not in shown


def test_a_number_in_a_name_file_name_or_originaldata_screens_the_message():
    d = screen_identity_numbers(Decision("archive"), "Se vedlagt bilde", "Kari", "fnr-45017810077-Kari.png")
    assert (d.screen, d.hjemmel) == (True, HJEMMEL_26)
    raw = json.dumps({"message": "hei", "form_field": "fnr 450178\u200b10077"})      # escaped in the JSON
    d = screen_identity_numbers(Decision("archive"), "hei", *json_strings(raw))
    assert d.screen
    assert screen_identity_numbers(Decision("archive"), "hei", "Kari", '{"a": 1}').screen is False


# -- end to end ------------------------------------------------------------------------------------

NUMBERS = ["23079010006", "15038510190", "31129910065", "12051210032", "01020310045", "07061510170", "45017810077"]
WORDS = ["Kari", "Haugen", "Ola", "ADHD", "psykiatri", "barnevernet"]


def build(w: World) -> None:
    png = png_bytes()
    sha = w.store_blob(png)
    with w.app.db.write() as conn:
        conn.execute(ACC.insert().values(platform="facebook", platform_id=PAGE, name="Ringebu kommune",
                                         unit="Oppvekst", own=True, registered=True, created_at=T0))
        w.message(conn, "P1", thread="t", kind="post", minutes=0, author="Ringebu kommune", municipality=True,
                  text="Nye skoleskyssregler fra høsten. Spørsmål? Skriv her.")
        w.message(conn, "c4", thread="t", kind="comment", minutes=2, author="Eva Lund", parent="P1",
                  text="Jeg søker skyss. Mitt fødselsnummer er 230790  10006.")
        w.message(conn, "zw", thread="t", kind="comment", minutes=3, author="Geir Moe", parent="P1",
                  text="Søknaden min: Fnr 150385\u200b10190, to barn.")
        w.message(conn, "grp", thread="t", kind="comment", minutes=4, author="Hege Ryen", parent="P1",
                  text="Søker også, 31 12 99 100 65 er nummeret.")
        w.message(conn, "dot", thread="t", kind="comment", minutes=5, author="Ivar Lie", parent="P1",
                  text="Klage sendt, f.nr.12051210032 for ordens skyld.")
        w.message(conn, "c5", thread="t", kind="comment", minutes=6, author="Jan Bakke", parent="P1",
                  text="Jeg klager og ber om endring: 01020310045 gjelder det.")
        w.message(conn, "siri", thread="t", kind="comment", minutes=7, author="Siri Dahl 07061510170", parent="P1",
                  text="Når kommer bussen om morgenen?")
        w.message(conn, "att", thread="t", kind="comment", minutes=8, author="Lars Ruud", parent="P1",
                  text="Se skjermbildet av søknaden.",
                  attachments=[{"media_type": "image/png", "kind": "photo", "filename": "shots/fnr-45017810077-Kari.png",
                                "sha256": sha, "size": len(png)}])
        w.message(conn, "q1", thread="t", kind="comment", minutes=9, author="𝐊𝐚𝐫𝐢 𝐇𝐚𝐮𝐠𝐞𝐧", parent="P1",
                  text="Sønnen min Ola har ADHD og går til psykiat\u200bri, b\u200barnevernet er inne. Han trenger skyss.")
        w.message(conn, "q2", thread="t", kind="comment", minutes=10, author="Per Olsen", parent="P1",
                  text="Enig med Kari Haugen, Ola bor jo langt unna skolen. Jeg klager også på skyssen.")
        w.judge(conn, "P1", "archive", [])
        w.judge(conn, "c4", "journal", ["soknad"], screen=True, mask=["230790 10006"], hjemmel=HJEMMEL_26)
        w.judge(conn, "zw", "journal", ["soknad"])                       # the judge saw no number
        w.judge(conn, "grp", "journal", ["soknad"])
        w.judge(conn, "dot", "journal", ["klage"])
        w.judge(conn, "c5", "journal", ["klage"], screen=True, mask=[])  # screened whole, no words marked
        w.judge(conn, "siri", "journal", ["tjenestesporsmal"])
        w.judge(conn, "att", "journal", ["soknad"])
        w.judge(conn, "q1", "journal", ["soknad"], screen=True, mask=["Ola", "ADHD", "psykiatri", "barnevernet"])
        w.judge(conn, "q2", "journal", ["klage"])


@pytest.fixture
def exported(make_app, tmp_path):
    app = make_app("archivist")
    w = World(app)
    build(w)
    res = export_noark5(app, tmp_path / "pakke")
    am = export_arkivmelding(app, tmp_path / "am")
    return app, w, res.path, tmp_path / "am", am


def _numbers_in(text: str) -> list[str]:
    digits = re.sub(r"\D", "", text)
    return [n for n in NUMBERS if n in digits]


def _registreringer(pkg: Path):
    tree = etree.parse(str(pkg / "arkivstruktur.xml"))
    for reg in tree.iter(N + "registrering"):
        yield reg


def test_no_open_document_or_title_holds_a_number_or_a_screened_word(exported):
    app, w, pkg, am_dir, am = exported
    checked = 0
    for reg in _registreringer(pkg):
        screened = reg.find(N + "skjerming") is not None
        for title in [reg.findtext(N + "tittel"), reg.findtext(N + "offentligTittel") or ""]:
            assert _numbers_in(title) == [], title
        for part in reg.iter(N + "korrespondansepartNavn"):
            assert _numbers_in(part.text or "") == [], part.text
        for db in reg.findall(N + "dokumentbeskrivelse"):
            assert _numbers_in(db.findtext(N + "tittel") or "") == [], db.findtext(N + "tittel")
            sk = db.find(N + "skjerming")
            whole = sk is not None and sk.findtext(N + "skjermingDokument") == "Skjerming av hele dokumentet"
            for obj in db.findall(N + "dokumentobjekt"):
                path = pkg / obj.findtext(N + "referanseDokumentfil")
                variant = obj.findtext(N + "variantformat")
                redacted = variant == "Dokument hvor deler av innholdet er skjermet"
                if path.suffix == ".json":
                    # an Originaldata that holds a number is never open
                    if _numbers_in(path.read_text("utf-8")) or "\\u200b" in path.read_text("utf-8"):
                        assert screened and whole, path.name
                    continue
                if path.suffix != ".pdf" or (screened and not redacted):
                    continue
                text = pdf_text(path)
                flat = squeezed(text)
                assert _numbers_in(text) == [], (path.name, _numbers_in(text))
                assert [s for s in WORDS if s in flat] == [], (path.name, [s for s in WORDS if s in flat])
                checked += 1
    assert checked >= 8
    public = (pkg / "offentligJournal.xml").read_text("utf-8")
    assert _numbers_in(public) == []
    tree = etree.parse(str(pkg / "offentligJournal.xml"))
    for el in tree.iter():
        if isinstance(el.tag, str) and etree.QName(el).localname in ("offentligTittel", "korrespondansepartNavn"):
            assert [s for s in WORDS if s in (el.text or "")] == [], el.text
    # the arkivmelding: no offentligTittel or party with a number or a screened name
    for folder in am.created:
        tree = etree.parse(str(am_dir / folder / "arkivmelding.xml"))
        for el in tree.iter():
            if isinstance(el.tag, str) and etree.QName(el).localname in ("offentligTittel", "korrespondansepartNavn",
                                                                         "tittel"):
                assert _numbers_in(el.text or "") == [], el.text
            if isinstance(el.tag, str) and etree.QName(el).localname == "offentligTittel":
                assert [s for s in WORDS if s in (el.text or "")] == [], el.text


def test_the_numbers_the_judge_missed_screen_their_messages(exported):
    app, w, pkg, am_dir, am = exported
    by_summary = {}
    for reg in _registreringer(pkg):
        by_summary[reg.findtext(N + "tittel")] = reg
    def hjemmel_of(start: str) -> str | None:
        reg = next(r for t, r in by_summary.items() if start in t)
        return reg.findtext(f"{N}skjerming/{N}skjermingshjemmel")
    assert hjemmel_of("Søknaden min") == HJEMMEL_26
    assert hjemmel_of("Søker også") == HJEMMEL_26
    assert hjemmel_of("Klage sendt") == HJEMMEL_26
    assert hjemmel_of("Når kommer bussen") == HJEMMEL_26          # the number in the author's name
    assert hjemmel_of("Se skjermbildet") == HJEMMEL_26            # the number in the file name
    # a reply that names the § 13-screened person and her child is screened on § 13 too
    assert hjemmel_of("Enig med") == HJEMMEL_13


def test_abbreviations_and_words_of_harm_are_masked_under_section_13():
    scr = Screening(True, HJEMMEL_13, ("Ola",))
    shown = scr.open_text("«Sønnen min Ola har ADHD og får hjelp fra BUP» – hun blir slått hjemme.")
    for word in ("Ola", "ADHD", "BUP", "slått"):
        assert word not in shown, (word, shown)
    # § 26 masks the number only: abbreviations stay
    assert "NAV" in Screening(True, HJEMMEL_26, ()).open_text("Søkt NAV om hjelp")
