"""noark.arkivmelding: the Fiks Arkiv V2 writers and readers against the shipped official XSDs."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest
from lxml import etree

from noark import arkivmelding as am
from noark.arkivmelding_outbox import Outbox, validate_outbox
from noark.errors import NoarkWriteError
from noark.schemas import load_fiks_schema, load_schema
from ringebu_journal.schemas import FIKS_ARKIV_DIR

T = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
KEY = am.Noekkel("ringebu-journal", "facebook:1_2")
MAPPE = am.Referanse("11111111-1111-5111-8111-111111111111", am.Noekkel("ringebu-journal", "facebook:mappe"))


def journalpost(**kw) -> am.Journalpost:
    obj = am.Dokumentobjekt("33333333-3333-5333-8333-333333333333", "01-hoveddokument.pdf", ("PDF", "fmt/477"),
                            "fmt/477", "application/pdf", "a" * 64, 1234)
    doc = am.Dokument("44444444-4444-5444-8444-444444444444", "Melding", ("SOME", "Melding"), True, 1, obj)
    base = dict(system_id="22222222-2222-5222-8222-222222222222", tittel="Klage på skoleskyss", noekkel=KEY,
                forelder=MAPPE, journalposttype=("I", "Inngående dokument"), opprettet=T, opprettet_av="system",
                arkivert=T, arkivert_av="arkivar", journaldato=date(2026, 3, 2), dokumentets_dato=date(2026, 3, 2),
                mottatt=T, dokumenter=[doc],
                parter=[am.Korrespondansepart("55555555-5555-5555-8555-555555555555", ("EA", "Avsender"), "Per", True)],
                skjerming=am.Skjerming("Offl. § 13"))
    base.update(kw)
    return am.Journalpost(**base)


def saksmappe() -> am.Saksmappe:
    return am.Saksmappe(MAPPE.system_id, "Skoleskyss", MAPPE.noekkel, T, "system", date(2026, 3, 2), "Servicetorget",
                        "arkivar", klasse_id="020", klasse_tittel="Klager")


def test_every_writer_gives_a_payload_valid_against_its_xsd():
    with_mappe = am.opprett("ringebu-journal", journalpost(), saksmappe())
    alone = am.opprett("ringebu-journal", journalpost())
    endring = am.oppdater_journalpost(am.JournalpostEndring(
        ref=am.Referanse("22222222-2222-5222-8222-222222222222", KEY), tittel="Ny", offentlig_tittel="Klage – Facebook",
        skjerming=None, parter=journalpost().parter, merknad=am.Merknad("Oppdatering", T, "arkivar"),
        journalstatus=am.UTGAAR))
    mappe = am.oppdater_saksmappe(am.SaksmappeEndring(MAPPE, "Skoleskyss", None, am.Skjerming("Offl. § 13"),
                                                      am.Merknad("skjermet", T, "arkivar")))
    avskr = am.avskrivning_opprett(am.Referanse("22222222-2222-5222-8222-222222222222", KEY),
                                   "55555555-5555-5555-8555-555555555555", dato=date(2026, 3, 3), av="arkivar",
                                   maate=("BU", "Besvart"), avskrives_av=am.Referanse("66666666-6666-5666-8666-666666666666"))
    dok = am.dokumentobjekt_opprett(am.Referanse("44444444-4444-5444-8444-444444444444"),
                                    journalpost().dokumenter[0].objekt)
    for data, kind in ((with_mappe, am.OPPRETT), (alone, am.OPPRETT), (endring, am.OPPDATER), (mappe, am.OPPDATER),
                       (avskr, am.AVSKRIVNING), (dok, am.DOKUMENTOBJEKT)):
        assert am.validate_payload(data) == (kind, [])
    root = etree.fromstring(alone)
    assert root.find(f"{{{am.NS_OPPRETT}}}mappe") is None
    assert root.findtext(f".//{{{am.MDK}}}systemID") == MAPPE.system_id
    assert am.message_keys(endring).cancels == ["22222222-2222-5222-8222-222222222222"]


def test_an_invalid_message_is_refused_not_written():
    with pytest.raises(NoarkWriteError, match="tittel"):
        am.opprett("ringebu-journal", journalpost(tittel="   "))
    with pytest.raises(NoarkWriteError, match="names saksmappe"):
        am.opprett("ringebu-journal", journalpost(forelder=am.Referanse("77777777-7777-5777-8777-777777777777")),
                   saksmappe())


def test_fiks_and_noark5_schemas_resolve_their_own_metadatakatalog():
    # both folders have a metadatakatalog.xsd with different namespaces: each must import its own
    assert load_schema("arkivstruktur.xsd") is not None
    for name in sorted(p.name for p in FIKS_ARKIV_DIR.glob("no.ks.*.xsd")):
        assert load_fiks_schema(name) is not None


def test_codes_used_are_in_the_shipped_v2_code_lists():
    def codes(name: str) -> set[str]:
        data = json.loads((FIKS_ARKIV_DIR / "kodelister" / f"no.ks.fiks.arkiv.v2.kodelister.{name}.json").read_text())
        return {k["kodeverdi"] for k in data["kodeliste"]}

    assert {am.UTGAAR[0], am.JOURNALFOERT[0]} <= codes("journalstatus")
    assert am.ARKIVMERKNAD[0] in codes("merknadstype")
    assert "BU" in codes("avskrivningsmaate")          # what the domain sends for an answer


def test_receipts_and_feilmeldinger_are_read_and_checked():
    ok = (f'<arkivmeldingKvittering xmlns="{am.NS_KVITTERING}"><registreringKvittering><systemID>22222222-2222-5222-8222-222222222222</systemID>'
          "<opprettetEllerEksisterende>Eksisterende</opprettetEllerEksisterende></registreringKvittering>"
          "</arkivmeldingKvittering>").encode()
    r = am.read_receipt(ok)
    assert r.ok and r.system_ids == ["22222222-2222-5222-8222-222222222222"] and "Eksisterende" in r.detail
    feil = f'<arkivmeldingKvittering xmlns="{am.NS_KVITTERING}"><registreringFeilet><feilId xmlns="{am.NS_FEIL}">9' \
           f'</feilId><feilmelding xmlns="{am.NS_FEIL}">Ukjent klasse</feilmelding></registreringFeilet>' \
           "</arkivmeldingKvittering>"
    r = am.read_receipt(feil.encode())
    assert not r.ok and r.detail == "Ukjent klasse"
    ikke = (f'<ikkefunnet xmlns="https://ks-no.github.io/standarder/fiks-protokoll/fiks-arkiv/feil/ikkefunnet/v2">'
            f'<feilId xmlns="{am.NS_FEIL}">1</feilId><feilmelding xmlns="{am.NS_FEIL}">Finnes ikke</feilmelding>'
            "</ikkefunnet>").encode()
    r = am.read_receipt(ikke)
    assert not r.ok and "Finnes ikke" in r.detail
    with pytest.raises(am.PayloadError, match="not valid against"):
        am.read_receipt(f'<arkivmeldingKvittering xmlns="{am.NS_KVITTERING}"><x/></arkivmeldingKvittering>'.encode())
    with pytest.raises(am.PayloadError, match="well-formed"):
        am.read_receipt(b"<half")


def test_xml_readers_refuse_external_entities(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LINE")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file://{secret}">]>'
           f'<arkivmelding xmlns="{am.NS_OPPRETT}"><system>&x;</system><antallFiler>0</antallFiler></arkivmelding>')
    mtype, errors = am.validate_payload(xxe.encode())
    assert "TOP-SECRET-LINE" not in " ".join(errors)
    try:
        r = am.read_receipt(xxe.encode())
        assert "TOP-SECRET-LINE" not in r.detail
    except am.PayloadError as exc:
        assert "TOP-SECRET-LINE" not in str(exc)


def test_outbox_append_is_numbered_and_indexed(tmp_path):
    box = Outbox(tmp_path / "ut")
    with box.lock():
        e1 = box.append(am.OPPRETT, "22222222-2222-5222-8222-222222222222",
                        am.opprett("ringebu-journal", journalpost(), saksmappe()),
                        [("01-hoveddokument.pdf", b"%PDF-1.7 test")], keys={"journalpost": "x"})
        e2 = box.append(am.AVSKRIVNING, "22222222-2222-5222-8222-222222222222", am.avskrivning_opprett(
            am.Referanse("22222222-2222-5222-8222-222222222222"), "55555555-5555-5555-8555-555555555555",
            dato=date(2026, 3, 3), av="arkivar", maate=("BU", "Besvart")), [], keys={})
        with pytest.raises(NoarkWriteError, match="another export"):
            with Outbox(tmp_path / "ut").lock():
                pass
    assert (e1.seq, e2.seq) == (1, 2)
    assert e1.folder.startswith("000001-arkivmelding.opprett-") and e2.folder.startswith("000002-avskrivning.opprett-")
    assert [f["name"] for f in e1.files] == ["arkivmelding.xml", "01-hoveddokument.pdf"]
    assert (box.path / e2.folder / "avskrivning-opprett.xml").is_file()
    lines = (box.path / "index.jsonl").read_text().splitlines()
    assert [json.loads(x)["seq"] for x in lines] == [1, 2]
    assert json.loads(lines[0])["meldingstype"] == "no.ks.fiks.arkiv.v2.arkivering.arkivmelding.opprett"
    assert validate_outbox(box.path).ok       # hoveddokument's checksum in the XML is the caller's business
    # an unfinished last index line (killed mid-write) is dropped and the folder indexed again
    with open(box.path / "index.jsonl", "rb+") as fh:
        data = fh.read()
        fh.seek(0)
        fh.truncate()
        fh.write(data[: len(lines[0]) + 1] + data[len(lines[0]) + 1:][:40])
    assert not validate_outbox(box.path).ok
    with box.lock():
        added = box.recover()
    assert [e.seq for e in added] == [2] and validate_outbox(box.path).ok
