"""loependeJournal.xml and offentligJournal.xml.

Both journals list the same journalposts (only journalposts), sorted by journalår and
sekvensnummer. Entries arrive in export order, so they are spooled to a temporary SQLite file and
read back sorted: memory stays flat for any number of journalposts. In the public journal, a
screened title is replaced by ``offentligTittel`` (the title with the screened words masked, made by
the caller) and only when none is given masked whole with asterisks; a screened korrespondansepart
name is masked. A screened journalpost carries its legal ground in both journals
(``tilgangsrestriksjon`` and ``skjermingshjemmel``), so a reader of the public journal sees why
``******`` stands there. Only elements present in both the 2019 and the 2023 text of the v5.0
schemas are written, so the files validate against Arkade's built-in copy too (the saksmappe's
tilgangsrestriksjon/skjermingshjemmel in offentligJournal came in 2023 and are not written).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator, Optional

from lxml import etree
from pydantic import field_validator

from noark.errors import NoarkWriteError
from noark.models import Arkivskaper, Journalpost, Klasse, Mappe, NoarkModel, Saksmappe, Tekst, ValgfriTekst
from noark.namespaces import (
    LOEPENDE_JOURNAL,
    LOEPENDE_JOURNAL_XML,
    OFFENTLIG_JOURNAL,
    OFFENTLIG_JOURNAL_XML,
    XSI,
)
from noark.text import clean_text, format_date, format_value

MASK = "******"


class JournalKorrespondansepart(NoarkModel):
    korrespondanseparttype: Tekst
    korrespondansepartNavn: Tekst
    skjermet: bool = False

    @field_validator("korrespondanseparttype", "korrespondansepartNavn", mode="after")
    @classmethod
    def _xml_safe(cls, value: str) -> str:
        return clean_text(value)


class JournalEntry(NoarkModel):
    """One journalregistrering: the klasse, saksmappe and journalpost facts both journals need."""

    klasseID: ValgfriTekst = None
    klasseTittel: ValgfriTekst = None
    saksaar: int
    sakssekvensnummer: int
    saksTittel: Tekst
    saksOffentligTittel: ValgfriTekst = None
    saksTittelSkjermet: bool = False
    systemID: Tekst
    journalaar: int
    journalsekvensnummer: int
    journalpostnummer: int
    tittel: Tekst
    offentligTittel: ValgfriTekst = None
    tittelSkjermet: bool = False
    skjermingMetadata: ValgfriTekst = None
    tilgangsrestriksjon: ValgfriTekst = None
    skjermingshjemmel: ValgfriTekst = None
    journaldato: date
    dokumentetsDato: Optional[date] = None
    korrespondansepart: list[JournalKorrespondansepart]

    @field_validator("*", mode="after")
    @classmethod
    def _xml_safe(cls, value):
        # The spool stores entries as JSON, which cannot carry lone surrogates: clean here,
        # with the same function the writers use.
        return clean_text(value) if isinstance(value, str) else value

    @classmethod
    def from_journalpost(cls, journalpost: Journalpost, mappe: Optional[Mappe], klasse: Optional[Klasse]) -> "JournalEntry":
        if not isinstance(mappe, Saksmappe):
            raise NoarkWriteError(
                f"journalpost {journalpost.systemID}: the journals need its saksmappe (saksår and "
                "sakssekvensnummer); place journalposts in a Saksmappe"
            )
        if not journalpost.korrespondansepart:
            raise NoarkWriteError(
                f"journalpost {journalpost.systemID}: the journals need at least one korrespondansepart"
            )
        skjerming = journalpost.skjerming
        return cls(
            klasseID=klasse.klasseID if klasse else None,
            klasseTittel=klasse.tittel if klasse else None,
            saksaar=mappe.saksaar,
            sakssekvensnummer=mappe.sakssekvensnummer,
            saksTittel=mappe.tittel,
            saksOffentligTittel=mappe.offentligTittel,
            saksTittelSkjermet=bool(mappe.skjerming and mappe.skjerming.skjermer_tittel()),
            systemID=journalpost.systemID,
            journalaar=journalpost.journalaar,
            journalsekvensnummer=journalpost.journalsekvensnummer,
            journalpostnummer=journalpost.journalpostnummer,
            tittel=journalpost.tittel,
            offentligTittel=journalpost.offentligTittel,
            tittelSkjermet=bool(skjerming and skjerming.skjermer_tittel()),
            skjermingMetadata=skjerming.skjermingMetadata[0] if skjerming else None,
            tilgangsrestriksjon=skjerming.tilgangsrestriksjon if skjerming else None,
            skjermingshjemmel=skjerming.skjermingshjemmel if skjerming else None,
            journaldato=journalpost.journaldato,
            dokumentetsDato=journalpost.dokumentetsDato,
            korrespondansepart=[
                JournalKorrespondansepart(
                    korrespondanseparttype=k.korrespondanseparttype,
                    korrespondansepartNavn=k.korrespondansepartNavn,
                    skjermet=k.skjermetNavn or bool(skjerming and skjerming.skjermer_navn(k.korrespondanseparttype)),
                )
                for k in journalpost.korrespondansepart
            ],
        )

    def offentlig_tittel(self) -> str:
        if self.offentligTittel:
            return self.offentligTittel
        return MASK if self.tittelSkjermet else self.tittel

    def offentlig_saks_tittel(self) -> str:
        if self.saksOffentligTittel:
            return self.saksOffentligTittel
        return MASK if self.saksTittelSkjermet else self.saksTittel


class JournalSpool:
    """Collect journal entries in any order; read them back sorted by journalår + sekvensnummer."""

    def __init__(self) -> None:
        fd, self._path = tempfile.mkstemp(prefix="noark-journal-", suffix=".sqlite")
        os.close(fd)
        self._db = sqlite3.connect(self._path)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE entry (aar INTEGER, seq INTEGER, data TEXT)")
        self._batch: list[tuple[int, int, str]] = []
        self.antall = 0
        self.foerste: Optional[date] = None
        self.siste: Optional[date] = None

    def add(self, entry: JournalEntry) -> None:
        self._batch.append((entry.journalaar, entry.journalsekvensnummer, entry.model_dump_json()))
        self.antall += 1
        if self.foerste is None or entry.journaldato < self.foerste:
            self.foerste = entry.journaldato
        if self.siste is None or entry.journaldato > self.siste:
            self.siste = entry.journaldato
        if len(self._batch) >= 2000:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self._db.executemany("INSERT INTO entry VALUES (?, ?, ?)", self._batch)
            self._batch.clear()

    def sorted_entries(self) -> Iterator[JournalEntry]:
        self._flush()
        for (data,) in self._db.execute("SELECT data FROM entry ORDER BY aar, seq, rowid"):
            yield JournalEntry.model_validate_json(data)

    def close(self) -> None:
        self._db.close()
        try:
            os.unlink(self._path)
        except FileNotFoundError:
            pass


def _leaf(xf, tag: str, value) -> None:
    if value is None:
        return
    text = format_date(value) if isinstance(value, date) else format_value(value)
    if not text.strip():
        return
    with xf.element(tag):
        xf.write(text)


def write_journals(
    directory: Path | str,
    entries: Iterable[JournalEntry] | JournalSpool,
    arkivskaper: list[Arkivskaper],
    *,
    journalStartDato: Optional[date] = None,
    journalSluttDato: Optional[date] = None,
    seleksjon: Optional[str] = None,
) -> int:
    """Write loependeJournal.xml and offentligJournal.xml into ``directory``; return the count.

    Start/end dates default to the first and last journaldato. Raises NoarkWriteError when there
    is no journalpost (the XSD requires at least one journalregistrering).
    """
    own = not isinstance(entries, JournalSpool)
    spool = JournalSpool() if own else entries
    try:
        if own:
            for entry in entries:
                spool.add(entry)
        if spool.antall == 0:
            raise NoarkWriteError("the journals need at least one journalpost")
        start = journalStartDato or spool.foerste
        slutt = journalSluttDato or spool.siste
        directory = Path(directory)
        L = "{%s}" % LOEPENDE_JOURNAL
        O = "{%s}" % OFFENTLIG_JOURNAL
        with open(directory / LOEPENDE_JOURNAL_XML, "wb") as lf, open(directory / OFFENTLIG_JOURNAL_XML, "wb") as of, \
                etree.xmlfile(lf, encoding="utf-8") as lx, etree.xmlfile(of, encoding="utf-8") as ox:
            lx.write_declaration()
            ox.write_declaration()
            with lx.element(L + "loependeJournal", nsmap={None: LOEPENDE_JOURNAL, "xsi": XSI}), \
                    ox.element(O + "offentligJournal", nsmap={None: OFFENTLIG_JOURNAL, "xsi": XSI}):
                for xf, N in ((lx, L), (ox, O)):
                    xf.write("\n")
                    with xf.element(N + "journalhode"):
                        _leaf(xf, N + "journalStartDato", start)
                        _leaf(xf, N + "journalSluttDato", slutt)
                        _leaf(xf, N + "seleksjon", seleksjon)
                        _leaf(xf, N + "antallJournalposter", spool.antall)
                        for skaper in arkivskaper:
                            with xf.element(N + "arkivskaper"):
                                _leaf(xf, N + "arkivskaperID", skaper.arkivskaperID)
                                _leaf(xf, N + "arkivskaperNavn", skaper.arkivskaperNavn)
                                _leaf(xf, N + "beskrivelse", skaper.beskrivelse)
                for e in spool.sorted_entries():
                    _loepende(lx, L, e)
                    _offentlig(ox, O, e)
                lx.write("\n")
                ox.write("\n")
        return spool.antall
    finally:
        if own:
            spool.close()


def _loepende(xf, N: str, e: JournalEntry) -> None:
    xf.write("\n")
    with xf.element(N + "journalregistrering"):
        if e.klasseID and e.klasseTittel:
            with xf.element(N + "klasse"):
                _leaf(xf, N + "klasseID", e.klasseID)
                _leaf(xf, N + "tittel", e.klasseTittel)
        with xf.element(N + "saksmappe"):
            _leaf(xf, N + "saksaar", e.saksaar)
            _leaf(xf, N + "sakssekvensnummer", e.sakssekvensnummer)
            _leaf(xf, N + "tittel", e.saksTittel)
            _leaf(xf, N + "offentligTittel", e.saksOffentligTittel)
        with xf.element(N + "journalpost"):
            _leaf(xf, N + "systemID", e.systemID)
            _leaf(xf, N + "journalaar", e.journalaar)
            _leaf(xf, N + "journalsekvensnummer", e.journalsekvensnummer)
            _leaf(xf, N + "journalpostnummer", e.journalpostnummer)
            _leaf(xf, N + "tittel", e.tittel)
            _leaf(xf, N + "offentligTittel", e.offentligTittel)
            _leaf(xf, N + "skjermingMetadata", e.skjermingMetadata)
            _leaf(xf, N + "journaldato", e.journaldato)
            _leaf(xf, N + "dokumentetsDato", e.dokumentetsDato)
            _leaf(xf, N + "tilgangsrestriksjon", e.tilgangsrestriksjon)
            _leaf(xf, N + "skjermingshjemmel", e.skjermingshjemmel)
            for k in e.korrespondansepart:
                with xf.element(N + "korrespondansepart"):
                    _leaf(xf, N + "korrespondanseparttype", k.korrespondanseparttype)
                    _leaf(xf, N + "korrespondansepartNavn", k.korrespondansepartNavn)


def _offentlig(xf, N: str, e: JournalEntry) -> None:
    xf.write("\n")
    with xf.element(N + "journalregistrering"):
        if e.klasseID and e.klasseTittel:
            with xf.element(N + "klasse"):
                _leaf(xf, N + "klasseID", e.klasseID)
                _leaf(xf, N + "tittel", e.klasseTittel)
        with xf.element(N + "saksmappe"):
            _leaf(xf, N + "saksaar", e.saksaar)
            _leaf(xf, N + "sakssekvensnummer", e.sakssekvensnummer)
            _leaf(xf, N + "offentligTittel", e.offentlig_saks_tittel())
        with xf.element(N + "journalpost"):
            _leaf(xf, N + "systemID", e.systemID)
            _leaf(xf, N + "journalaar", e.journalaar)
            _leaf(xf, N + "journalsekvensnummer", e.journalsekvensnummer)
            _leaf(xf, N + "journalpostnummer", e.journalpostnummer)
            _leaf(xf, N + "offentligTittel", e.offentlig_tittel())
            _leaf(xf, N + "skjermingMetadata", e.skjermingMetadata)
            _leaf(xf, N + "journaldato", e.journaldato)
            _leaf(xf, N + "dokumentetsDato", e.dokumentetsDato)
            _leaf(xf, N + "tilgangsrestriksjon", e.tilgangsrestriksjon)
            _leaf(xf, N + "skjermingshjemmel", e.skjermingshjemmel)
            for k in e.korrespondansepart:
                with xf.element(N + "korrespondansepart"):
                    _leaf(xf, N + "korrespondanseparttype", k.korrespondanseparttype)
                    _leaf(xf, N + "korrespondansepartNavn", MASK if k.skjermet else k.korrespondansepartNavn)
