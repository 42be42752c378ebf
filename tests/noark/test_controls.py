"""Each test breaks the good package in one way and expects exactly that control to fail."""

from __future__ import annotations

import re
import tarfile

import pytest

from noark import PackageBuilder, stable_uuid
from noark.validate import validate_package
import noark_builders as b
from noark_helpers import edit, refresh_checksums, set_addml


def controls(folder):
    return validate_package(folder).controls()


def test_good_package_passes(package):
    report = validate_package(package)
    assert report.ok, report.to_text()
    assert report.statistics["antall registrering"] == 5


def test_n5_01_listed_schema_missing(package):
    (package / "endringslogg.xsd").unlink()
    assert controls(package) == {"N5.01", "N5.03"}


def test_n5_02_checksum_changed(package):
    with open(package / "endringslogg.xml", "a", encoding="utf-8") as fh:
        fh.write("<!-- endret -->\n")
    report = validate_package(package)
    assert report.controls() == {"N5.02"}
    assert report.findings[0].element == "endringslogg.xml"


def test_n5_03_xsd_error_names_the_element(package):
    edit(package, "arkivstruktur.xml", "<journalposttype>Inngående dokument</journalposttype>",
         "<journalposttype>Inngående dokument</journalposttype><ukjent>x</ukjent>")
    report = validate_package(package)
    assert report.controls() == {"N5.03"}
    assert "ukjent" in report.findings[0].message and "systemID" in report.findings[0].element


def test_n5_03_schema_not_official(package):
    edit(package, "endringslogg.xsd", "</xs:schema>", "<!-- lokal variant --></xs:schema>")
    assert controls(package) == {"N5.03"}


def test_n5_10_wrong_mappe_count(package):
    set_addml(package, "", "3", occurrence="mappe")
    assert controls(package) == {"N5.10"}


def test_n5_16_wrong_registrering_count(package):
    set_addml(package, "", "4", occurrence="registrering")
    assert controls(package) == {"N5.16"}


def test_n5_12_klasse_with_subklasse_and_mappe(package):
    sub = (f"<klasse><systemID>{stable_uuid('test', 'sub')}</systemID><klasseID>S</klasseID><tittel>Under</tittel>"
           "<opprettetDato>2024-03-01T09:30:00Z</opprettetDato><opprettetAv>x</opprettetAv></klasse>")
    edit(package, "arkivstruktur.xml", "<opprettetAv>ringebu-journal</opprettetAv>\n<mappe",
         f"<opprettetAv>ringebu-journal</opprettetAv>{sub}\n<mappe")
    assert controls(package) == {"N5.03", "N5.12"}  # the XSD choice forbids it too


def test_n5_15_saksstatus(package):
    edit(package, "arkivstruktur.xml", "<saksstatus>Avsluttet</saksstatus>", "<saksstatus>Under behandling</saksstatus>")
    assert controls(package) == {"N5.15"}


def test_n5_17_empty_journalposttype(package):
    edit(package, "arkivstruktur.xml", "<journalposttype>Inngående dokument</journalposttype>",
         "<journalposttype> </journalposttype>")
    assert {"N5.17", "N5.63"} <= controls(package)


def test_n5_19_klasse_with_subklasse_and_registrering(package):
    sub = (f"<klasse><systemID>{stable_uuid('test', 'sub')}</systemID><klasseID>S</klasseID><tittel>Under</tittel>"
           "<opprettetDato>2024-03-01T09:30:00Z</opprettetDato><opprettetAv>x</opprettetAv></klasse>")
    edit(package, "arkivstruktur.xml", "<klasseID>K2</klasseID><tittel>Emne 2</tittel><opprettetDato>2024-03-01T09:30:00Z</opprettetDato><opprettetAv>ringebu-journal</opprettetAv>",
         "<klasseID>K2</klasseID><tittel>Emne 2</tittel><opprettetDato>2024-03-01T09:30:00Z</opprettetDato><opprettetAv>ringebu-journal</opprettetAv>" + sub)
    assert controls(package) == {"N5.03", "N5.19"}


def test_n5_22_journalstatus(package):
    edit(package, "arkivstruktur.xml", "<journalstatus>Arkivert</journalstatus>", "<journalstatus>Journalført</journalstatus>")
    report = validate_package(package)
    assert report.controls() == {"N5.22"}
    assert "Journalført" in report.findings[0].message and report.findings[0].element.startswith("registrering ")


def test_n5_25_dokumentstatus(package):
    edit(package, "arkivstruktur.xml", "<dokumentstatus>Dokumentet er ferdigstilt</dokumentstatus>",
         "<dokumentstatus>Dokumentet er under redigering</dokumentstatus>")
    assert controls(package) == {"N5.25"}


def test_n5_28_wrong_file_count(package):
    set_addml(package, "antallDokumentfiler", "8")
    assert controls(package) == {"N5.28"}


def test_n5_29_format_not_extension(package):
    edit(package, "arkivstruktur.xml", "<format>txt</format>", "<format>pdf</format>")
    assert controls(package) == {"N5.29"}


def test_n5_30_document_changed(package):
    target = package / "DOKUMENT" / "2024" / "0-0-1.txt"
    target.write_bytes(target.read_bytes().upper())
    report = validate_package(package)
    assert report.controls() == {"N5.30"}
    assert report.findings[0].element.startswith("dokumentobjekt ")


def test_n5_32_document_removed(package):
    (package / "DOKUMENT" / "2024" / "1-1-2.txt").unlink()
    set_addml(package, "antallDokumentfiler", "8")
    assert controls(package) == {"N5.32"}


def test_n5_33_unreferenced_file(package):
    (package / "DOKUMENT" / "2024" / "ekstra.txt").write_bytes(b"ingen peker hit\n")
    set_addml(package, "antallDokumentfiler", "10")
    report = validate_package(package)
    assert report.controls() == {"N5.33"}
    assert report.findings[0].file == "DOKUMENT/2024/ekstra.txt"


@pytest.mark.parametrize("flag,value,control", [
    ("inneholderSkjermetInformasjon", "false", "N5.42"),
    ("inneholderDokumenterSomSkalKasseres", "true", "N5.44"),
    ("omfatterDokumenterSomErKassert", "true", "N5.45"),
])
def test_flags_contradict_content(package, flag, value, control):
    set_addml(package, flag, value)
    assert controls(package) == {control}


def test_n5_47_duplicate_system_id(package):
    text = (package / "arkivstruktur.xml").read_text(encoding="utf-8")
    ids = re.findall(r"<dokumentobjekt><systemID>([^<]+)</systemID>", text)
    edit(package, "arkivstruktur.xml", f"<dokumentobjekt><systemID>{ids[1]}", f"<dokumentobjekt><systemID>{ids[0]}")
    report = validate_package(package)
    assert report.controls() == {"N5.47"}
    assert ids[0] in report.findings[0].element


def test_n5_48_dangling_referanse_arkivdel(package):
    ref = stable_uuid("test", "ukjent arkivdel")
    edit(package, "arkivstruktur.xml", "<arkivertAv>ringebu-journal</arkivertAv>",
         f"<arkivertAv>ringebu-journal</arkivertAv><referanseArkivdel>{ref}</referanseArkivdel>")
    report = validate_package(package)
    assert report.controls() == {"N5.48"} and ref in report.findings[0].message


def test_n5_48_valid_reference_passes(package):
    edit(package, "arkivstruktur.xml", "<arkivertAv>ringebu-journal</arkivertAv>",
         f"<arkivertAv>ringebu-journal</arkivertAv><referanseArkivdel>{b.sid('arkivdel')}</referanseArkivdel>")
    assert validate_package(package).ok


def test_n5_51_dangling_class_reference(package):
    edit(package, "arkivstruktur.xml", "<saksstatus>Avsluttet</saksstatus>",
         f"<saksstatus>Avsluttet</saksstatus><referanseSekundaerKlassifikasjon>{stable_uuid('test', 'x')}</referanseSekundaerKlassifikasjon>")
    assert controls(package) == {"N5.51"}


def test_n5_59_journal_counts_differ(package):
    text = (package / "offentligJournal.xml").read_text(encoding="utf-8")
    last = text.rindex("<journalregistrering>")
    end = text.index("</journalregistrering>", last) + len("</journalregistrering>")
    (package / "offentligJournal.xml").write_text(text[:last] + text[end:], encoding="utf-8")
    refresh_checksums(package)
    assert controls(package) == {"N5.59"}


def test_n5_60_journal_dates_differ(package):
    edit(package, "offentligJournal.xml", "<journalSluttDato>2024-03-01</journalSluttDato>",
         "<journalSluttDato>2024-03-02</journalSluttDato>")
    assert controls(package) == {"N5.60"}


def test_n5_61_endringslogg_missing(package):
    (package / "endringslogg.xml").unlink()
    assert controls(package) == {"N5.01", "N5.61"}


def test_n5_62_endring_refers_to_unknown(tmp_path):
    folder = tmp_path / "p"
    with PackageBuilder(folder, b.uttrekk()) as pkg:
        with pkg.arkiv(b.arkiv()), pkg.arkivdel(b.arkivdel()):
            pkg.add_mappe(b.saksmappe("m", 1, [b.journalpost("a", 1)]))
        pkg.add_endring(b.endring(stable_uuid("test", "finnes ikke")))
    assert controls(folder) == {"N5.62"}


def test_n5_63_element_without_content(package):
    edit(package, "arkivstruktur.xml", "<tittel>Melding 0-0</tittel>",
         "<tittel>Melding 0-0</tittel><virksomhetsspesifikkeMetadata/>")
    report = validate_package(package)
    assert report.controls() == {"N5.63"}
    assert "virksomhetsspesifikkeMetadata" in report.findings[0].element


def test_tar_package(package, tmp_path):
    tar_path = tmp_path / "pakke.tar"
    with tarfile.open(tar_path, "w") as tar:
        tar.add(package, arcname="uuid/content")
    assert validate_package(tar_path).ok
    target = package / "DOKUMENT" / "2024" / "0-0-1.txt"
    target.write_bytes(b"X" * target.stat().st_size)
    with tarfile.open(tmp_path / "broken.tar", "w") as tar:
        tar.add(package, arcname="pakke")
    assert validate_package(tmp_path / "broken.tar").controls() == {"N5.30"}


def test_xxe_is_refused(package):
    text = (package / "arkivstruktur.xml").read_text(encoding="utf-8")
    body = text.split("?>", 1)[1].replace("<tittel>Melding 0-0</tittel>", "<tittel>&xxe;</tittel>", 1)
    evil = ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE arkiv [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            + body)
    (package / "arkivstruktur.xml").write_text(evil, encoding="utf-8")
    refresh_checksums(package)
    report = validate_package(package)
    assert any("DOCTYPE" in f.message for f in report.by_control("N5.03"))
    assert "root:" not in report.to_json()
