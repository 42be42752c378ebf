"""Writer behaviour: XSD order, no empty elements, XML-safe text, stable ids, journals."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from lxml import etree
from pydantic import ValidationError

import noark_builders as b
from noark import (
    ArkivstrukturWriter,
    Dokumentfil,
    JournalEntry,
    MASK,
    NoarkWriteError,
    PackageBuilder,
    clean_text,
    stable_uuid,
    write_journals,
)
from noark.schemas import load_schema
from noark.validate import validate_package

NS = "{http://www.arkivverket.no/standarder/noark5/arkivstruktur}"


def _local_children(el):
    return [c.tag.replace(NS, "") for c in el]


def test_stable_uuid_is_stable_and_distinct():
    assert stable_uuid("journalpost", "facebook", "1_2") == stable_uuid("journalpost", "facebook", "1_2")
    assert stable_uuid("journalpost", "a", "bc") != stable_uuid("journalpost", "ab", "c")
    assert stable_uuid("mappe", "x") != stable_uuid("journalpost", "x")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", stable_uuid("a", 1))


def test_element_order(package):
    tree = etree.parse(str(package / "arkivstruktur.xml"))
    jp = tree.find(f".//{NS}registrering[@{{http://www.w3.org/2001/XMLSchema-instance}}type='journalpost']")
    order = _local_children(jp)
    assert order.index("dokumentbeskrivelse") < order.index("tittel")
    assert order.index("korrespondansepart") < order.index("journalaar")
    assert order[-6:] == ["journalaar", "journalsekvensnummer", "journalpostnummer", "journalposttype",
                          "journalstatus", "journaldato"]
    mappe = tree.find(f".//{NS}mappe")
    morder = _local_children(mappe)
    last_reg = max(i for i, n in enumerate(morder) if n == "registrering")
    assert morder[last_reg + 1:] == ["saksaar", "sakssekvensnummer", "saksdato", "administrativEnhet",
                                     "saksansvarlig", "saksstatus"]
    assert mappe.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "saksmappe"


def test_same_data_gives_same_bytes(tmp_path):
    b.build_small_package(tmp_path / "a")
    b.build_small_package(tmp_path / "b")
    for name in ("arkivstruktur.xml", "loependeJournal.xml", "offentligJournal.xml", "endringslogg.xml", "arkivuttrekk.xml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_no_empty_elements_and_blank_optionals_are_left_out(tmp_path):
    jp = b.journalpost("x", 1, beskrivelse="   ", offentligTittel="", noekkelord=[])
    assert jp.beskrivelse is None and jp.offentligTittel is None
    folder = tmp_path / "p"
    with PackageBuilder(folder, b.uttrekk()) as pkg:
        with pkg.arkiv(b.arkiv()), pkg.arkivdel(b.arkivdel()):
            pkg.add_mappe(b.saksmappe("m", 1, [jp]))
        pkg.add_endring(b.endring(jp.systemID))
    text = (folder / "arkivstruktur.xml").read_text(encoding="utf-8")
    assert not re.search(r"<(\w+)(\s[^>]*)?/>|<(\w+)>\s*</\3>", text)
    assert "<beskrivelse>" not in text
    assert validate_package(folder).ok


def test_blank_mandatory_value_is_refused():
    with pytest.raises(ValidationError):
        b.journalpost("x", 1, tittel=" \t")
    assert b.journalpost("x", 1, tittel="\x00").tittel == "\x00"  # cleaned on output to U+FFFD, not refused
    bad = b.journalpost("x", 1, dokumentbeskrivelse=[]).model_copy(update={"journalposttype": None})
    out = io.BytesIO()
    with pytest.raises(NoarkWriteError, match="journalposttype"):
        with ArkivstrukturWriter(out) as w, w.arkiv(b.arkiv()), w.arkivdel(b.arkivdel()):
            w.registrering(bad)


def test_illegal_characters_never_reach_the_file(tmp_path):
    nasty = "Hei\x00 på\x0b deg\ud800 \U0001F600 \ufffe slutt"
    assert clean_text(nasty) == "Hei\ufffd på\ufffd deg\ufffd \U0001F600 \ufffd slutt"
    jp = b.journalpost("x", 1, tittel=nasty, beskrivelse="\x1f")
    folder = tmp_path / "p"
    with PackageBuilder(folder, b.uttrekk()) as pkg:
        with pkg.arkiv(b.arkiv()), pkg.arkivdel(b.arkivdel()):
            pkg.add_mappe(b.saksmappe("m", 1, [jp]))
        pkg.add_endring(b.endring(jp.systemID))
    raw = (folder / "arkivstruktur.xml").read_bytes()
    assert b"\x00" not in raw and b"\x0b" not in raw
    assert "Hei\ufffd på\ufffd deg\ufffd \U0001F600".encode() in raw
    assert validate_package(folder).ok
    assert "\U0001F600" in (folder / "loependeJournal.xml").read_text(encoding="utf-8")


def test_xsd_choice_is_enforced():
    out = io.BytesIO()
    with pytest.raises(NoarkWriteError, match="only one kind"):
        with ArkivstrukturWriter(out) as w, w.arkiv(b.arkiv()), w.arkivdel(b.arkivdel()):
            w.mappe(b.saksmappe("m", 1, [b.journalpost("a", 1, dokumentbeskrivelse=[])]))
            w.registrering(b.journalpost("b", 2, dokumentbeskrivelse=[]))


def test_document_path_must_stay_inside_package():
    for sti in ("../etc/passwd", "/abs.txt", "a//b.txt", "noext"):
        with pytest.raises(ValidationError):
            Dokumentfil(sti=sti, data=b"x")


def test_endringslogg_needs_an_endring(tmp_path):
    with pytest.raises(NoarkWriteError, match="endring"):
        with PackageBuilder(tmp_path / "p", b.uttrekk()) as pkg:
            with pkg.arkiv(b.arkiv()), pkg.arkivdel(b.arkivdel()):
                pkg.add_mappe(b.saksmappe("m", 1, [b.journalpost("a", 1)]))


def test_public_journal_masks_screened_text(package):
    offentlig = (package / "offentligJournal.xml").read_text(encoding="utf-8")
    loepende = (package / "loependeJournal.xml").read_text(encoding="utf-8")
    assert b.SKJULT_NAVN not in offentlig and b.SKJULT_TITTEL not in offentlig
    assert "Hemmelig" not in offentlig and MASK in offentlig
    assert b.SKJULT_NAVN in loepende and b.SKJULT_TITTEL in loepende
    assert offentlig.count("<journalregistrering>") == loepende.count("<journalregistrering>") == 4


def test_offentlig_tittel_is_used_when_given(tmp_path):
    jp = b.journalpost("x", 1, skjermet=True, offentligTittel="Klage om nabo")
    entry = JournalEntry.from_journalpost(jp, b.saksmappe("m", 1, [jp]), None)
    assert entry.offentlig_tittel() == "Klage om nabo"


def test_journals_are_sorted(tmp_path):
    mappe = b.saksmappe("m", 1, [])
    entries = [JournalEntry.from_journalpost(b.journalpost(str(n), n, journalaar=aar), mappe, None)
               for aar, n in ((2024, 3), (2023, 9), (2024, 1))]
    assert write_journals(tmp_path, entries, b.arkiv().arkivskaper) == 3
    tree = etree.parse(str(tmp_path / "loependeJournal.xml"))
    ns = "{http://www.arkivverket.no/standarder/noark5/loependeJournal}"
    keys = [(int(e.findtext(f"{ns}journalaar")), int(e.findtext(f"{ns}journalsekvensnummer")))
            for e in tree.iter(f"{ns}journalpost")]
    assert keys == [(2023, 9), (2024, 1), (2024, 3)]
    for name, xsd in (("loependeJournal.xml", "loependeJournal.xsd"), ("offentligJournal.xml", "offentligJournal.xsd")):
        assert load_schema(xsd).validate(etree.parse(str(tmp_path / name)))
    head = tree.find(f"{ns}journalhode")
    assert head.findtext(f"{ns}journalStartDato") == "2024-03-01"


def test_arkivuttrekk_validates_against_addml(package):
    assert load_schema("addml.xsd").validate(etree.parse(str(package / "arkivuttrekk.xml")))
    text = (package / "arkivuttrekk.xml").read_text(encoding="utf-8")
    assert text.count("metadatakatalog.xsd") == 4 and "Oppgi" not in text
    assert "<value>arkivuttrekk.xml</value>" not in text and "<value>addml.xsd</value>" not in text


def test_package_contents(package):
    names = sorted(p.name for p in package.iterdir())
    assert names == sorted(["DOKUMENT", "addml.xsd", "arkivstruktur.xml", "arkivstruktur.xsd", "arkivuttrekk.xml",
                            "endringslogg.xml", "endringslogg.xsd", "loependeJournal.xml", "loependeJournal.xsd",
                            "metadatakatalog.xsd", "offentligJournal.xml", "offentligJournal.xsd"])
    text = (package / "arkivstruktur.xml").read_text(encoding="utf-8")
    assert "<referanseDokumentfil>DOKUMENT/2024/0-0-1.txt</referanseDokumentfil>" in text
    assert "<format>txt</format><formatDetaljer>x-fmt/111</formatDetaljer>" in text


def test_extra_context_groups_are_written_valid_and_read_back(tmp_path):
    """Uttrekksinfo.kontekst: named groups in arkivuttrekk.xml's context (used for the audit trail's head)."""
    from noark.addml import read_kontekst

    b.build_small_package(tmp_path / "p", kontekst={"auditTrailHead": {"sequence": "42", "sha256": "ab" * 32}})
    data = (tmp_path / "p" / "arkivuttrekk.xml").read_bytes()
    assert read_kontekst(data, "auditTrailHead") == {"sequence": "42", "sha256": "ab" * 32}
    assert read_kontekst(data, "noSuchGroup") is None
    report = validate_package(tmp_path / "p")
    assert report.ok, report.to_text()
    b.build_small_package(tmp_path / "q")
    assert read_kontekst((tmp_path / "q" / "arkivuttrekk.xml").read_bytes(), "auditTrailHead") is None
