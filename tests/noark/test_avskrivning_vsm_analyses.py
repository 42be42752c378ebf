"""Avskrivning, virksomhetsspesifikkeMetadata and konvertering written in XSD order, and the Arkade
analyses the validator reports for them."""

from __future__ import annotations

from datetime import date

from lxml import etree

import noark_builders as b
from noark import (
    Avskrivning,
    Konvertering,
    MetadataElement,
    PackageBuilder,
    VirksomhetsspesifikkeMetadata,
)
from noark.validate import validate_package

NS = "{http://www.arkivverket.no/standarder/noark5/arkivstruktur}"
RJ = "https://example.org/rj/1"


def _package(folder):
    jp1 = b.journalpost("a", 1, avskrivning=[Avskrivning(
        avskrivningsdato=date(2024, 3, 2), avskrevetAv="Mona", avskrivningsmaate="Tatt til etterretning",
        referanseAvskrivesAvJournalpost=b.sid("jp", "b"))],
        virksomhetsspesifikkeMetadata=VirksomhetsspesifikkeMetadata(namespace=RJ, prefix="rj", elementer=[
            MetadataElement(navn="korrespondansepart", barn=[
                MetadataElement(navn="plattform", tekst="x"), MetadataElement(navn="brukerID", tekst="123"),
                MetadataElement(navn="brukernavn", tekst="  ")])]))
    doc = jp1.dokumentbeskrivelse[0]
    doc.dokumentobjekt[0].konvertering = [Konvertering(
        konvertertDato=b.T0, konvertertAv="ringebu-journal", konvertertFraFormat="fmt/817",
        konvertertTilFormat="fmt/477", konverteringsverktoey="Verktøy 1.0")]
    jp2 = b.journalpost("b", 2, journalposttype="Utgående dokument", journalstatus="Utgår")
    with PackageBuilder(folder, b.uttrekk()) as pkg:
        with pkg.arkiv(b.arkiv()), pkg.arkivdel(b.arkivdel()), pkg.klassifikasjonssystem(b.klassifikasjonssystem()):
            with pkg.klasse(b.klasse(1)):
                pkg.add_mappe(b.saksmappe("s", 1, [jp1, jp2]))
        pkg.add_endring(b.endring(b.sid("jp", "a")))
    return pkg.result


def test_written_in_xsd_order_and_counted(tmp_path):
    _package(tmp_path / "p")
    report = validate_package(tmp_path / "p")
    assert report.ok, report.to_text()
    root = etree.parse(str(tmp_path / "p" / "arkivstruktur.xml")).getroot()
    reg = next(r for r in root.iter(NS + "registrering") if r.findtext(NS + "systemID") == b.sid("jp", "a"))
    names = [c.tag.split("}")[1] for c in reg]
    assert names.index("virksomhetsspesifikkeMetadata") < names.index("korrespondansepart") < names.index("journalaar")
    assert names[-1] == "avskrivning"
    vsm = reg.find(NS + "virksomhetsspesifikkeMetadata")
    assert vsm.findtext(f"{{{RJ}}}korrespondansepart/{{{RJ}}}brukerID") == "123"
    assert vsm.find(f"{{{RJ}}}korrespondansepart/{{{RJ}}}brukernavn") is None       # no empty element
    a = report.analyses
    assert a["N5.40 antall avskrivninger"] == "1 (Tatt til etterretning: 1)"
    assert a["N5.46 antall konverterte dokumenter"] == "1 (fmt/817 → fmt/477: 1)"
    assert a["N5.39 antall korrespondanseparter"] == "2" and a["N5.35 antall parter"] == "0"
    assert a["N5.27 første og siste registrering (opprettetDato)"].count(b.T0.date().isoformat()) == 2
    assert "løpende journal" in a["N5.60 start- og sluttdatoer"] and "arkivdel" in a["N5.60 start- og sluttdatoer"]
    assert "Arkade analyses" in report.to_text() and '"analyses"' in report.to_json()
