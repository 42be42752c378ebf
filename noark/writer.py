"""Streaming writer of arkivstruktur.xml on ``lxml.etree.xmlfile``.

The caller opens the containers (arkiv → arkivdel → klassifikasjonssystem → klasse) as context
managers and feeds complete mapper (or registreringer) one at a time; each is written and
forgotten, so memory stays flat however many registreringer the extract has::

    with ArkivstrukturWriter(path) as w, w.arkiv(arkiv), w.arkivdel(arkivdel):
        with w.klassifikasjonssystem(ks), w.klasse(klasse):
            for mappe in mapper:          # a generator
                w.mappe(mappe)

Every element is emitted in the XSD sequence order (the ``_SPEC`` tables mirror
arkivstruktur.xsd v5.0), subtypes as the base element with ``xsi:type``, and no element without
content: ``None``, ``[]`` and blank strings are left out, a blank mandatory value raises
:class:`NoarkWriteError`. Every string passes :func:`noark.text.format_value`, the one place that
makes text XML-safe.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Optional

from lxml import etree

from noark.errors import NoarkWriteError
from noark.models import (
    Arkiv,
    Arkivdel,
    Arkivnotat,
    Dokumentbeskrivelse,
    Dokumentobjekt,
    Journalpost,
    Klasse,
    Klassifikasjonssystem,
    Mappe,
    Registrering,
    Saksmappe,
)
from noark.namespaces import ARKIVSTRUKTUR, XSI, XSI_TYPE
from noark.text import clean_text, format_date, format_datetime, format_value

_NS = "{%s}" % ARKIVSTRUKTUR


class _Tags(dict):
    """Clark names in the arkivstruktur namespace, built once per element name."""

    def __missing__(self, key: str) -> str:
        value = _NS + key
        self[key] = value
        return value


TAG = _Tags()

# Fast paths of format_value by exact type (bool is not int here: it falls back to format_value).
_FORMAT = {str: clean_text, int: str, datetime: format_datetime}

# (element, required, kind): kind None = simple value (or list of them); otherwise the name of
# the method writing the complex child. Order = arkivstruktur.xsd v5.0 sequence.
_SKJERMING = [
    ("tilgangsrestriksjon", True, None),
    ("skjermingshjemmel", True, None),
    ("skjermingMetadata", True, None),
    ("skjermingDokument", False, None),
    ("skjermingsvarighet", False, None),
    ("skjermingOpphoererDato", False, "date"),
]
_KASSASJON = [
    ("kassasjonsvedtak", True, None),
    ("kassasjonshjemmel", False, None),
    ("bevaringstid", True, None),
    ("kassasjonsdato", True, "date"),
]
_UTFOERT_KASSASJON = [("kassertDato", True, None), ("kassertAv", True, None)]
_MERKNAD = [
    ("merknadstekst", True, None),
    ("merknadstype", False, None),
    ("merknadsdato", True, None),
    ("merknadRegistrertAv", True, None),
]
_PART = [
    ("partID", False, None),
    ("partNavn", True, None),
    ("partRolle", True, None),
    ("postadresse", False, None),
    ("postnummer", False, None),
    ("poststed", False, None),
    ("land", False, None),
    ("epostadresse", False, None),
    ("telefonnummer", False, None),
    ("kontaktperson", False, None),
]
_KORRESPONDANSEPART = [
    ("korrespondanseparttype", True, None),
    ("korrespondansepartNavn", True, None),
    ("postadresse", False, None),
    ("postnummer", False, None),
    ("poststed", False, None),
    ("land", False, None),
    ("epostadresse", False, None),
    ("telefonnummer", False, None),
    ("kontaktperson", False, None),
    ("administrativEnhet", False, None),
    ("saksbehandler", False, None),
]
_KONVERTERING = [
    ("konvertertDato", True, None),
    ("konvertertAv", True, None),
    ("konvertertFraFormat", True, None),
    ("konvertertTilFormat", True, None),
    ("konverteringsverktoey", False, None),
    ("konverteringskommentar", False, None),
]
_AVSKRIVNING = [
    ("avskrivningsdato", True, "date"),
    ("avskrevetAv", True, None),
    ("avskrivningsmaate", True, None),
    ("referanseAvskrivesAvJournalpost", False, None),
]
_ARKIVSKAPER = [("arkivskaperID", True, None), ("arkivskaperNavn", True, None), ("beskrivelse", False, None)]

_SUB = {
    "skjerming": _SKJERMING,
    "kassasjon": _KASSASJON,
    "utfoertKassasjon": _UTFOERT_KASSASJON,
    "merknad": _MERKNAD,
    "part": _PART,
    "korrespondansepart": _KORRESPONDANSEPART,
    "konvertering": _KONVERTERING,
    "arkivskaper": _ARKIVSKAPER,
    "avskrivning": _AVSKRIVNING,
}
VSM = "vsm"  # kind: virksomhetsspesifikkeMetadata, elements in the caller's namespace
SUB = "sub"  # kind: a complex child written from _SUB[element]

_ARKIV = [
    ("systemID", True, None),
    ("tittel", True, None),
    ("beskrivelse", False, None),
    ("arkivstatus", False, None),
    ("dokumentmedium", False, None),
    ("oppbevaringssted", False, None),
    ("opprettetDato", True, None),
    ("opprettetAv", True, None),
    ("avsluttetDato", True, None),
    ("avsluttetAv", True, None),
    ("arkivskaper", True, SUB),
]
_ARKIVDEL = [
    ("systemID", True, None),
    ("tittel", True, None),
    ("beskrivelse", False, None),
    ("arkivdelstatus", True, None),
    ("dokumentmedium", False, None),
    ("oppbevaringssted", False, None),
    ("opprettetDato", True, None),
    ("opprettetAv", True, None),
    ("avsluttetDato", True, None),
    ("avsluttetAv", True, None),
    ("arkivperiodeStartDato", False, "date"),
    ("arkivperiodeSluttDato", False, "date"),
    ("kassasjon", False, SUB),
    ("skjerming", False, SUB),
]
_KLASSIFIKASJONSSYSTEM = [
    ("systemID", True, None),
    ("klassifikasjonstype", False, None),
    ("tittel", True, None),
    ("beskrivelse", False, None),
    ("opprettetDato", True, None),
    ("opprettetAv", True, None),
    ("avsluttetDato", False, None),
    ("avsluttetAv", False, None),
]
_KLASSE = [
    ("systemID", True, None),
    ("klasseID", True, None),
    ("tittel", True, None),
    ("beskrivelse", False, None),
    ("noekkelord", False, None),
    ("opprettetDato", True, None),
    ("opprettetAv", True, None),
    ("avsluttetDato", False, None),
    ("avsluttetAv", False, None),
    ("kassasjon", False, SUB),
    ("skjerming", False, SUB),
]
_MAPPE = [
    ("systemID", True, None),
    ("mappeID", True, None),
    ("tittel", True, None),
    ("offentligTittel", False, None),
    ("beskrivelse", False, None),
    ("noekkelord", False, None),
    ("dokumentmedium", False, None),
    ("oppbevaringssted", False, None),
    ("opprettetDato", True, None),
    ("opprettetAv", True, None),
    ("avsluttetDato", True, None),
    ("avsluttetAv", True, None),
    ("referanseArkivdel", False, None),
    ("part", False, SUB),
    ("merknad", False, SUB),
    ("kassasjon", False, SUB),
    ("skjerming", False, SUB),
]
# after the mappe's children (saksmappe extends mappe: its elements follow the whole base sequence)
_SAKSMAPPE = [
    ("saksaar", True, None),
    ("sakssekvensnummer", True, None),
    ("saksdato", True, "date"),
    ("administrativEnhet", True, None),
    ("saksansvarlig", True, None),
    ("journalenhet", False, None),
    ("saksstatus", True, None),
    ("referanseSekundaerKlassifikasjon", False, None),
]
_REGISTRERING_HEAD = [
    ("systemID", True, None),
    ("opprettetDato", True, None),
    ("opprettetAv", True, None),
    ("arkivertDato", True, None),
    ("arkivertAv", True, None),
    ("referanseArkivdel", False, None),
    ("part", False, SUB),
    ("kassasjon", False, SUB),
    ("skjerming", False, SUB),
]
# dokumentbeskrivelse comes here: before registreringsID and tittel
_REGISTRERING_TAIL = [
    ("registreringsID", False, None),
    ("tittel", True, None),
    ("offentligTittel", False, None),
    ("beskrivelse", False, None),
    ("noekkelord", False, None),
    ("forfatter", False, None),
    ("dokumentmedium", False, None),
    ("oppbevaringssted", False, None),
    ("virksomhetsspesifikkeMetadata", False, VSM),
    ("merknad", False, SUB),
    ("korrespondansepart", False, SUB),
]
_JOURNALPOST = [
    ("journalaar", True, None),
    ("journalsekvensnummer", True, None),
    ("journalpostnummer", True, None),
    ("journalposttype", True, None),
    ("journalstatus", True, None),
    ("journaldato", True, "date"),
    ("dokumentetsDato", False, "date"),
    ("mottattDato", False, None),
    ("sendtDato", False, None),
    ("forfallsdato", False, "date"),
    ("offentlighetsvurdertDato", False, "date"),
    ("antallVedlegg", False, None),
    ("journalenhet", False, None),
    ("avskrivning", False, SUB),
]
_ARKIVNOTAT = [
    ("dokumentetsDato", False, "date"),
    ("mottattDato", False, None),
    ("sendtDato", False, None),
    ("forfallsdato", False, "date"),
    ("offentlighetsvurdertDato", False, "date"),
    ("antallVedlegg", False, None),
]
_DOKUMENTBESKRIVELSE_HEAD = [
    ("systemID", True, None),
    ("dokumenttype", True, None),
    ("dokumentstatus", True, None),
    ("tittel", True, None),
    ("beskrivelse", False, None),
    ("forfatter", False, None),
    ("opprettetDato", True, None),
    ("opprettetAv", True, None),
    ("dokumentmedium", False, None),
    ("referanseArkivdel", False, None),
    ("tilknyttetRegistreringSom", True, None),
    ("dokumentnummer", True, None),
    ("tilknyttetDato", True, None),
    ("tilknyttetAv", True, None),
    ("part", False, SUB),
    ("merknad", False, SUB),
    ("kassasjon", False, SUB),
    ("utfoertKassasjon", False, SUB),
    ("skjerming", False, SUB),
]
_DOKUMENTOBJEKT = [
    ("systemID", True, None),
    ("versjonsnummer", True, None),
    ("variantformat", True, None),
    ("format", True, None),
    ("formatDetaljer", False, None),
    ("opprettetDato", True, None),
    ("opprettetAv", True, None),
    ("referanseDokumentfil", True, None),
    ("sjekksum", True, None),
    ("sjekksumAlgoritme", True, None),
    ("filstoerrelse", True, None),
    ("konvertering", False, SUB),
]


@dataclass
class ArkivstrukturStatistikk:
    """What was written: the counts arkivuttrekk.xml and the Arkade controls need."""

    mapper: int = 0
    registreringer: int = 0
    journalposter: int = 0
    dokumentbeskrivelser: int = 0
    dokumentobjekter: int = 0
    skjerminger: int = 0
    kassasjoner: int = 0
    utfoerte_kassasjoner: int = 0
    # first/last registrering opprettetDato (xs:date lexical form), Arkade N5.60
    foerste_registrering: Optional[str] = None
    siste_registrering: Optional[str] = None
    system_ids: int = 0


JournalpostHook = Callable[[Journalpost, Mappe | None, Klasse | None], None]
DokumentobjektHook = Callable[[Dokumentobjekt], Dokumentobjekt]


@dataclass
class _Frame:
    kind: str
    allowed: tuple[str, ...]
    child: Optional[str] = None
    children: int = 0
    header: object = None
    extra: dict = field(default_factory=dict)


_ALLOWED = {
    "document": ("arkiv",),
    "arkiv": ("arkivdel",),
    "arkivdel": ("klassifikasjonssystem", "mappe", "registrering"),
    "klassifikasjonssystem": ("klasse",),
    "klasse": ("klasse", "mappe", "registrering"),
}


class ArkivstrukturWriter:
    """Write arkivstruktur.xml incrementally. See the module docstring for the calling pattern.

    ``on_journalpost(journalpost, mappe, klasse)`` is called after each journalpost is written
    (the package builder feeds the journals from it); ``prepare_dokumentobjekt(dokumentobjekt)``
    may return a completed copy (file stored, checksum filled) before it is written.
    """

    def __init__(
        self,
        target: Path | str | BinaryIO,
        *,
        on_journalpost: Optional[JournalpostHook] = None,
        prepare_dokumentobjekt: Optional[DokumentobjektHook] = None,
    ):
        self._target = target
        self._on_journalpost = on_journalpost
        self._prepare = prepare_dokumentobjekt
        self.statistikk = ArkivstrukturStatistikk()
        self._stack: list[_Frame] = []
        self._exit = contextlib.ExitStack()
        self._xf = None
        self._klasse: Optional[Klasse] = None

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> "ArkivstrukturWriter":
        if isinstance(self._target, (str, Path)):
            out = self._exit.enter_context(open(self._target, "wb"))
        else:
            out = self._target
        self._xf = self._exit.enter_context(etree.xmlfile(out, encoding="utf-8", buffered=True))
        self._xf.write_declaration()
        self._stack.append(_Frame("document", _ALLOWED["document"]))
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                if self.statistikk.system_ids == 0 or self._stack[-1].children != 1:
                    raise NoarkWriteError("arkivstruktur.xml needs exactly one arkiv element")
        finally:
            self._exit.__exit__(exc_type, exc, tb)

    # -- containers ---------------------------------------------------------------------

    def _open_child(self, kind: str) -> _Frame:
        parent = self._stack[-1]
        if kind not in parent.allowed:
            raise NoarkWriteError(f"{kind} cannot be placed in {parent.kind}")
        if parent.child is not None and parent.child != kind:
            raise NoarkWriteError(
                f"{parent.kind} already holds {parent.child}; the XSD allows only one kind of child "
                f"({' | '.join(parent.allowed)}), so {kind} cannot follow"
            )
        parent.child = kind
        parent.children += 1
        return parent

    @contextlib.contextmanager
    def _container(self, kind: str, obj, spec, attrs=None) -> Iterator[None]:
        if self._open_child(kind).kind != "document":
            self._xf.write("\n")
        with self._xf.element(TAG[kind], attrs or {}, nsmap={None: ARKIVSTRUKTUR, "xsi": XSI} if kind == "arkiv" else None):
            self._fields(kind, obj, spec)
            frame = _Frame(kind, _ALLOWED[kind], header=obj)
            self._stack.append(frame)
            try:
                yield
            finally:
                self._stack.pop()
            if kind == "arkiv" and frame.children == 0:
                raise NoarkWriteError("an arkiv needs at least one arkivdel")
            if kind == "klassifikasjonssystem" and frame.children == 0:
                raise NoarkWriteError(f"klassifikasjonssystem {obj.systemID} needs at least one klasse")
            self._xf.write("\n")

    def arkiv(self, arkiv: Arkiv):
        return self._container("arkiv", arkiv, _ARKIV)

    def arkivdel(self, arkivdel: Arkivdel):
        return self._container("arkivdel", arkivdel, _ARKIVDEL)

    def klassifikasjonssystem(self, system: Klassifikasjonssystem):
        return self._container("klassifikasjonssystem", system, _KLASSIFIKASJONSSYSTEM)

    @contextlib.contextmanager
    def klasse(self, klasse: Klasse) -> Iterator[None]:
        outer = self._klasse
        self._klasse = klasse
        try:
            with self._container("klasse", klasse, _KLASSE):
                yield
        finally:
            self._klasse = outer

    # -- entities -----------------------------------------------------------------------

    def mappe(self, mappe: Mappe) -> None:
        """Write one complete mappe (with its sub-mapper and registreringer)."""
        self._open_child("mappe")
        self._mappe(mappe)

    def registrering(self, registrering: Registrering) -> None:
        """Write one registrering directly under the current arkivdel or klasse."""
        self._open_child("registrering")
        self._registrering(registrering, None)

    def _mappe(self, mappe: Mappe) -> None:
        xf = self._xf
        stats = self.statistikk
        stats.mapper += 1
        attrs = {XSI_TYPE: "saksmappe"} if isinstance(mappe, Saksmappe) else {}
        xf.write("\n")
        with xf.element(TAG["mappe"], attrs):
            self._fields("mappe", mappe, _MAPPE)
            for child in mappe.mappe:
                self._mappe(child)
            for registrering in mappe.registrering:
                self._registrering(registrering, mappe)
            if attrs:
                self._fields("saksmappe", mappe, _SAKSMAPPE)

    def _registrering(self, reg: Registrering, mappe: Optional[Mappe]) -> None:
        xf = self._xf
        stats = self.statistikk
        stats.registreringer += 1
        day = format_date(reg.opprettetDato) if reg.opprettetDato.tzinfo is None else format_value(reg.opprettetDato)[:10]
        if stats.foerste_registrering is None or day < stats.foerste_registrering:
            stats.foerste_registrering = day
        if stats.siste_registrering is None or day > stats.siste_registrering:
            stats.siste_registrering = day
        if isinstance(reg, Journalpost):
            attrs = {XSI_TYPE: "journalpost"}
        elif isinstance(reg, Arkivnotat):
            attrs = {XSI_TYPE: "arkivnotat"}
        else:
            attrs = {}
        xf.write("\n")
        with xf.element(TAG["registrering"], attrs):
            self._fields("registrering", reg, _REGISTRERING_HEAD)
            for beskrivelse in reg.dokumentbeskrivelse:
                self._dokumentbeskrivelse(beskrivelse)
            self._fields("registrering", reg, _REGISTRERING_TAIL)
            if isinstance(reg, Journalpost):
                stats.journalposter += 1
                self._fields("journalpost", reg, _JOURNALPOST)
            elif isinstance(reg, Arkivnotat):
                self._fields("arkivnotat", reg, _ARKIVNOTAT)
        if isinstance(reg, Journalpost) and self._on_journalpost is not None:
            self._on_journalpost(reg, mappe, self._klasse)

    def _dokumentbeskrivelse(self, beskrivelse: Dokumentbeskrivelse) -> None:
        self.statistikk.dokumentbeskrivelser += 1
        with self._xf.element(TAG["dokumentbeskrivelse"]):
            self._fields("dokumentbeskrivelse", beskrivelse, _DOKUMENTBESKRIVELSE_HEAD)
            for objekt in beskrivelse.dokumentobjekt:
                if self._prepare is not None:
                    objekt = self._prepare(objekt)
                self.statistikk.dokumentobjekter += 1
                with self._xf.element(TAG["dokumentobjekt"]):
                    self._fields("dokumentobjekt", objekt, _DOKUMENTOBJEKT)

    # -- fields -------------------------------------------------------------------------

    def _fields(self, entity: str, obj, spec) -> None:
        element = self._xf.element
        write = self._xf.write
        for name, required, kind in spec:
            value = getattr(obj, name)
            if value is None or value == []:
                if required:
                    raise NoarkWriteError(f"{entity} {getattr(obj, 'systemID', '')}: {name} is required")
                continue
            if kind == SUB:
                self._complex(name, value)
                continue
            if kind == VSM:
                self._virksomhetsspesifikke(value)
                continue
            if name == "systemID":
                self.statistikk.system_ids += 1
            for item in value if value.__class__ is list else (value,):
                text = format_date(item) if kind == "date" else _FORMAT.get(item.__class__, format_value)(item)
                if not text or text.isspace():
                    if required:
                        raise NoarkWriteError(f"{entity} {getattr(obj, 'systemID', '')}: {name} has no content")
                    continue
                with element(TAG[name]):
                    write(text)

    def _virksomhetsspesifikke(self, vsm) -> None:
        ns = "{%s}" % vsm.namespace

        def emit(el) -> None:
            text = clean_text(el.tekst) if el.tekst else ""
            if not el.barn and not text.strip():
                return
            with self._xf.element(ns + el.navn):
                if el.barn:
                    for child in el.barn:
                        emit(child)
                else:
                    self._xf.write(text)

        if not any(e.barn or (e.tekst or "").strip() for e in vsm.elementer):
            return
        with self._xf.element(TAG["virksomhetsspesifikkeMetadata"], nsmap={vsm.prefix: vsm.namespace}):
            for el in vsm.elementer:
                emit(el)

    def _complex(self, name: str, value) -> None:
        if name == "skjerming":
            self.statistikk.skjerminger += 1
        elif name == "kassasjon":
            self.statistikk.kassasjoner += 1
        elif name == "utfoertKassasjon":
            self.statistikk.utfoerte_kassasjoner += 1
        sub = _SUB[name]
        for item in value if value.__class__ is list else (value,):
            with self._xf.element(TAG[name]):
                self._fields(name, item, sub)
