"""The official schemas: copying them into a package and loading them offline.

Two shipped folders: the Noark 5 v5.0 XSDs (Arkivverket) and the KS Fiks Arkiv V2 XSDs. Both
have a ``metadatakatalog.xsd`` of their own, so an import is resolved only inside the folder of
the schema being compiled, never across folders and never from the network.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from lxml import etree

from noark.namespaces import PACKAGE_SCHEMAS
from ringebu_journal.schemas import FIKS_ARKIV_DIR, NOARK5_DIR

_lock = threading.Lock()
_compiled: dict[tuple[str, str], etree.XMLSchema] = {}


def official_schema_path(name: str) -> Path:
    return NOARK5_DIR / name


def copy_schemas(target_dir: Path | str, names: tuple[str, ...] = PACKAGE_SCHEMAS) -> list[Path]:
    """Copy the official XSDs byte for byte into ``target_dir``; return the written paths."""
    target = Path(target_dir)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        dest = target / name
        shutil.copyfile(official_schema_path(name), dest)
        written.append(dest)
    return written


class _OfflineResolver(etree.Resolver):
    """Resolve schema imports only from one shipped schema folder; refuse everything else."""

    def __init__(self, folder: Path = NOARK5_DIR):
        super().__init__()
        self.folder = folder

    def resolve(self, system_url, public_id, context):
        name = (system_url or "").rsplit("/", 1)[-1]
        if name == "xlink.xsd" or (system_url or "").endswith("xlink.xsd") or public_id == "http://www.w3.org/1999/xlink":
            return self.resolve_filename(str(NOARK5_DIR / "xlink.xsd"), context)
        local = self.folder / name
        if name and local.is_file():
            return self.resolve_filename(str(local), context)
        return self.resolve_string("", context)


def secure_parser(folder: Path = NOARK5_DIR, **extra) -> etree.XMLParser:
    """A parser that never touches the network, loads no DTD and expands no external entity;
    schema imports resolve inside ``folder`` only."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=True, **extra
    )
    parser.resolvers.add(_OfflineResolver(folder))
    return parser


def load_schema(name: str, folder: Path = NOARK5_DIR) -> etree.XMLSchema:
    """The compiled official schema ``name`` (e.g. ``arkivstruktur.xsd``) of ``folder`` (the
    Noark 5 XSDs unless told), cached per process."""
    with _lock:
        key = (str(folder), name)
        schema = _compiled.get(key)
        if schema is None:
            path = folder / name
            with open(path, "rb") as fh:
                doc = etree.parse(fh, secure_parser(folder), base_url=str(path))
            schema = etree.XMLSchema(doc)
            _compiled[key] = schema
        return schema


def load_fiks_schema(name: str) -> etree.XMLSchema:
    """A compiled KS Fiks Arkiv V2 schema, e.g. ``no.ks.fiks.arkiv.v2.arkivering.arkivmelding.oppdater.xsd``."""
    return load_schema(name, FIKS_ARKIV_DIR)
