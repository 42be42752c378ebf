"""The package builder: one folder with everything a Noark 5 v5.0 arkivuttrekk must contain.

::

    with PackageBuilder(folder, uttrekk) as pkg:
        with pkg.arkiv(arkiv), pkg.arkivdel(arkivdel), pkg.klassifikasjonssystem(ks):
            with pkg.klasse(klasse):
                for mappe in mapper:        # any generator
                    pkg.add_mappe(mappe)
        pkg.add_endring(endring)
    pkg.result  # PackageResult

Documents are files the caller provides on each :class:`Dokumentobjekt` (``fil``); the builder
stores them under ``DOKUMENT/``, fills referanseDokumentfil, sjekksum (SHA-256), filstoerrelse,
``format`` (= the file extension, Arkade N5.29) and ``formatDetaljer`` (the PRONOM id). It renders
nothing. The journals are written when the extract has journalposts; the ADDML flags are derived
from what was written, so they cannot contradict the content (Arkade N5.42/44/45).
The folder is written in place: make it atomic by building in a temporary sibling and renaming.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Optional

from noark.addml import Datafil, Uttrekksinfo, sha256_file, write_arkivuttrekk
from noark.endringslogg import EndringsloggWriter
from noark.errors import NoarkWriteError
from noark.journal import JournalEntry, JournalSpool, write_journals
from noark.models import (
    Arkiv,
    Arkivdel,
    Dokumentobjekt,
    Endring,
    Journalpost,
    Klasse,
    Klassifikasjonssystem,
    Mappe,
    Registrering,
)
from noark.namespaces import (
    ARKIVSTRUKTUR_XML,
    ARKIVUTTREKK_XML,
    DOKUMENT_DIR,
    ENDRINGSLOGG_XML,
    LOEPENDE_JOURNAL_XML,
    OFFENTLIG_JOURNAL_XML,
    PACKAGE_SCHEMAS,
)
from noark.schemas import copy_schemas
from noark.writer import ArkivstrukturStatistikk, ArkivstrukturWriter

_BLOCK = 512 * 1024


@dataclass
class PackageResult:
    """What the builder wrote: counts and the SHA-256 of every XML file (for the audit trail)."""

    folder: Path
    statistikk: ArkivstrukturStatistikk
    journalposter: int
    endringer: int
    dokumentfiler: int
    sjekksummer: dict[str, str] = field(default_factory=dict)


class PackageBuilder:
    def __init__(
        self,
        folder: Path | str,
        uttrekk: Uttrekksinfo,
        *,
        journalStartDato: Optional[date] = None,
        journalSluttDato: Optional[date] = None,
    ):
        self.folder = Path(folder)
        self.uttrekk = uttrekk
        self._journal_start = journalStartDato
        self._journal_slutt = journalSluttDato
        self._files = _FileIndex()  # relative path -> sha256 on disk, to refuse conflicting reuse
        self._arkiv: Optional[Arkiv] = None
        self.result: Optional[PackageResult] = None

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> "PackageBuilder":
        if self.folder.exists() and any(self.folder.iterdir()):
            raise NoarkWriteError(f"{self.folder} is not empty; a package is written into a new folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._spool = JournalSpool()
        self._writer = ArkivstrukturWriter(
            self.folder / ARKIVSTRUKTUR_XML,
            on_journalpost=self._journalpost_written,
            prepare_dokumentobjekt=self._store_document,
        )
        self._writer.__enter__()
        self._log = EndringsloggWriter(self.folder / ENDRINGSLOGG_XML)
        self._log.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is not None:
                self._writer.__exit__(exc_type, exc, tb)
                self._log.__exit__(exc_type, exc, tb)
                return
            self._writer.__exit__(None, None, None)
            self._log.__exit__(None, None, None)
            self.result = self._finish()
        finally:
            self._spool.close()
            self._files.close()

    # -- arkivstruktur ------------------------------------------------------------------

    def arkiv(self, arkiv: Arkiv):
        self._arkiv = arkiv
        return self._writer.arkiv(arkiv)

    def arkivdel(self, arkivdel: Arkivdel):
        return self._writer.arkivdel(arkivdel)

    def klassifikasjonssystem(self, system: Klassifikasjonssystem):
        return self._writer.klassifikasjonssystem(system)

    def klasse(self, klasse: Klasse):
        return self._writer.klasse(klasse)

    def add_mappe(self, mappe: Mappe) -> None:
        self._writer.mappe(mappe)

    def add_registrering(self, registrering: Registrering) -> None:
        self._writer.registrering(registrering)

    def add_endring(self, endring: Endring) -> None:
        self._log.add(endring)

    @property
    def statistikk(self) -> ArkivstrukturStatistikk:
        return self._writer.statistikk

    # -- hooks --------------------------------------------------------------------------

    def _journalpost_written(self, journalpost: Journalpost, mappe: Optional[Mappe], klasse: Optional[Klasse]) -> None:
        self._spool.add(JournalEntry.from_journalpost(journalpost, mappe, klasse))

    def _store_document(self, objekt: Dokumentobjekt) -> Dokumentobjekt:
        fil = objekt.fil
        if fil is None:
            return objekt
        relative = f"{DOKUMENT_DIR}/{fil.sti}"
        target = self.folder / DOKUMENT_DIR / Path(*fil.sti.split("/"))
        known = self._files.get(relative)
        if known is not None:
            digest = hashlib.sha256(fil.data).hexdigest() if fil.data is not None else sha256_file(fil.kilde)
            if digest != known:
                raise NoarkWriteError(f"{relative} is given twice with different content")
            size = target.stat().st_size
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            digest, size = _write_file(target, fil.data, fil.kilde)
            self._files.add(relative, digest)
        extension = fil.sti.rsplit(".", 1)[-1].lower()
        return objekt.model_copy(
            update={
                "format": extension,
                "formatDetaljer": objekt.formatDetaljer or fil.puid,
                "referanseDokumentfil": relative,
                "sjekksum": digest,
                "sjekksumAlgoritme": "SHA-256",
                "filstoerrelse": size,
                "fil": None,
            }
        )

    # -- finishing ----------------------------------------------------------------------

    def _finish(self) -> PackageResult:
        stats = self._writer.statistikk
        if self._arkiv is None:
            raise NoarkWriteError("no arkiv was written")
        datafiler = [
            Datafil("arkivstruktur", {"mappe": stats.mapper, "registrering": stats.registreringer}),
            Datafil("endringslogg", {"endring": self._log.antall}),
        ]
        schema_names = [n for n in PACKAGE_SCHEMAS if n not in ("loependeJournal.xsd", "offentligJournal.xsd")]
        if self._spool.antall:
            start = self._journal_start or _as_date(stats.foerste_registrering) or self._spool.foerste
            slutt = self._journal_slutt or _as_date(stats.siste_registrering) or self._spool.siste
            write_journals(
                self.folder,
                self._spool,
                self._arkiv.arkivskaper,
                journalStartDato=start,
                journalSluttDato=slutt,
            )
            datafiler.append(Datafil("loependeJournal", {"journalregistrering": self._spool.antall}))
            datafiler.append(Datafil("offentligJournal", {"journalregistrering": self._spool.antall}))
            schema_names += ["loependeJournal.xsd", "offentligJournal.xsd"]
        copy_schemas(self.folder, tuple(schema_names))
        write_arkivuttrekk(
            self.folder,
            self.uttrekk,
            datafiler,
            antall_dokumentfiler=len(self._files),
            inneholder_skjermet_informasjon=stats.skjerminger > 0,
            omfatter_dokumenter_som_er_kassert=stats.utfoerte_kassasjoner > 0,
            inneholder_dokumenter_som_skal_kasseres=stats.kassasjoner > 0,
        )
        sums = {}
        for name in (ARKIVUTTREKK_XML, ARKIVSTRUKTUR_XML, ENDRINGSLOGG_XML, LOEPENDE_JOURNAL_XML, OFFENTLIG_JOURNAL_XML):
            if (self.folder / name).exists():
                sums[name] = sha256_file(self.folder / name)
        return PackageResult(
            folder=self.folder,
            statistikk=stats,
            journalposter=self._spool.antall,
            endringer=self._log.antall,
            dokumentfiler=len(self._files),
            sjekksummer=sums,
        )


class _FileIndex:
    """The document files written so far, kept in a temporary SQLite file (flat memory)."""

    def __init__(self) -> None:
        fd, self._path = tempfile.mkstemp(prefix="noark-files-", suffix=".sqlite")
        os.close(fd)
        self._db = sqlite3.connect(self._path)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("CREATE TABLE file (path TEXT PRIMARY KEY, sha256 TEXT)")
        self.count = 0

    def get(self, path: str) -> Optional[str]:
        row = self._db.execute("SELECT sha256 FROM file WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None

    def add(self, path: str, sha256: str) -> None:
        self._db.execute("INSERT INTO file VALUES (?, ?)", (path, sha256))
        self.count += 1

    def __len__(self) -> int:
        return self.count

    def close(self) -> None:
        self._db.close()
        try:
            os.unlink(self._path)
        except FileNotFoundError:
            pass


def _as_date(value: Optional[str]) -> Optional[date]:
    return date.fromisoformat(value) if value else None


def _write_file(target: Path, data: Optional[bytes], source: Optional[Path]) -> tuple[str, int]:
    """Write or copy one document file, hashing it in 512 KiB blocks as it goes."""
    if target.exists():
        raise NoarkWriteError(f"{target} exists already")
    if data is not None:
        target.write_bytes(data)
        return hashlib.sha256(data).hexdigest(), len(data)
    digest = hashlib.sha256()
    size = 0
    with open(source, "rb") as src, open(target, "wb") as dst:
        while chunk := src.read(_BLOCK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
