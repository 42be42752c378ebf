"""A Noark 5 v5.0 library: models, a streaming arkivuttrekk writer and a package validator.

It knows nothing of where the records come from. Public API::

    from noark import PackageBuilder, Uttrekksinfo, stable_uuid, validate_package
"""

from noark.addml import Datafil, Uttrekksinfo, build_arkivuttrekk, write_arkivuttrekk
from noark.endringslogg import EndringsloggWriter, write_endringslogg
from noark.errors import NoarkError, NoarkWriteError, PackageReadError
from noark.ids import stable_uuid
from noark.journal import MASK, JournalEntry, JournalSpool, write_journals
from noark.models import (
    Arkiv,
    Arkivdel,
    Arkivnotat,
    Arkivskaper,
    Avskrivning,
    Dokumentbeskrivelse,
    Dokumentfil,
    Dokumentobjekt,
    Endring,
    Journalpost,
    Kassasjon,
    Klasse,
    Klassifikasjonssystem,
    Konvertering,
    Korrespondansepart,
    Mappe,
    Merknad,
    MetadataElement,
    Part,
    Registrering,
    Saksmappe,
    Skjerming,
    UtfoertKassasjon,
    VirksomhetsspesifikkeMetadata,
)
from noark.package import PackageBuilder, PackageResult
from noark.schemas import copy_schemas
from noark.text import clean_text
from noark.writer import ArkivstrukturStatistikk, ArkivstrukturWriter

__all__ = [name for name in dir() if not name.startswith("_")]
