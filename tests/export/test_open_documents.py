"""No open document holds closed text (issue: records an archive will accept, items 1 and 4).

A realistic thread under the municipality's own post — an open registrering — with citizens'
comments: a screened health detail, a child's situation with the child's name, a fødselsnummer
(offl. § 26 femte ledd), a D-nummer the judge missed, a comment still waiting for review and the
municipality's reply to the screened citizen. The package is exported, every PDF is read back
with pypdf, and:

* no PDF of a registrering without skjerming holds a screened text or an identity number;
* no redacted variant holds one either, and every document with masked parts has one;
* no title (arkivstruktur.xml, loependeJournal.xml, offentligJournal.xml) holds an identity number;
* § 26 masks the number only (name and title words stay open), § 13 masks words and names;
* the undecided comment is in no PDF and is counted where it was left out.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from lxml import etree

from noark.validate import validate_package
from ringebu_journal.export.arkivmelding import export_arkivmelding
from ringebu_journal.export.masking import HJEMMEL_26, identity_numbers
from ringebu_journal.export.noark5 import export_noark5

from conftest import ACC, HJEMMEL, PAGE, T0, World
from pdfcheck import pdf_text, pdfa_problems, squeezed

N = "{http://www.arkivverket.no/standarder/noark5/arkivstruktur}"
FNR = "15076500565"                     # valid fødselsnummer (both check digits)
DNR = "51076500340"                     # valid D-nummer
HEALTH = "demens"
CHILD = "Emil"
DIAGNOSIS = "ADHD"
SCREENED_NAME = "Anne Lie"
CHILD_PARENT = "Tor Vik"
UNDECIDED = "egen sak med NAV"

SECRETS = [FNR, "150765 00565", DNR, HEALTH, CHILD, DIAGNOSIS, "Anne", "Lie", "Tor Vik", UNDECIDED]


def build_thread(w: World) -> None:
    with w.app.db.write() as conn:
        conn.execute(ACC.insert().values(platform="facebook", platform_id=PAGE, name="Ringebu kommune",
                                         unit="Oppvekst", own=True, registered=True, created_at=T0))
        w.message(conn, "post", thread="bh", kind="post", minutes=0, author="Ringebu kommune", municipality=True,
                  text="Søknadsfristen for barnehageplass og SFO er 1. mars. Spørsmål? Skriv her.")
        w.message(conn, "health", thread="bh", kind="comment", minutes=5, author=SCREENED_NAME, parent="post",
                  text=f"Mora mi har {HEALTH} og jeg får ikke hentet i barnehagen før fem. Kan vi få utvidet tid?")
        w.message(conn, "child", thread="bh", kind="comment", minutes=8, author=CHILD_PARENT, parent="post",
                  text=f"Sønnen vår {CHILD} har {DIAGNOSIS} og trenger fast voksen. Får han det på SFO?")
        w.message(conn, "fnr", thread="bh", kind="comment", minutes=12, author="Ola Dahl", parent="post",
                  text=f"Jeg søkte plass for datteren min 2. februar, fødselsnummeret mitt er {FNR[:6]} {FNR[6:]}.")
        w.message(conn, "dnr", thread="bh", kind="comment", minutes=14, author="Jonas Berg", parent="post",
                  text=f"Gjelder søknaden for meg også, D-nummer {DNR}?")
        w.message(conn, "review", thread="bh", kind="comment", minutes=16, author="Per Strand", parent="post",
                  text=f"Jeg har en {UNDECIDED}, kan noen ringe meg?")
        w.message(conn, "thanks", thread="bh", kind="comment", minutes=18, author="Kari Holm", parent="post",
                  text="Takk for påminnelsen!")
        w.message(conn, "reply", thread="bh", kind="reply", minutes=30, author="Ringebu kommune", municipality=True,
                  parent="health", text="Hei Anne, vi har sendt saken din til tildelingskontoret, de ringer deg.")
        w.judge(conn, "post", "archive", [])
        w.judge(conn, "health", "journal", ["soknad"], screen=True, mask=[HEALTH])
        w.judge(conn, "child", "journal", ["tjenestesporsmal"], screen=True, mask=[DIAGNOSIS, CHILD])
        w.judge(conn, "fnr", "journal", ["soknad"], screen=True, mask=[f"{FNR[:6]} {FNR[6:]}"], hjemmel=HJEMMEL_26)
        w.judge(conn, "dnr", "archive", [])                         # the judge missed the number
        w.judge(conn, "review", "review", [])
        w.judge(conn, "thanks", "archive", [])
        w.judge(conn, "reply", "journal", ["soknad"])


@pytest.fixture
def package(make_app, tmp_path):
    app = make_app("archivist")
    w = World(app)
    build_thread(w)
    res = export_noark5(app, tmp_path / "pakke")
    return app, w, res


def _documents(pkg: Path):
    """registrering systemID → (screened?, tittel, [(variantformat, skjermingDokument, path)])."""
    tree = etree.parse(str(pkg / "arkivstruktur.xml"))
    out = {}
    for reg in tree.iter(N + "registrering"):
        screened = reg.find(N + "skjerming") is not None
        files = []
        for db in reg.findall(N + "dokumentbeskrivelse"):
            sk = db.find(N + "skjerming")
            dok = sk.findtext(N + "skjermingDokument") if sk is not None else None
            for obj in db.findall(N + "dokumentobjekt"):
                files.append((obj.findtext(N + "variantformat"), dok, pkg / obj.findtext(N + "referanseDokumentfil")))
        out[reg.findtext(N + "systemID")] = (screened, reg.findtext(N + "tittel"), files)
    return out


def _leaks(text: str) -> list[str]:
    flat = squeezed(text)
    return [s for s in SECRETS if s in text or squeezed(s) in flat]


def test_no_open_pdf_holds_screened_text_or_an_identity_number(package):
    app, w, res = package
    assert validate_package(res.path).ok
    docs = _documents(res.path)
    assert len(docs) == 7                      # everything but the comment still to review
    open_pdfs = redacted = full_screened = 0
    for sid, (screened, tittel, files) in docs.items():
        for variant, dok, path in files:
            if path.suffix != ".pdf":
                continue
            text = pdf_text(path)
            assert UNDECIDED not in text, path.name             # undecided: in no document at all
            if variant == "Dokument hvor deler av innholdet er skjermet":
                redacted += 1
                assert _leaks(text) == [], (tittel, _leaks(text))
            elif not screened:
                open_pdfs += 1
                assert dok is None
                assert _leaks(text) == [], (tittel, _leaks(text))
            else:
                full_screened += 1
        pdf_variants = [v for v, _, p in files if p.suffix == ".pdf"]
        deler = any(d == "Skjerming av deler av dokumentet" for _, d, p in files if p.suffix == ".pdf")
        # a document with masked parts has its redacted variant beside the full one
        assert deler == ("Dokument hvor deler av innholdet er skjermet" in pdf_variants), tittel
        assert pdf_variants[0] == "Arkivformat"
    assert open_pdfs == 2                      # the municipality's post and the thank-you
    assert full_screened == 5 and redacted == 5


def test_open_post_shows_its_thread_masked_and_counts_what_is_left_out(package):
    app, w, res = package
    docs = _documents(res.path)
    post = next(files for screened, tittel, files in docs.values() if _summary(tittel).startswith("Søknadsfristen"))
    text = pdf_text(post[0][2])
    assert "Mora mi har ****** og jeg får ikke hentet" in text           # § 13: the words, not the comment
    assert "Sønnen vår ****** har ****** og trenger fast voksen" in text
    assert "fødselsnummeret mitt er ******" in text                      # § 26: the number only
    assert "Ola Dahl" in text and "Tor Vik" not in text                  # § 26 keeps the name, § 13 masks it
    assert "Takk for påminnelsen" in text
    assert "1 melding(er) i tråden er ikke ferdig vurdert og ikke tatt med." in text
    assert "Hei ******, vi har sendt saken din" in text                   # the reply names the screened person


def test_screened_record_keeps_its_whole_text_and_has_a_redacted_variant(package):
    app, w, res = package
    docs = _documents(res.path)
    health = next(v for v in docs.values() if _summary(v[1]).startswith("Mora mi har"))
    screened, tittel, files = health
    assert screened
    full = pdf_text(files[0][2])
    assert HEALTH in full and SCREENED_NAME in full                      # the archive copy stays whole
    variant, dok, path = files[1]
    assert (variant, dok) == ("Dokument hvor deler av innholdet er skjermet", "Skjerming av deler av dokumentet")
    red = pdf_text(path)
    assert HEALTH not in red and "Lie" not in red and "Skjermet variant" in red
    for _, _, p in files:
        if p.suffix == ".pdf":
            assert pdfa_problems(p) == []


def test_no_identity_number_in_any_title(package):
    app, w, res = package
    for name in ("arkivstruktur.xml", "loependeJournal.xml", "offentligJournal.xml"):
        tree = etree.parse(str(res.path / name))
        titles = [el.text for el in tree.iter() if isinstance(el.tag, str)
                  and etree.QName(el).localname in ("tittel", "offentligTittel")]
        assert titles
        for t in titles:
            assert identity_numbers(t) == [], (name, t)
            assert FNR not in squeezed(t) and DNR not in squeezed(t), (name, t)


def test_screening_follows_the_hjemmel(package):
    app, w, res = package
    tree = etree.parse(str(res.path / "arkivstruktur.xml"))
    by_title = {reg.findtext(N + "tittel"): reg for reg in tree.iter(N + "registrering")}
    fnr = next(r for t, r in by_title.items() if _summary(t).startswith("Jeg søkte plass"))
    sk = fnr.find(N + "skjerming")
    assert sk.findtext(N + "skjermingshjemmel") == HJEMMEL_26
    assert [e.text for e in sk.findall(N + "skjermingMetadata")] == ["Skjerming tittel registrering - utvalgte ord"]
    assert fnr.find(f"{N}korrespondansepart/{N}korrespondansepartNavn").text == "Ola Dahl"
    # the D-nummer the judge missed is screened all the same, on § 26
    dnr = next(r for t, r in by_title.items() if _summary(t).startswith("Gjelder søknaden"))
    assert dnr.findtext(f"{N}skjerming/{N}skjermingshjemmel") == HJEMMEL_26
    health = next(r for t, r in by_title.items() if _summary(t).startswith("Mora mi"))
    assert health.findtext(f"{N}skjerming/{N}skjermingshjemmel") == HJEMMEL
    assert "Skjerming navn avsender" in [e.text for e in health.findall(f"{N}skjerming/{N}skjermingMetadata")]
    # offentligTittel masks the words, not the title
    assert _summary(health.findtext(N + "offentligTittel")).startswith("Mora mi har ****** og jeg får ikke hentet")
    public = (res.path / "offentligJournal.xml").read_text("utf-8")
    loepende = (res.path / "loependeJournal.xml").read_text("utf-8")
    assert "Ola Dahl" in public and SCREENED_NAME not in public and "Tor Vik" not in public
    for journal in (public, loepende):
        assert f"<skjermingshjemmel>{HJEMMEL_26}</skjermingshjemmel>" in journal
        assert f"<skjermingshjemmel>{HJEMMEL}</skjermingshjemmel>" in journal
        assert "<tilgangsrestriksjon>Unntatt offentlighet</tilgangsrestriksjon>" in journal


def test_arkivmelding_codes_follow_the_hjemmel_and_carry_the_redacted_variant(package, tmp_path):
    app, w, res = package
    out = export_arkivmelding(app, tmp_path / "am")
    codes: dict[str, set[str]] = defaultdict(set)
    variants = 0
    for folder in out.created:
        xml = etree.parse(str(tmp_path / "am" / folder / "arkivmelding.xml"))
        ns = {"a": xml.getroot().nsmap[None]}
        for sk in xml.iterfind(".//a:registrering/a:skjerming", ns):
            hjemmel = sk.findtext("a:skjermingshjemmel", namespaces=ns)
            code = sk.find("a:tilgangsrestriksjon", ns)[0].text
            codes[hjemmel].add(code)
        for obj in xml.iterfind(".//a:dokumentobjekt", ns):
            v = obj.find("a:variantformat", ns)[0].text
            if v == "O":
                variants += 1
                name = obj.findtext("a:referanseDokumentfil", namespaces=ns)
                assert _leaks(pdf_text(tmp_path / "am" / folder / name)) == []
    assert codes[HJEMMEL_26] == {"26"} and codes[HJEMMEL] == {"13"}
    assert variants == 4                       # the four screened journalposts


def _summary(tittel: str) -> str:
    """A title without its leading kind of matter («Søknad: …», «Svar på klage: …»)."""
    head, sep, rest = tittel.partition(": ")
    return rest if sep and len(head) <= 40 else tittel
