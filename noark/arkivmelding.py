"""KS Fiks Arkiv V2 messages: write and validate what a fagsystem sends to the archive system.

Four message types, each one XML payload validated against its shipped XSD
(``schemas/fiks-arkiv``, compiled offline by :mod:`noark.schemas`):

* ``arkivmelding.opprett`` — a journalpost, with its saksmappe when the case is new, else with a
  ``referanseForelderMappe`` (systemID + external key) to the saksmappe created before;
* ``arkivmelding.oppdater`` — a correction of exactly one journalpost or one saksmappe,
  addressed by ``referanseTilRegistrering`` / ``referanseTilMappe`` (systemID + external key);
  a cancelled journalpost gets journalstatus «U» (Utgår), the Noark way to take a journalført
  record out of the journal without deleting it;
* ``avskrivning.opprett`` — an inngående journalpost answered by an utgående one;
* ``dokumentobjekt.opprett`` — a new version of a document already delivered.

The receiver's replies (``arkivmelding.opprett.kvittering``, ``dokumentobjekt.opprett.kvittering``,
``feilmelding.ugyldigforespoersel`` / ``serverfeil`` / ``ikkefunnet``) are read by
:func:`read_receipt`.

Invariants: every writer returns bytes that are valid against the message type's XSD or raises
:class:`noark.errors.NoarkWriteError` (never an invalid payload); nothing here reads a clock —
every date is given by the caller, so the same input gives the same bytes. The library knows
nothing of social media or databases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from lxml import etree

from noark.errors import NoarkWriteError
from noark.schemas import FIKS_ARKIV_DIR, load_fiks_schema, secure_parser
from noark.text import clean_text, format_date, format_datetime

_BASE = "https://ks-no.github.io/standarder/fiks-protokoll/fiks-arkiv"
NS_OPPRETT = f"{_BASE}/arkivmelding/opprett/v2"
NS_OPPDATER = f"{_BASE}/arkivmelding/oppdater/v2"
NS_AVSKRIVNING = f"{_BASE}/avskrivning/opprett/v2"
NS_DOKUMENTOBJEKT = f"{_BASE}/dokumentobjekt/opprett/v2"
NS_KVITTERING = f"{_BASE}/arkivmelding/opprett/kvittering/v2"
NS_DOK_KVITTERING = f"{_BASE}/dokumentobjekt/opprett/kvittering/v2"
NS_FEIL = f"{_BASE}/feil/feilmelding/v2"
MDK = f"{_BASE}/metadatakatalog/v2"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

OPPRETT = "arkivmelding.opprett"
OPPDATER = "arkivmelding.oppdater"
AVSKRIVNING = "avskrivning.opprett"
DOKUMENTOBJEKT = "dokumentobjekt.opprett"
PROTOKOLL = "no.ks.fiks.arkiv.v2.arkivering."

# Sent message types: root element → (short type, XSD, payload file name from meldingstyper.json).
MESSAGE_TYPES: dict[str, tuple[str, str, str]] = {
    f"{{{NS_OPPRETT}}}arkivmelding": (OPPRETT, "no.ks.fiks.arkiv.v2.arkivering.arkivmelding.opprett.xsd", "arkivmelding.xml"),
    f"{{{NS_OPPDATER}}}arkivmeldingOppdatering": (OPPDATER, "no.ks.fiks.arkiv.v2.arkivering.arkivmelding.oppdater.xsd",
                                                  "arkivmelding.xml"),
    f"{{{NS_AVSKRIVNING}}}nyAvskrivning": (AVSKRIVNING, "no.ks.fiks.arkiv.v2.arkivering.avskrivning.opprett.xsd",
                                          "avskrivning-opprett.xml"),
    f"{{{NS_DOKUMENTOBJEKT}}}dokumentobjektOpprett": (DOKUMENTOBJEKT, "no.ks.fiks.arkiv.v2.arkivering.dokumentobjekt.opprett.xsd",
                                                      "dokumentobjekt-opprett.xml"),
}
PAYLOAD_FILE = {t: f for t, _x, f in MESSAGE_TYPES.values()}

# Replies: root element → XSD (None: the upstream XSD does not compile, see SOURCES.md).
RECEIPT_TYPES: dict[str, str | None] = {
    f"{{{NS_KVITTERING}}}arkivmeldingKvittering": "no.ks.fiks.arkiv.v2.arkivering.arkivmelding.opprett.kvittering.xsd",
    f"{{{NS_DOK_KVITTERING}}}dokumentobjektOpprettKvittering":
        "no.ks.fiks.arkiv.v2.arkivering.dokumentobjekt.opprett.kvittering.xsd",
    f"{{{_BASE}/feil/ugyldigforespoersel/v2}}ugyldigforespoersel": "no.ks.fiks.arkiv.v2.feilmelding.ugyldigforespoersel.xsd",
    f"{{{_BASE}/feil/serverfeil/v2}}serverfeil": "no.ks.fiks.arkiv.v2.feilmelding.serverfeil.xsd",
    f"{{{_BASE}/feil/ikkefunnet/v2}}ikkefunnet": None,
}

UNNTATT = ("13", "Unntatt offentlighet")
JOURNALFOERT = ("J", "Journalført")
UTGAAR = ("U", "Utgår")
ARKIVMERKNAD = ("MA", "Arkivmerknad")


# -- the content ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Noekkel:
    """An external key: the fagsystem and its own id of the object (``referanseEksternNoekkel``)."""

    fagsystem: str
    noekkel: str


@dataclass(frozen=True)
class Referanse:
    """How a message points at an object already sent: its systemID and its external key."""

    system_id: str
    noekkel: Noekkel | None = None


@dataclass
class Dokumentobjekt:
    system_id: str
    filnavn: str                 # the file's name inside the message folder
    format: tuple[str, str | None]
    format_detaljer: str | None
    mime: str | None
    sjekksum: str                # SHA-256, hex
    filstoerrelse: int
    versjonsnummer: int = 1
    opprettet: datetime | None = None
    opprettet_av: str | None = None
    variantformat: tuple[str, str | None] = ("A", "Arkivformat")


@dataclass
class Dokument:
    system_id: str
    tittel: str
    dokumenttype: tuple[str, str | None]
    hoveddokument: bool
    nummer: int
    objekt: Dokumentobjekt
    tilknyttet: datetime | None = None
    tilknyttet_av: str | None = None
    skjerming: "Skjerming | None" = None                                  # skjermingDokument
    varianter: list[Dokumentobjekt] = field(default_factory=list)        # e.g. the redacted variant (O)


@dataclass
class Korrespondansepart:
    part_id: str
    type: tuple[str, str | None]      # EA Avsender, EM Mottaker …
    navn: str
    skjermet: bool = False


@dataclass
class Merknad:
    tekst: str
    dato: datetime
    av: str
    type: tuple[str, str | None] = ARKIVMERKNAD
    merknad_id: str | None = None


@dataclass
class Skjerming:
    hjemmel: str
    tilgangsrestriksjon: tuple[str, str | None] = UNNTATT


@dataclass
class Saksmappe:
    system_id: str
    tittel: str
    noekkel: Noekkel
    opprettet: datetime
    opprettet_av: str
    saksdato: date
    administrativ_enhet: str
    saksansvarlig: str
    offentlig_tittel: str | None = None
    skjerming: Skjerming | None = None
    klassifikasjonssystem: str | None = None
    klasse_id: str | None = None
    klasse_tittel: str | None = None

    @property
    def ref(self) -> Referanse:
        return Referanse(self.system_id, self.noekkel)


@dataclass
class Journalpost:
    system_id: str
    tittel: str
    noekkel: Noekkel
    forelder: Referanse               # the saksmappe (in this message or sent before)
    journalposttype: tuple[str, str | None]
    opprettet: datetime
    opprettet_av: str
    arkivert: datetime
    arkivert_av: str
    journaldato: date
    dokumentets_dato: date
    offentlig_tittel: str | None = None
    mottatt: datetime | None = None
    sendt: datetime | None = None
    skjerming: Skjerming | None = None
    offentlighetsvurdert: date | None = None
    journalstatus: tuple[str, str | None] = JOURNALFOERT
    dokumenter: list[Dokument] = field(default_factory=list)
    parter: list[Korrespondansepart] = field(default_factory=list)
    merknader: list[Merknad] = field(default_factory=list)

    @property
    def ref(self) -> Referanse:
        return Referanse(self.system_id, self.noekkel)


@dataclass
class JournalpostEndring:
    """The corrected state of a journalpost already sent (every field sent again, so the
    receiver needs no earlier message to understand it)."""

    ref: Referanse
    tittel: str
    offentlig_tittel: str | None
    skjerming: Skjerming | None            # None: the skjerming is removed
    parter: list[Korrespondansepart]
    merknad: Merknad                       # what changed and why
    journalstatus: tuple[str, str | None] = JOURNALFOERT
    offentlighetsvurdert: date | None = None


@dataclass
class SaksmappeEndring:
    ref: Referanse
    tittel: str
    offentlig_tittel: str | None
    skjerming: Skjerming | None
    merknad: Merknad


# -- writing ----------------------------------------------------------------------------------------


class _X:
    """An element builder that never writes an empty element."""

    def __init__(self, el: etree._Element, ns: str):
        self.el = el
        self.ns = ns

    def leaf(self, name: str, value: Any, ns: str | None = None) -> None:
        if value is None:
            return
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, datetime):
            text = format_datetime(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
        elif isinstance(value, date):
            text = format_date(value)
        else:
            text = clean_text(str(value))
        if text.strip():
            etree.SubElement(self.el, f"{{{ns or self.ns}}}{name}").text = text

    def sub(self, name: str, *, ns: str | None = None, children: str | None = None, xsi_type: str | None = None) -> "_X":
        attrib = {f"{{{XSI}}}type": xsi_type} if xsi_type else {}
        return _X(etree.SubElement(self.el, f"{{{ns or self.ns}}}{name}", attrib), children or ns or self.ns)

    def kode(self, name: str, value: tuple[str, str | None]) -> None:
        k = self.sub(name, children=MDK)
        k.leaf("kode", value[0])
        k.leaf("beskrivelse", value[1])

    def noekkel(self, name: str, n: Noekkel | None) -> None:
        if n is None:
            return
        k = self.sub(name, children=MDK)
        k.leaf("fagsystem", n.fagsystem)
        k.leaf("noekkel", n.noekkel)

    def referanse(self, name: str, ref: Referanse) -> None:
        r = self.sub(name, children=MDK)
        r.leaf("systemID", ref.system_id)
        r.noekkel("referanseEksternNoekkel", ref.noekkel)


def _root(ns: str, name: str) -> etree._Element:
    nsmap = {None: ns, "n5mdk": MDK, "xsi": XSI}
    if ns in (NS_OPPDATER, NS_DOKUMENTOBJEKT):
        nsmap["arkivmelding"] = NS_OPPRETT        # merknad, dokumentobjekt: types of the opprett schema
    return etree.Element(f"{{{ns}}}{name}", nsmap=nsmap)


def _finish(root: etree._Element) -> bytes:
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    errors = validate_payload(data)[1]
    if errors:
        raise NoarkWriteError(f"the {MESSAGE_TYPES[root.tag][0]} message would not be valid: {errors[0]}")
    return data


def _skjerming(x: _X, s: Skjerming | None, name: str = "skjerming") -> None:
    if s is None:
        return
    el = x.sub(name)
    el.kode("tilgangsrestriksjon", s.tilgangsrestriksjon)
    el.leaf("skjermingshjemmel", s.hjemmel)


def _merknad(x: _X, m: Merknad, name: str = "merknad") -> None:
    el = x.sub(name, children=NS_OPPRETT)
    el.leaf("merknadID", m.merknad_id)
    el.leaf("merknadstekst", m.tekst)
    el.kode("merknadstype", m.type)
    el.leaf("merknadsdato", m.dato)
    el.leaf("merknadRegistrertAv", m.av)


def _dokumentobjekt(x: _X, o: Dokumentobjekt, name: str = "dokumentobjekt") -> None:
    el = x.sub(name, children=NS_OPPRETT)
    el.leaf("systemID", o.system_id)
    el.leaf("versjonsnummer", o.versjonsnummer)
    el.kode("variantformat", o.variantformat)
    el.kode("format", o.format)
    el.leaf("formatDetaljer", o.format_detaljer)
    el.leaf("mimeType", o.mime)
    el.leaf("opprettetDato", o.opprettet)
    el.leaf("opprettetAv", o.opprettet_av)
    el.leaf("filnavn", o.filnavn)
    el.leaf("referanseDokumentfil", o.filnavn)
    el.leaf("sjekksum", o.sjekksum)
    el.leaf("sjekksumAlgoritme", "SHA-256")
    el.leaf("filstoerrelse", o.filstoerrelse)


def _korrespondansepart(x: _X, p: Korrespondansepart, name: str = "korrespondansepart") -> None:
    el = x.sub(name, children=NS_OPPRETT)
    el.leaf("korrespondansepartID", p.part_id)
    el.kode("korrespondanseparttype", p.type)
    el.leaf("korrespondansepartNavn", p.navn)
    if p.skjermet:
        el.leaf("erSkjermet", True)


def opprett(system: str, jp: Journalpost, saksmappe: Saksmappe | None = None) -> bytes:
    """An ``arkivmelding.opprett``: the journalpost, with ``saksmappe`` when the case is new."""
    root = _root(NS_OPPRETT, "arkivmelding")
    x = _X(root, NS_OPPRETT)
    x.leaf("system", system)
    x.leaf("antallFiler", len(jp.dokumenter))
    if saksmappe is not None:
        if saksmappe.system_id != jp.forelder.system_id:
            raise NoarkWriteError(f"journalpost {jp.system_id} names saksmappe {jp.forelder.system_id}, "
                                  f"the message carries {saksmappe.system_id}")
        sm = saksmappe
        m = x.sub("mappe", xsi_type="saksmappe")
        m.leaf("systemID", sm.system_id)
        m.leaf("tittel", sm.tittel)
        m.leaf("offentligTittel", sm.offentlig_tittel)
        m.leaf("opprettetDato", sm.opprettet)
        m.leaf("opprettetAv", sm.opprettet_av)
        _skjerming(m, sm.skjerming)
        if sm.klasse_id:
            k = m.sub("klassifikasjon")
            k.leaf("klassifikasjonssystemID", sm.klassifikasjonssystem or "EMNE")
            k.leaf("klasseID", sm.klasse_id)
            k.leaf("tittel", sm.klasse_tittel)
        m.noekkel("referanseEksternNoekkel", sm.noekkel)
        m.leaf("saksdato", sm.saksdato)
        m.sub("administrativEnhet", children=MDK).leaf("navn", sm.administrativ_enhet)
        m.sub("saksansvarlig", children=MDK).leaf("navn", sm.saksansvarlig)
    r = x.sub("registrering", xsi_type="journalpost")
    r.leaf("systemID", jp.system_id)
    r.leaf("opprettetDato", jp.opprettet)
    r.leaf("opprettetAv", jp.opprettet_av)
    r.leaf("arkivertDato", jp.arkivert)
    r.leaf("arkivertAv", jp.arkivert_av)
    r.referanse("referanseForelderMappe", jp.forelder)
    _skjerming(r, jp.skjerming)
    for d in jp.dokumenter:
        el = r.sub("dokumentbeskrivelse")
        el.leaf("systemID", d.system_id)
        el.kode("dokumenttype", d.dokumenttype)
        el.kode("dokumentstatus", ("F", "Dokumentet er ferdigstilt"))
        el.leaf("tittel", d.tittel)
        el.kode("tilknyttetRegistreringSom", ("H", "Hoveddokument") if d.hoveddokument else ("V", "Vedlegg"))
        el.leaf("dokumentnummer", d.nummer)
        el.leaf("tilknyttetDato", d.tilknyttet)
        el.leaf("tilknyttetAv", d.tilknyttet_av)
        _skjerming(el, d.skjerming)
        _dokumentobjekt(el, d.objekt)
        for v in d.varianter:
            _dokumentobjekt(el, v)
    r.leaf("tittel", jp.tittel)
    r.leaf("offentligTittel", jp.offentlig_tittel)
    for mk in jp.merknader:
        _merknad(r, mk)
    for p in jp.parter:
        _korrespondansepart(r, p)
    r.noekkel("referanseEksternNoekkel", jp.noekkel)
    r.kode("journalposttype", jp.journalposttype)
    r.kode("journalstatus", jp.journalstatus)
    r.leaf("journaldato", jp.journaldato)
    r.leaf("dokumentetsDato", jp.dokumentets_dato)
    r.leaf("mottattDato", jp.mottatt)
    r.leaf("sendtDato", jp.sendt)
    r.leaf("offentlighetsvurdertDato", jp.offentlighetsvurdert)
    r.leaf("antallVedlegg", max(0, sum(1 for d in jp.dokumenter if not d.hoveddokument)))
    return _finish(root)


def _skjerming_oppdatering(x: _X, s: Skjerming | None, name: str) -> None:
    el = x.sub(name)
    if s is None:
        el.leaf("slett", True)
        return
    o = el.sub("oppdatering")
    o.kode("tilgangsrestriksjon", s.tilgangsrestriksjon)
    o.leaf("skjermingshjemmel", s.hjemmel)


def oppdater_journalpost(e: JournalpostEndring) -> bytes:
    """An ``arkivmelding.oppdater`` of one journalpost (``registreringOppdateringer``)."""
    root = _root(NS_OPPDATER, "arkivmeldingOppdatering")
    x = _X(root, NS_OPPDATER)
    r = x.sub("registreringOppdateringer", xsi_type="journalpostOppdatering")
    r.referanse("referanseTilRegistrering", e.ref)
    _skjerming_oppdatering(r, e.skjerming, "skjermingOppdateringer")
    r.leaf("tittel", e.tittel)
    r.leaf("offentligTittel", e.offentlig_tittel)
    r.sub("merknadOppdateringer").el.append(_merknad_el(e.merknad))
    if e.parter:
        kp = r.sub("korrespondansepartOppdateringer")
        for p in e.parter:
            el = kp.sub("oppdatering")
            el.leaf("korrespondansepartID", p.part_id)
            el.kode("korrespondanseparttype", p.type)
            el.leaf("korrespondansepartNavn", p.navn)
            el.leaf("erSkjermet", p.skjermet)
    r.noekkel("referanseEksternNoekkel", e.ref.noekkel)
    r.kode("journalstatus", e.journalstatus)
    r.leaf("offentlighetsvurdertDato", e.offentlighetsvurdert)
    return _finish(root)


def _merknad_el(m: Merknad) -> etree._Element:
    holder = etree.Element("holder")
    _merknad(_X(holder, NS_OPPDATER), m, "ny")
    return holder[0]


def oppdater_saksmappe(e: SaksmappeEndring) -> bytes:
    """An ``arkivmelding.oppdater`` of one saksmappe (``mappeOppdateringer``)."""
    root = _root(NS_OPPDATER, "arkivmeldingOppdatering")
    x = _X(root, NS_OPPDATER)
    m = x.sub("mappeOppdateringer", xsi_type="saksmappeOppdatering")
    m.referanse("referanseTilMappe", e.ref)
    m.leaf("tittel", e.tittel)
    m.leaf("offentligTittel", e.offentlig_tittel)
    m.sub("merknadOppdateringer").el.append(_merknad_el(e.merknad))
    _skjerming_oppdatering(m, e.skjerming, "skjermingOppdateringer")
    m.noekkel("referanseEksternNoekkel", e.ref.noekkel)
    return _finish(root)


def avskrivning_opprett(journalpost: Referanse, part_id: str, *, dato: date, av: str,
                        maate: tuple[str, str | None], avskrives_av: Referanse | None = None) -> bytes:
    """An ``avskrivning.opprett``: ``journalpost`` (its korrespondansepart ``part_id``) is answered."""
    root = _root(NS_AVSKRIVNING, "nyAvskrivning")
    x = _X(root, NS_AVSKRIVNING)
    a = x.sub("avskrivning")
    a.leaf("avskrivningsdato", dato)
    a.sub("avskrevetAv", children=MDK).leaf("navn", av)
    a.kode("avskrivningsmaate", maate)
    if avskrives_av is not None:
        a.referanse("referanseAvskrivesAvJournalpost", avskrives_av)
    x.referanse("referanseTilJournalpost", journalpost)
    x.leaf("korrespondansepartID", part_id)
    return _finish(root)


def dokumentobjekt_opprett(dokumentbeskrivelse: Referanse, objekt: Dokumentobjekt) -> bytes:
    """A ``dokumentobjekt.opprett``: a new version of a document already delivered."""
    root = _root(NS_DOKUMENTOBJEKT, "dokumentobjektOpprett")
    x = _X(root, NS_DOKUMENTOBJEKT)
    x.referanse("referanseTilDokumentbeskrivelse", dokumentbeskrivelse)
    _dokumentobjekt(x, objekt)
    return _finish(root)


# -- reading and validating ----------------------------------------------------------------------


class PayloadError(ValueError):
    """A payload that is not XML or not a Fiks Arkiv message this library knows."""


def parse_payload(data: bytes) -> etree._Element:
    """Parse without network, DTD or entity expansion; a document with a DOCTYPE is refused
    (no Fiks Arkiv message has one, and an unexpanded entity would reach the validator)."""
    try:
        root = etree.fromstring(data, secure_parser(FIKS_ARKIV_DIR))
    except etree.XMLSyntaxError as exc:
        raise PayloadError(f"not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise PayloadError("has a DOCTYPE, which no Fiks Arkiv message may carry — refused unread")
    return root


def validate_payload(data: bytes) -> tuple[str | None, list[str]]:
    """(message type, schema errors) of one sent payload; type None when the root is unknown."""
    try:
        root = parse_payload(data)
    except PayloadError as exc:
        return None, [str(exc)]
    spec = MESSAGE_TYPES.get(root.tag)
    if spec is None:
        return None, [f"root element {root.tag} is not a Fiks Arkiv message this program sends "
                      f"({', '.join(t for t, _x, _f in MESSAGE_TYPES.values())})"]
    schema = load_fiks_schema(spec[1])
    if schema.validate(root):
        return spec[0], []
    return spec[0], [f"line {e.line}: {e.message}" for e in schema.error_log]


def _ids(root: etree._Element, path: str) -> list[str]:
    return [t.strip() for t in root.xpath(path, namespaces={"o": NS_OPPRETT, "u": NS_OPPDATER, "a": NS_AVSKRIVNING,
                                                            "d": NS_DOKUMENTOBJEKT, "m": MDK}) if t and t.strip()]


@dataclass
class MessageKeys:
    """What one payload creates and what it refers to, by systemID."""

    type: str
    creates: list[tuple[str, str]] = field(default_factory=list)   # (journalpost|saksmappe|dokument, systemID)
    refers: list[tuple[str, str]] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)               # journalposts set to «Utgår»


def message_keys(data: bytes) -> MessageKeys:
    """The keys a (valid) payload creates and refers to, read from the XML itself."""
    root = parse_payload(data)
    spec = MESSAGE_TYPES.get(root.tag)
    if spec is None:
        raise PayloadError(f"root element {root.tag} is not a Fiks Arkiv message this program sends")
    k = MessageKeys(spec[0])
    if k.type == OPPRETT:
        for sid in _ids(root, "o:mappe/o:systemID/text()"):
            k.creates.append(("saksmappe", sid))
        for sid in _ids(root, "o:registrering/o:systemID/text()"):
            k.creates.append(("journalpost", sid))
        for sid in _ids(root, "o:registrering/o:dokumentbeskrivelse/o:systemID/text()"):
            k.creates.append(("dokument", sid))
        for sid in _ids(root, "o:registrering/o:referanseForelderMappe/m:systemID/text()"):
            k.refers.append(("saksmappe", sid))
    elif k.type == OPPDATER:
        for sid in _ids(root, "u:registreringOppdateringer/u:referanseTilRegistrering/m:systemID/text()"):
            k.refers.append(("journalpost", sid))
            if _ids(root, "u:registreringOppdateringer/u:journalstatus/m:kode[text()='U']/text()"):
                k.cancels.append(sid)
        for sid in _ids(root, "u:mappeOppdateringer/u:referanseTilMappe/m:systemID/text()"):
            k.refers.append(("saksmappe", sid))
    elif k.type == AVSKRIVNING:
        for sid in _ids(root, "a:referanseTilJournalpost/m:systemID/text()"):
            k.refers.append(("journalpost", sid))
        for sid in _ids(root, "a:avskrivning/a:referanseAvskrivesAvJournalpost/m:systemID/text()"):
            k.refers.append(("journalpost", sid))
    elif k.type == DOKUMENTOBJEKT:
        for sid in _ids(root, "d:referanseTilDokumentbeskrivelse/m:systemID/text()"):
            k.refers.append(("dokument", sid))
    return k


@dataclass
class Receipt:
    """One reply of the archive system."""

    kind: str                         # kvittering | feilmelding
    ok: bool
    system_ids: list[str]             # what the reply names (registrering, mappe, dokumentobjekt)
    detail: str                       # the feilmelding text, or what was confirmed


def read_receipt(data: bytes) -> Receipt:
    """Parse and validate one reply; :class:`PayloadError` when it is not a valid reply."""
    root = parse_payload(data)
    if root.tag not in RECEIPT_TYPES:
        raise PayloadError(f"root element {root.tag} is not a Fiks Arkiv kvittering or feilmelding")
    xsd = RECEIPT_TYPES[root.tag]
    if xsd is not None:
        schema = load_fiks_schema(xsd)
        if not schema.validate(root):
            e = schema.error_log[0]
            raise PayloadError(f"not valid against {xsd}: line {e.line}: {e.message}")
    else:
        # feilmelding.ikkefunnet: its upstream XSD imports the wrong namespace and cannot be
        # compiled; check the two fields of feilmeldingBase by hand.
        names = [etree.QName(c).localname for c in root if isinstance(c.tag, str)]
        if names != ["feilId", "feilmelding"]:
            raise PayloadError("an ikkefunnet reply must hold exactly feilId and feilmelding")
    local = etree.QName(root).localname
    if local == "arkivmeldingKvittering":
        ns = {"k": NS_KVITTERING}
        failed = root.xpath("k:mappeFeilet/*[local-name()='feilmelding']/text() | "
                            "k:registreringFeilet/*[local-name()='feilmelding']/text()", namespaces=ns)
        sids = [s.strip() for s in root.xpath("k:mappeKvittering/k:systemID/text() | "
                                              "k:registreringKvittering/k:systemID/text()", namespaces=ns)]
        if failed:
            return Receipt("kvittering", False, sids, "; ".join(t.strip() for t in failed))
        created = root.xpath("k:registreringKvittering/k:opprettetEllerEksisterende/text()", namespaces=ns)
        return Receipt("kvittering", True, sids, f"registrering {created[0] if created else 'mottatt'}")
    if local == "dokumentobjektOpprettKvittering":
        sids = [s.strip() for s in root.xpath("d:systemID/text()", namespaces={"d": NS_DOK_KVITTERING})]
        return Receipt("kvittering", True, sids, "dokumentobjekt opprettet")
    text = " ".join(t.strip() for t in root.xpath("*[local-name()='feilmelding']/text()"))
    feil_id = " ".join(t.strip() for t in root.xpath("*[local-name()='feilId']/text()"))
    return Receipt("feilmelding", False, [], f"{local} {feil_id}: {text}".strip())


def validate_file(path: str | Path) -> tuple[str | None, list[str]]:
    """(message type, schema errors) of one payload file."""
    return validate_payload(Path(path).read_bytes())
