"""Small, fully pinned Noark 5 packages for the tests (fixed ids, dates and contents)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

from noark import (
    Arkiv,
    Arkivdel,
    Arkivnotat,
    Arkivskaper,
    Dokumentbeskrivelse,
    Dokumentfil,
    Dokumentobjekt,
    Endring,
    Journalpost,
    Klasse,
    Klassifikasjonssystem,
    Korrespondansepart,
    PackageBuilder,
    Saksmappe,
    Skjerming,
    Uttrekksinfo,
    stable_uuid,
)

T0 = datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)
SKJULT_NAVN = "Kari Hemmelig"
SKJULT_TITTEL = "Klage om nabo Hemmeligsen"


def sid(*parts) -> str:
    return stable_uuid("test", *parts)


def uttrekk(**changes) -> Uttrekksinfo:
    values = dict(
        arkivskapere=["Ringebu kommune"],
        systemnavn="ringebu-journal",
        arkivnavn="Ringebu kommune sosiale medier",
        periodeStart=date(2024, 1, 1),
        periodeSlutt=date(2024, 12, 31),
    )
    values.update(changes)
    return Uttrekksinfo(**values)


def arkiv() -> Arkiv:
    return Arkiv(
        systemID=sid("arkiv"),
        tittel="Ringebu kommune – sosiale medier",
        opprettetDato=T0,
        opprettetAv="ringebu-journal",
        avsluttetDato=T0,
        avsluttetAv="ringebu-journal",
        arkivskaper=[Arkivskaper(arkivskaperID="964 949 204", arkivskaperNavn="Ringebu kommune")],
    )


def arkivdel() -> Arkivdel:
    return Arkivdel(
        systemID=sid("arkivdel"),
        tittel="Sosiale medier 2024",
        opprettetDato=T0,
        opprettetAv="ringebu-journal",
        avsluttetDato=T0,
        avsluttetAv="ringebu-journal",
        arkivperiodeStartDato=date(2024, 1, 1),
        arkivperiodeSluttDato=date(2024, 12, 31),
    )


def klassifikasjonssystem() -> Klassifikasjonssystem:
    return Klassifikasjonssystem(systemID=sid("ks"), tittel="Emner", opprettetDato=T0, opprettetAv="ringebu-journal")


def klasse(n: int = 1) -> Klasse:
    return Klasse(systemID=sid("klasse", n), klasseID=f"K{n}", tittel=f"Emne {n}", opprettetDato=T0, opprettetAv="ringebu-journal")


def dokument(key: str, n: int = 1, *, data: bytes | None = None, ext: str = "txt") -> Dokumentbeskrivelse:
    return Dokumentbeskrivelse(
        systemID=sid("db", key, n),
        dokumenttype="Melding",
        tittel=f"Dokument {key}-{n}",
        opprettetDato=T0,
        opprettetAv="ringebu-journal",
        tilknyttetRegistreringSom="Hoveddokument" if n == 1 else "Vedlegg",
        dokumentnummer=n,
        tilknyttetDato=T0,
        tilknyttetAv="ringebu-journal",
        dokumentobjekt=[
            Dokumentobjekt(
                systemID=sid("do", key, n),
                opprettetDato=T0,
                opprettetAv="ringebu-journal",
                fil=Dokumentfil(
                    sti=f"2024/{key}-{n}.{ext}",
                    data=data if data is not None else f"Innhold {key}-{n}\n".encode(),
                    puid="x-fmt/111",
                ),
            )
        ],
    )


def journalpost(key: str, seq: int, *, skjermet: bool = False, **changes) -> Journalpost:
    values = dict(
        systemID=sid("jp", key),
        opprettetDato=T0,
        opprettetAv="ringebu-journal",
        arkivertDato=T0,
        arkivertAv="ringebu-journal",
        dokumentbeskrivelse=[dokument(key, 1), dokument(key, 2)],
        tittel=SKJULT_TITTEL if skjermet else f"Melding {key}",
        korrespondansepart=[
            Korrespondansepart(
                korrespondanseparttype="Avsender",
                korrespondansepartNavn=SKJULT_NAVN if skjermet else f"Innbygger {key}",
            )
        ],
        journalaar=2024,
        journalsekvensnummer=seq,
        journalpostnummer=seq,
        journalposttype="Inngående dokument",
        journaldato=date(2024, 3, 1),
    )
    if skjermet:
        values["skjerming"] = Skjerming(
            tilgangsrestriksjon="Unntatt offentlighet",
            skjermingshjemmel="Offl. § 13, jf. fvl. § 13",
            skjermingMetadata=["Skjerming tittel registrering - unntatt første linje", "Skjerming navn avsender"],
        )
    values.update(changes)
    return Journalpost(**values)


def saksmappe(key: str, seq: int, registreringer, **changes) -> Saksmappe:
    values = dict(
        systemID=sid("mappe", key),
        mappeID=f"2024/{seq}",
        tittel=f"Tråd {key}",
        opprettetDato=T0,
        opprettetAv="ringebu-journal",
        avsluttetDato=T0,
        avsluttetAv="ringebu-journal",
        registrering=list(registreringer),
        saksaar=2024,
        sakssekvensnummer=seq,
        saksdato=date(2024, 3, 1),
        administrativEnhet="Servicetorget",
        saksansvarlig="Postmottak",
    )
    values.update(changes)
    return Saksmappe(**values)


def endring(ref: str) -> Endring:
    return Endring(
        referanseArkivenhet=ref,
        referanseMetadata="journalstatus",
        endretDato=T0,
        endretAv="moderator",
        tidligereVerdi=None,
        nyVerdi="Arkivert",
    )


def build_small_package(folder: Path, *, mapper: int = 2, **uttrekk_changes):
    """Two saksmapper (one with a screened journalpost) and an arkivnotat; returns the result."""
    with PackageBuilder(folder, uttrekk(**uttrekk_changes)) as pkg:
        with pkg.arkiv(arkiv()), pkg.arkivdel(arkivdel()), pkg.klassifikasjonssystem(klassifikasjonssystem()):
            with pkg.klasse(klasse(1)):
                seq = 0
                for m in range(mapper):
                    regs = []
                    for r in range(2):
                        seq += 1
                        regs.append(journalpost(f"{m}-{r}", seq, skjermet=(m == 0 and r == 1)))
                    pkg.add_mappe(saksmappe(str(m), m + 1, regs))
            with pkg.klasse(klasse(2)):
                pkg.add_registrering(
                    Arkivnotat(
                        systemID=sid("notat"),
                        opprettetDato=T0,
                        opprettetAv="ringebu-journal",
                        arkivertDato=T0,
                        arkivertAv="ringebu-journal",
                        dokumentbeskrivelse=[dokument("notat", 1)],
                        tittel="Arkivert uten journalføring",
                    )
                )
        pkg.add_endring(endring(sid("jp", "0-0")))
    return pkg.result
