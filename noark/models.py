"""Pydantic models of the Noark 5 v5.0 arkivstruktur entities this library writes.

Field names are the Noark element names (``systemID``, ``opprettetDato``, ``korrespondansepart`` …),
so the models read like the standard and the writer needs no name mapping. Repeated elements are
lists named after the element. The caller supplies every systemID (see :func:`noark.ids.stable_uuid`);
the models hold plain data and know nothing of where it came from.

Subtypes follow the XSD: :class:`Saksmappe` extends :class:`Mappe`, :class:`Journalpost` and
:class:`Arkivnotat` extend :class:`Registrering`; they are written as the base element with
``xsi:type``.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from noark.text import clean_text, has_content

UUID_PATTERN = r"^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$"


def _required_text(value: str) -> str:
    if not has_content(clean_text(value)):
        raise ValueError("must have content (an empty element is not allowed in Noark 5)")
    return value


def _optional_text(value: Optional[str]) -> Optional[str]:
    if value is None or not has_content(clean_text(value)):
        return None
    return value


Tekst = Annotated[str, AfterValidator(_required_text)]
"""A mandatory string element: must have content after XML cleaning."""

ValgfriTekst = Annotated[Optional[str], AfterValidator(_optional_text)]
"""An optional string element: empty or whitespace-only becomes ``None`` (omitted)."""

SystemID = Annotated[str, StringConstraints(pattern=UUID_PATTERN)]
"""M001 systemID and every reference to one: a UUID (metadatakatalog.xsd v5.0 type ``ID``)."""


class NoarkModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=False)


# --- small parts -------------------------------------------------------------------------


class Arkivskaper(NoarkModel):
    arkivskaperID: Tekst
    arkivskaperNavn: Tekst
    beskrivelse: ValgfriTekst = None


class Skjerming(NoarkModel):
    """M500–M505. ``skjermingMetadata`` names what is screened («Skjerming navn avsender» …).

    The public journal masks a registrering's tittel when a value starts with «Skjerming tittel»,
    a mappe's tittel likewise, and korrespondansepart names when «Skjerming navn …» is present
    (or the korrespondansepart itself is marked ``skjermetNavn``).
    """

    tilgangsrestriksjon: Tekst
    skjermingshjemmel: Tekst
    skjermingMetadata: Annotated[list[Tekst], Field(min_length=1)]
    skjermingDokument: ValgfriTekst = None
    skjermingsvarighet: Optional[int] = None
    skjermingOpphoererDato: Optional[date] = None

    def skjermer_tittel(self) -> bool:
        return any(v.startswith("Skjerming tittel") for v in self.skjermingMetadata)

    def skjermer_navn(self, korrespondanseparttype: str) -> bool:
        for v in self.skjermingMetadata:
            if v in ("Skjerming navn part i sak", "Midlertidig skjerming"):
                return True
            if v == "Skjerming navn avsender" and "avsender" in korrespondanseparttype.lower():
                return True
            if v == "Skjerming navn mottaker" and "mottaker" in korrespondanseparttype.lower():
                return True
        return False


class Kassasjon(NoarkModel):
    kassasjonsvedtak: Tekst
    kassasjonshjemmel: ValgfriTekst = None
    bevaringstid: int
    kassasjonsdato: date


class UtfoertKassasjon(NoarkModel):
    kassertDato: datetime
    kassertAv: Tekst


class Merknad(NoarkModel):
    merknadstekst: Tekst
    merknadstype: ValgfriTekst = None
    merknadsdato: datetime
    merknadRegistrertAv: Tekst


class Part(NoarkModel):
    partID: ValgfriTekst = None
    partNavn: Tekst
    partRolle: Tekst
    postadresse: list[Tekst] = []
    postnummer: ValgfriTekst = None
    poststed: ValgfriTekst = None
    land: ValgfriTekst = None
    epostadresse: ValgfriTekst = None
    telefonnummer: list[Tekst] = []
    kontaktperson: ValgfriTekst = None


class Korrespondansepart(NoarkModel):
    korrespondanseparttype: Tekst
    korrespondansepartNavn: Tekst
    postadresse: list[Tekst] = []
    postnummer: ValgfriTekst = None
    poststed: ValgfriTekst = None
    land: ValgfriTekst = None
    epostadresse: ValgfriTekst = None
    telefonnummer: list[Tekst] = []
    kontaktperson: ValgfriTekst = None
    administrativEnhet: ValgfriTekst = None
    saksbehandler: ValgfriTekst = None
    # Not an element: the caller marks the name as screened for the public journal.
    skjermetNavn: bool = False


class Avskrivning(NoarkModel):
    """How an incoming journalpost was closed (M617–M619, M215); journalpost only."""

    avskrivningsdato: date
    avskrevetAv: Tekst
    avskrivningsmaate: Tekst
    referanseAvskrivesAvJournalpost: Optional[SystemID] = None


class MetadataElement(NoarkModel):
    """One element of :class:`VirksomhetsspesifikkeMetadata`: text, or child elements."""

    navn: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")]
    tekst: ValgfriTekst = None
    barn: list["MetadataElement"] = []


class VirksomhetsspesifikkeMetadata(NoarkModel):
    """The organisation's own metadata (xs:anyType in the XSD): elements in one namespace of the
    caller's, which the caller documents. Elements without text and children are left out."""

    namespace: Tekst
    prefix: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")]
    elementer: Annotated[list[MetadataElement], Field(min_length=1)]


class Konvertering(NoarkModel):
    konvertertDato: datetime
    konvertertAv: Tekst
    konvertertFraFormat: Tekst
    konvertertTilFormat: Tekst
    konverteringsverktoey: ValgfriTekst = None
    konverteringskommentar: ValgfriTekst = None


class Dokumentfil(NoarkModel):
    """A document file the caller provides: ``data`` (bytes) or ``kilde`` (a file to copy).

    ``sti`` is the path below the package's ``DOKUMENT/`` folder, with ``/`` separators
    (e.g. ``2024/03/5d1c….pdf``); ``puid`` the PRONOM id, written to ``formatDetaljer``.
    """

    sti: Tekst
    data: Optional[bytes] = None
    kilde: Optional[Path] = None
    puid: ValgfriTekst = None

    @model_validator(mode="after")
    def _one_source(self) -> "Dokumentfil":
        if (self.data is None) == (self.kilde is None):
            raise ValueError("give exactly one of data (bytes) or kilde (a source path)")
        parts = self.sti.split("/")
        if self.sti.startswith("/") or "\\" in self.sti or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"sti must be a relative path without '..' or empty parts: {self.sti!r}")
        if "." not in parts[-1]:
            raise ValueError(f"sti needs a file extension (Arkade N5.29 compares it with format): {self.sti!r}")
        return self


# --- arkivstruktur entities --------------------------------------------------------------


class Dokumentobjekt(NoarkModel):
    """M-nr 700ff. Either give ``fil`` (the package builder stores it and fills ``format``,
    ``referanseDokumentfil``, ``sjekksum``, ``sjekksumAlgoritme`` and ``filstoerrelse``), or fill
    those yourself when the file is already in place."""

    systemID: SystemID
    versjonsnummer: int = 1
    variantformat: Tekst = "Arkivformat"
    format: ValgfriTekst = None
    formatDetaljer: ValgfriTekst = None
    opprettetDato: datetime
    opprettetAv: Tekst
    referanseDokumentfil: ValgfriTekst = None
    sjekksum: ValgfriTekst = None
    sjekksumAlgoritme: Tekst = "SHA-256"
    filstoerrelse: Optional[int] = Field(default=None, ge=0)
    konvertering: list[Konvertering] = []
    fil: Optional[Dokumentfil] = None


class Dokumentbeskrivelse(NoarkModel):
    systemID: SystemID
    dokumenttype: Tekst
    dokumentstatus: Tekst = "Dokumentet er ferdigstilt"
    tittel: Tekst
    beskrivelse: ValgfriTekst = None
    forfatter: list[Tekst] = []
    opprettetDato: datetime
    opprettetAv: Tekst
    dokumentmedium: ValgfriTekst = None
    referanseArkivdel: list[SystemID] = []
    tilknyttetRegistreringSom: Tekst = "Hoveddokument"
    dokumentnummer: int
    tilknyttetDato: datetime
    tilknyttetAv: Tekst
    part: list[Part] = []
    merknad: list[Merknad] = []
    kassasjon: Optional[Kassasjon] = None
    utfoertKassasjon: Optional[UtfoertKassasjon] = None
    skjerming: Optional[Skjerming] = None
    dokumentobjekt: list[Dokumentobjekt] = []


class Registrering(NoarkModel):
    """A registrering ("arkivert uten journalføring" when written as the plain base type)."""

    systemID: SystemID
    opprettetDato: datetime
    opprettetAv: Tekst
    arkivertDato: datetime
    arkivertAv: Tekst
    referanseArkivdel: list[SystemID] = []
    part: list[Part] = []
    kassasjon: Optional[Kassasjon] = None
    skjerming: Optional[Skjerming] = None
    dokumentbeskrivelse: list[Dokumentbeskrivelse] = []
    registreringsID: ValgfriTekst = None
    tittel: Tekst
    offentligTittel: ValgfriTekst = None
    beskrivelse: ValgfriTekst = None
    noekkelord: list[Tekst] = []
    forfatter: list[Tekst] = []
    dokumentmedium: ValgfriTekst = None
    oppbevaringssted: list[Tekst] = []
    virksomhetsspesifikkeMetadata: Optional[VirksomhetsspesifikkeMetadata] = None
    merknad: list[Merknad] = []
    korrespondansepart: list[Korrespondansepart] = []


class Arkivnotat(Registrering):
    dokumentetsDato: Optional[date] = None
    mottattDato: Optional[datetime] = None
    sendtDato: Optional[datetime] = None
    forfallsdato: Optional[date] = None
    offentlighetsvurdertDato: Optional[date] = None
    antallVedlegg: Optional[int] = None


class Journalpost(Registrering):
    journalaar: int
    journalsekvensnummer: int
    journalpostnummer: int
    journalposttype: Tekst
    journalstatus: Tekst = "Arkivert"
    journaldato: date
    dokumentetsDato: Optional[date] = None
    mottattDato: Optional[datetime] = None
    sendtDato: Optional[datetime] = None
    forfallsdato: Optional[date] = None
    offentlighetsvurdertDato: Optional[date] = None
    antallVedlegg: Optional[int] = None
    journalenhet: ValgfriTekst = None
    avskrivning: list[Avskrivning] = []


class Mappe(NoarkModel):
    """A mappe holds either sub-mapper (``mappe``) or ``registrering``s, never both (XSD choice)."""

    systemID: SystemID
    mappeID: Tekst
    tittel: Tekst
    offentligTittel: ValgfriTekst = None
    beskrivelse: ValgfriTekst = None
    noekkelord: list[Tekst] = []
    dokumentmedium: ValgfriTekst = None
    oppbevaringssted: list[Tekst] = []
    opprettetDato: datetime
    opprettetAv: Tekst
    avsluttetDato: datetime
    avsluttetAv: Tekst
    referanseArkivdel: list[SystemID] = []
    part: list[Part] = []
    merknad: list[Merknad] = []
    kassasjon: Optional[Kassasjon] = None
    skjerming: Optional[Skjerming] = None
    mappe: list["Mappe"] = []
    registrering: list[Registrering] = []

    @model_validator(mode="after")
    def _choice(self) -> "Mappe":
        if self.mappe and self.registrering:
            raise ValueError("a mappe holds either sub-mapper or registreringer, not both (XSD choice)")
        return self


class Saksmappe(Mappe):
    saksaar: int
    sakssekvensnummer: int
    saksdato: date
    administrativEnhet: Tekst
    saksansvarlig: Tekst
    journalenhet: ValgfriTekst = None
    saksstatus: Tekst = "Avsluttet"
    referanseSekundaerKlassifikasjon: list[SystemID] = []


class Klasse(NoarkModel):
    """Header of a klasse; its children (klasser, mapper or registreringer) are streamed."""

    systemID: SystemID
    klasseID: Tekst
    tittel: Tekst
    beskrivelse: ValgfriTekst = None
    noekkelord: list[Tekst] = []
    opprettetDato: datetime
    opprettetAv: Tekst
    avsluttetDato: Optional[datetime] = None
    avsluttetAv: ValgfriTekst = None
    kassasjon: Optional[Kassasjon] = None
    skjerming: Optional[Skjerming] = None


class Klassifikasjonssystem(NoarkModel):
    systemID: SystemID
    klassifikasjonstype: ValgfriTekst = None
    tittel: Tekst
    beskrivelse: ValgfriTekst = None
    opprettetDato: datetime
    opprettetAv: Tekst
    avsluttetDato: Optional[datetime] = None
    avsluttetAv: ValgfriTekst = None


class Arkivdel(NoarkModel):
    systemID: SystemID
    tittel: Tekst
    beskrivelse: ValgfriTekst = None
    arkivdelstatus: Tekst = "Avsluttet periode"
    dokumentmedium: ValgfriTekst = None
    oppbevaringssted: list[Tekst] = []
    opprettetDato: datetime
    opprettetAv: Tekst
    avsluttetDato: datetime
    avsluttetAv: Tekst
    arkivperiodeStartDato: Optional[date] = None
    arkivperiodeSluttDato: Optional[date] = None
    kassasjon: Optional[Kassasjon] = None
    skjerming: Optional[Skjerming] = None


class Arkiv(NoarkModel):
    systemID: SystemID
    tittel: Tekst
    beskrivelse: ValgfriTekst = None
    arkivstatus: ValgfriTekst = None
    dokumentmedium: ValgfriTekst = None
    oppbevaringssted: list[Tekst] = []
    opprettetDato: datetime
    opprettetAv: Tekst
    avsluttetDato: datetime
    avsluttetAv: Tekst
    arkivskaper: Annotated[list[Arkivskaper], Field(min_length=1)]


# --- endringslogg ------------------------------------------------------------------------


class Endring(NoarkModel):
    """One change in endringslogg.xml; ``referanseArkivenhet`` must be a systemID in arkivstruktur.

    ``tidligereVerdi`` cannot be empty in the XSD: a change from "no value" is given as ``None``
    or ``""`` and written as «NULL», as in Arkade's own test data.
    """

    referanseArkivenhet: SystemID
    referanseMetadata: Tekst
    endretDato: datetime
    endretAv: Tekst
    tidligereVerdi: Tekst
    nyVerdi: Tekst

    @field_validator("tidligereVerdi", mode="before")
    @classmethod
    def _null_for_no_value(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not has_content(clean_text(value))):
            return "NULL"
        return value


MetadataElement.model_rebuild()
Mappe.model_rebuild()
Saksmappe.model_rebuild()
